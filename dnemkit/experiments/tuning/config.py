"""What `characterize tuning` shows the encoder: :class:`TuningConfig` (no torch import)."""

import math
from dataclasses import dataclass

from ...errors import DnemkitError, check_int, check_numbers
from ...stimuli.geometry import FPS, NYQUIST_CYC_PER_PX, NYQUIST_HZ, cpd_to_cyc_per_px, cyc_per_px_to_cpd
from ..contract import DEFAULT_ENCODER, ExperimentConfig

from ...stimuli.tuning_grid import DEFAULT_DIRECTIONS, DEFAULT_SF, DEFAULT_TF  # noqa: F401  (re-exported)
#: frames per movie. A DwiseNeuro predicts one 16-frame window per frame from frame 30 on, so the cost grows with
#: n_frames - 30. On a 2-core CPU shared with other jobs the default 128 gratings took the demo 7.1 min with 90
#: frames, 5.3 min (183 s of CPU time) with 60. For the demo, 60 instead of 90 frames changed mean responses by
#: ~1 % and F1 amplitudes by ~2-3 % (median over neurons); the synthetic mouse is in steady state from frame 30.
DEFAULT_N_FRAMES = 60
MAX_SF_CPD = cyc_per_px_to_cpd(NYQUIST_CYC_PER_PX)  #: 0.143 cpd
_TOL = 1e-9



def _distinct(values, name, key=lambda v: v):
    seen = {}
    for v in values:
        k = round(key(v), 9)
        if k in seen:
            raise DnemkitError(f"{name} repeats {seen[k]:g} (as {v:g}); expected distinct values")
        seen[k] = v


@dataclass(frozen=True)
class TuningConfig(ExperimentConfig):
    """What `characterize tuning` shows the encoder; validated once, at construction.

    sf: spatial frequencies in cycles/degree, 0 < sf <= 0.143 (the pixel Nyquist limit 0.5 cycles/pixel).
    tf: temporal frequencies in Hz, 0 <= tf <= 15 (Nyquist at 30 frames/s; 0 = a static grating).
    directions: drift directions in degrees (0 = rightwards, 90 = upwards), at least 4 distinct ones mod 360.
    contrast: Michelson contrast in (0, 1].
    n_frames: frames per movie (30 Hz); the frames from the encoder's first_valid_frame on are analysed.
    batch: movies per encoder pass. device: 'auto' (a GPU when there is one), 'cpu', 'cuda', 'cuda:1', ...
    encoder: an EncoderRef (spec, mouse, models; a spec string is wrapped); every model's responses are kept.
    examples: neurons whose per-frame responses at the preferred condition are kept (example_trace; 0: none).

    The grids are stored sorted ascending (directions mod 360), as tuple of float.
    """

    encoder: object = DEFAULT_ENCODER
    sf: tuple = DEFAULT_SF
    tf: tuple = DEFAULT_TF
    directions: tuple = DEFAULT_DIRECTIONS
    contrast: float = 0.8
    n_frames: int = DEFAULT_N_FRAMES
    batch: int = 8
    device: str = "auto"
    examples: int = 6

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "examples", check_int(self.examples, "examples", 0, "example neurons"))
        sf = check_numbers(self.sf, "sf", "cycles/degree")
        tf = check_numbers(self.tf, "tf", "Hz")
        directions = check_numbers(self.directions, "directions", "degrees")
        for v in sf:
            if v <= 0:
                raise DnemkitError(f"sf holds {v:g} cpd; expected spatial frequencies > 0")
            if cpd_to_cyc_per_px(v) > NYQUIST_CYC_PER_PX + _TOL and v > MAX_SF_CPD + _TOL:
                raise DnemkitError(f"sf holds {v:g} cpd; expected at most {MAX_SF_CPD:.3g} cpd (0.5 cycles/pixel, "
                                   "the pixel Nyquist limit)")
        for v in tf:
            if v < 0:
                raise DnemkitError(f"tf holds {v:g} Hz; expected temporal frequencies >= 0 (0 = static)")
            if v > NYQUIST_HZ + _TOL:
                raise DnemkitError(f"tf holds {v:g} Hz; expected at most {NYQUIST_HZ:g} Hz (the Nyquist frequency "
                                   f"at {FPS:g} frames/s)")
        _distinct(sf, "sf")
        _distinct(tf, "tf")
        _distinct(directions, "directions", key=lambda d: d % 360.0)
        if len(directions) < 4:
            raise DnemkitError(f"directions holds {len(directions)} value(s); expected at least 4 (OSI and DSI need "
                               "the orthogonal and the opposite directions)")
        try:
            contrast = float(self.contrast)
        except (TypeError, ValueError):
            raise DnemkitError(f"contrast is {self.contrast!r}; expected a number in (0, 1]") from None
        if not (math.isfinite(contrast) and 0 < contrast <= 1):
            raise DnemkitError(f"contrast is {self.contrast!r}; expected a number in (0, 1]")
        for name, minimum in (("n_frames", 32), ("batch", 1)):
            object.__setattr__(self, name, check_int(getattr(self, name), name, minimum))
        if not isinstance(self.device, str) or not self.device.strip():
            raise DnemkitError(f"device is {self.device!r}; expected 'auto', 'cpu' or 'cuda[:k]'")
        object.__setattr__(self, "sf", tuple(sorted(sf)))
        object.__setattr__(self, "tf", tuple(sorted(tf)))
        object.__setattr__(self, "directions", tuple(sorted(d % 360.0 for d in directions)))
        object.__setattr__(self, "contrast", contrast)
        object.__setattr__(self, "n_frames", int(self.n_frames))
        object.__setattr__(self, "batch", int(self.batch))

    @property
    def shape(self):
        return len(self.sf), len(self.tf), len(self.directions)

    def conditions(self):
        """[(grid index (i_sf, i_tf, i_dir), stimulus params)] of every grating, sf-major."""
        return [((i, j, k), {"sf": s, "tf": t, "direction": d, "contrast": self.contrast, "n_frames": self.n_frames})
                for i, s in enumerate(self.sf) for j, t in enumerate(self.tf) for k, d in enumerate(self.directions)]

    def to_dict(self):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in super().to_dict().items()}
