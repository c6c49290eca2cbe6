"""Synthetic stimuli and movies (pure numpy generators), all 36 x 64 pixels, 30 Hz, grey levels 0..255.

Names are imported on first use (:mod:`dnemkit.lazy`), so that ``dnemkit.stimuli.geometry`` (the screen and
unit constants every layer uses) loads without scikit-image and xarray.
"""

from ..lazy import lazy_exports

_EXPORTS = {"geometry": ".geometry", "drifting_grating": ".gratings", "natural_movie": ".natural",
            "gaussian_noise": ".noise", "iter_sparse_noise": ".sparse", "phase_invert": ".sparse",
            "sparse_noise": ".sparse"}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["geometry", "gaussian_noise", "drifting_grating", "sparse_noise", "iter_sparse_noise", "phase_invert",
           "natural_movie"]
