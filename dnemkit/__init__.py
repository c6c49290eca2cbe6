"""dnemkit: movie reconstruction from mouse V1 activity and in-silico encoder characterisation.

Public API (stable names)::

    load_encoder(spec, mouse=None)            demo | synthetic[:seed] | model.pth | folder | file.py:factory
    reconstruct(encoder, responses, ...)      the paper's reconstruction loop -> ReconstructionResult
    ReconstructionConfig(...)                 its options (defaults: the paper's recipe)
    gaussian_noise, drifting_grating, sparse_noise, natural_movie     stimuli (xarray, 36 x 64, 30 Hz, 0..255)
    video_correlation, frame_correlation, motion_energy, frame_entropy   metrics
    map_receptive_fields(encoder, ...)        ON/OFF RF maps from sparse noise
"""

__version__ = "0.1.0"

from .analysis.metrics import frame_correlation, frame_entropy, motion_energy, video_correlation  # noqa: E402
from .analysis.rf_mapping import map_receptive_fields  # noqa: E402
from .encoders import load_encoder  # noqa: E402
from .reconstruction import ReconstructionConfig, reconstruct  # noqa: E402
from .stimuli import drifting_grating, gaussian_noise, natural_movie, sparse_noise  # noqa: E402

__all__ = ["ReconstructionConfig", "drifting_grating", "frame_correlation", "frame_entropy", "gaussian_noise",
           "load_encoder", "map_receptive_fields", "motion_energy", "natural_movie", "reconstruct", "sparse_noise",
           "video_correlation"]
