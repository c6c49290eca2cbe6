"""`characterize study`: plan the clips, skip those stored, reconstruct the rest (local or Dask), assemble study.nc.

The store is ``OUT/study.store/<clip id>.nc``: one file per finished clip, written atomically, so a study killed
at any moment (Ctrl-C, ``kill -9``, a pre-empted cluster job) loses only the clips in flight, and a rerun
recomputes nothing that is stored. A clip's id hashes its arrays, the encoder's weights, the recipe's arithmetic
and the training mask: change any of them and the clip is simply computed again under a new id.
"""

import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ...encoders import members_of
from ...encoders.base import probe_encoder
from ...errors import DnemkitError
from ...io.results import provenance, write_dataset
from ...masks import resolve_mask
from ..sweeps.store import ConditionStore, remove_stale_temporaries
from . import plan as P
from .assemble import assemble_study
from .compute import clip_dataset, clips_task, reconstruct_clips
from .config import StudyConfig


class StudyInterrupted(KeyboardInterrupt):
    """Raised when a study is interrupted; ``done`` of ``total`` clips are stored under ``path``."""

    def __init__(self, done, total, path):
        super().__init__(f"interrupted: {done} of {total} clips stored")
        self.done, self.total, self.path = done, total, path


def _say(log, message):
    if log is not None:
        log(message)


def _batches(clips, size):
    """Clips of one mouse and one length, ``size`` at a time (one ``reconstruct`` call each)."""
    groups = {}
    for c in clips:
        groups.setdefault((c.mouse, len(c.video)), []).append(c)
    return [g[k:k + size] for g in groups.values() for k in range(0, len(g), size)]


def _batch_size(config, refs):
    if config.batch is not None:
        return config.batch
    from ...device import resolve_device

    return 8 if resolve_device(config.device).type == "cuda" else 1


def prepare(config, log=None, progress=True):
    """Plan, masks and clips (with ids) of a study; everything checked before any reconstruction.

    Returns (plans, masks {mouse: mask}, mask lines, clips [Clip], duplicates {(mouse, trial): (trial, r)}).
    """
    plans = P.plan_mice(config)
    recipe = config.reconstruction
    masks, lines, clips, duplicates = {}, [], [], {}
    for mp in plans:
        probe_encoder(mp.ref.encoder, need_grad=True)
        mask, line = resolve_mask(config.mask, mp.ref, data=str(mp.mouse.path), progress=progress)
        masks[mp.name], _ = mask, lines.append(f"{mp.name}: {line}")
        context = {"encoder": mp.ref.fingerprint, "recipe": P.recipe_key(recipe),
                   "train_mask": P.mask_digest(mask.train)}
        loaded = [P.load_clip(mp.mouse, t) for t in mp.selected]
        first_frames = np.stack([c.video[0] for c in loaded])
        best, r = _best_training_match(first_frames, mp)
        for c, b, rr in zip(loaded, best, r):
            c.id = P.clip_id(c, context)
            duplicates[(c.mouse, c.trial)] = (int(mp.training[b]) if b >= 0 else -1, float(rr))
        clips.extend(loaded)
        _say(log, f"{mp.name}: {len(loaded)} clip(s), {mp.how}")
    return plans, masks, lines, clips, duplicates


def _best_training_match(first_frames, mouse_plan):
    from ...analysis.study import best_matches

    return best_matches(first_frames, mouse_plan.training_first_frames)


def run(config=None, *, out=None, progress=True, log=None):
    """Reconstruct every selected clip of every mouse and compute the paper's statistics over them.

    config: a :class:`StudyConfig` (default: the embedded dataset and the demo encoder). out: results folder
    (``study.nc``, ``study*.png``, ``study.store/``); None = nothing written or resumed. log: called with one
    line per step (data, mice, masks, clips computed and reused). Returns the study Dataset.
    """
    config = config or StudyConfig()
    if not isinstance(config, StudyConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected a StudyConfig")
    if config.data is None:
        from .embedded import embedded_dataset

        config = config.replace(data=str(embedded_dataset(log)))
    started = time.perf_counter()
    plans, masks, mask_lines, clips, duplicates = prepare(config, log, progress)
    for line in mask_lines:
        _say(log, line)
    recipe = config.reconstruction

    out = Path(out) if out is not None else None
    store = ConditionStore(out / "study.store") if out is not None else None
    stored = {}
    if store is not None:
        store.clean()
        remove_stale_temporaries(out, ".study.*.tmp*")
        have = store.ids()
        for c in clips:
            if c.id in have:
                ds = store.get(c.id)
                if ds is not None:
                    stored[c.id] = ds
    reused = len(stored)
    todo = [c for c in clips if c.id not in stored]
    _say(log, f"clips: {len(clips)} selected, {reused} already stored (reused), {len(todo)} to reconstruct")
    refs = {mp.name: mp.ref for mp in plans}
    batches = _batches(todo, _batch_size(config, refs))
    bar = tqdm(total=len(clips), initial=reused, desc="study", unit="clip", disable=not progress)
    attrs = provenance("study", config, config.encoder, config.seed, data=str(config.data),
                       recipe=f"{recipe.recipe}: {recipe.iterations} iterations", mask_source="; ".join(mask_lines),
                       selection="; ".join(f"{mp.name}: {mp.how}" for mp in plans))

    def finish(batch, records):
        for clip, record in zip(batch, records):
            videos = record["model_videos"]
            if not np.isfinite(videos).all():
                raise DnemkitError(f"{clip.mouse} trial {clip.trial}: the reconstruction holds NaN/inf; it is not "
                                   "stored (check the encoder and the responses)")
            ds = clip_dataset(clip, record, {"condition_id": clip.id})
            if store is not None:
                store.put(ds)
            stored[clip.id] = ds
        bar.update(len(batch))

    try:
        if config.executor == "local" or not batches:
            for k, b in enumerate(batches):
                encoder = refs[b[0].mouse].encoder
                finish(b, reconstruct_clips(encoder, b, recipe, masks[b[0].mouse].train, progress=progress,
                                            description=f"{b[0].mouse[:24]} trial {b[0].trial}"
                                            + (f" (+{len(b) - 1})" if len(b) > 1 else "")))
        else:
            _run_dask(batches, refs, recipe, masks, finish, config)
    except KeyboardInterrupt:
        raise StudyInterrupted(len(stored), len(clips), out) from None
    finally:
        bar.close()
    computed = len(stored) - reused
    n_models = {len(members_of(mp.ref.encoder)) for mp in plans}
    attrs.update(clips_computed=computed, clips_reused=reused, seconds=round(time.perf_counter() - started, 1),
                 models=",".join(str(n) for n in sorted(n_models)))
    ds = assemble_study(clips, [stored[c.id] for c in clips], masks, duplicates, config, recipe.eval_first_frame,
                        recipe.smoothing_sigma, attrs)
    if out is not None:
        write_dataset(ds, out / "study.nc")
    return ds


def _run_dask(batches, refs, recipe, masks, finish, config):
    """Every batch as a Dask task on one cluster (the executor the sweeps use)."""
    from ..executor import run_tasks

    by_key = {b[0].id: b for b in batches}
    tasks = [(b[0].id, refs[b[0].mouse], (b, recipe, masks[b[0].mouse].train)) for b in batches]
    run_tasks(clips_task, tasks, lambda key, records: finish(by_key[key], records), scheduler=config.scheduler,
              workers=config.workers, name="dnemkit-study")
