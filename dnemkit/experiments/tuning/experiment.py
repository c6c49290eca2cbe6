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
(the run engine's :class:`~dnemkit.experiments.runs.store.UnitStore`), keyed by the stimulus parameters and the model's fingerprint
(:func:`dnemkit.encoders.ref.fingerprint_encoder`), so a killed run recomputes only what is missing, and a run
with more models (``--models``) reuses the models already done.
"""

import json
import time
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import xarray as xr

from ...analysis.tuning import fourier_components, pick_examples, tuning_measures
from ...device import resolve_device
from ...encoders.base import members_of, model_names
from ...encoders.responses import predict_responses
from ...errors import DnemkitError
from ...io.results import provenance
from ...stimuli.geometry import FPS, GREY, HEIGHT, WIDTH, cpd_to_cyc_per_px
from ...stimuli.gratings import drifting_grating
from ...errors import say
from ..contract import check_config, write_outputs
from ..runs.engine import Run, batches
from ..runs.ids import unit_id
from ..runs.store import UnitStore
from .config import TuningConfig
from ...units import COUNTS_PER_FRAME, CYCLES_PER_DEGREE, CYCLES_PER_PIXEL, DEGREE, FRAME, HZ

__all__ = ["TuningConfig", "run", "model_responses", "tuning_dataset", "example_traces"]

#: bump when what a stored condition holds changes, so stored conditions are recomputed
ANALYSIS_VERSION = 1
KIND = "tuning"
#: netCDF encoding of the large variables
COMPRESSION = {"zlib": True, "complevel": 4}


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


@dataclass(frozen=True)
class _Unit:
    """One unit of a tuning run: model ``model``'s responses to the condition at grid ``index`` (None: grey)."""

    model: int
    index: tuple | None
    params: dict
    id: str


def _units(models, conditions, first):
    """Every (model, condition) unit with its id: the condition's params and the model's fingerprint (a changed
    model is recomputed, more models reuse those done)."""
    from ...encoders.ref import fingerprint_encoder

    units = []
    for m, model in enumerate(models):
        context = {"model": fingerprint_encoder(model), "first_frame": first, "analysis_version": ANALYSIS_VERSION}
        units += [_Unit(m, index, params, unit_id(KIND, params, None, context)) for index, params in conditions]
    return units


def model_responses(encoder, config=TuningConfig(), *, out=None, progress=True, description="tuning"):
    """Every model's mean response and Fourier coefficients for every grating of the grid and for grey.

    encoder: an Encoder (an Ensemble is run member by member). config: a :class:`TuningConfig`. out: folder
    whose ``tuning.store/`` keeps every finished (condition, model) and is reused; None = nothing stored.

    Returns a dict of numpy arrays: ``mean``, ``f1_cos``, ``f1_sin`` (model, neuron, sf, tf, direction) in
    counts/frame (for tf = 0 the coefficients are NaN), ``grey`` (model, neuron), plus ``model_names`` (list),
    ``first_frame`` (int), ``computed`` and ``reused`` (counts of (condition, model) pairs) and ``seconds``.
    Raises :class:`~dnemkit.experiments.runs.Interrupted` on Ctrl-C (what finished is stored).
    """
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
    conditions = [(None, {"grey": True, "n_frames": config.n_frames})] + config.conditions()
    units = _units(models, conditions, first)
    # a stored unit of another neuron count (another encoder of the same fingerprint cannot be; a damaged one
    # can) is computed again
    run_ = Run(units, store=UnitStore.open(out, KIND), accept=lambda ds: ds.sizes.get("neuron") == n)

    def compute(k, chunk):
        return _responses(models[chunk[0].model].to(device).eval(), chunk, n, first, device)

    started = time.perf_counter()
    run_.execute(batches(run_.todo, config.batch, group=attrgetter("model")), compute,
                 keep=lambda u, components: _condition_record(u.id, u.params, *components), progress=progress,
                 desc=description, unit="movie", leave=False, path=out, noun="(grating, model) pairs")
    values = _GridValues(len(models), n, config.shape)
    for u in units:
        rec = run_.stored[u.id]
        values.place(u.model, u.index, (rec["mean"].values, rec["f1_cos"].values, rec["f1_sin"].values))
    return {"mean": values.mean, "f1_cos": values.a, "f1_sin": values.b, "grey": values.grey, "first_frame": first,
            "model_names": model_names(models),
            "computed": run_.computed, "reused": run_.reused, "seconds": time.perf_counter() - started}


class _GridValues:
    """What :func:`model_responses` fills in: ``mean``, ``a``, ``b`` (model, neuron, sf, tf, direction) and
    ``grey`` (model, neuron), NaN until placed."""

    def __init__(self, n_models, n_neurons, grid_shape):
        shape = (n_models, n_neurons) + grid_shape
        self.mean, self.a, self.b = (np.full(shape, np.nan) for _ in range(3))
        self.grey = np.full((n_models, n_neurons), np.nan)

    def place(self, m, index, values):
        """Put model ``m``'s (mean, a, b) (neuron,) of the condition at grid ``index`` (None: grey)."""
        mu, ca, sb = values
        if index is None:
            self.grey[m] = mu
        else:
            self.mean[(m, slice(None)) + index] = mu
            self.a[(m, slice(None)) + index] = ca
            self.b[(m, slice(None)) + index] = sb


def _responses(model, chunk, n, first, device):
    """(mean, a, b) of ``model`` (on ``device``, in eval mode) for each unit of ``chunk``: its mean response and
    Fourier coefficients over the frames from ``first`` on, in one pass (:func:`predict_responses`: no grad,
    checked rates of ``n`` neurons)."""
    rates = predict_responses(model, np.stack([_movie(u.params) for u in chunk]), device=device, n_neurons=n,
                              reduce=lambda r: r[..., first:].double())
    return [fourier_components(trace, 0.0 if u.params.get("grey") else u.params["tf"], fps=FPS, first_frame=first)
            for u, trace in zip(chunk, rates)]


def example_traces(encoder, ds, config, n_examples=6, device="auto"):
    """Per-frame responses (mean over models) of up to ``n_examples`` responsive neurons at their preferred
    drifting condition (:func:`dnemkit.analysis.tuning.pick_examples`). Returns a Dataset with
    example_neuron (example), example_trace (example, frame) in counts/frame, example_sf / _tf / _direction."""
    picks = pick_examples(ds, n=n_examples) if n_examples > 0 else []
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
    video = np.stack([_movie(p) for p in params])
    traces = np.zeros((len(picks), config.n_frames))
    models = members_of(encoder)
    for model in models:
        rates = predict_responses(model.to(device).eval(), video, device=device, reduce=lambda r: r.double())
        traces += rates[np.arange(len(picks)), picks] / len(models)
    out["example_neuron"] = ("example", np.asarray(picks, np.int64))
    out["example_trace"] = (("example", "frame"), traces)
    out["example_trace"].attrs.update(units=COUNTS_PER_FRAME, long_name="response at the preferred drifting "
                                      "condition, mean over models (frames before first_frame lack history)")
    out["example_sf"] = ("example", [p["sf"] for p in params], {"units": CYCLES_PER_DEGREE})
    out["example_tf"] = ("example", [p["tf"] for p in params], {"units": HZ})
    out["example_direction"] = ("example", [p["direction"] for p in params], {"units": DEGREE})
    out = out.assign_coords(frame=("frame", np.arange(config.n_frames), {"units": FRAME, "long_name": "frame index (30 Hz)"}))
    return out


def tuning_dataset(raw, config):
    """The tuning Dataset from :func:`model_responses`' output: the grid's responses (every model and their
    mean) and every measure of :func:`dnemkit.analysis.tuning.tuning_measures` over ``neuron``."""
    n_models, n = raw["mean"].shape[:2]
    coords = {"neuron": np.arange(n), "sf": ("sf", np.asarray(config.sf), {"units": CYCLES_PER_DEGREE,
                                                                           "long_name": "spatial frequency"}),
              "tf": ("tf", np.asarray(config.tf), {"units": HZ, "long_name": "temporal frequency"}),
              "direction": ("direction", np.asarray(config.directions),
                            {"units": DEGREE, "long_name": "drift direction (0 = rightwards, 90 = upwards)"}),
              "model": np.arange(n_models)}
    dims = ("neuron", "sf", "tf", "direction")
    # the explicit average over models (the Fourier coefficients are linear in the trace: their mean is the
    # mean trace's)
    resp = xr.DataArray(raw["mean"].mean(0), dims=dims, coords={k: coords[k] for k in dims},
                        attrs={"units": COUNTS_PER_FRAME})
    f1c = xr.DataArray(raw["f1_cos"].mean(0), dims=dims, coords=resp.coords)
    f1s = xr.DataArray(raw["f1_sin"].mean(0), dims=dims, coords=resp.coords)
    base = raw["grey"].mean(0)
    ds = tuning_measures(resp, base, f1_cos=f1c, f1_sin=f1s)
    ds = ds.assign_coords(model=coords["model"], model_name=("model", list(raw["model_names"])))
    ds["sf_cyc_per_px"] = ("sf", cpd_to_cyc_per_px(np.asarray(config.sf)), {"units": CYCLES_PER_PIXEL})
    ds = ds.set_coords("sf_cyc_per_px")
    ds["response"] = resp
    ds["response"].attrs.update(units=COUNTS_PER_FRAME, long_name="mean response over the analysed frames, mean "
                                "over models")
    ds["f1_amplitude"] = (dims, np.hypot(f1c.values, f1s.values))
    ds["f1_amplitude"].attrs.update(units=COUNTS_PER_FRAME, long_name="amplitude of the mean-over-models response's "
                                    "Fourier component at the grating's tf (NaN for tf = 0)")
    ds["model_response"] = (("model",) + dims, raw["mean"].astype(np.float32))
    ds["model_response"].attrs.update(units=COUNTS_PER_FRAME, long_name="each model's mean response over the "
                                      "analysed frames")
    ds["model_baseline"] = (("model", "neuron"), raw["grey"])
    ds["model_baseline"].attrs.update(units=COUNTS_PER_FRAME, long_name="each model's mean response to uniform grey")
    for name in ("response", "f1_amplitude", "model_response"):
        ds[name].encoding.update(COMPRESSION)
    return ds


def run(config=None, *, out=None, progress=True, log=None):
    """Drifting-grating tuning atlas of ``config.encoder`` (see the module docstring).

    config: a :class:`TuningConfig` (None: the defaults, the demo encoder). out: folder for ``tuning.nc`` (kept up
    to date), the resumable ``tuning.store/`` and the figures (None: nothing written). log: receives one line
    saying how many gratings were computed and reused.

    Returns the xr.Dataset (dims neuron, sf, tf, direction, model, and example/frame for the traces) with
    dnemkit provenance attrs (kind 'tuning').
    """
    config = check_config(config, TuningConfig)
    ref = config.encoder
    enc = ref.encoder
    started = time.perf_counter()
    raw = model_responses(enc, config, out=out, progress=progress)
    say(log, f"(grating, model) pairs: {raw['computed'] + raw['reused']}, {raw['reused']} already stored (reused), "
             f"{raw['computed']} computed")
    ds = tuning_dataset(raw, config)
    if config.examples:
        ds = ds.merge(example_traces(enc, ds, config, config.examples, config.device))
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
        write_outputs(ds, out)
    return ds
