"""Per-neuron SF / TF / direction tuning of an encoder's predicted responses to drifting gratings.

Every grating of the grid sf x tf x direction (:func:`dnemkit.stimuli.gratings.drifting_grating`, full field,
``n_frames`` frames at 30 Hz) and one uniform grey movie (the baseline) go through every model of the encoder
under ``torch.no_grad``, ``batch`` movies per pass. Of each model's per-frame responses only the frames from the
encoder's ``first_valid_frame`` on (a full input history) are analysed: their mean and their Fourier component at
the grating's temporal frequency (:func:`dnemkit.analysis.tuning.fourier_components`; the default TFs make whole
cycles in the default 30 analysed frames, otherwise the mean is corrected for the partial cycle). Every model's
values are kept (dim ``model``); the tuning measures use their explicit mean over models (the mean response, and
the mean Fourier coefficients, which are those of the mean trace since the coefficients are linear in the trace).

Resumable: with an output folder, each (condition, model) is stored as it finishes in ``OUT/tuning.store/``
(:class:`dnemkit.experiments.sweeps.store.ConditionStore`), keyed by the stimulus parameters and the model's fingerprint
(:func:`dnemkit.encoders.ref.fingerprint_encoder`), so a killed run recomputes only what is missing, and a run
with more models (``--models``) reuses the models already done.
"""

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from ..analysis.tuning import fourier_components, pick_examples, tuning_measures
from ..encoders.base import members_of
from ..device import resolve_device
from ..errors import DnemkitError
from ..stimuli.geometry import (FPS, GREY, HEIGHT, NYQUIST_CYC_PER_PX, NYQUIST_HZ, WIDTH, cpd_to_cyc_per_px,
                                cyc_per_px_to_cpd)
from ..stimuli.gratings import drifting_grating

__all__ = ["TuningConfig", "DEFAULT_SF", "DEFAULT_TF", "DEFAULT_DIRECTIONS", "DEFAULT_N_FRAMES", "run_tuning",
           "model_responses", "tuning_dataset", "example_traces"]

#: octave-spaced, the paper's spatial frequencies (0.143 cpd = 0.5 cyc/px, the pixel Nyquist limit)
DEFAULT_SF = (0.018, 0.036, 0.071, 0.143)
#: octave-spaced; each makes a whole number of cycles in the 1 s analysed by default (frames 30-59), so the mean
#: and F1 are exact
DEFAULT_TF = (1.0, 2.0, 4.0, 8.0)
#: 8 directions, 45 deg apart, as the Allen Brain Observatory
DEFAULT_DIRECTIONS = tuple(float(d) for d in range(0, 360, 45))
#: frames per movie. A DwiseNeuro predicts one 16-frame window per frame from frame 30 on, so the cost grows with
#: n_frames - 30. On a 2-core CPU shared with other jobs the default 128 gratings took the demo 7.1 min with 90
#: frames, 5.3 min (183 s of CPU time) with 60. For the demo, 60 instead of 90 frames changed mean responses by
#: ~1 % and F1 amplitudes by ~2-3 % (median over neurons); the synthetic mouse is in steady state from frame 30.
DEFAULT_N_FRAMES = 60
MAX_SF_CPD = cyc_per_px_to_cpd(NYQUIST_CYC_PER_PX)  #: 0.143 cpd
_TOL = 1e-9
#: bump when what a stored condition holds changes, so stored conditions are recomputed
ANALYSIS_VERSION = 1
KIND = "tuning"
#: netCDF encoding of the large variables
COMPRESSION = {"zlib": True, "complevel": 4}


def _values(values, name, unit):
    if values is None or isinstance(values, (str, bytes)):
        raise DnemkitError(f"{name} is {values!r}; expected a list of numbers in {unit}")
    values = [values] if np.isscalar(values) else list(values)
    if not values:
        raise DnemkitError(f"{name} is empty; expected at least one value in {unit}")
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise DnemkitError(f"{name} holds {v!r}; expected numbers in {unit}") from None
        if not math.isfinite(f):
            raise DnemkitError(f"{name} holds {v!r}; expected finite numbers in {unit}")
        out.append(f)
    return out


def _distinct(values, name, key=lambda v: v):
    seen = {}
    for v in values:
        k = round(key(v), 9)
        if k in seen:
            raise DnemkitError(f"{name} repeats {seen[k]:g} (as {v:g}); expected distinct values")
        seen[k] = v


@dataclass(frozen=True)
class TuningConfig:
    """What `characterize tuning` shows the encoder; validated once, at construction.

    sf: spatial frequencies in cycles/degree, 0 < sf <= 0.143 (the pixel Nyquist limit 0.5 cycles/pixel).
    tf: temporal frequencies in Hz, 0 <= tf <= 15 (Nyquist at 30 frames/s; 0 = a static grating).
    directions: drift directions in degrees (0 = rightwards, 90 = upwards), at least 4 distinct ones mod 360.
    contrast: Michelson contrast in (0, 1].
    n_frames: frames per movie (30 Hz); the frames from the encoder's first_valid_frame on are analysed.
    batch: movies per encoder pass. device: 'auto' (a GPU when there is one), 'cpu', 'cuda', 'cuda:1', ...

    The grids are stored sorted ascending (directions mod 360), as tuple of float.
    """

    sf: tuple = DEFAULT_SF
    tf: tuple = DEFAULT_TF
    directions: tuple = DEFAULT_DIRECTIONS
    contrast: float = 0.8
    n_frames: int = DEFAULT_N_FRAMES
    batch: int = 8
    device: str = "auto"

    def __post_init__(self):
        sf = _values(self.sf, "sf", "cycles/degree")
        tf = _values(self.tf, "tf", "Hz")
        directions = _values(self.directions, "directions", "degrees")
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
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
                raise DnemkitError(f"{name} is {v!r}; expected an integer >= {minimum}")
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
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _movie(params):
    """(T, 36, 64) float32 movie of a condition's params (a grating, or uniform grey)."""
    if params.get("grey"):
        return np.full((params["n_frames"], HEIGHT, WIDTH), GREY, np.float32)
    return drifting_grating(params["sf"], params["tf"], params["direction"], params["n_frames"], units="cpd",
                            contrast=params["contrast"]).values


def _condition_record(cid, params, mean, a, b):
    """What the store keeps of one (condition, model): (neuron,) mean response and Fourier coefficients."""
    ds = xr.Dataset({"mean": ("neuron", mean.astype(np.float64)), "f1_cos": ("neuron", a.astype(np.float64)),
                     "f1_sin": ("neuron", b.astype(np.float64))})
    ds.attrs.update(condition_id=cid, kind=KIND, params=json.dumps(params, sort_keys=True))
    return ds


def model_responses(encoder, config=TuningConfig(), *, out=None, progress=True, description="tuning"):
    """Every model's mean response and Fourier coefficients for every grating of the grid and for grey.

    encoder: an Encoder (an Ensemble is run member by member). config: a :class:`TuningConfig`. out: folder
    whose ``tuning.store/`` keeps every finished (condition, model) and is reused; None = nothing stored.

    Returns a dict of numpy arrays: ``mean``, ``f1_cos``, ``f1_sin`` (model, neuron, sf, tf, direction) in
    counts/frame (for tf = 0 the coefficients are NaN), ``grey`` (model, neuron), plus ``model_names`` (list),
    ``first_frame`` (int), ``computed`` and ``reused`` (counts of (condition, model) pairs) and ``seconds``.
    """
    from ..encoders.ref import fingerprint_encoder
    from .sweeps.store import ConditionStore, condition_id, remove_stale_temporaries

    if not isinstance(config, TuningConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected a TuningConfig")
    models = members_of(encoder)
    n = int(encoder.n_neurons)
    if n < 1:
        raise DnemkitError(f"the encoder predicts {n} neurons; expected at least one")
    first = int(getattr(encoder, "first_valid_frame", 0))
    if config.n_frames < first + 3:
        raise DnemkitError(f"n_frames is {config.n_frames}; expected at least {first + 3} (the encoder's first valid "
                           f"frame is {first}; F1 needs 3 frames after it)")
    device = resolve_device(config.device)
    grey_params = {"grey": True, "n_frames": config.n_frames}
    conditions = [(None, grey_params)] + config.conditions()
    shape = (len(models), n) + config.shape
    mean, a, b = (np.full(shape, np.nan) for _ in range(3))
    grey = np.full((len(models), n), np.nan)

    store = ConditionStore(Path(out) / f"{KIND}.store") if out is not None else None
    if store is not None:
        store.clean()
        remove_stale_temporaries(Path(out), f".{KIND}.*.tmp*")
    have = store.ids() if store is not None else set()

    def place(m, index, values):
        mu, ca, sb = values
        if index is None:
            grey[m] = mu
        else:
            mean[(m, slice(None)) + index] = mu
            a[(m, slice(None)) + index] = ca
            b[(m, slice(None)) + index] = sb

    todo, reused = [], 0
    for m, model in enumerate(models):
        context = {"model": fingerprint_encoder(model), "first_frame": first, "analysis_version": ANALYSIS_VERSION}
        for index, params in conditions:
            cid = condition_id(KIND, params, None, context)
            rec = store.get(cid) if cid in have else None
            if rec is not None and rec.sizes.get("neuron") == n:
                place(m, index, (rec["mean"].values, rec["f1_cos"].values, rec["f1_sin"].values))
                reused += 1
            else:
                todo.append((m, index, params, cid))

    started = time.perf_counter()
    bar = tqdm(total=len(models) * len(conditions), initial=reused, desc=description, unit="movie",
               disable=not progress, leave=False)
    try:
        with torch.no_grad():
            for m, model in enumerate(models):
                mine = [t for t in todo if t[0] == m]
                if not mine:
                    continue
                model = model.to(device).eval()
                for k in range(0, len(mine), config.batch):
                    chunk = mine[k:k + config.batch]
                    video = torch.from_numpy(np.stack([_movie(p) for _, _, p, _ in chunk])).to(device)
                    rates = model(video, None)
                    if rates.dim() != 3 or tuple(rates.shape) != (len(chunk), n, config.n_frames):
                        raise DnemkitError(f"model {m} returned rates of shape {tuple(rates.shape)}; expected "
                                           f"({len(chunk)}, {n}, {config.n_frames})")
                    rates = rates[..., first:].double().cpu().numpy()
                    for (_, index, params, cid), trace in zip(chunk, rates):
                        values = fourier_components(trace, 0.0 if params.get("grey") else params["tf"], FPS, first)
                        place(m, index, values)
                        if store is not None:
                            store.put(_condition_record(cid, params, *values))
                    bar.update(len(chunk))
    finally:
        bar.close()
    return {"mean": mean, "f1_cos": a, "f1_sin": b, "grey": grey, "first_frame": first,
            "model_names": [str(getattr(mm, "description", "") or type(mm).__name__) for mm in models],
            "computed": len(todo), "reused": reused, "seconds": time.perf_counter() - started}


def example_traces(encoder, ds, config, n_examples=6, device="auto"):
    """Per-frame responses (mean over models) of up to ``n_examples`` responsive neurons at their preferred
    drifting condition (:func:`dnemkit.analysis.tuning.pick_examples`). Returns a Dataset with
    example_neuron (example), example_trace (example, frame) in counts/frame, example_sf / _tf / _direction."""
    picks = pick_examples(ds, n_examples) if n_examples > 0 else []
    out = xr.Dataset()
    if not picks:
        return out
    params = []
    for i in picks:
        # the condition F1/F0 was measured at; the overall preferred one when the grid has no drifting grating
        drifting = np.isfinite(ds["f1_f0_tf"].values[i])
        sf, tf, direction = ((ds["f1_f0_sf"], ds["f1_f0_tf"], ds["f1_f0_direction"]) if drifting else
                             (ds["preferred_sf"], ds["preferred_tf"], ds["preferred_direction"]))
        params.append({"sf": float(sf.values[i]), "tf": float(tf.values[i]), "direction": float(direction.values[i]),
                       "contrast": config.contrast, "n_frames": config.n_frames})
    device = resolve_device(device)
    video = torch.from_numpy(np.stack([_movie(p) for p in params])).to(device)
    traces = np.zeros((len(picks), config.n_frames))
    with torch.no_grad():
        models = members_of(encoder)
        for model in models:
            rates = model.to(device).eval()(video, None).double().cpu().numpy()
            traces += rates[np.arange(len(picks)), picks] / len(models)
    out["example_neuron"] = ("example", np.asarray(picks, np.int64))
    out["example_trace"] = (("example", "frame"), traces)
    out["example_trace"].attrs.update(units="counts/frame", long_name="response at the preferred drifting "
                                      "condition, mean over models (frames before first_frame lack history)")
    out["example_sf"] = ("example", [p["sf"] for p in params], {"units": "cycles/degree"})
    out["example_tf"] = ("example", [p["tf"] for p in params], {"units": "Hz"})
    out["example_direction"] = ("example", [p["direction"] for p in params], {"units": "degree"})
    out = out.assign_coords(frame=("frame", np.arange(config.n_frames), {"units": "frame", "long_name": "frame index (30 Hz)"}))
    return out


def tuning_dataset(raw, config):
    """The tuning Dataset from :func:`model_responses`' output: the grid's responses (every model and their
    mean) and every measure of :func:`dnemkit.analysis.tuning.tuning_measures` over ``neuron``."""
    n_models, n = raw["mean"].shape[:2]
    coords = {"neuron": np.arange(n), "sf": ("sf", np.asarray(config.sf), {"units": "cycles/degree",
                                                                           "long_name": "spatial frequency"}),
              "tf": ("tf", np.asarray(config.tf), {"units": "Hz", "long_name": "temporal frequency"}),
              "direction": ("direction", np.asarray(config.directions),
                            {"units": "degree", "long_name": "drift direction (0 = rightwards, 90 = upwards)"}),
              "model": np.arange(n_models)}
    dims = ("neuron", "sf", "tf", "direction")
    # the explicit average over models (the Fourier coefficients are linear in the trace: their mean is the
    # mean trace's)
    resp = xr.DataArray(raw["mean"].mean(0), dims=dims, coords={k: coords[k] for k in dims},
                        attrs={"units": "counts/frame"})
    f1c = xr.DataArray(raw["f1_cos"].mean(0), dims=dims, coords=resp.coords)
    f1s = xr.DataArray(raw["f1_sin"].mean(0), dims=dims, coords=resp.coords)
    base = raw["grey"].mean(0)
    ds = tuning_measures(resp, base, f1c, f1s)
    ds = ds.assign_coords(model=coords["model"], model_name=("model", list(raw["model_names"])))
    ds["sf_cyc_per_px"] = ("sf", cpd_to_cyc_per_px(np.asarray(config.sf)), {"units": "cycles/pixel"})
    ds = ds.set_coords("sf_cyc_per_px")
    ds["response"] = resp
    ds["response"].attrs.update(units="counts/frame", long_name="mean response over the analysed frames, mean "
                                "over models")
    ds["f1_amplitude"] = (dims, np.hypot(f1c.values, f1s.values))
    ds["f1_amplitude"].attrs.update(units="counts/frame", long_name="amplitude of the mean-over-models response's "
                                    "Fourier component at the grating's tf (NaN for tf = 0)")
    ds["model_response"] = (("model",) + dims, raw["mean"].astype(np.float32))
    ds["model_response"].attrs.update(units="counts/frame", long_name="each model's mean response over the "
                                      "analysed frames")
    ds["model_baseline"] = (("model", "neuron"), raw["grey"])
    ds["model_baseline"].attrs.update(units="counts/frame", long_name="each model's mean response to uniform grey")
    for name in ("response", "f1_amplitude", "model_response"):
        ds[name].encoding.update(COMPRESSION)
    return ds


def run_tuning(encoder="demo", config=None, *, mouse=None, models=None, out=None, progress=True, examples=6):
    """Drifting-grating tuning atlas of an encoder (see the module docstring).

    encoder: a spec string ('demo', 'synthetic[:seed]', a .pth, a folder, 'file.py:factory'; loaded with
    :func:`dnemkit.load_encoder`) or an Encoder. config: :class:`TuningConfig` (None: the defaults). mouse:
    readout index of a checkpoint. models: use the first K models of an ensemble (None: all). out: folder for
    ``tuning.nc`` and the resumable ``tuning.store/`` (None: nothing written). examples: neurons whose per-frame
    responses at the preferred condition are kept (example_trace; 0: none).

    Returns the xr.Dataset (dims neuron, sf, tf, direction, model, and example/frame for the traces) with
    dnemkit provenance attrs (kind 'tuning'); also written atomically to ``out/tuning.nc``.
    """
    from ..encoders.ref import EncoderRef
    from ..io.results import provenance, write_dataset

    config = TuningConfig() if config is None else config
    if not isinstance(config, TuningConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected a TuningConfig")
    if isinstance(examples, bool) or not isinstance(examples, (int, np.integer)) or examples < 0:
        raise DnemkitError(f"examples is {examples!r}; expected an integer >= 0")
    ref = EncoderRef.of(encoder, mouse, models)
    enc = ref.encoder
    started = time.perf_counter()
    raw = model_responses(enc, config, out=out, progress=progress)
    ds = tuning_dataset(raw, config)
    if examples:
        ds = ds.merge(example_traces(enc, ds, config, examples, config.device))
    ds.attrs.update(provenance(
        KIND, config.to_dict(), ref.name,
        encoder_description=str(getattr(enc, "description", "")), mouse="" if ref.mouse is None else int(ref.mouse),
        n_models=int(raw["mean"].shape[0]), first_frame=int(raw["first_frame"]),
        analysed_frames=f"{raw['first_frame']}..{config.n_frames - 1} (the encoder's first valid frame on)",
        conditions_computed=int(raw["computed"]), conditions_reused=int(raw["reused"]),
        tuning_seconds=float(time.perf_counter() - started),
        ensemble="explicit mean over the model dim of each model's mean response and Fourier coefficients",
        direction_convention="0 deg drifts rightwards, 90 deg upwards (dnemkit.stimuli.gratings)",
        orientation_convention="direction mod 180: the drift axis (grating wave vector)"))
    if out is not None:
        write_dataset(ds, Path(out) / f"{KIND}.nc")
    return ds
