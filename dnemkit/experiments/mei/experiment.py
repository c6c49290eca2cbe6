"""Most exciting inputs (MEIs): for each chosen neuron, the input that drives it most under a fixed contrast budget
(docs/method.md, "MEI").

One input per neuron, many neurons per batched pass, optimised by the reconstruction loop
(:func:`dnemkit.reconstruction.reconstruct`) assembled from named parts:

- objective ``"activation"``: each input's loss is minus its own neuron's mean rate over the analysed frames
  (the loop's targets are one-hot weights: input b, neuron n_b, frames ``first_valid_frame``..T-1);
- initial: ``grey`` or ``noise`` (seeded white noise at a tenth of the budget; a complex cell's energy model
  has no gradient at uniform grey);
- optimiser: the fast recipe's per-pixel Adam (``PixelAdam``, cosine step decay) with a frame-relative epsilon
  (1000) that dominates its denominator, so that its step is proportional to the (momentum-averaged) gradient and
  the projected iteration's fixed point is the constrained optimum. With the fast recipe's own epsilon 0.3 the
  sign-like steps flatten the MEI: 0.70 of the analytic optimum's activation on the synthetic mouse's simple
  cells; 20: 0.95 when stopped at the plateau; 1000: 0.98 (docs/method.md, "MEI");
- transform: an image MEI is one frame held for the whole clip (the gradient is averaged over frames, so every
  frame takes the same step), and the gradient is blurred with a Gaussian of ``blur`` px (0 = none);
- constraint: the contrast budget, :func:`project_to_budget` after every step;
- stopper: :class:`PlateauStopper` (the mean activation stopped rising);
- ensembles: gradient ensembling (the normalised gradients of the models averaged: one input for the ensemble).

For comparison the same neurons' activation by the best grating of the tuning grid (every sf x tf x direction
of :class:`dnemkit.experiments.tuning.TuningConfig` plus static gratings, four spatial phases) and by the best
32-frame clip of held-out natural movies is measured, every stimulus projected to the same budget. The grid's
responses also give the tuning atlas the MEIs' descriptors are compared with (or a ``tuning.nc`` given as
``tuning``), and rank the neurons for ``top_by``.
"""

import json
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from ...analysis.mei import mei_descriptors
from ...analysis.tuning import tuning_measures
from ...device import resolve_device
from ...encoders.base import members_of, probe_encoder
from ...encoders.responses import predict_responses
from ...errors import DnemkitError
from ...reconstruction.constraints import project_to_budget
from ...reconstruction.stoppers import PlateauStopper
from ...reconstruction.transforms import MeiTransform
from ...stimuli.geometry import GREY, HEIGHT, WIDTH, cyc_per_px_to_cpd
from ...stimuli.gratings import drifting_grating
from ...stimuli.natural import natural_movie
from ...stimuli.tuning_grid import DEFAULT_DIRECTIONS, DEFAULT_SF, DEFAULT_TF
from ...errors import say
from ..contract import check_config, write_outputs
from .config import MeiConfig
from ...units import COUNTS_PER_FRAME, CYCLES_PER_DEGREE, DIMENSIONLESS, GREY_LEVEL

__all__ = ["MeiConfig", "run", "select_neurons"]

KIND = "mei"
#: grating phases (radians at pixel (0, 0), frame 0) of the comparison grid: a simple cell's response to a
#: grating depends on where the bars fall on its RF
PHASES = (0.0, math.pi / 2, math.pi, 3 * math.pi / 2)
#: held-out natural movies (seeds 5000+) cut into clips of the MEI's length for the natural comparison
NATURAL_SEEDS = (5000, 5001)
COMPRESSION = {"zlib": True, "complevel": 4}


# ------------------------------------------------------------------------------------------------------------
# comparison stimuli and activations
# ------------------------------------------------------------------------------------------------------------
def _grid(kind):
    """[(sf cpd, tf Hz, direction deg, phase rad)] of the comparison gratings: the tuning grid (drifting) plus
    static gratings (tf 0, directions mod 180) for image MEIs."""
    out = [(s, t, d, p) for s in DEFAULT_SF for t in DEFAULT_TF for d in DEFAULT_DIRECTIONS for p in PHASES]
    if kind == "image":
        out += [(s, 0.0, d, p) for s in DEFAULT_SF for d in DEFAULT_DIRECTIONS if d < 180 for p in PHASES]
    return out


def _activations(encoder, clips, first, device, batch, progress=False, desc="activation"):
    """Mean rate over frames first.. of every clip, every model: (models, K, N) float64.

    clips: (K, T, 36, 64) grey levels, or (K, make) with make(k0, k1) -> clips k0..k1-1 (made batch by batch,
    so a large grid never sits in memory at once)."""
    return np.stack([predict_responses(model.to(device).eval(), clips, batch=batch, device=device,
                                       reduce=lambda r: r[..., first:].mean(-1).double(), progress=progress,
                                       desc=desc)
                     for model in members_of(encoder)])


def _clip_batch(encoder):
    """Clips per no-grad pass: many for a light encoder, few for a CNN on a CPU (cache)."""
    heavy = any(hasattr(m, "model") for m in members_of(encoder))
    return 8 if heavy else 64


def select_neurons(config, n_neurons, grating_peak, grey, atlas):
    """The neuron indices (int64, in the order given or ranked) of ``config``'s selection; DnemkitError for an
    index out of range or an empty selection."""
    if config.neurons is not None:
        bad = [i for i in config.neurons if not 0 <= i < n_neurons]
        if bad:
            raise DnemkitError(f"neurons holds {bad[0]}, out of range; expected indices 0..{n_neurons - 1} (the "
                               f"encoder predicts {n_neurons} neurons)")
        return np.asarray(config.neurons, np.int64)
    if config.top_by == "response":
        score = grating_peak - grey
        order = np.argsort(-score, kind="stable")
    else:
        osi = np.asarray(atlas["osi"].values, np.float64)
        ok = np.asarray(atlas["responsive"].values).astype(bool) & np.isfinite(osi)
        if not ok.any():
            raise DnemkitError("top_by 'osi' found no responsive neuron with an OSI; expected an encoder whose "
                               "neurons respond to gratings (or choose --neurons)")
        order = np.flatnonzero(ok)[np.argsort(-osi[ok], kind="stable")]
    n = len(order) if config.n_top == 0 else min(config.n_top, len(order))
    if n == 0:
        raise DnemkitError("the selection is empty; expected at least one neuron")
    return np.asarray(order[:n], np.int64)


def _atlas_from_file(path, n_neurons):
    from ...io.results import read_dataset

    ds = read_dataset(path, kind="tuning")
    if ds.sizes.get("neuron") != n_neurons:
        raise DnemkitError(f"{path} holds {ds.sizes.get('neuron')} neurons; the encoder predicts {n_neurons}")
    return ds


# ------------------------------------------------------------------------------------------------------------
# the experiment
# ------------------------------------------------------------------------------------------------------------
def run(config=None, *, out=None, progress=True, log=None):
    """Compute MEIs for ``config``'s neurons; write ``OUT/mei.nc`` and the figure when ``out`` is given.

    Returns an xr.Dataset (dnemkit_kind "mei") over ``neuron`` (the chosen indices, in order):
    mei (neuron, y, x) for images / (neuron, frame, y, x) for videos, grey levels; activation (neuron) and
    model_activation (model, neuron): mean rate over the analysed frames (counts/frame); grating_activation and
    the best grating's grating_sf (cycles/degree), grating_tf (Hz), grating_direction (degree), grating_phase
    (radian); natural_activation (best natural clip at the budget); grey_activation; activation_trace
    (iteration, neuron); the descriptors of :func:`dnemkit.analysis.mei.mei_descriptors` (sf also in
    cycles/degree: sf_cpd); the atlas' values for comparison (atlas_orientation, atlas_sf, atlas_tf,
    atlas_direction, atlas_osi, atlas_responsive); provenance and timing in attrs.

    config: a :class:`MeiConfig` (None: the defaults, the demo encoder). out: folder for ``mei.nc`` and the
    figure (None: nothing written). log: one line on the comparison stimuli and one on the MEIs.
    """
    config = check_config(config, MeiConfig)
    started = time.perf_counter()
    device = resolve_device(config.execution.device)
    encoder, n, first, t = _plan(config)

    # comparison stimuli, every one projected to the budget; their responses rank the neurons and give the atlas
    comparison = _compare(encoder, config, t, first, device, progress, log)
    atlas = (_atlas_from_file(config.tuning, n) if config.tuning is not None else
             _grid_atlas(comparison.grid, comparison.grating, comparison.grey, n))
    chosen = select_neurons(config, n, comparison.grating.max(0), comparison.grey, atlas)
    say(log, f"MEIs of {len(chosen)} neuron(s) ({config.kind}, {t} frames, frames {first}-{t - 1} analysed)")

    meis, trace, stopped, mei_seconds = _optimise(encoder, config, chosen, n, t, first, progress)
    model_act = _activations(encoder, meis, first, device, comparison.batch)[:, np.arange(len(chosen)), chosen]
    ds = _mei_dataset(config, meis, chosen, model_act, trace, comparison, t)
    _add_descriptors(ds, meis, config.kind == "image", atlas, chosen)
    seconds = time.perf_counter() - started
    from ...io.results import provenance

    ds.attrs.update(provenance(KIND, config, encoder=config.encoder.describe(), seed=config.seed))
    ds.attrs.update(
        mei_kind=config.kind, contrast_budget=config.contrast, n_frames=t, first_frame=first,
        selection=("given" if config.neurons is not None else
                   f"top {len(chosen)} by {config.top_by}" if config.n_top else "all"),
        atlas=(f"tuning.nc {config.tuning}" if config.tuning is not None else
               f"comparison grid at RMS contrast {config.contrast:g}, best of {len(PHASES)} phases, frames "
               f"{first}-{t - 1}"),
        iterations_run=json.dumps(stopped), seconds=round(seconds, 2), mei_seconds=round(mei_seconds, 2),
        meis_per_second=round(len(chosen) / max(mei_seconds, 1e-9), 4), device=str(device),
        comparison_gratings=len(comparison.grid), comparison_natural_clips=comparison.n_natural_clips)
    if out is not None:
        write_outputs(ds, out)
    return ds


def _plan(config):
    """Check what needs no compute and fix the clip: (encoder, n neurons, first analysed frame, frames T).

    Raises DnemkitError for a missing tuning.nc, an encoder that fails the probe (with gradients), a given
    neuron index out of range, or ``n_frames`` not beyond the encoder's first valid frame.
    """
    if config.tuning is not None:
        from pathlib import Path

        if not Path(config.tuning).is_file():
            raise DnemkitError(f"tuning {config.tuning} does not exist; expected a tuning.nc from `characterize "
                               "tuning`")
    encoder = config.encoder.encoder
    probe_encoder(encoder, need_grad=True)
    n = int(encoder.n_neurons)
    if config.neurons is not None:  # before any compute: an index out of range is the user's to fix at once
        select_neurons(config, n, None, None, None)
    first = int(getattr(encoder, "first_valid_frame", 0))
    t = config.n_frames if config.n_frames is not None else max(first + 2, 32)
    if t <= first:
        raise DnemkitError(f"n_frames is {t}; expected more than the encoder's first valid frame ({first})")
    return encoder, n, first, t


@dataclass(frozen=True)
class _Comparison:
    """The comparison stimuli's mean activations over the analysed frames (counts/frame, mean over models).

    grid: [(sf cpd, tf Hz, direction deg, phase rad)] of the gratings (:func:`_grid`); grating: (len(grid), N);
    grey: (N,), uniform grey; natural: (clips, N), the natural clips; n_natural_clips: their number; batch:
    clips per no-grad pass (:func:`_clip_batch`).
    """

    grid: list
    grating: np.ndarray
    grey: np.ndarray
    natural: np.ndarray
    n_natural_clips: int
    batch: int


def _compare(encoder, config, t, first, device, progress, log):
    """Every model's activations by the comparison gratings, uniform grey and the natural clips of ``t``
    frames, each projected to the contrast budget; the :class:`_Comparison` of their means over models."""
    grid = _grid(config.kind)

    def gratings(a, b):
        clips = np.stack([drifting_grating(s, tf, d, t, units="cpd", phase=p).values for s, tf, d, p in grid[a:b]])
        return project_to_budget(torch.from_numpy(clips), config.contrast)

    say(log, f"comparison: {len(grid)} gratings and natural clips of {t} frames at RMS contrast "
              f"{config.contrast:g}")
    batch = _clip_batch(encoder)
    grating = _activations(encoder, (len(grid), gratings), first, device, batch, progress, "gratings").mean(0)
    grey = _activations(encoder, np.full((1, t, HEIGHT, WIDTH), GREY, np.float32), first, device, 1).mean(0)[0]
    movies = [natural_movie(seed=s).values for s in NATURAL_SEEDS]
    nat_clips = np.stack([m[k:k + t] for m in movies for k in range(0, len(m) - t + 1, t)])  # within a movie
    nat_clips = project_to_budget(torch.from_numpy(np.ascontiguousarray(nat_clips)), config.contrast).numpy()
    natural = _activations(encoder, nat_clips, first, device, batch, progress, "natural clips").mean(0)
    return _Comparison(grid, grating, grey, natural, len(nat_clips), batch)


def _grid_atlas(grid, grating, grey, n):
    """The tuning atlas (:func:`tuning_measures`, no fits) of the drifting part of the comparison grid, each
    condition's best phase. grating: (len(grid), n) activations; grey: (n,) baseline."""
    drifting = np.asarray(grid)[:, 1] > 0
    g = grating[drifting].reshape(len(DEFAULT_SF), len(DEFAULT_TF), len(DEFAULT_DIRECTIONS), len(PHASES), n)
    resp = xr.DataArray(g.max(3).transpose(3, 0, 1, 2), dims=("neuron", "sf", "tf", "direction"),
                        coords={"sf": list(DEFAULT_SF), "tf": list(DEFAULT_TF), "direction": list(DEFAULT_DIRECTIONS)},
                        attrs={"units": COUNTS_PER_FRAME})
    return tuning_measures(resp, grey, fit=False)


def _optimise(encoder, config, chosen, n, t, first, progress):
    """The MEIs of the ``chosen`` neurons, ``config.batch`` neurons per reconstruction.

    Returns (meis (len(chosen), t, 36, 64) float32 grey levels, trace (iterations, len(chosen)): the mean
    activation over models per iteration, NaN after the stop; stopped: iterations run per batch; seconds).
    """
    from ...reconstruction import Recipe, reconstruct

    static = config.kind == "image"
    recipe = Recipe.named("fast", iterations=config.iterations, lr=config.lr, adam_rel_eps=config.adam_rel_eps,
                          subbatch_frames=t, schedule="dense", smoothing_sigma=0.0, ensembling="gradient",
                          seed=config.seed)
    execution = config.execution
    transform = MeiTransform(static, config.blur)
    meis = np.zeros((len(chosen), t, HEIGHT, WIDTH), np.float32)
    trace = np.full((config.iterations, len(chosen)), np.nan)
    stopped = []
    gen = torch.Generator().manual_seed(config.seed)  # one stream for every batch's noise start
    started = time.perf_counter()
    bar = tqdm(total=len(chosen), desc="MEIs", unit="neuron", disable=not progress, leave=False)
    for k in range(0, len(chosen), config.batch):
        part = chosen[k:k + config.batch]
        b = len(part)
        weights = torch.zeros((b, n, t))
        weights[torch.arange(b), torch.as_tensor(part), first:] = 1.0
        stopper = PlateauStopper(config.patience, config.tolerance)
        res = reconstruct(encoder, weights, None, recipe, execution=execution, neurons=part, objective="activation",
                          start=_start(config, b, t, gen), precondition=transform,
                          constraint=lambda v: project_to_budget(v, config.contrast), stopper=stopper, progress=False)
        meis[k:k + b] = res.ensemble_raw
        loss = res.traces["loss"].mean(1)  # (iterations run, B): minus the activation, mean over models
        trace[:len(loss), k:k + b] = -loss
        stopped.append(len(loss))
        bar.update(b)
    bar.close()
    return meis, trace, stopped, time.perf_counter() - started


def _start(config, b, t, gen):
    """The ``b`` initial inputs (b, t, 36, 64) grey levels: uniform grey, or white noise from ``gen`` (one frame
    held for image MEIs) projected to a tenth of the budget."""
    if config.initial == "noise":
        static = config.kind == "image"
        noise = torch.randn((b, 1 if static else t, HEIGHT, WIDTH), generator=gen).expand(b, t, HEIGHT, WIDTH)
        return project_to_budget(GREY + noise.contiguous(), 0.1 * config.contrast)
    return torch.full((b, t, HEIGHT, WIDTH), GREY)


def _mei_dataset(config, meis, chosen, model_act, trace, comparison, t):
    """The Dataset of the MEIs and their activations next to the comparison stimuli's (see :func:`run`).

    meis: (K, t, 36, 64) grey levels of the K ``chosen`` neurons; model_act: (models, K) activation of each
    neuron by its MEI; trace: (iterations, K).
    """
    static = config.kind == "image"
    best = comparison.grating[:, chosen].argmax(0)
    params = np.asarray(comparison.grid)
    ds = xr.Dataset(coords={"neuron": ("neuron", chosen, {"long_name": "neuron index of the encoder"})})
    mei_values = meis[:, 0] if static else meis
    ds["mei"] = (("neuron", "y", "x") if static else ("neuron", "frame", "y", "x"), mei_values)
    ds["mei"].attrs.update(units=GREY_LEVEL, long_name=(
        "most exciting image (held for every frame of the clip)" if static else "most exciting video"))
    ds["mei"].encoding.update(COMPRESSION)
    put = _putter(ds)
    put("activation", model_act.mean(0), "counts/frame",
        "the neuron's mean rate over the analysed frames for its MEI, mean over models")
    ds["model_activation"] = (("model", "neuron"), model_act, {"units": COUNTS_PER_FRAME,
                              "long_name": "activation by the MEI, each model"})
    put("grating_activation", comparison.grating[best, chosen], "counts/frame",
        "the best grating of the comparison grid at the same contrast budget")
    for j, (name, unit, label) in enumerate((("grating_sf", "cycles/degree", "spatial frequency"),
                                             ("grating_tf", "Hz", "temporal frequency (0 = static)"),
                                             ("grating_direction", "degree", "drift direction"),
                                             ("grating_phase", "radian", "phase at pixel (0, 0), frame 0"))):
        put(name, params[best, j], unit, f"the best grating's {label}")
    put("natural_activation", comparison.natural[:, chosen].max(0), "counts/frame",
        f"the best {t}-frame clip of natural movies (seeds {', '.join(map(str, NATURAL_SEEDS))}) at the same budget")
    put("grey_activation", comparison.grey[chosen], "counts/frame", "response to uniform grey")
    ds["activation_trace"] = (("iteration", "neuron"), trace, {"units": COUNTS_PER_FRAME, "long_name":
                              "activation during the optimisation (mean over models; NaN after the stop)"})
    return ds.assign_coords(iteration=("iteration", np.arange(1, config.iterations + 1), {"units": DIMENSIONLESS}))


def _add_descriptors(ds, meis, static, atlas, chosen):
    """Add the MEIs' descriptors (:func:`mei_descriptors`, sf also in cycles/degree) and the ``chosen``
    neurons' values of the tuning atlas to ``ds``."""
    put = _putter(ds)
    desc = mei_descriptors(meis, video=not static)
    for name in desc.data_vars:
        ds[name] = ("neuron", desc[name].values, dict(desc[name].attrs))
    ds["sf_cpd"] = ("neuron", cyc_per_px_to_cpd(desc["sf"].values),
                    {"units": CYCLES_PER_DEGREE, "long_name": "spatial frequency of the fitted Gabor"})
    for name, source, unit in (("atlas_orientation", "preferred_orientation", "degree"),
                               ("atlas_sf", "preferred_sf", "cycles/degree"), ("atlas_tf", "preferred_tf", "Hz"),
                               ("atlas_direction", "preferred_direction", "degree"), ("atlas_osi", "osi", "1")):
        put(name, np.asarray(atlas[source].values, np.float64)[chosen], unit,
            f"the tuning atlas' {source.replace('_', ' ')}")
    ds["atlas_responsive"] = ("neuron", np.asarray(atlas["responsive"].values).astype(bool)[chosen])


def _putter(ds):
    def put(name, values, unit, long_name):
        ds[name] = ("neuron", np.asarray(values))
        ds[name].attrs.update(units=unit, long_name=long_name)
    return put
