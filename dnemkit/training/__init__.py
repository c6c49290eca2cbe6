"""Training DwiseNeuro with the reference recipe (`characterize train`; docs/method.md, "Training").

config.py: TrainingConfig and the named model configurations; folds.py: labelled trials and the video-hash folds;
augment.py: training windows and CutMix; loop.py: the loss, EMA, schedule, validation, checkpoints and
``train``. Names are imported on first use.
"""

from ..lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["TrainingConfig", "MODEL_CONFIGS", "model_config", "REFERENCE_EPOCHS", "SCORE_FIRST_FRAME"],
                    ".config"),
    **dict.fromkeys(["video_hash", "assign_folds", "load_trials", "split_folds"], ".folds"),
    **dict.fromkeys(["cutmix_box", "cutmix"], ".augment"),
    **dict.fromkeys(["poisson_loss", "ema_update", "learning_rate", "validation_correlation", "init_readout_bias",
                     "train", "STATE_FILE", "SIDECAR_FILE"], ".loop"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
