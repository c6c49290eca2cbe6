"""What a reconstruction computes (:class:`Recipe`) apart from how it is run (:class:`Execution`).

The recipe is the arithmetic: optimiser, schedule, loss terms, smoothing, iterations. Its defaults are the paper's
recipe (docs/method.md, "Recipe"); :meth:`Recipe.named` is the one factory of the named recipes ("paper",
"fast"). Stored results are keyed by the recipe only. The execution is where and how fast: device, precision,
compilation, pass size, members in one pass, BatchNorm folding. Every execution option but ``precision`` gives
the same numbers up to float round-off (tests/reconstruction/test_execution.py); bf16 is checked against fp32
on the machine before it is used.
"""

from dataclasses import asdict, dataclass, fields, replace

from ..errors import DnemkitError, check_int, check_number


@dataclass(frozen=True)
class Recipe:
    """The arithmetic of one reconstruction (the defaults are the paper's; :meth:`named` gives the named ones).

    Parameters
    ----------
    name : str
        The named recipe these values started from ("paper" or "fast"; reported, part of the key).
    iterations : int
        Optimisation steps (the paper: 1000).
    lr : float
        Peak step size in grey levels per unit normalised gradient, reached linearly over ``warmup`` iterations.
    beta1, beta2 : float
        Moment decay rates of the optimiser.
    subbatch_frames, subbatch_stride : int
        The 32-frame, stride-8 sub-batches (plus a last one ending at T) of the paper's schedule.
    start_value : float
        Initial grey level of every pixel.
    grad_norm_eps, grad_clip, loss_eps : float
        Epsilon of the per-sub-batch gradient normalisation, clip of the masked gradient (a no-op after
        normalisation, kept for fidelity), epsilon inside the Poisson loss's log.
    ensembling : str
        "reconstruction" (each model reconstructs, videos averaged) or "gradient" (normalised gradients averaged
        over models each step).
    smoothing_sigma : float
        Gaussian filter of the final video, in frames and pixels (0 = none).
    optimizer : str
        "paper-adam" (the paper's first-moment update) or "adam" (per-pixel Adam with cosine decay).
    schedule : str
        "dense" (the paper's overlapping sub-batches) or "tiled" (non-overlapping, random offset).
    final_lr_ratio, adam_rel_eps : float
        The "adam" optimiser's final step-size ratio and frame-relative epsilon.
    seed : int
        Seed of the schedule's random offsets (the "tiled" schedule) and of the held-out neurons.
    start : str
        "grey" (``start_value`` everywhere, the paper's) or "decoder" (the linear decoder's movie of the targets,
        :mod:`dnemkit.decoders`; the experiment provides it as ``reconstruct(start=...)``).
    stopper : str
        "none" (run ``iterations``, the paper's), "heldout" (:class:`~dnemkit.reconstruction.stoppers.
        HeldoutStopper`), "agreement" (:class:`~dnemkit.reconstruction.stoppers.AgreementStopper`: the
        agreement with the linear decoder's movie; the experiment provides the movie) or "deviance"
        (:class:`~dnemkit.reconstruction.stoppers.DevianceStopper`: the fit to the targets levels off);
        ``iterations`` is then a budget.
    heldout_fraction, stopper_every, stopper_patience, stopper_rerun, stopper_min_z
        The held-out stopper's fraction of neurons left out of the loss, iterations between looks, iterations
        without improvement before it stops, whether it reconstructs again with every neuron to the chosen
        iteration, and the standard errors a decrease must exceed to count (0: any decrease). ``stopper_every``
        and ``stopper_patience`` are the agreement stopper's too.
    stopper_blur, stopper_lag
        The agreement stopper's spatial Gaussian (sigma, pixels) applied to the result and the decoder's movie
        before comparing (0: none) and the iterations past the best agreement whose videos it returns (10; below
        the patience).
    stopper_plateau, stopper_excess
        The deviance stopper's fall of the deviance ratio over ``stopper_patience`` iterations below which the
        fit has levelled off (0.01), and how far above the lowest ratio the returned look may be (0.045).
    """

    name: str = "paper"
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
    optimizer: str = "paper-adam"
    schedule: str = "dense"
    final_lr_ratio: float = 0.05
    adam_rel_eps: float = 0.3
    seed: int = 0
    start: str = "grey"
    stopper: str = "none"
    heldout_fraction: float = 0.1
    stopper_every: int = 5
    stopper_patience: int = 20
    stopper_rerun: bool = False
    stopper_min_z: float = 0.0
    stopper_blur: float = 0.0
    stopper_lag: int = 10
    stopper_plateau: float = 0.01
    stopper_excess: float = 0.045

    @classmethod
    def named(cls, name="paper", **overrides):
        """Recipe ``name`` ("paper": exactly the paper's; "fast": see reconstruction/recipes.py) with
        ``overrides`` (any field; ``iterations=None`` keeps the recipe's) on top."""
        from .recipes import recipe_defaults

        known = {f.name for f in fields(cls)} - {"name"}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise DnemkitError(f"unknown recipe option(s) {', '.join(unknown)}; expected some of "
                               f"{', '.join(sorted(known))}")
        if overrides.get("iterations", 0) is None:
            overrides.pop("iterations")
        return cls(**{**recipe_defaults(name), **overrides})

    def replace(self, **changes):
        """A copy with ``changes`` (checked again)."""
        return replace(self, **changes)

    def __post_init__(self):
        from .optimizers import OPTIMIZERS
        from .recipes import RECIPES
        from .schedule import SCHEDULES

        if self.name not in RECIPES:
            raise DnemkitError(f"recipe is {self.name!r}; expected one of {', '.join(RECIPES)}")
        if self.optimizer not in OPTIMIZERS:
            raise DnemkitError(f"optimizer is {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise DnemkitError(f"schedule is {self.schedule!r}; expected one of {', '.join(SCHEDULES)}")
        if self.ensembling not in ("reconstruction", "gradient"):
            raise DnemkitError(f"ensembling is '{self.ensembling}'; expected 'reconstruction' or 'gradient'")
        for name, low, what in (("iterations", 1, "optimisation steps"), ("warmup", 0, "warm-up iterations"),
                                ("subbatch_frames", 1, "frames per sub-batch"),
                                ("subbatch_stride", 1, "frames between sub-batches"), ("seed", 0, "a seed")):
            object.__setattr__(self, name, check_int(getattr(self, name), name, low, what))
        for name in ("lr", "beta1", "beta2", "start_value", "grad_norm_eps", "grad_clip", "loss_eps",
                     "smoothing_sigma", "final_lr_ratio", "adam_rel_eps"):
            object.__setattr__(self, name, check_number(getattr(self, name), name, "a number"))
        if self.lr <= 0:
            raise DnemkitError(f"lr is {self.lr}; expected a positive step size")
        if self.smoothing_sigma < 0:
            raise DnemkitError(f"smoothing_sigma is {self.smoothing_sigma}; expected >= 0")
        if not 0 <= self.final_lr_ratio <= 1:
            raise DnemkitError(f"final_lr_ratio is {self.final_lr_ratio}; expected a value in [0, 1]")
        if self.start not in STARTS:
            raise DnemkitError(f"start is {self.start!r}; expected one of {', '.join(STARTS)}")
        if self.stopper not in STOPPERS:
            raise DnemkitError(f"stopper is {self.stopper!r}; expected one of {', '.join(STOPPERS)}")
        if self.stopper == "agreement" and self.start == "decoder":
            raise DnemkitError("the agreement stopper watches the agreement with the decoder's movie, which is "
                               "also the start (agreement 1 at iteration 0); expected start 'grey' with it")
        object.__setattr__(self, "heldout_fraction", check_heldout_fraction(self.heldout_fraction))
        for name in ("stopper_every", "stopper_patience"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1, "iterations"))
        object.__setattr__(self, "stopper_blur", check_stopper_blur(self.stopper_blur))
        object.__setattr__(self, "stopper_lag", check_int(self.stopper_lag, "stopper_lag", 0, "iterations"))
        if self.stopper == "agreement" and self.stopper_lag >= self.stopper_patience:
            raise DnemkitError(f"stopper_lag is {self.stopper_lag} iterations but stopper_patience is "
                               f"{self.stopper_patience}; expected a lag below the patience")
        for name in ("stopper_plateau", "stopper_excess"):
            object.__setattr__(self, name, check_positive_ratio(getattr(self, name), name))
        object.__setattr__(self, "stopper_min_z", check_number(self.stopper_min_z, "stopper_min_z", ">= 0"))
        if self.stopper_min_z < 0:
            raise DnemkitError(f"stopper_min_z is {self.stopper_min_z}; expected a number of standard errors >= 0")
        if not isinstance(self.stopper_rerun, bool):
            raise DnemkitError(f"stopper_rerun is {self.stopper_rerun!r}; expected True or False")
        if not 0 <= self.start_value <= 255:
            raise DnemkitError(f"start_value is {self.start_value}; expected a grey level in [0, 255]")

    def to_dict(self):
        """The fields as a dict; the start and stopper fields only where they differ from the defaults, so that
        results stored before these options existed keep their keys (they ran with grey and no stopper)."""
        out = asdict(self)
        for name in METHOD_FIELDS:
            if out[name] == METHOD_DEFAULTS[name]:
                del out[name]
        return out


#: when a reconstruction stops: after its iterations, by the held-out stopper, by the agreement with the
#: decoder's movie, or when the fit to the targets has levelled off (reconstruction/stoppers.py)
STOPPERS = ("none", "heldout", "agreement", "deviance")


def check_heldout_fraction(value):
    """``value`` as a float in (0, 1), or one DnemkitError line."""
    fraction = check_number(value, "heldout fraction", "a fraction in (0, 1)")
    if not 0 < fraction < 1:
        raise DnemkitError(f"heldout fraction is {value}; expected a fraction of the neurons in (0, 1), "
                           "e.g. 0.1")
    return fraction


def check_positive_ratio(value, name):
    """``value`` as a finite float > 0 (the deviance stopper's plateau and excess, deviance ratios), or one
    DnemkitError line."""
    number = check_number(value, name, "a deviance ratio > 0")
    if not number > 0:
        raise DnemkitError(f"{name} is {value}; expected a deviance ratio > 0, e.g. 0.01")
    return number


def check_stopper_blur(value):
    """``value`` as a float >= 0 (the agreement stopper's spatial sigma, pixels), or one DnemkitError line."""
    blur = check_number(value, "stopper blur", "a spatial sigma in pixels >= 0")
    if blur < 0:
        raise DnemkitError(f"stopper blur is {value}; expected a spatial sigma in pixels >= 0, e.g. 1")
    return blur


#: where a reconstruction starts: the recipe's grey level, or the linear decoder's movie (dnemkit.decoders)
STARTS = ("grey", "decoder")
#: the Recipe fields of the start and the stopper, and their defaults (the paper's: grey, no stopper)
METHOD_DEFAULTS = dict(start="grey", stopper="none", heldout_fraction=0.1, stopper_every=5, stopper_patience=20,
                       stopper_rerun=False, stopper_min_z=0.0, stopper_blur=0.0, stopper_lag=10, stopper_plateau=0.01, stopper_excess=0.045)
METHOD_FIELDS = tuple(METHOD_DEFAULTS)


PRECISIONS = ("fp32", "bf16")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")


@dataclass(frozen=True)
class Execution:
    """How a reconstruction runs; never part of a stored result's key (but ``precision``, see below).

    Parameters
    ----------
    device : str
        "auto" (a GPU when there is one), "cpu", "cuda", "cuda:1", ...
    precision : str
        "fp32", or "bf16": autocast around the encoder's forward only (loss, gradient normalisation and optimiser
        state stay fp32), refused with one line when a first pass disagrees with fp32 on this machine. It
        changes the numbers, so stores key results computed in bf16 apart.
    compile : bool
        ``torch.compile`` the encoder's forward (falls back to eager with one line if compilation fails).
    compile_mode : str
        torch.compile's mode: "default", "reduce-overhead" (CUDA graphs: no launch overhead for the fixed shapes
        of a reconstruction) or "max-autotune".
    cudnn_benchmark : bool
        Let cuDNN time its convolution algorithms for the (fixed) shapes of the first passes and keep the fastest
        (CUDA only; the choice can change float round-off, never the arithmetic).
    subbatches_per_pass : int or None
        Sub-batches per encoder pass (None: chosen for the device).
    members_in_one_pass : bool or None
        Run every ensemble member in one vmapped pass (True) or member after member (None/False: measured faster
        on a 2-core CPU and on an H100).
    fold_batchnorm : bool or None
        Fold eval-mode BatchNorm into the preceding convolution of encoders that offer it (exact up to float
        round-off; one convolution instead of two passes over the activations; on a CPU the folded copy runs in
        the channels-last layout, which oneDNN's 3-D convolutions run faster). None (the default) follows the
        recipe (:meth:`for_recipe`): on for the fast recipe, whose point is speed, off for the paper's.
    """

    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False
    compile_mode: str = "default"
    cudnn_benchmark: bool = False
    subbatches_per_pass: int | None = None
    members_in_one_pass: bool | None = None
    fold_batchnorm: bool | None = None

    def __post_init__(self):
        if not isinstance(self.device, str) or not self.device.strip():
            raise DnemkitError(f"device is {self.device!r}; expected 'auto', 'cpu' or 'cuda[:k]'")
        if self.precision not in PRECISIONS:
            raise DnemkitError(f"precision is {self.precision!r}; expected 'fp32' or 'bf16'")
        if self.compile_mode not in COMPILE_MODES:
            raise DnemkitError(f"compile_mode is {self.compile_mode!r}; expected one of {', '.join(COMPILE_MODES)}")
        for name in ("compile", "cudnn_benchmark"):
            if not isinstance(getattr(self, name), bool):
                raise DnemkitError(f"{name} is {getattr(self, name)!r}; expected True or False")
        if not (self.fold_batchnorm is None or isinstance(self.fold_batchnorm, bool)):
            raise DnemkitError(f"fold_batchnorm is {self.fold_batchnorm!r}; expected True, False or None (as the "
                               "recipe)")
        if self.subbatches_per_pass is not None:
            object.__setattr__(self, "subbatches_per_pass",
                               check_int(self.subbatches_per_pass, "subbatches_per_pass", 1, "or None"))
        if self.members_in_one_pass not in (None, True, False):
            raise DnemkitError(f"members_in_one_pass is {self.members_in_one_pass!r}; expected True, False or None")

    def replace(self, **changes):
        return replace(self, **changes)

    def for_recipe(self, recipe):
        """This execution with what follows the recipe settled: ``fold_batchnorm`` None becomes True for the fast
        recipe (a named alternative for speed) and False for any other (the paper's recipe runs the plain
        path unless asked)."""
        if self.fold_batchnorm is not None:
            return self
        return replace(self, fold_batchnorm=recipe.name == "fast")

    def to_dict(self):
        return asdict(self)


def result_key(recipe, execution=None):
    """What a stored result's id hashes of its reconstruction: the recipe, plus the precision when not fp32
    (bf16 changes the numbers; every other execution option does not)."""
    key = recipe.to_dict()
    if execution is not None and execution.precision != "fp32":
        key["precision"] = execution.precision
    return key
