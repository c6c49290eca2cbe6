"""The options of one MEI run, checked once: :class:`MeiConfig` (no torch import: the CLI reads its defaults)."""

from dataclasses import dataclass

from ...errors import DnemkitError, check_int, check_number
from ..contract import DEFAULT_ENCODER, ExperimentConfig

KINDS = ("image", "video")
TOP_BY = ("response", "osi")
INITIALS = ("noise", "grey")


def parse_neurons(text):
    """'all' -> None; '3,7,10-19' -> (3, 7, 10, ..., 19) (ranges inclusive). DnemkitError on anything else."""
    text = str(text).strip()
    if text.lower() == "all":
        return None
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if "-" in part[1:]:  # a range FIRST-LAST (a leading '-' is a negative index, refused later)
                a, b = (int(v) for v in part.split("-", 1))
                if b < a:
                    raise DnemkitError(f"neurons holds the range {part!r}; expected FIRST-LAST with FIRST <= LAST")
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise DnemkitError(f"neurons holds {part!r}; expected neuron indices like 3,7,10-19 or 'all'") from None
    if not out:
        raise DnemkitError(f"neurons is {text!r}, an empty selection; expected neuron indices like 3,7,10-19 or "
                           "'all'")
    return tuple(out)


@dataclass(frozen=True)
class MeiConfig(ExperimentConfig):
    """What `characterize mei` computes; validated once, at construction (DnemkitError names the field).

    encoder: an EncoderRef (spec, mouse, models); a spec string is wrapped.
    kind: "image" (one frame held for the clip) or "video".
    neurons: neuron indices (tuple of int), or None: the ``n_top`` neurons ranked first by ``top_by``
    ("response": the best grating's response above the grey baseline; "osi": the atlas' OSI among responsive
    neurons); ``n_top`` 0 = every neuron.
    contrast: the budget, root-mean-square contrast (v - 127.5) / 127.5 over every pixel and frame of the input,
    in (0, 1] (a full-field grating of Michelson contrast C has C / sqrt(2)).
    initial: "noise" or "grey". blur: sigma in pixels of the Gaussian applied to the gradient (0 = none).
    iterations: at most this many steps; lr: peak step (grey levels per unit of the frame-normalised gradient);
    adam_rel_eps: PixelAdam's frame-relative epsilon (large: steps proportional to the gradient).
    patience, tolerance: the stopper (stop once the mean activation rose by less than ``tolerance`` (relative)
    over ``patience`` iterations; patience 0 = never stop early).
    n_frames: clip length (None: the encoder's first_valid_frame + 2, at least 32); the frames from the
    encoder's first valid frame on are analysed (the objective and every activation).
    batch: inputs (neurons) per reconstruction. tuning: a tuning.nc whose atlas the descriptors are compared
    with (None: the atlas of the comparison grid at the budget). seed: noise start and schedule.
    execution: device, precision, compile, ... of the optimisation and of the comparison's passes (an
    Execution; None: the defaults).
    """

    encoder: object = DEFAULT_ENCODER
    kind: str = "image"
    neurons: tuple | None = None
    top_by: str = "response"
    n_top: int = 12
    contrast: float = 0.05
    initial: str = "noise"
    blur: float = 0.5
    iterations: int = 32
    lr: float = 3200.0
    adam_rel_eps: float = 1000.0
    patience: int = 4
    tolerance: float = 1e-3
    n_frames: int | None = None
    batch: int = 16
    tuning: str | None = None
    seed: int = 0
    execution: object = None

    def __post_init__(self):
        self._check_common()
        if self.kind not in KINDS:
            raise DnemkitError(f"kind is {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.top_by not in TOP_BY:
            raise DnemkitError(f"top_by is {self.top_by!r}; expected one of {', '.join(TOP_BY)}")
        if self.initial not in INITIALS:
            raise DnemkitError(f"initial is {self.initial!r}; expected one of {', '.join(INITIALS)}")
        if self.neurons is not None:
            if isinstance(self.neurons, str):
                object.__setattr__(self, "neurons", parse_neurons(self.neurons))
            else:
                import numpy as np  # here, not at import: `characterize --help` reads this module

                values = [self.neurons] if np.isscalar(self.neurons) else list(self.neurons)
                if not values:
                    raise DnemkitError("neurons is an empty selection; expected at least one neuron index")
                object.__setattr__(self, "neurons", tuple(check_int(v, "neurons", 0, "a neuron index")
                                                          for v in values))
            if self.neurons is not None and len(set(self.neurons)) != len(self.neurons):
                raise DnemkitError("neurons repeats an index; expected distinct neuron indices")
        contrast = check_number(self.contrast, "contrast", "an RMS contrast budget in (0, 1]")
        if not 0 < contrast <= 1:
            raise DnemkitError(f"contrast is {self.contrast!r}; expected an RMS contrast budget in (0, 1] (the root "
                               "mean square of (v - 127.5) / 127.5 over the input)")
        object.__setattr__(self, "contrast", contrast)
        blur = check_number(self.blur, "blur", "a Gaussian sigma in pixels >= 0")
        if blur < 0:
            raise DnemkitError(f"blur is {self.blur!r}; expected a Gaussian sigma in pixels >= 0 (0 = none)")
        object.__setattr__(self, "blur", blur)
        for name in ("lr", "adam_rel_eps", "tolerance"):
            v = check_number(getattr(self, name), name, "a positive number")
            if v <= 0:
                raise DnemkitError(f"{name} is {getattr(self, name)!r}; expected a positive number")
            object.__setattr__(self, name, v)
        object.__setattr__(self, "n_top", check_int(self.n_top, "n_top", 0, "neurons to pick; 0 = all"))
        object.__setattr__(self, "iterations", check_int(self.iterations, "iterations", 1))
        object.__setattr__(self, "patience", check_int(self.patience, "patience", 0, "0 = never stop early"))
        object.__setattr__(self, "batch", check_int(self.batch, "batch", 1, "inputs per reconstruction"))
        object.__setattr__(self, "seed", check_int(self.seed, "seed", 0))
        if self.n_frames is not None:
            object.__setattr__(self, "n_frames", check_int(self.n_frames, "n_frames", 2))

    def to_dict(self):
        out = super().to_dict()
        out["neurons"] = None if self.neurons is None else list(self.neurons)
        return out
