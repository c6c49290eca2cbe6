"""dnemkit.analysis: pure functions over reconstructions and responses (docs/method.md, "Analyses").

- metrics: correlations, RMSE/PSNR/SSIM, motion energy, entropy, contrast matching, ensembling gain, evaluate
- receptive_fields: RF maps from on/off sparse noise, centres, Gaussian fits, population RFs
- error_maps: E+ / E- between reconstructions from recorded and predicted activity
- stats: paired t-tests, repeated-measures ANOVA, Bonferroni-corrected adjacent-level tests
- cutoffs: resolution cut-off of a correlation-vs-frequency curve
"""

from .cutoffs import CUTOFF_STATUSES, cutoff
from .error_maps import error_maps
from .metrics import (
    apply_eval_mask,
    ensembling_gain,
    evaluate,
    frame_correlation,
    frame_correlation_trace,
    frame_entropy,
    frame_entropy_trace,
    match_contrast,
    motion_energy,
    motion_energy_trace,
    phase_inversion,
    pixel_correlation_map,
    psnr,
    rmse,
    ssim,
    ssim_simplified,
    video_correlation,
)
from .receptive_fields import (
    fit_gaussian_2d,
    fit_gaussians,
    on_off_maps,
    population_rf,
    rf_centres,
    rf_maps,
    unresponsive_neurons,
)
from .stats import adjacent_level_tests, paired_ttest, repeated_measures_anova

__all__ = [
    "CUTOFF_STATUSES",
    "adjacent_level_tests",
    "apply_eval_mask",
    "cutoff",
    "ensembling_gain",
    "error_maps",
    "evaluate",
    "fit_gaussian_2d",
    "fit_gaussians",
    "frame_correlation",
    "frame_correlation_trace",
    "frame_entropy",
    "frame_entropy_trace",
    "match_contrast",
    "motion_energy",
    "motion_energy_trace",
    "on_off_maps",
    "paired_ttest",
    "phase_inversion",
    "pixel_correlation_map",
    "population_rf",
    "psnr",
    "repeated_measures_anova",
    "rf_centres",
    "rf_maps",
    "rmse",
    "ssim",
    "ssim_simplified",
    "unresponsive_neurons",
    "video_correlation",
]
