"""Run a grid of conditions: resolve encoder and masks, skip what is stored, execute batches, assemble results."""

from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np
import xarray as xr

from ...analysis.resolution import add_resolution, resolution_axes
from ...encoders import members_of
from ...encoders.base import model_names, probe_encoder
from ...io.results import provenance, write_dataset
from ...masks import resolve_mask
from ...reconstruction.config import result_key
from ...stimuli.geometry import DEG_PER_PIXEL
from ...video import EVAL_FIRST_FRAME
from ...viz.headlines import fmt
from ...errors import say
from ..contract import check_config, write_outputs
from ..runs.engine import Run, batches
from ..runs.ids import fingerprint_array, stable_hash, unit_id
from ..runs.store import UnitStore
from .config import SweepConfig
from .compute import ANALYSIS_VERSION, PHASES, VARIABLE_ATTRS, VARIABLE_DIMS, compute_batch, condition_dataset

# ------------------------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------------------------
def choose_baselines(conditions, seed):
    """For each condition, another one of the grid, chosen at random (seeded) by rendezvous hashing.

    Condition i takes the j != i with the smallest hash(seed, i's params, j's params): random, reproducible, and
    stable when the grid grows (a new point replaces a condition's choice only if its hash is smaller).
    """
    keys = [stable_hash(p) for _, p in conditions]
    out = []
    for i, key in enumerate(keys):
        best = min((j for j in range(len(keys)) if j != i), key=lambda j: stable_hash([seed, key, keys[j]]),
                   default=None)
        out.append(None if best is None else conditions[best][1])
    return out


# ------------------------------------------------------------------------------------------------------------------
# assembling results
# ------------------------------------------------------------------------------------------------------------------
def assemble(grid, items, results, names, threshold, attrs, masks=None):
    """The combined Dataset of a grid: every condition, NaN where not (yet) computed, ``computed`` flags."""
    shape = grid.shape
    n_models = len(names)
    data = {name: np.full(shape + tuple({"phase": 2, "model": n_models}[d] for d in dims), np.nan)
            for name, dims in VARIABLE_DIMS.items()}
    computed = np.zeros(shape, bool)
    baseline_of = np.full(shape, "", dtype=object)
    for it in items:
        rec = results.get(it["id"])
        if rec is None:
            continue
        for name in VARIABLE_DIMS:
            data[name][it["index"]] = rec[name].values
        computed[it["index"]] = True
        baseline_of[it["index"]] = grid.label(it["other"]) if it["other"] else ""
    coords = {k: (d, v, a) for k, (d, v, a) in grid.coords().items()}
    coords["phase"] = ("phase", list(PHASES), {"long_name": "stimulus v or its phase-inverted twin 255 - v"})
    coords["model"] = ("model", np.arange(n_models), {"long_name": "ensemble member (first K of the encoder)"})
    coords["model_name"] = ("model", [str(n) for n in names])
    ds = xr.Dataset({name: (grid.dims + VARIABLE_DIMS[name], data[name], VARIABLE_ATTRS[name]) for name in data},
                    coords=coords)
    ds["computed"] = (grid.dims, computed, {"long_name": "True where the condition is computed"})
    ds["baseline_condition"] = (grid.dims, baseline_of.astype(str),
                                {"long_name": "the condition whose stimulus gives baseline_correlation"})
    if masks is not None:
        masks.attach_to(ds)
    add_resolution(ds, axes=grid.axes, threshold=threshold)
    ds.attrs.update(attrs)
    ds.attrs.update(n_conditions=int(computed.size), n_computed=int(computed.sum()),
                    complete=int(computed.all()), threshold=float(threshold))
    return ds


# ------------------------------------------------------------------------------------------------------------------
# the sweep
# ------------------------------------------------------------------------------------------------------------------
#: measures that must be finite for a condition to count as done (the others may be NaN by design: a baseline
#: without another condition, a single-frame motion energy)
REQUIRED_FINITE = ("video_correlation", "video_correlation_ensemble")


def unfinished_measures(record):
    """Names of the required measures of a compute_batch record that are NaN/inf (empty when it is done)."""
    return [name for name in REQUIRED_FINITE
            if name in record["values"] and not np.isfinite(np.asarray(record["values"][name], float)).all()]


@dataclass
class SweepPlan:
    """What a sweep computes: the encoder and masks resolved, every condition with its id and baseline."""

    ref: object
    masks: object
    mask_source: str
    model_names: list
    context: dict
    items: list
    attrs: dict


def plan(config, progress=True):
    """Resolve the encoder and masks of ``config`` and give every condition of its grid a content id (the
    stimulus, the baseline condition, the encoder's weights, the recipe, the masks, the analysis version)."""
    grid, recipe, ref = config.grid, config.recipe, config.encoder
    enc = ref.encoder
    probe_encoder(enc, need_grad=True)
    masks, mask_source = resolve_mask(config.mask, ref, progress=progress)
    members = members_of(enc)
    names = model_names(members, recipe.ensembling)
    context = {"encoder": ref.fingerprint, "recipe": result_key(recipe, config.execution),
               "train_mask": fingerprint_array(masks.train), "eval_mask": fingerprint_array(masks.eval),
               "analysis_version": ANALYSIS_VERSION}
    conditions = grid.conditions()
    others = choose_baselines(conditions, config.seed)
    items = [{"index": index, "params": params, "other": other,
              "id": unit_id(grid.kind, params, other, context)}
             for (index, params), other in zip(conditions, others)]
    attrs = provenance(
        grid.kind, config=config.to_dict(), encoder=ref.name, seed=config.seed,
        encoder_description=enc.description, encoder_fingerprint=ref.fingerprint, mask_source=mask_source,
        eval_first_frame=EVAL_FIRST_FRAME, iterations=recipe.iterations, models=len(members),
        ensemble_variable="video_correlation_ensemble (mean of the models' videos, smoothed); video_correlation "
                          "has one value per model",
        targets="predicted activity of the encoder used (an ensemble predicts its members' mean)",
        sf_conversion=f"cpd = cyc/px / {DEG_PER_PIXEL:.6g}; degrees = pixels x {DEG_PER_PIXEL:.6g}",
    )
    return SweepPlan(ref, masks, mask_source, names, context, items, attrs)


def run(config=None, *, out=None, progress=True, log=None):
    """Reconstruct and measure every condition of ``config.grid`` (a GratingGrid or NoiseGrid).

    config: a :class:`SweepConfig` (None: the paper's grating grid, the demo encoder, the fast recipe). out:
    results folder (``<kind>.nc`` kept up to date after every batch, ``<kind>.store/``, the heatmap); None =
    nothing is written and nothing resumed. progress: progress bars. log: receives the mask's source, how many
    conditions are reused, and one line per stored batch ("stored N condition(s) ..."). Returns the combined
    Dataset. Raises :class:`~dnemkit.experiments.runs.Interrupted` on Ctrl-C (what finished is stored).
    """
    config = check_config(config, SweepConfig)
    grid = config.grid
    sweep_plan = plan(config, progress)
    say(log, sweep_plan.mask_source)
    items = sweep_plan.items
    out = Path(out) if out is not None else None
    run_ = Run(items, store=UnitStore.open(out, grid.kind), unit_id=itemgetter("id"))
    say(log, f"conditions: {len(items)}, {run_.reuse_line('reconstruct')}")
    path = out / f"{grid.kind}.nc" if out is not None else None
    masks = sweep_plan.masks

    def combined():
        ds = assemble(grid, items, run_.stored, sweep_plan.model_names, config.threshold, sweep_plan.attrs,
                      sweep_plan.masks)
        ds.attrs.update(conditions_computed=run_.computed, conditions_reused=run_.reused)
        return ds

    def keep(item, record):
        bad = unfinished_measures(record)
        if bad:  # never store (or count as done) a NaN result: a re-run must compute it again
            say(None, f"condition {grid.label(item['params'])} gave NaN/inf {', '.join(bad)}; it is not stored "
                 "(a constant reconstruction or stimulus?) and stays not computed", warning=True)
            return None
        return condition_dataset(record, item["params"], item["other"], grid.kind, sweep_plan.context)

    def after(batch, records, kept):
        if path is not None:
            write_dataset(combined(), path)
        say(log, f"stored {kept} condition(s) of {len(records)} ({len(run_.stored)}/{len(items)} done)")

    todo = batches(run_.todo, config.batch)
    decoder = None
    if config.recipe.start == "decoder" and todo:
        from ...decoders import decoder_for

        decoder, line = decoder_for(config.encoder, progress=progress)
        say(log, line)
    run_.execute(
        todo, lambda k, b: compute_batch(config.encoder.encoder, b, config.recipe, config.execution, masks.train,
                                         masks.eval, progress=progress, description=f"batch {k + 1}/{len(todo)}",
                                         decoder=decoder),
        task=(compute_batch, lambda b: (config.encoder, (b, config.recipe, config.execution, masks.train,
                                                         masks.eval), {"decoder": decoder})),
        keep=keep, after=after, executor=config.executor, scheduler=config.scheduler, workers=config.workers,
        progress=progress, desc=grid.kind, unit="condition", path=path, noun="conditions", name="dnemkit-batch")
    ds = combined()
    if out is not None:
        write_outputs(ds, out)
    return ds


# ------------------------------------------------------------------------------------------------------------------
# summary
# ------------------------------------------------------------------------------------------------------------------
def summary(ds):
    """The resolution table (ensemble r, rows sf or sigma_s, columns tf or sigma_t) as text; the cut-offs and
    baselines are the headline numbers of :mod:`dnemkit.viz.headlines`."""
    rows, cols = resolution_axes(ds.attrs.get("dnemkit_kind"))
    res = ds["resolution"]
    row_values, col_values = ds[rows.shown].values, ds[cols.shown].values
    head = f"{rows.dim} ({rows.unit}) \\ {cols.dim} ({cols.unit})"
    order_r, order_c = np.argsort(row_values)[::-1], np.argsort(col_values)
    width = max(len(head), 8)
    lines = [f"{res.attrs.get('long_name', '')} ({ds.attrs.get('n_computed')}/{ds.attrs.get('n_conditions')} "
             "conditions)", head.ljust(width) + "".join(f"{c:>8.4g}" for c in col_values[order_c])]
    for i in order_r:
        lines.append(f"{row_values[i]:.4g}".ljust(width) + "".join(f"{fmt(res.values[i, j], '.3f'):>8}" for j in order_c))
    return "\n".join(lines)
