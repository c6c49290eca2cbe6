"""Synthetic stimuli and movies (pure numpy generators), all 36 x 64 pixels, 30 Hz, grey levels 0..255."""

from . import geometry
from .gratings import drifting_grating
from .natural import natural_movie
from .noise import gaussian_noise
from .sparse import iter_sparse_noise, phase_invert, sparse_noise

__all__ = [
    "geometry",
    "gaussian_noise",
    "drifting_grating",
    "sparse_noise",
    "iter_sparse_noise",
    "phase_invert",
    "natural_movie",
]
