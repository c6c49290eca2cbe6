"""Trackers: what a reconstruction is scored by while it runs (``reconstruct(trackers=[...])``).

A tracker is a callable ``tracker(videos, ensemble, first_frame) -> scores``: ``videos`` (M, B, T, 36, 64) each
model's current reconstruction, ``ensemble`` (B, T, 36, 64) their smoothed mean (what the loop returns), both
numpy float32 grey levels; ``first_frame`` the first frame scored; ``scores`` (M + 1, B): one row per model,
the ensemble's last. Its ``name`` is the key of the trace in ``ReconstructionResult.traces``; ``every`` says how
often it is called (every N iterations; 0 = at the start and the end only); an optional ``check(batch, frames)``
raises before any work when the tracker cannot score that many items of that many frames.
"""

import numpy as np

from ..errors import DnemkitError, check_int
from ..stimuli.geometry import HEIGHT, WIDTH
from .metrics import video_correlation

__all__ = ["VideoCorrelationTracker"]


class VideoCorrelationTracker:
    """Video correlation (:func:`dnemkit.analysis.metrics.video_correlation`) of every model's video and the
    ensemble's with the ground truth, inside ``eval_mask``.

    Parameters
    ----------
    ground_truth : array_like, shape (T, 36, 64) or (B, T, 36, 64)
        Grey levels (0..255), one movie per reconstructed item (frames at 30 Hz); stored as float32.
    eval_mask : array_like of bool, shape (36, 64), optional
        The evaluated pixels; ``None`` (default) scores every pixel.
    every : int, optional
        Score every N iterations (default 0: at the start and the end only).

    Calling the tracker, ``tracker(videos, ensemble, first_frame)``, returns float32 scores of shape (M + 1, B):
    video correlations (dimensionless), one row per model and the ensemble's last (see the module docstring).
    """

    name = "video_correlation"

    def __init__(self, ground_truth, *, eval_mask=None, every=0):
        truth = np.asarray(ground_truth, dtype=np.float32)
        if truth.ndim == 3:
            truth = truth[None]
        if truth.ndim != 4 or truth.shape[2:] != (HEIGHT, WIDTH):
            raise DnemkitError(f"ground truth has shape {truth.shape}; expected (frames, {HEIGHT}, {WIDTH}) or "
                               f"(batch, frames, {HEIGHT}, {WIDTH})")
        self.ground_truth, self.eval_mask = truth, eval_mask
        self.every = check_int(every, "every", 0, "iterations between scores; 0 = start and end only")

    def check(self, batch, frames):
        """Raise DnemkitError unless the ground truth matches ``batch`` items of ``frames`` frames.

        Parameters
        ----------
        batch : int
            B, the number of reconstructed items.
        frames : int
            T, frames per item.

        Returns
        -------
        None
        """
        b, t = self.ground_truth.shape[:2]
        if (b, t) != (batch, frames):
            raise DnemkitError(f"ground truth has shape {self.ground_truth.shape[1:]} x {b} item(s); the responses "
                               f"have {batch} item(s) of {frames} frames, expected ({frames}, {HEIGHT}, {WIDTH}) "
                               "per item")

    def __call__(self, videos, ensemble, first_frame):
        self.check(ensemble.shape[0], ensemble.shape[1])
        truth = self.ground_truth
        rows = [[video_correlation(truth[k], v[k], mask=self.eval_mask, first_frame=first_frame) for k in range(len(truth))]
                for v in list(videos) + [ensemble]]
        return np.asarray(rows, np.float32)
