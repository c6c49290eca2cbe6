"""dnemkit.analysis: pure functions over reconstructions and responses (docs/method.md, "Analyses").

- metrics: correlations, RMSE/PSNR/SSIM, motion energy, entropy, contrast matching, ensembling gain, evaluate
- receptive_fields: RF maps from on/off sparse noise, centres, Gaussian fits, population RFs
- errormaps: E+ / E- between reconstructions from recorded and predicted activity
- stats: paired t-tests, repeated-measures ANOVA, Bonferroni-corrected adjacent-level tests
- cutoffs: resolution cut-off of a correlation-vs-frequency curve
- resolution: a sweep's resolution heatmap, its two axes and their cut-offs
- ablation (ablation_levels), mei, study, tracking, tuning: the experiments' pure parts

Every public function takes its data (videos, arrays, tables) positionally and its options keyword-only, as
scikit-image does: ``mean_ci(values, level=0.99)``, ``lagged_correlation(a, b, max_lag=30)``; each docstring has
numpydoc Parameters and Returns sections with shapes and units (the vocabulary of :mod:`dnemkit.units`).
"""

from ..lazy import lazy_exports

#: names are imported on first use: importing one analysis module (the CLI reads a few constants) does not load
#: scipy, scikit-image and statsmodels
_EXPORTS = {
    **dict.fromkeys(["error_maps"], ".errormaps"),
    **dict.fromkeys(["CUTOFF_STATUSES", "cutoff"], ".cutoffs"),
    **dict.fromkeys(["apply_eval_mask", "ensembling_gain", "frame_correlation", "frame_correlation_trace", "frame_entropy", "frame_entropy_trace", "match_contrast", "motion_energy", "motion_energy_trace", "phase_inversion", "pixel_correlation_map", "psnr", "quality_metrics", "rmse", "ssim", "ssim_simplified", "video_correlation"], ".metrics"),
    **dict.fromkeys(["fit_gaussian_2d", "fit_gaussians", "on_off_maps", "population_rf", "rf_centres", "rf_maps", "unresponsive_neurons"], ".receptive_fields"),
    **dict.fromkeys(["adjacent_level_tests", "paired_ttest", "repeated_measures_anova"], ".stats"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
