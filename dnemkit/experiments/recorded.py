"""Recorded clips of Sensorium-layout mice for the experiments that reconstruct them (ablation, errormap): the
data options, the trials chosen, the clips cut to one length, and each mouse's encoder readout."""

from __future__ import annotations  # the array annotations below need no numpy at import

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import DnemkitError, check_int

if TYPE_CHECKING:
    import numpy as np

#: tiers the recorded clips are drawn from by default: the held-out ones (as `characterize natural` picks)
DEFAULT_TIERS = ("oracle", "live_test_main", "final_test_main")



@dataclass(frozen=True)
class RecordedClips:
    """The recorded clips of one mouse, cut to a common length T.

    mouse: folder name; folder: its path; trials: trial ids (K,); tiers: their tiers (K,); videos: float32
    (K, T, 36, 64) grey levels; responses: float32 (K, N, T) counts/frame, or None where unlabelled trials were
    allowed (predicted targets); behavior: float32 (K, 4, T) (pupil dilation, running speed, pupil x, y);
    skipped: the trials of the tiers that were passed over for having no recorded responses, with the reason.
    """

    mouse: str
    folder: str
    trials: tuple
    tiers: tuple
    videos: np.ndarray = field(repr=False)
    responses: np.ndarray | None = field(repr=False)
    behavior: np.ndarray = field(repr=False)
    skipped: tuple = ()  #: ((trial id, reason), ...): trials without responses the selection passed over


    @property
    def frames(self):
        return int(self.videos.shape[1])


def check_data_options(data, tiers, trials, trial_ids, default_trials=None):
    """Normalised (tiers, trials, trial_ids) of a recorded-data run; DnemkitError for options without ``data`` or
    malformed ones. tiers: str or strings (comma-separated allowed); trials: int >= 1 or None (with ``data`` and no
    ids: ``default_trials``); trial_ids: ints."""
    ids = tuple(int(check_int(t, "trial id", 0)) for t in (trial_ids or ()))
    if len(set(ids)) != len(ids):
        raise DnemkitError(f"trial ids {list(ids)} repeat; expected distinct trial ids")
    if trials is not None:
        trials = check_int(trials, "trials", 1)
    if isinstance(tiers, str):
        tiers = tiers.split(",")
    tiers = tuple(t.strip() for t in (tiers or ()) if str(t).strip())
    if data is None:
        if ids or trials is not None:
            raise DnemkitError("--trial/--trials were given without --data; expected --data ROOT (a Sensorium "
                               "mouse folder or a folder of them) with them")
        return tiers, trials, ids
    if ids and trials is not None:
        raise DnemkitError("--trials and --trial were both given; expected one: the first N labelled trials of the "
                           "tiers, or the trial ids")
    if not tiers and not ids:
        raise DnemkitError("--tier is empty; expected tier names such as oracle,train")
    if trials is None and not ids:
        trials = default_trials
    return tiers, trials, ids


def select_trials(mouse, tiers, trials, trial_ids, labelled=True):
    """(trial ids, skipped) of ``mouse``: ``trial_ids`` as given (each must exist and, with ``labelled``, hold
    responses), or the first ``trials`` labelled trials (by id) of ``tiers``; skipped: ((id, reason), ...) of the
    trials without responses passed over on the way (never silently). DnemkitError naming the mouse otherwise."""
    if trial_ids:
        for tid in trial_ids:
            trial = mouse.trial(tid)
            if labelled and trial.responses is None:
                raise DnemkitError(f"trial {tid} of {mouse.name} has no recorded responses ({trial.tier}); "
                                   "expected a labelled trial (or use --predicted)")
        return list(trial_ids), ()
    candidates = mouse.trials(list(tiers))
    picked, skipped = [], []
    for tid in candidates:
        if len(picked) == trials:
            break
        if not labelled or mouse.trial(tid).responses is not None:
            picked.append(tid)
        else:
            skipped.append((tid, f"data/responses/{tid}.npy is NaN in every frame (no recorded responses)"))
    if len(picked) < trials:
        raise DnemkitError(f"mouse {mouse.name} has {len(picked)} labelled trial(s) in tier(s) {', '.join(tiers)}"
                           + (f" ({len(skipped)} without responses)" if skipped else "")
                           + f"; expected at least {trials} (--trials), or pick other tiers with --tier or ids "
                           "with --trial")
    return picked, tuple(skipped)


def load_clips(mouse, trial_ids, frames, min_frames, labelled=True, skipped=()):
    """:class:`RecordedClips` of ``trial_ids``, each cut to T = min(frames, the shortest trial) frames (>=
    ``min_frames``); DnemkitError for NaN inside a used response or a too short trial."""
    trials = [mouse.trial(t) for t in trial_ids]
    t = min([int(frames)] + [tr.length for tr in trials])
    if t < min_frames:
        short = min(trials, key=lambda tr: tr.length)
        raise DnemkitError(f"trial {short.id} of {mouse.name} has {short.length} frames; expected at least "
                           f"{min_frames} (one sub-batch)")
    import numpy as np  # here, not at import: the configs read this module's checks at `characterize --help`

    responses = None
    if labelled:
        responses = np.stack([tr.responses[:, :t] for tr in trials])
        bad = ~np.isfinite(responses)
        if bad.any():
            k, n, f = np.argwhere(bad)[0]
            raise DnemkitError(f"{mouse.name} trial {trials[k].id}: data/responses/{trials[k].id}.npy has NaN/inf "
                               f"inside the trial (neuron {n}, frame {f}); expected finite responses")
    return RecordedClips(mouse.name, str(mouse.path), tuple(int(tr.id) for tr in trials),
                         tuple(tr.tier for tr in trials), np.stack([tr.video[:t] for tr in trials]), responses,
                         np.stack([tr.behavior4[:, :t] for tr in trials]), tuple(skipped))


def mouse_encoders(ref, mice):
    """[(EncoderRef, description)] of the encoder ``ref`` names for each mouse of ``mice`` (SensoriumMouse objects),
    mapped as `characterize study` maps them (:func:`dnemkit.experiments.readouts.readout_refs`).

    ``encoder == 'synthetic'``: each folder `characterize simulate` wrote (its name gives the seed) uses its own
    ground truth, synthetic:SEED with the folder's neuron count (as simulate drew it). Another spec: one mouse
    folder uses the ``mouse_arg`` readout; several mice use the readouts their names have in the encoder's
    ``encoder.json`` ("mice", in readout order). An Encoder object predicts every mouse.
    """
    if not ref.has_spec:
        return [(ref, ref.name)] * len(mice)
    spec, mouse_arg = ref.spec.strip(), ref.mouse
    if len(mice) > 1 and mouse_arg is not None:
        raise DnemkitError(f"--mouse {mouse_arg} picks one readout but --data holds {len(mice)} mice; expected one "
                           "mouse folder (--data ROOT/NAME) with --mouse, or no --mouse")
    from .readouts import readout_refs

    try:
        refs = readout_refs(mice, ref)
    except DnemkitError:
        if len(mice) == 1 or spec.startswith("synthetic"):
            raise
        raise DnemkitError(f"--data holds {len(mice)} mice but encoder {spec!r} does not name them (an encoder "
                           "folder's encoder.json 'mice' gives each mouse folder its readout); expected one mouse "
                           "folder (--data ROOT/NAME, --mouse K for its readout), or such an encoder") from None
    return [(refs[m.name][0], f"{spec}: {refs[m.name][1]}") for m in mice]


def recorded_mice(data, ref, tiers, trials, trial_ids, frames, min_frames, labelled=True, log=None):
    """[(EncoderRef, RecordedClips, encoder description)] for every mouse of ``data`` (``ref``: the encoder as
    named, an EncoderRef; see :func:`mouse_encoders`), all checked before any
    reconstruction: the clips exist and are labelled (unless not ``labelled``), and each mouse's encoder predicts
    as many neurons as the mouse has (one DnemkitError naming the mouse otherwise). Each trial passed over for
    having no responses is one line to ``log`` (a warning on stderr without one) and stays in the clips'
    ``skipped`` (:func:`skipped_attrs`)."""
    from ..data import open_mice

    mice = open_mice(data)
    out = []
    for mouse, (ref, described) in zip(mice, mouse_encoders(ref, mice)):
        ids, skipped = select_trials(mouse, tiers, trials, trial_ids, labelled)
        n = int(ref.encoder.n_neurons)
        if n != mouse.n_neurons:
            raise DnemkitError(f"the encoder {described} predicts {n} neurons but mouse {mouse.name} has "
                               f"{mouse.n_neurons}; expected the same neurons (another --encoder or --mouse readout)")
        out.append((ref, ids, described, mouse, skipped))
    from ..errors import say

    for *_, mouse, skipped in out:
        for tid, why in skipped:
            line = f"{mouse.name}: skipped trial {tid} ({mouse.tiers[tid]}): {why}"
            say(log, line, warning=True)
    return [(ref, load_clips(mouse, ids, frames, min_frames, labelled, skipped), described)
            for ref, ids, described, mouse, skipped in out]


def skipped_attrs(clips):
    """A result's attributes for the skipped trials of ``clips`` ([RecordedClips]): ``skipped_trials`` (count)
    and ``skipped_trial_list`` ("mouse trial id: reason; ...")."""
    listed = [f"{c.mouse} trial {t}: {why}" for c in clips for t, why in c.skipped]
    return {"skipped_trials": len(listed), "skipped_trial_list": "; ".join(listed)}


def load_truth(ground_truth, encoder):
    """The ground-truth mouse (spec string or Encoder) whose Poisson responses are the recorded activity; it must
    predict the encoder's neurons. Returns (truth encoder, its name)."""
    from ..encoders import load_encoder

    truth = load_encoder(ground_truth)
    name = ground_truth if isinstance(ground_truth, str) else getattr(truth, "description", type(truth).__name__)
    if truth.n_neurons != encoder.n_neurons:
        raise DnemkitError(
            f"the encoder predicts {encoder.n_neurons} neurons but the ground truth '{name}' has "
            f"{truth.n_neurons}; expected the same neurons (or use --predicted)")
    return truth, name


def check_frames(frames, recipe):
    """DnemkitError unless movies of ``frames`` frames hold one sub-batch of ``recipe``."""
    if frames < recipe.subbatch_frames:
        raise DnemkitError(f"frames is {frames}; expected at least {recipe.subbatch_frames} (one sub-batch)")
