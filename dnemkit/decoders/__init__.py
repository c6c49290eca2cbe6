"""Decoders: movies read directly from responses, the baseline of a model inversion (and its warm start).

:class:`LinearDecoder` (ridge from time-lagged responses to pixels, :mod:`.linear`), fitted on a dataset's training
trials or on the encoder's own responses to a library of movies and cached (:mod:`.resolve`). Names are imported
on first use (no numpy at `characterize --help`)."""

from ..lazy import lazy_exports

_EXPORTS = {"DecoderConfig": ".linear", "LinearDecoder": ".linear", "fit_linear_decoder": ".linear",
            "decoder_for": ".resolve", "decoder_start": ".resolve", "make_decoder": ".resolve",
            "fit_decoder": ".resolve"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
