"""Labelled trials in memory and their folds: the video-hash split every command shares (``characterize train``,
the study's fold selection)."""

from dataclasses import dataclass

import numpy as np
import torch

from ..encoders.dwiseneuro.encoder import SPAN
from ..errors import DnemkitError, say
from .config import SCORE_FIRST_FRAME


def _block_means(image, rows, cols):
    """(H, W) -> (rows, cols) means over near-equal blocks."""
    r = np.linspace(0, image.shape[0], rows + 1).astype(int)
    c = np.linspace(0, image.shape[1], cols + 1).astype(int)
    sums = np.add.reduceat(np.add.reduceat(image, r[:-1], axis=0), c[:-1], axis=1)
    return sums / np.outer(np.diff(r), np.diff(c))


def video_hash(video):
    """64-bit difference hash of a movie, as 16 hex digits.

    video: (T, 36, 64) grey levels. The mean frame is reduced to 8 x 9 block means; bit k says whether a block is
    brighter than its left neighbour (8 rows x 8 comparisons). Identical movies give identical hashes; a constant
    movie hashes to '0000000000000000'.
    """
    mean = np.asarray(video, dtype=np.float64).mean(axis=0)
    small = _block_means(mean, 8, 9)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def assign_folds(hashes, folds):
    """Fold of every trial: the sorted distinct hashes dealt round-robin to ``folds`` folds. (n,) int array."""
    rank = {h: i for i, h in enumerate(sorted(set(hashes)))}
    return np.array([rank[h] % folds for h in hashes], dtype=int)


# ---------------------------------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class _Trial:
    """In-memory labelled trial: video (T, 36, 64), behavior (4, T), responses (N, T); float32 CPU tensors."""

    id: int
    video: torch.Tensor
    behavior: torch.Tensor
    responses: torch.Tensor

    @property
    def length(self):
        return self.video.shape[0]


def load_trials(mouse, tiers):
    """Every labelled trial of ``mouse`` (a SensoriumMouse) in ``tiers`` as tensors for training.

    NaN/inf inside a trial's responses (a damaged recording, not the end padding, which is already cut) are set
    to 0 with one warning naming the trials; a trial of ``tiers`` without responses is skipped with one warning
    line each. Raises DnemkitError when no labelled trial is left.
    """
    trials, holes = [], []
    for tid in mouse.trials([t for t in tiers if t in mouse.tiers.values()]):
        t = mouse.trial(tid)
        if not t.labeled:  # said, never silent: a damaged download must not shrink the training set unseen
            say(None, f"mouse {mouse.name}: skipped trial {t.id} ({t.tier}): data/responses/{t.id}.npy is NaN in every "
                 "frame (no recorded responses); not trained on", warning=True)
        else:
            responses = t.responses
            bad = ~np.isfinite(responses)
            if bad.any():  # NaN inside the trial (not the end padding, already cut): a damaged recording
                holes.append((t.id, int(bad.sum())))
                responses = np.where(bad, 0.0, responses).astype(np.float32)
            trials.append(_Trial(t.id, torch.from_numpy(t.video), torch.from_numpy(t.behavior4),
                                 torch.from_numpy(responses)))
    if holes:
        listed = ", ".join(f"trial {tid} ({n} value{'s' if n > 1 else ''})" for tid, n in holes[:5])
        more = f" and {len(holes) - 5} more trial(s)" if len(holes) > 5 else ""
        say(None, f"mouse {mouse.name}: NaN/inf responses inside {listed}{more} (data/responses/<trial>.npy, not end "
             "padding); they are treated as 0 for training", warning=True)
    if not trials:
        raise DnemkitError(f"mouse {mouse.name} in {mouse.path.parent} has no labelled trials of the tiers "
                           f"{', '.join(tiers)}; expected trials with recorded responses to train on")
    return trials


def _behavior_mean(mouse, trials):
    """(4,) pupil dilation, running speed, pupil x, y means: the dataset statistics, else the loaded trials'."""
    stats = mouse.statistics
    try:
        mean = np.concatenate([stats["behavior"]["mean"], stats["pupil_center"]["mean"]]).astype(float)
        if mean.shape == (4,) and np.isfinite(mean).all():
            return mean.tolist()
    except KeyError:
        pass
    return torch.cat([t.behavior for t in trials], dim=1).double().mean(dim=1).tolist()


def split_folds(trials, config):
    """(training trials, validation trials) of ``config.fold`` of ``config.folds``; a movie's trials share a fold
    (folds by video hash). Raises DnemkitError when either side is empty or no validation trial is long enough
    to score."""
    folds = assign_folds([video_hash(t.video.numpy()) for t in trials], config.folds)
    train = [t for t, f in zip(trials, folds) if f != config.fold and t.length > SPAN]
    val = [t for t, f in zip(trials, folds) if f == config.fold]
    n_movies = len(set(folds.tolist()))
    if not val or not train:
        which = "validation" if not val else "training"
        raise DnemkitError(f"fold {config.fold} of {config.folds} leaves no {which} trials ({len(trials)} labelled "
                           f"trials, {n_movies} fold(s) in use); expected folds <= the number of distinct movies")
    if not any(t.length > SCORE_FIRST_FRAME + 1 for t in val):
        raise DnemkitError(f"the validation trials of fold {config.fold} are all shorter than "
                           f"{SCORE_FIRST_FRAME + 2} frames; expected trials long enough to score frames 50..T-2")
    return train, val
