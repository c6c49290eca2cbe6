"""dnemkit: movie reconstruction from mouse V1 activity and in-silico encoder characterisation.

Public API (stable names)::

    load_encoder(spec, mouse=None)            demo | synthetic[:seed] | model.pth | folder | file.py:factory
    reconstruct(encoder, responses, ...)      the paper's reconstruction loop -> ReconstructionResult
    Recipe.named("paper" | "fast", ...)       what a reconstruction computes (defaults: the paper's recipe)
    Execution(device, precision, ...)         how it runs (never changes the numbers but for bf16)
    VideoCorrelationTracker(ground_truth)     scores a reconstruction while it runs (reconstruct(trackers=[...]))
    EncoderRef(spec, mouse, models)           an encoder as a command names it: load, fingerprint, mask key
    gaussian_noise, drifting_grating, sparse_noise, natural_movie     stimuli (xarray, 36 x 64, 30 Hz, 0..255)
    video_correlation, frame_correlation, motion_energy, frame_entropy, quality_metrics   metrics
    map_receptive_fields(encoder, ...)        ON/OFF RF maps from sparse noise
"""

__version__ = "0.1.0"

from .lazy import lazy_exports

#: public name -> the module defining it, imported on first use: `characterize --help` and `import dnemkit`
#: stay fast (torch, xarray and scipy load only when something needs them)
_EXPORTS = {
    **dict.fromkeys(["frame_correlation", "frame_entropy", "motion_energy", "quality_metrics", "video_correlation"],
                    ".analysis.metrics"),
    "map_receptive_fields": ".experiments.rf.experiment",
    "VideoCorrelationTracker": ".analysis.tracking",
    "EncoderRef": ".encoders.ref",
    "load_encoder": ".encoders",
    **dict.fromkeys(["Execution", "Recipe", "reconstruct"], ".reconstruction"),
    **dict.fromkeys(["drifting_grating", "gaussian_noise", "natural_movie", "sparse_noise"], ".stimuli"),
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
