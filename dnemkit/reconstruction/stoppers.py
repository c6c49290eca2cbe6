"""Stoppers of the reconstruction loop (its ``stopper`` part, asked after every iteration whether to stop):
:class:`PlateauStopper`, which ends a most-exciting-input optimisation once the activation stops rising."""

import numpy as np


class PlateauStopper:
    """Stop once the mean activation (minus the mean loss over inputs) rose by less than ``tolerance`` (relative)
    over the last ``patience`` iterations; ``patience`` 0 never stops. Keeps ``stopped_at`` (None if it ran
    to the end)."""

    def __init__(self, patience=4, tolerance=2e-3):
        self.patience, self.tolerance = patience, tolerance
        self.history, self.stopped_at = [], None

    def __call__(self, i, loss):
        self.history.append(-float(np.mean(loss)))
        if self.patience <= 0 or len(self.history) <= self.patience:
            return False
        now, before = self.history[-1], self.history[-1 - self.patience]
        if now - before < self.tolerance * max(abs(before), 1e-12):
            self.stopped_at = self.stopped_at or i
            return True
        return False
