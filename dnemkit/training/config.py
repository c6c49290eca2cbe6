"""The options of a training run (the reference recipe) and the named model configurations."""

from dataclasses import asdict, dataclass

import numpy as np

from ..data.sensorium import TIERS
from ..encoders.dwiseneuro.network import MAIN_CONFIG
from ..errors import DnemkitError


REFERENCE_EPOCHS = 21  #: the recipe's 3 warm-up + 18 cosine epochs
SCORE_FIRST_FRAME = 50  #: the score uses frames 50 .. T-2

#: named DwiseNeuro configurations (``readout_outputs`` is set from the data: one readout, N neurons).
#: "small" trains on a CPU (0.6 M parameters for 2000 neurons); everything not listed is MAIN_CONFIG's. Its readout
#: dropout is 0.4 as in the main config. Its softplus beta is 1 instead of 0.07: with beta 0.07 a rate change of
#: 0.5 around typical rates needs a readout swing of ~14, which AdamW reaches only after tens of thousands of
#: steps (the full recipe's ~47 k); with beta 1 a CPU run of a few thousand steps learns the stimulus.
MODEL_CONFIGS = {
    "full": dict(MAIN_CONFIG),
    "small": dict(MAIN_CONFIG, core_features=(8, 16, 32, 64), spatial_strides=(2, 2, 2, 1), expansion_ratio=2,
                  se_reduce_ratio=4, cortex_features=(256, 512), softplus_beta=1.0),
    # the shipped demo: small's early layers (which set the CPU cost, ~+15 %) with a 4x wider last stage and
    # cortex, so that 256 pooled features (as in the full model) rather than 64 carry the neurons' RF positions
    "demo": dict(MAIN_CONFIG, core_features=(8, 16, 64, 256), spatial_strides=(2, 2, 2, 1), expansion_ratio=2,
                 se_reduce_ratio=4, cortex_features=(512, 1024), softplus_beta=1.0),
}


def model_config(name, n_neurons):
    """DwiseNeuro constructor kwargs of the named config with one readout of ``n_neurons`` neurons."""
    if name not in MODEL_CONFIGS:
        raise DnemkitError(f"model config {name!r} is unknown; expected one of {', '.join(MODEL_CONFIGS)}")
    return dict(MODEL_CONFIGS[name], readout_outputs=(int(n_neurons),))


@dataclass(frozen=True)
class TrainingConfig:
    """Options of one training run; the defaults are the reference recipe (docs/method.md, "Training").

    model: "full" (MAIN_CONFIG) or "small" (CPU-sized, see MODEL_CONFIGS).
    epochs: epochs to train in total (a re-run with more epochs resumes; the cosine schedule always ends at
    ``epochs``). warmup_epochs: linear warm-up of the recipe's 21 epochs; shorter runs shrink it in proportion
    (warm-up = warmup_epochs * min(1, epochs / 21)). samples_per_epoch: windows per epoch (steps =
    samples_per_epoch // batch_size, at least 1). lr: peak AdamW learning rate (the recipe: 3e-4 * batch / 4);
    min_lr_ratio: the cosine ends at lr * min_lr_ratio. ema_decay: per step (0.999 needs thousands of steps; short
    runs want ~0.9). cutmix_alpha / cutmix_prob: Beta(alpha, alpha) box area, probability per window.
    folds / fold: k-fold split by movie hash; fold is validated. tiers: trial tiers used (labelled trials only).
    seed: seeds model initialisation, window sampling, dropout. num_threads: torch CPU threads (None: unchanged).
    device: "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:1", ...
    keep_all_checkpoints: keep every epoch's checkpoint instead of only the best one (a folder of checkpoints is
    loaded as an ensemble by load_encoder, so the default keeps one).
    """

    model: str = "full"
    epochs: int = 21
    warmup_epochs: float = 3.0
    samples_per_epoch: int = 72_000
    batch_size: int = 32
    lr: float = 2.4e-3
    min_lr_ratio: float = 0.01
    weight_decay: float = 0.05
    ema_decay: float = 0.999
    cutmix_alpha: float = 1.0
    cutmix_prob: float = 0.5
    folds: int = 7
    fold: int = 0
    tiers: tuple = ("train", "oracle")
    seed: int = 0
    num_threads: int | None = None
    device: str = "auto"
    keep_all_checkpoints: bool = False
    #: start each readout bias at the softplus inverse of the neuron's mean training response (a dnemkit addition:
    #: with softplus beta 0.07 a default bias predicts ~10 per frame, and reaching typical rates of ~0.5 takes
    #: tens of thousands of AdamW steps; short CPU runs cannot afford them)
    init_readout_bias: bool = True

    #: fields that may differ between a run and its resumption
    RESUMABLE_CHANGES = ("epochs", "num_threads", "device", "keep_all_checkpoints")

    def __post_init__(self):
        def need(ok, name, expected):
            if not ok:
                raise DnemkitError(f"{name} is {getattr(self, name)!r}; expected {expected}")

        def is_int(v):
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        need(self.model in MODEL_CONFIGS, "model", f"one of {', '.join(MODEL_CONFIGS)}")
        need(is_int(self.epochs) and self.epochs >= 1, "epochs", "an integer >= 1")
        need(self.warmup_epochs >= 0, "warmup_epochs", "a number >= 0")
        need(is_int(self.batch_size) and self.batch_size >= 1, "batch_size", "an integer >= 1")
        need(is_int(self.samples_per_epoch) and self.samples_per_epoch >= 1, "samples_per_epoch", "an integer >= 1")
        need(self.lr > 0, "lr", "a learning rate > 0")
        need(0 < self.min_lr_ratio <= 1, "min_lr_ratio", "a ratio in (0, 1]")
        need(self.weight_decay >= 0, "weight_decay", "a number >= 0")
        need(0 <= self.ema_decay < 1, "ema_decay", "a decay in [0, 1)")
        need(self.cutmix_alpha > 0, "cutmix_alpha", "a Beta parameter > 0")
        need(0 <= self.cutmix_prob <= 1, "cutmix_prob", "a probability in [0, 1]")
        need(is_int(self.folds) and self.folds >= 2, "folds", "an integer >= 2")
        need(is_int(self.fold) and 0 <= self.fold < self.folds, "fold",
             f"a fold index 0..{self.folds - 1} (folds={self.folds})")
        need(is_int(self.seed) and self.seed >= 0, "seed", "an integer >= 0")
        need(self.num_threads is None or (is_int(self.num_threads) and self.num_threads >= 1), "num_threads",
             "None or an integer >= 1")
        object.__setattr__(self, "tiers", (self.tiers,) if isinstance(self.tiers, str) else tuple(self.tiers))
        need(self.tiers and all(t in TIERS for t in self.tiers), "tiers", f"tier names out of {', '.join(TIERS)}")

    @property
    def steps_per_epoch(self):
        return max(1, self.samples_per_epoch // self.batch_size)

    def identity(self):
        """The options a resumed run must share with the run that wrote the output folder."""
        return {k: v for k, v in asdict(self).items() if k not in self.RESUMABLE_CHANGES}


# ---------------------------------------------------------------------------------------------------- folds
