"""`characterize study`: plan the clips, skip those stored, reconstruct the rest (local or Dask), assemble study.nc.

The store, the dispatch and the interruption are the run engine's (:mod:`dnemkit.experiments.runs`). The store is
``OUT/study.store/<clip id>.nc``: one file per finished clip, written atomically, so a study killed
at any moment (Ctrl-C, ``kill -9``, a pre-empted cluster job) loses only the clips in flight, and a rerun
recomputes nothing that is stored. A clip's id hashes its arrays, the encoder's weights, the recipe's arithmetic
and the training mask: change any of them and the clip is simply computed again under a new id.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...encoders import members_of
from ...encoders.base import probe_encoder
from ...errors import DnemkitError
from ...io.results import provenance
from ...masks import resolve_mask
from ...reconstruction.config import result_key
from ...video import EVAL_FIRST_FRAME
from ...errors import say
from ..contract import check_config, write_outputs
from ..runs.engine import Run, batches
from ..runs.store import UnitStore
from . import plan as P
from .assemble import assemble_study
from .compute import clip_dataset, reconstruct_clips
from .config import StudyConfig
from ...decoders.linear import DecoderConfig
from .methods import Method, add_methods, build_methods, decoder_identity, decoder_trials, study_decoder
from .variations import STANDARD, add_variations, check_variations, parse_variations, training_mask


@dataclass
class Unit:
    """One unit of work: a clip reconstructed under one variation (the standard run or a named change) or one
    method (a :class:`methods.Method`, in ``variation`` too: it names the unit's batch and work)."""

    clip: object
    variation: object
    id: str

    @property
    def mouse(self):
        return self.clip.mouse


def _batches(units, size):
    """Units of one mouse, length and variation, ``size`` at a time (one ``reconstruct`` call each)."""
    return batches(units, size, group=lambda u: (u.mouse, len(u.clip.video), u.variation.name))


def _batch_size(config):
    if config.batch is not None:
        return config.batch
    from ...device import resolve_device

    return 8 if resolve_device(config.execution.device).type == "cuda" else 1


def prepare(config, log=None, progress=True):
    """Plan, masks and units (with ids) of a study; everything checked before any reconstruction.

    Returns (plans, masks {mouse: mask}, mask lines, clips [Clip], units [Unit], duplicates {(mouse, trial):
    (best training trial or -1, its first-frame r, duplicate: bool)}, replacement lines, variations, methods).
    Each clip's ``meta['methods']`` is {method name: unit id} (the standard run's id for a method whose recipe
    is the study's); ``mp.decoder`` is (training trials, identity) of a mouse's decoder when a method uses one.
    """
    plans = P.plan_mice(config, log)
    variations = parse_variations(config.variations)
    recipe = config.recipe
    methods = build_methods(config.methods, recipe, StudyConfig.ITERATIONS)
    masks, lines, clips, units, duplicates, replaced = {}, [], [], [], {}, []
    for mp in plans:
        check_variations(variations, len(members_of(mp.ref.encoder)), config.encoder.name)
        probe_encoder(mp.ref.encoder, need_grad=True)
        mask, line = resolve_mask(config.mask, mp.ref, data=str(mp.mouse.path), progress=progress)
        masks[mp.name] = mask
        lines.append(f"{mp.name}: {line}")
        context = {"encoder": mp.ref.fingerprint, "recipe": result_key(recipe, config.execution),
                   "train_mask": P.mask_digest(mask.train),
                   "predictions": {"eval": P.mask_digest(mask.eval),
                                   "inputs": P.mask_digest(mask.train) if config.input_predictions else None,
                                   "kind": "fig1-s2D as predict_response_from_recon.py"}}
        loaded, replaced_here = _choose(mp, config, duplicates)
        replaced.extend(replaced_here)
        mp.decoder = None
        if any(m.decoder for m in methods):
            trials = decoder_trials(mp.mouse, mp.selected)
            need = DecoderConfig().min_clips
            if len(trials) < need:
                raise DnemkitError(f"{mp.name} has {len(trials)} labelled 'train' trial(s) outside the study's "
                                   f"selection; the decoder methods need {need} or more to fit the decoder on "
                                   "(expected a mouse folder with more training trials, or no decoder method)")
            mp.decoder = (str(mp.mouse.path), trials, decoder_identity(mp.mouse, trials))
        for c in loaded:
            c.id = P.clip_id(c, context)
            units.append(Unit(c, STANDARD, c.id))
            c.meta["methods"], c.meta["decoder"] = {}, mp.decoder
            for m in methods:
                key = None if m.recipe is None else result_key(m.recipe, config.execution)
                if key == context["recipe"] and not m.decoder:
                    c.meta["methods"][m.name] = c.id  # the standard run's unit: not reconstructed twice
                    continue
                c.meta["methods"][m.name] = P.clip_id(c, {"encoder": context["encoder"], "recipe": key,
                                                          "train_mask": context["train_mask"], "method": m.name,
                                                          "decoder": mp.decoder[2] if m.decoder else None})
                units.append(Unit(c, m, c.meta["methods"][m.name]))
            for v in variations:
                if v.reconstructs:
                    units.append(Unit(c, v, P.clip_id(c, {"encoder": context["encoder"], "recipe": context["recipe"],
                                                          "mask": P.mask_digest(mask.level), "variation": v.key()})))
        clips.extend(loaded)
        mp.line = mp.clips_line(len(loaded), mp.n_replaced)
        say(log, mp.line)
        for text in replaced_here:
            say(log, f"  {text}")
    return plans, masks, lines, clips, units, duplicates, replaced, variations, methods


def _choose(mp, config, duplicates):
    """The loaded clips of one mouse (:func:`plan.choose_clips`), ``duplicates`` filled in for them, and one
    line per duplicate found (replaced, or kept in the selection)."""
    candidates = mp.selected
    first = np.stack([mp.mouse.video(t)[0] for t in candidates]) if candidates else np.zeros((0, 36, 64))
    choice = P.choose_clips(first, mp.training_first_frames, config.trials, config.duplicate_threshold,
                            config.duplicates)
    text, passed_over = [], []
    for i, (what, j, rr) in sorted(choice.duplicate_of.items()):
        source = f"training trial {mp.training[j]}" if what == "training" else f"selected trial {candidates[j]}"
        found = f"trial {candidates[i]} shows the movie of {source} (first-frame r {rr:.3f})"
        if config.duplicates != "replace":
            text.append(f"{mp.name}: {found}: {'kept in' if config.duplicates == 'keep' else 'left out of'} the "
                        "statistics")
        elif i in choice.replaced_by:
            text.append(f"{mp.name}: {found}: replaced by trial {candidates[choice.replaced_by[i]]}")
        elif i < config.trials:
            text.append(f"{mp.name}: {found}: no unused clip left to replace it")
        else:
            passed_over.append(str(candidates[i]))
    if passed_over:  # later candidates that were duplicates too: one line, not one each
        text.append(f"{mp.name}: trial(s) {', '.join(passed_over)} passed over as replacements (duplicates too)")
    mp.n_replaced = len(choice.replaced_by) if config.duplicates == "replace" else 0
    loaded = [P.load_clip(mp.mouse, candidates[i]) for i in choice.chosen]
    for i, c in zip(choice.chosen, loaded):
        best, r = choice.training_match[i], choice.training_r[i]
        duplicates[(c.mouse, c.trial)] = (int(mp.training[best]) if best >= 0 else -1, float(r),
                                          i in choice.duplicate_of)
    return loaded, text


def mask_scale(masks):
    """One line saying which scale the study's mask thresholds (training, evaluation, the sweep's) are on: the
    paper's alpha, or another (a sensitivity mask's level is scaled so that 0.5 and 1 play the roles of alpha's
    thresholds, but its numbers are not alpha's; thresholds are then not comparable with the paper's)."""
    methods = sorted({m.method for m in masks.values()})
    if methods == ["alpha"]:
        return "thresholds on the alpha scale (the paper's transparency masks)"
    names = {"sensitivity": "input sensitivity (dnemkit's scale: 0.5 and 1 mark its training and evaluation "
                            "coverage; not alpha, so thresholds are not the paper's)",
             "given": "a given mask level (thresholds on that file's scale)", "alpha": "alpha"}
    return "thresholds on the scale of " + " / ".join(names[m] for m in methods)


def _unit_work(batch, recipe, masks, config, log=None):
    """(recipe, training mask, keyword options of reconstruct_clips) of a batch's variation or method (a
    method's decoder movies are made here: ``start``, ``start_seconds``)."""
    v, mask = batch[0].variation, masks[batch[0].mouse]
    if isinstance(v, Method):
        options = {"predictions": False, "eval_mask": mask.eval}
        if v.decoder:
            decoder = _decoder(batch[0], log)
            started = time.perf_counter()
            movies = decoder.decode(np.stack([u.clip.responses for u in batch]))
            if v.recipe is not None and v.recipe.stopper == "agreement":
                options["decoded"] = movies  # what the stopper watches; the start stays the recipe's
            else:
                options["start"] = movies
            options["start_seconds"] = time.perf_counter() - started
        return v.recipe, mask.train, options
    train = training_mask(mask, v.train_threshold)
    if not train.any():
        raise DnemkitError(f"variation {v.name}: the training mask level >= {v.train_threshold} selects no pixel of "
                           f"{batch[0].mouse}'s mask (level up to {float(np.nanmax(mask.level)):.2f}); expected a "
                           "lower threshold")
    standard = v.name == "standard"
    options = {"targets": v.targets, "predictions": standard, "eval_mask": mask.eval,
               "input_mask": mask.train if standard and config.input_predictions else None}
    return recipe.replace(ensembling=v.ensembling), train, options


_DECODERS = {}  # {identity: LinearDecoder}: one per mouse and process


def _decoder(unit, log=None):
    """The study decoder of a unit's mouse (:func:`methods.study_decoder`), loaded or fitted once per process."""
    path, trials, identity = unit.clip.meta["decoder"]
    if identity not in _DECODERS:
        _DECODERS[identity], line = study_decoder(P.SensoriumMouse(Path(path)), trials, identity)
        say(log, line)
    return _DECODERS[identity]


def run(config=None, *, out=None, progress=True, log=None):
    """Reconstruct every selected clip of every mouse (and its variations) and compute the paper's statistics.

    config: a :class:`StudyConfig` (default: the embedded dataset and the demo encoder). out: results folder
    (``study.nc``, ``study*.png``, ``study.store/``); None = nothing written or resumed. log: called with one
    line per step (data, mice, masks, clips computed and reused). Returns the study Dataset.
    """
    config = check_config(config, StudyConfig)
    if config.data is None:
        from .embedded import embedded_dataset

        config = config.replace(data=str(embedded_dataset(log)))
    started = time.perf_counter()
    plans, masks, mask_lines, clips, units, duplicates, replaced, variations, methods = prepare(config, log, progress)
    for line in mask_lines:
        say(log, line)
    say(log, f"masks: {mask_scale(masks)}")
    recipe = config.recipe

    out = Path(out) if out is not None else None
    run_ = Run(units, store=UnitStore.open(out, "study"))
    extra = f" ({len(units)} units with {len(variations) - 1} variation(s) and {len(methods)} method(s))" \
        if len(variations) > 1 or methods else ""
    say(log, f"clips: {len(clips)} selected{extra}, {run_.reuse_line('reconstruct')}")
    refs = {mp.name: mp.ref for mp in plans}
    attrs = provenance("study", config, config.encoder.name, recipe.seed, data=str(config.data),
                       mask_scale="/".join(sorted({m.method for m in masks.values()})), mask_scale_note=mask_scale(masks),
                       recipe=f"{recipe.name}: {recipe.iterations} iterations", mask_source="; ".join(mask_lines),
                       selection="; ".join(mp.line for mp in plans),
                       duplicates=config.duplicates, duplicates_found="; ".join(replaced),
                       n_duplicates_replaced=sum(mp.n_replaced for mp in plans), **P.skipped_attrs(plans))

    def compute(k, b):
        work_recipe, train, options = _unit_work(b, recipe, masks, config, log)
        name = f"{b[0].mouse[:20]} trial {b[0].clip.trial}" + (f" (+{len(b) - 1})" if len(b) > 1 else "")
        return reconstruct_clips(refs[b[0].mouse].encoder, [u.clip for u in b], work_recipe, config.execution,
                                 train, progress=progress, description=f"{name} {b[0].variation.name}", **options)

    def arguments(b):
        work_recipe, train, options = _unit_work(b, recipe, masks, config, log)
        return refs[b[0].mouse], ([u.clip for u in b], work_recipe, config.execution, train), options

    run_.execute(_batches(run_.todo, _batch_size(config)), compute, task=(reconstruct_clips, arguments),
                 keep=_keep, executor=config.executor, scheduler=config.scheduler, workers=config.workers,
                 progress=progress, desc="study", unit="clip", path=out, noun="clips", name="dnemkit-study")
    stored, reused = run_.stored, run_.reused
    n_models = {len(members_of(mp.ref.encoder)) for mp in plans}
    attrs.update(units_computed=len(stored) - reused, units_reused=reused, n_units=len(units),
                 seconds=round(time.perf_counter() - started, 1), models=",".join(str(n) for n in sorted(n_models)))
    by_variation = {v.name: [stored[u.id] for u in units if u.variation.name == v.name] for v in variations
                    if v.reconstructs}
    ds = assemble_study(clips, [stored[c.id] for c in clips], masks, duplicates, config, EVAL_FIRST_FRAME,
                        recipe.smoothing_sigma, attrs)
    add_variations(ds, clips, stored_standard=[stored[c.id] for c in clips], stored_variations=by_variation,
                   variations=variations, masks=masks, first=EVAL_FIRST_FRAME, sigma=recipe.smoothing_sigma,
                   thresholds=config.eval_thresholds)
    if methods:
        add_methods(ds, clips, stored={m.name: [stored[c.meta["methods"][m.name]] for c in clips] for m in methods},
                    methods=methods, masks=masks, first=EVAL_FIRST_FRAME, sigma=recipe.smoothing_sigma)
    if out is not None:
        write_outputs(ds, out)
        if config.reference_format:
            ds.encoding["files"].extend(_write_reference_format(out, plans, clips, stored, masks, recipe, log))
    return ds


def _write_reference_format(out, plans, clips, stored, masks, recipe, log=None):
    """Every clip's standard reconstructions as the reference's summary files (``--reference-format``); mouse i
    is the i-th mouse of the study. Returns the folders written."""
    from ...reference.export import MODEL_FOLDER, write_natural_summaries

    index = {mp.name: i for i, mp in enumerate(plans)}
    members = {mp.name: members_of(mp.ref.encoder) for mp in plans}
    for c in clips:
        mask = masks[c.mouse]
        write_natural_summaries(out, video_gt=c.video, model_videos=stored[c.id]["model_reconstruction"].values,
                                responses=c.responses, behavior=c.behavior, mask_level=mask.level, eval_mask=mask.eval,
                                members=members[c.mouse], mouse_index=index[c.mouse], trial=int(c.trial),
                                iterations=recipe.iterations, thresholds=(mask.train_threshold, mask.eval_threshold))
    from ...reference.study import write_mouse_names

    write_mouse_names(out, list(index), [(index[c.mouse], int(c.trial)) for c in clips])
    say(log, "reference format: " + "; ".join(f"m{i} = {name}" for name, i in index.items()))
    k = max(len(m) for m in members.values())
    return [Path(out) / MODEL_FOLDER.format(k=j) for j in range(k)]


def _keep(unit, record):
    """The clip Dataset the store keeps of one unit's record; DnemkitError for a NaN/inf reconstruction, which is
    not stored."""
    if not np.isfinite(record["model_videos"]).all():
        raise DnemkitError(f"{unit.mouse} trial {unit.clip.trial} ({unit.variation.name}): the "
                           "reconstruction holds NaN/inf; it is not stored (check the encoder and responses)")
    kind = "method" if isinstance(unit.variation, Method) else "variation"
    return clip_dataset(unit.clip, record, {"condition_id": unit.id, kind: unit.variation.name})
