"""Natural-movie reconstruction (`characterize natural`): ``run(NaturalConfig(...), out=...)``."""

from ...lazy import lazy_exports

_EXPORTS = {"NaturalConfig": ".config", "run": ".experiment", "natural_inputs": ".experiment",
            "package": ".experiment", "HELD_OUT_MOVIE_SEED": ".config", "PAPER_MODELS": ".config"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
