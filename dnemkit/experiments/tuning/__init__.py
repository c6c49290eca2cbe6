"""Drifting-grating tuning atlas (`characterize tuning`): ``run(TuningConfig(...), out=...)``."""

from ...lazy import lazy_exports

_EXPORTS = {**dict.fromkeys(["TuningConfig", "DEFAULT_SF", "DEFAULT_TF", "DEFAULT_DIRECTIONS", "DEFAULT_N_FRAMES"],
                            ".config"),
            **dict.fromkeys(["run", "model_responses", "tuning_dataset", "example_traces", "KIND",
                             "ANALYSIS_VERSION"], ".experiment")}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
