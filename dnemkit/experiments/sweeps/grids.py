"""Grids of synthetic-stimulus conditions (docs/method.md, "Stimuli"): drifting gratings and filtered Gaussian noise.

A grid is the cross product of its axes. Each point ("condition") is described by a small dict of plain numbers
(its stimulus parameters), from which :func:`stimulus` regenerates the 36 x 64 movie anywhere (a Dask worker
included), so conditions travel as a few bytes and never as movies.

Gratings: ``sf`` (cycles/degree; the cycles/pixel value is derived with the linear factor of
:mod:`dnemkit.stimuli.geometry`), ``tf`` (Hz), ``direction`` (degrees), ``repeat``. Gratings are deterministic, so
a repeat only changes the grating's spatial phase: repeat 0 starts at phase 0, repeat r at
2 pi frac(r / golden ratio) (a fixed, well-spread sequence that does not depend on how many repeats are asked).

Noise: ``sigma_space`` (pixels), ``sigma_time`` (frames), ``repeat``. Each (sigma_space, sigma_time, repeat) has
its own noise seed, derived from the sweep's seed with numpy's SeedSequence.
"""

import math

import numpy as np

from ...errors import DnemkitError, check_int, check_numbers
from ...stimuli import drifting_grating, gaussian_noise
from ...stimuli.geometry import (
    DEG_PER_PIXEL,
    MS_PER_FRAME,
    NYQUIST_CYC_PER_PX,
    NYQUIST_HZ,
    cpd_to_cyc_per_px,
    cyc_per_px_to_cpd,
)

from ...analysis.resolution import GRATING_AXES, NOISE_AXES
from .defaults import (  # noqa: E402, F401  (re-exported: the grids' public names)
    N_FRAMES,
    PAPER_DIRECTIONS,
    PAPER_NOISE_REPEATS,
    PAPER_SF_CPD,
    PAPER_SIGMAS,
    PAPER_TF_HZ,
    PATCH_COLUMNS,
    QUICK_GRATINGS,
    QUICK_NOISE,
)
from ...units import CYCLES_PER_DEGREE, CYCLES_PER_PIXEL, DEGREE, FRAME, HZ, MS, PIXEL, RADIAN

_GOLDEN = (1 + 5 ** 0.5) / 2
_TOL = 1e-9


def _numbers(values, name):
    """Distinct finite numbers as a tuple of floats (a grid axis)."""
    out = check_numbers(values, name)
    if len(set(out)) != len(out):
        dup = next(v for v in out if out.count(v) > 1)
        raise DnemkitError(f"{name} repeats the value {dup:g}; expected distinct values")
    return tuple(out)


def _repeats(repeats):
    return check_int(repeats, "repeats", 1)


def _frames(n_frames):
    return check_int(n_frames, "n_frames", 32, "one 32-frame sub-batch")


def grating_phase(repeat):
    """Spatial phase (radians) of a grating repeat: 0 for repeat 0, then 2 pi frac(r / golden ratio)."""
    return 0.0 if repeat == 0 else 2 * math.pi * ((repeat / _GOLDEN) % 1.0)


class GratingGrid:
    """Drifting gratings: sf x tf x direction x repeat (docs/method.md, "Stimuli").

    sf: spatial frequencies in ``sf_units`` ("cpd" or "cyc/px"); 0 < sf <= 0.5 cyc/px (= 0.143 cpd).
    tf: temporal frequencies in Hz, 0 <= tf <= 15 (Nyquist at 30 Hz; 0 = static).
    directions: drift directions in degrees (0 = rightwards, 90 = upwards).
    repeats: integer >= 1 (repeats differ in spatial phase, see the module docstring).
    n_frames: movie length (60 in the paper; > 31: frames >= 30 are scored).
    """

    kind = "gratings"
    dims = ("sf", "tf", "direction", "repeat")
    axes = GRATING_AXES  #: the heatmap's (rows, columns)

    def __init__(self, sf=PAPER_SF_CPD, tf=PAPER_TF_HZ, directions=PAPER_DIRECTIONS, repeats=1, sf_units="cpd",
                 n_frames=N_FRAMES):
        if sf_units not in ("cpd", "cyc/px"):
            raise DnemkitError(f"sf_units is {sf_units!r}; expected 'cpd' or 'cyc/px'")
        sf = _numbers(sf, "sf")
        sf_px = tuple(cpd_to_cyc_per_px(s) if sf_units == "cpd" else s for s in sf)
        nyquist = NYQUIST_CYC_PER_PX if sf_units == "cyc/px" else cyc_per_px_to_cpd(NYQUIST_CYC_PER_PX)
        for s, p in zip(sf, sf_px):
            if p <= 0:
                raise DnemkitError(f"sf holds {s:g} {sf_units}; expected spatial frequencies > 0")
            if p > NYQUIST_CYC_PER_PX + _TOL:
                raise DnemkitError(f"sf holds {s:g} {sf_units}; expected at most the pixel Nyquist limit "
                                   f"{nyquist:.6g} {sf_units}")
        tf = _numbers(tf, "tf")
        for t in tf:
            if t < 0 or t > NYQUIST_HZ + _TOL:
                raise DnemkitError(f"tf holds {t:g} Hz; expected 0 <= tf <= {NYQUIST_HZ:g} Hz "
                                   "(the Nyquist limit of a 30 Hz movie)")
        self.sf_px = tuple(min(p, NYQUIST_CYC_PER_PX) for p in sf_px)
        self.sf_cpd = tuple(cyc_per_px_to_cpd(p) for p in self.sf_px) if sf_units == "cyc/px" else sf
        self.tf = tf
        self.directions = _numbers(directions, "directions")
        self.repeats = _repeats(repeats)
        self.n_frames = _frames(n_frames)
        self.sf_units = sf_units

    @property
    def shape(self):
        return (len(self.sf_cpd), len(self.tf), len(self.directions), self.repeats)

    def coords(self):
        """xarray coordinates (name -> (dims, values, attrs)) of the grid axes."""
        reps = np.arange(self.repeats)
        return {
            "sf": ("sf", np.asarray(self.sf_cpd), {"units": CYCLES_PER_DEGREE, "long_name": "spatial frequency"}),
            "sf_cyc_per_px": ("sf", np.asarray(self.sf_px),
                              {"units": CYCLES_PER_PIXEL, "conversion": f"cpd = cyc/px / {DEG_PER_PIXEL:.6g} deg/px"}),
            "tf": ("tf", np.asarray(self.tf), {"units": HZ, "long_name": "temporal frequency"}),
            "direction": ("direction", np.asarray(self.directions),
                          {"units": DEGREE, "long_name": "drift direction (0 = rightwards, 90 = upwards)"}),
            "repeat": ("repeat", reps, {"long_name": "repeat (spatial phase offset)"}),
            "grating_phase": ("repeat", np.array([grating_phase(r) for r in reps]),
                              {"units": RADIAN, "long_name": "spatial phase of the repeat at pixel (0, 0)"}),
        }

    def conditions(self):
        """[(grid index tuple, stimulus params dict)] in C order over (sf, tf, direction, repeat)."""
        out = []
        for index in np.ndindex(*self.shape):
            i, j, k, r = index
            out.append((index, {"stimulus": "drifting_grating", "sf_cyc_per_px": self.sf_px[i],
                                "tf_hz": self.tf[j], "direction_deg": self.directions[k], "repeat": r,
                                "phase_rad": grating_phase(r), "n_frames": self.n_frames}))
        return out

    def options(self):
        return {"sf_cpd": list(self.sf_cpd), "sf_cyc_per_px": list(self.sf_px), "tf_hz": list(self.tf),
                "directions_deg": list(self.directions), "repeats": self.repeats, "n_frames": self.n_frames}

    @staticmethod
    def label(params):
        return (f"sf={cyc_per_px_to_cpd(params['sf_cyc_per_px']):.4g}cpd tf={params['tf_hz']:g}Hz "
                f"dir={params['direction_deg']:g} rep={params['repeat']}")


class NoiseGrid:
    """Gaussian-filtered noise: sigma_space x sigma_time x repeat (docs/method.md, "Stimuli").

    sigma_space: pixels (>= 0; 0 = spatially white); sigma_time: frames (>= 0; 0 = temporally white).
    repeats: noise seeds per (sigma_space, sigma_time) (5 in the paper). patch: show the noise in the paper's
    36 x 36 patch (columns 11..46) on grey instead of the full screen. seed: base seed of the noise seeds.
    """

    kind = "noise"
    dims = ("sigma_space", "sigma_time", "repeat")
    axes = NOISE_AXES

    def __init__(self, sigma_space=PAPER_SIGMAS, sigma_time=PAPER_SIGMAS, repeats=PAPER_NOISE_REPEATS, patch=False,
                 seed=0, n_frames=N_FRAMES):
        self.sigma_space = _numbers(sigma_space, "sigma_space")
        self.sigma_time = _numbers(sigma_time, "sigma_time")
        for name, values, unit in (("sigma_space", self.sigma_space, "pixels"),
                                   ("sigma_time", self.sigma_time, "frames")):
            for v in values:
                if v < 0:
                    raise DnemkitError(f"{name} holds {v:g} {unit}; expected sigmas >= 0 (0 = unfiltered)")
        self.repeats = _repeats(repeats)
        self.patch = bool(patch)
        self.seed = check_int(seed, "seed", 0)
        self.n_frames = _frames(n_frames)

    @property
    def shape(self):
        return (len(self.sigma_space), len(self.sigma_time), self.repeats)

    def noise_seed(self, sigma_space, sigma_time, repeat):
        """The movie seed of one condition: SeedSequence(seed, repeat, sigma_s * 1000, sigma_t * 1000)."""
        ss = np.random.SeedSequence([self.seed, int(repeat), int(round(sigma_space * 1000)),
                                     int(round(sigma_time * 1000))])
        return int(ss.generate_state(1, dtype=np.uint32)[0])

    def coords(self):
        ss, st = np.asarray(self.sigma_space), np.asarray(self.sigma_time)
        return {
            "sigma_space": ("sigma_space", ss, {"units": PIXEL, "long_name": "spatial Gaussian sigma (0 = white)"}),
            "sigma_space_deg": ("sigma_space", ss * DEG_PER_PIXEL,
                                {"units": DEGREE, "conversion": f"pixels x {DEG_PER_PIXEL:.6g} deg/px"}),
            "sigma_time": ("sigma_time", st, {"units": FRAME, "long_name": "temporal Gaussian sigma (0 = white)"}),
            "sigma_time_ms": ("sigma_time", st * MS_PER_FRAME,
                              {"units": MS, "conversion": f"frames x {MS_PER_FRAME:.6g} ms (30 Hz)"}),
            "repeat": ("repeat", np.arange(self.repeats), {"long_name": "repeat (noise seed)"}),
        }

    def conditions(self):
        out = []
        for index in np.ndindex(*self.shape):
            i, j, r = index
            s, t = self.sigma_space[i], self.sigma_time[j]
            out.append((index, {"stimulus": "gaussian_noise", "sigma_space_px": s, "sigma_time_frames": t,
                                "repeat": r, "seed": self.noise_seed(s, t, r),
                                "patch_columns": list(PATCH_COLUMNS) if self.patch else None,
                                "n_frames": self.n_frames}))
        return out

    def options(self):
        return {"sigma_space_px": list(self.sigma_space), "sigma_time_frames": list(self.sigma_time),
                "repeats": self.repeats, "patch": self.patch, "seed": self.seed, "n_frames": self.n_frames}

    @staticmethod
    def label(params):
        return (f"sigma_s={params['sigma_space_px']:g}px sigma_t={params['sigma_time_frames']:g}fr "
                f"rep={params['repeat']}")


def stimulus(params):
    """The (T, 36, 64) float32 movie of one condition's params (as made by a grid's ``conditions()``)."""
    if params["stimulus"] == "drifting_grating":
        da = drifting_grating(params["sf_cyc_per_px"], params["tf_hz"], params["direction_deg"],
                              n_frames=params["n_frames"], units="cyc/px", phase=params["phase_rad"])
    elif params["stimulus"] == "gaussian_noise":
        patch = params.get("patch_columns")
        da = gaussian_noise(params["sigma_space_px"], params["sigma_time_frames"], n_frames=params["n_frames"],
                            seed=params["seed"], patch_columns=tuple(patch) if patch else None)
    else:
        raise DnemkitError(f"unknown stimulus {params['stimulus']!r}; expected drifting_grating or gaussian_noise")
    return np.ascontiguousarray(da.values, dtype=np.float32)
