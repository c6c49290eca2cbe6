"""What a study reconstructs: mouse folders mapped to encoder readouts, the selected clips, their content ids.

Everything a user can get wrong (no mouse folder, a folder that maps to no readout, a neuron count that differs
from the readout's, a tier or fold without labelled trials) is found here, before any reconstruction.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...data.sensorium import SensoriumMouse, open_dataset
from ...encoders.ref import EncoderRef
from ...errors import DnemkitError, say
from ...training import assign_folds, video_hash
from ..readouts import readout_refs
from ..runs.ids import fingerprint_array, stable_hash
from .config import TRAINING_TIERS

#: bump when what a stored clip holds changes (older files are then recomputed, never misread)
STORE_VERSION = 1


@dataclass
class MousePlan:
    """One mouse folder of a study: its readout, selected clips and training clips (the duplicate candidates).

    ref: the EncoderRef of the mouse's readout (every model). selected: the candidate trial ids in selection
    order (the fold's or tiers' labelled trials; :func:`choose_clips` takes the first ``trials`` of them that are
    not duplicates). training: ids of labelled train/oracle trials outside the selection;
    training_first_frames: (len(training), 36, 64).
    """

    mouse: SensoriumMouse
    ref: EncoderRef
    selected: list
    training: list
    training_first_frames: np.ndarray
    how: str = ""
    skipped: list = field(default_factory=list)  #: [(trial id, reason)]: trials passed over, each stated
    selection: str = ""  #: 'fold K of F' or 'tier(s) ...'
    mapped: str = ""  #: which readout of the encoder, in words
    n_replaced: int = 0  #: duplicates replaced by later clips (set when the clips are chosen)
    line: str = ""  #: what the study printed for this mouse (set when the clips are chosen)

    def clips_line(self, n_chosen, n_replaced):
        """The line a study prints for this mouse once its clips are chosen: how many, from where, duplicates
        replaced and trials skipped, and the readout."""
        extra = [f"{n_replaced} duplicate(s) replaced"] if n_replaced else []
        extra += [f"{len(self.skipped)} trial(s) skipped"] if self.skipped else []
        return (f"{self.name}: {n_chosen} clip(s), {self.selection}, first {n_chosen} of {len(self.selected)}"
                + (f" ({', '.join(extra)})" if extra else "") + f"; encoder {self.mapped}")

    @property
    def name(self):
        return self.mouse.name


@dataclass
class Clip:
    """One unit of work: a trial of a mouse with its arrays (cut to the trial's length) and content id."""

    mouse: str
    trial: int
    tier: str
    video: np.ndarray      # (T, 36, 64) grey levels
    responses: np.ndarray  # (N, T)
    behavior: np.ndarray   # (4, T) pupil dilation, running speed, pupil x, pupil y
    id: str = ""
    meta: dict = field(default_factory=dict)


def _mouse_folders(config):
    """The SensoriumMouse objects of ``config.data`` (a root or one mouse folder), filtered by ``config.mice``."""
    root = Path(config.data)
    if (root / "data").is_dir() and (root / "meta").is_dir():
        mice = [SensoriumMouse(root)]
    else:
        mice = open_dataset(root)
    if config.mice:
        chosen = []
        for want in config.mice:
            hits = [m for m in mice if m.name == want] or [m for m in mice if m.name.startswith(want)]
            if len(hits) != 1:
                names = ", ".join(m.name for m in mice)
                how = "matches no" if not hits else f"matches {len(hits)}"
                raise DnemkitError(f"--mice {want!r} {how} mouse folder in {root}; expected one of: {names}")
            chosen.append(hits[0])
        mice = list(dict.fromkeys(chosen))
    return mice


def labelled(mouse, candidates, needed=None):
    """(labelled ids, skipped [(id, reason)]) of ``candidates`` (ids in ascending order): a trial whose responses
    are NaN in every frame has no recorded responses and is skipped with its reason, so that no study shrinks, or
    takes another trial in its place, without saying so. With ``needed``, only the skips before the
    ``needed``-th labelled trial are listed (those after it change nothing)."""
    ids, skipped = [], []
    for t in candidates:
        if mouse.is_labeled(t):
            ids.append(t)
        else:
            skipped.append((t, f"data/responses/{t}.npy is NaN in every frame (no recorded responses)"))
    if needed is not None and len(ids) >= needed:
        skipped = [(t, why) for t, why in skipped if t < ids[needed - 1]]
    return ids, skipped


def _training_split(mouse, folds):
    """(labelled train/oracle trial ids, their folds, their first frames (n, 36, 64), skipped [(id, reason)]): the
    split of `characterize train` (folds by video hash), from the videos alone."""
    tiers = [t for t in TRAINING_TIERS if t in mouse.tiers.values()]
    ids, skipped = labelled(mouse, mouse.trials(tiers)) if tiers else ([], [])
    videos = [mouse.video(t) for t in ids]
    fold_of = assign_folds([video_hash(v) for v in videos], folds) if ids else np.zeros(0, int)
    first = np.stack([v[0] for v in videos]) if videos else np.zeros((0, 36, 64), np.float32)
    skipped = [(t, f"{why}; left out of the train/oracle split and its folds") for t, why in skipped]
    return ids, fold_of, first, skipped


def select_clips(mouse, config):
    """(candidate trial ids in order, training ids, training first frames, description, skipped [(id, reason)])
    of one mouse."""
    ids, fold_of, first, skipped = _training_split(mouse, config.folds)
    fold = config.selected_fold
    if fold is not None:
        selected = [t for t, f in zip(ids, fold_of) if f == fold]
        if not selected:
            raise DnemkitError(f"mouse {mouse.name} has no labelled train/oracle trials in fold {fold} of "
                               f"{config.folds} ({len(ids)} labelled trials, {len(set(fold_of.tolist()))} fold(s) "
                               "in use); expected a fold that holds trials, or --tier")
        how = f"fold {fold} of {config.folds}"
    else:
        in_tiers = mouse.trials(list(config.tiers))
        selected, skipped = labelled(mouse, in_tiers, config.trials)
        if not selected:
            have = sorted(set(mouse.tiers.values()))
            raise DnemkitError(f"mouse {mouse.name} has no labelled trials in tier(s) {', '.join(config.tiers)} "
                               f"({len(in_tiers)} trial(s) there, none with responses); expected a tier with "
                               f"recorded responses (this mouse has: {', '.join(have)})")
        how = f"tier(s) {', '.join(config.tiers)}"
    keep = [k for k, t in enumerate(ids) if t not in set(selected)]
    how += f", {len(selected)} labelled" + (f" ({len(skipped)} trial(s) skipped)" if skipped else "")
    return selected, [ids[k] for k in keep], first[keep], how, skipped


def plan_mice(config, log=None):
    """[MousePlan] for every mouse of the study, checked before any work (see the module docstring); ``log``
    gets one line per skipped trial (a warning on stderr without one)."""
    mice = _mouse_folders(config)
    refs = readout_refs(mice, config.encoder, config.mouse_map)
    plans = []
    for m in mice:
        ref, mapped = refs[m.name]
        n = ref.encoder.n_neurons
        if n != m.n_neurons:
            raise DnemkitError(f"encoder {config.encoder.name!r} ({mapped}) predicts {n} neurons but mouse {m.name} "
                               f"has {m.n_neurons}; expected the readout of this mouse (--mouse or --mouse-map)")
        candidates, training, first, how, skipped = select_clips(m, config)
        plans.append(MousePlan(m, ref, candidates, training, first, f"{how}; encoder {mapped}", skipped,
                               how.split(",")[0], mapped))
        for t, why in skipped:
            line = f"{m.name}: skipped trial {t} ({m.tiers[t]}): {why}"
            say(log, line, warning=True)
    return plans


@dataclass(frozen=True)
class Choice:
    """The clips of one mouse a study reconstructs, and what happened to its duplicates.

    chosen: indices into the candidates, in order. duplicate_of: {candidate index: (what, index, r)} for every
    candidate found to be a duplicate while choosing: ``what`` is 'training' (index into the training clips) or
    'selection' (index into the candidates: an earlier clip of the same movie). replaced_by: {duplicate index:
    the candidate index that took its place} ('replace' only). training_match, training_r: (m,) each
    candidate's closest training clip (index, -1 for none) and the r of their first frames (NaN for none).
    """

    chosen: tuple
    duplicate_of: dict
    replaced_by: dict
    training_match: np.ndarray
    training_r: np.ndarray


def choose_clips(first_frames, training_first_frames, n, threshold, mode="replace"):
    """Which ``n`` of the candidate clips (in order) a study reconstructs, duplicates found on the way.

    first_frames: (m, 36, 64) first frames of the candidates in selection order; training_first_frames: (k, 36,
    64) of the clips the models trained on. A candidate is a duplicate when the Pearson r of its first frame
    with a training clip's, or with an earlier chosen candidate's, is above ``threshold``. mode 'replace' (the
    reference's): a duplicate is skipped and the next unused candidate takes its place, so n clips are chosen
    while candidates last; 'drop' and 'keep': the first n candidates, duplicates among them reported (the
    statistics leave them out, or keep them). Returns a :class:`Choice`.
    """
    from ...analysis.study import best_matches

    best, r = best_matches(first_frames, training_first_frames)
    chosen, duplicate_of = [], {}
    for i in range(len(first_frames)):
        if len(chosen) == n:
            break
        if np.isfinite(r[i]) and r[i] > threshold:
            duplicate_of[i] = ("training", int(best[i]), float(r[i]))
        elif chosen:
            inner, inner_r = best_matches(first_frames[i:i + 1], first_frames[chosen])
            if np.isfinite(inner_r[0]) and inner_r[0] > threshold:
                duplicate_of[i] = ("selection", int(chosen[inner[0]]), float(inner_r[0]))
        if i in duplicate_of and mode == "replace":
            continue
        chosen.append(i)
    # each duplicate among the first n candidates is replaced, in order, by the next clip chosen beyond them
    replaced_by = dict(zip([d for d in sorted(duplicate_of) if d < n], [c for c in chosen if c >= n]))
    return Choice(tuple(chosen), duplicate_of, replaced_by, best, r)


def skipped_attrs(plans):
    """The study's attributes for its skipped trials: ``skipped_trials`` (count) and ``skipped_trial_list``
    ("mouse trial id: reason; ..."), so that a smaller study says why in its own file."""
    listed = [f"{mp.name} trial {t}: {why}" for mp in plans for t, why in mp.skipped]
    return {"skipped_trials": len(listed), "skipped_trial_list": "; ".join(listed)}


def load_clip(mouse, trial_id):
    """The Clip of one selected trial: finite responses are required (a NaN inside a trial is a damaged
    recording, named in one line)."""
    tr = mouse.trial(int(trial_id))
    if tr.responses is None:
        raise DnemkitError(f"{mouse.name} trial {tr.id} has no recorded responses ({tr.tier}); expected a "
                           "labelled trial")
    if not np.isfinite(tr.responses).all():
        bad = np.argwhere(~np.isfinite(tr.responses))
        raise DnemkitError(f"{mouse.name} trial {tr.id}: data/responses/{tr.id}.npy has {len(bad)} NaN/inf "
                           f"value(s) inside the trial (first: neuron {bad[0][0]}, frame {bad[0][1]}); expected "
                           "finite responses")
    return Clip(mouse.name, tr.id, tr.tier, tr.video, tr.responses, tr.behavior4)


def clip_id(clip, context):
    """The content id of a clip's reconstruction: its arrays, the encoder's weights, the recipe, the training
    mask and the store version (see :mod:`dnemkit.experiments.study`)."""
    return stable_hash({"kind": "study-clip", "mouse": clip.mouse, "trial": int(clip.trial),
                        "clip": fingerprint_array(clip.video, clip.responses, clip.behavior), **context,
                        "version": STORE_VERSION})


def mask_digest(mask):
    return fingerprint_array(np.asarray(mask, np.uint8))
