"""Options of the reconstruction loop; the defaults are the paper's recipe (docs/method.md, "Recipe")."""

from dataclasses import asdict, dataclass, fields

from ..errors import DnemkitError
from ..video import EVAL_FIRST_FRAME


@dataclass(frozen=True)
class ReconstructionConfig:
    """One frozen set of options for :func:`dnemkit.reconstruct`.

    iterations: optimisation steps (the paper: 1000). lr: peak step size in grey levels per unit normalised
    gradient, reached linearly over ``warmup`` iterations. beta1/beta2: the paper's first-moment "Adam" terms.
    subbatch_frames/subbatch_stride: the 32-frame, stride-8 schedule (plus a last sub-batch ending at T).
    start_value: initial grey level. grad_clip: clip of the masked gradient (a no-op after normalisation, kept
    for fidelity). ensembling: "reconstruction" (each model reconstructs, videos averaged) or "gradient"
    (normalised gradients averaged over models each step). smoothing_sigma: Gaussian filter of the final video
    in frames and pixels (0 = none). train_mask_threshold: gradient mask = alpha >= this. eval_every: record
    video metrics every N iterations (0 = only at the start and end). subbatches_per_pass: sub-batches per
    encoder pass (None = chosen for the device). device: "auto", "cpu", "cuda", ...
    members_in_one_pass: run every ensemble member in one vmapped pass (True) or member after member (False or
    None, the default: measured faster on a 2-core CPU and on an H100). precision: "fp32" or "bf16" (autocast around the encoder's forward only; loss, gradient
    normalisation and optimiser state stay fp32). compile: torch.compile the encoder's forward (falls back to
    eager with one warning if compilation fails).
    """

    iterations: int = 1000
    lr: float = 1000.0
    warmup: int = 10
    beta1: float = 0.9
    beta2: float = 0.999
    subbatch_frames: int = 32
    subbatch_stride: int = 8
    start_value: float = 127.5
    grad_norm_eps: float = 1e-6
    grad_clip: float = 1.0
    loss_eps: float = 1e-8
    ensembling: str = "reconstruction"
    smoothing_sigma: float = 0.5
    train_mask_threshold: float = 0.5
    eval_mask_threshold: float = 1.0
    eval_first_frame: int = EVAL_FIRST_FRAME
    eval_every: int = 0
    subbatches_per_pass: int | None = None
    device: str = "auto"
    recipe: str = "paper"
    optimizer: str = "paper-adam"
    schedule: str = "dense"
    final_lr_ratio: float = 0.05
    adam_rel_eps: float = 0.3
    seed: int = 0
    members_in_one_pass: bool | None = None
    precision: str = "fp32"
    compile: bool = False

    @classmethod
    def from_recipe(cls, name="paper", **overrides):
        """The options of recipe ``name`` ("paper": exactly the paper's; "fast": see reconstruction/recipes.py),
        with ``overrides`` (any field) on top."""
        from .recipes import recipe_defaults

        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise DnemkitError(f"unknown reconstruction option(s) {', '.join(unknown)}")
        return cls(**{**recipe_defaults(name), **overrides})

    def __post_init__(self):
        from .recipes import OPTIMIZERS, RECIPES, SCHEDULES

        if self.recipe not in RECIPES:
            raise DnemkitError(f"recipe is {self.recipe!r}; expected one of {', '.join(RECIPES)}")
        if self.optimizer not in OPTIMIZERS:
            raise DnemkitError(f"optimizer is {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise DnemkitError(f"schedule is {self.schedule!r}; expected one of {', '.join(SCHEDULES)}")
        if not 0 <= self.final_lr_ratio <= 1:
            raise DnemkitError(f"final_lr_ratio is {self.final_lr_ratio}; expected a value in [0, 1]")
        if self.iterations < 1:
            raise DnemkitError(f"iterations is {self.iterations}; expected at least 1")
        if self.ensembling not in ("reconstruction", "gradient"):
            raise DnemkitError(f"ensembling is '{self.ensembling}'; expected 'reconstruction' or 'gradient'")
        if self.subbatch_frames < 1 or self.subbatch_stride < 1:
            raise DnemkitError("subbatch_frames and subbatch_stride must be positive")
        if self.lr <= 0:
            raise DnemkitError(f"lr is {self.lr}; expected a positive step size")
        if self.smoothing_sigma < 0:
            raise DnemkitError(f"smoothing_sigma is {self.smoothing_sigma}; expected >= 0")
        if self.subbatches_per_pass is not None and self.subbatches_per_pass < 1:
            raise DnemkitError(f"subbatches_per_pass is {self.subbatches_per_pass}; expected >= 1 or None")
        if self.members_in_one_pass not in (None, True, False):
            raise DnemkitError(f"members_in_one_pass is {self.members_in_one_pass!r}; expected True, False or None")
        if self.precision not in ("fp32", "bf16"):
            raise DnemkitError(f"precision is {self.precision!r}; expected 'fp32' or 'bf16'")
        if not isinstance(self.compile, bool):
            raise DnemkitError(f"compile is {self.compile!r}; expected True or False")

    def to_dict(self):
        return asdict(self)
