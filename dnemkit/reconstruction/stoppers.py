"""When a reconstruction stops: ``STOPPERS`` (named parts of :func:`~dnemkit.reconstruction.loop.reconstruct`).

- ``"none"``: the recipe's iterations (the paper's).
- :class:`PlateauStopper` (a plain callable, for most-exciting inputs): stop once the activation stops rising.
- ``"heldout"``: :class:`HeldoutStopper`: a seeded fraction of the neurons leaves the loss; their Poisson loss on
  the current videos (the encoder's rates by fixed 32-frame sub-batches, frames >= 30) is watched every
  ``every`` iterations; the run stops when it has not improved for ``patience`` iterations and returns the videos
  of the best watched iteration. No ground truth is used: the held-out neurons are recorded activity the
  videos were not fitted to, so their loss rises when the videos begin to fit the noise of the others.

A stopper is either a plain callable ``stop(i, loss (M, B)) -> bool`` (checked after every step) or an object
with :meth:`HeldoutStopper.split` (which neurons leave the loss), ``due(i)``, ``observe(i, value, snapshot)`` and
``best_iteration`` — the loop calls these (docs/method.md, "Knowing when to stop").
"""

import numpy as np

from ..errors import DnemkitError, check_int
from .config import STOPPERS, check_heldout_fraction  # noqa: F401 - re-exported: the stoppers' names and check


def best_and_stop(iterations, losses, patience):
    """(best iteration, iteration where a :class:`HeldoutStopper` stops or None) for a watched loss sequence:
    the best is the first iteration with the lowest loss so far; the run stops at the first watched iteration at
    least ``patience`` after the best one. The rule the stopper applies one value at a time (tests)."""
    best_i, best = None, np.inf
    for i, value in zip(iterations, losses):
        if value < best:
            best_i, best = i, value
        elif i - best_i >= patience:
            return best_i, i
    return best_i, None


class HeldoutStopper:
    """Stop when the Poisson loss of held-out neurons has not improved for ``patience`` iterations.

    Parameters
    ----------
    fraction : float
        Fraction of the neurons in the loss (all, or the ``neurons`` given to ``reconstruct``) held out, in (0, 1);
        at least one neuron is held out and one kept.
    seed : int
        Seed of the held-out choice.
    every : int
        Iterations between two looks at the held-out loss (each costs one forward pass, no backward).
    patience : int
        Iterations without a new best after which the run stops.
    rerun : bool
        Reconstruct again with every neuron in the loss, stopping at the chosen iteration (the same recipe, so
        the same schedule and step sizes up to there): the held-out neurons' information enters the result.
    min_z : float
        0: any decrease of the mean held-out loss is an improvement. z > 0: only a decrease larger than z standard
        errors of the per-neuron differences (paired, across the held-out neurons) from the best look is: late,
        tiny decreases of the loss no longer keep the run going (each look is then given per-neuron losses).
    """

    name = "heldout"

    def __init__(self, fraction=0.1, seed=0, every=5, patience=20, rerun=False, min_z=0.0):
        self.fraction = check_heldout_fraction(fraction)
        self.seed = check_int(seed, "seed", 0)
        self.every = check_int(every, "stopper every", 1, "iterations between looks")
        self.patience = check_int(patience, "stopper patience", 1, "iterations")
        self.rerun = bool(rerun)
        self.min_z = float(min_z)
        if not np.isfinite(self.min_z) or self.min_z < 0:
            raise DnemkitError(f"stopper min_z is {min_z}; expected a number of standard errors >= 0")
        self.reset()

    def reset(self):
        self.iterations, self.losses = [], []
        self.best_iteration, self.best_loss, self.best_videos, self.best_per_neuron = None, np.inf, None, None

    def split(self, n_neurons, neurons=None):
        """(neurons in the loss, held-out neurons): sorted int64 index arrays drawn (seeded) from ``neurons``
        (None: all ``n_neurons``)."""
        pool = np.arange(n_neurons) if neurons is None else np.sort(np.asarray(neurons, np.int64).reshape(-1))
        if len(pool) < 2:
            raise DnemkitError(f"the held-out stopper needs at least 2 neurons in the loss; got {len(pool)}")
        n_out = min(len(pool) - 1, max(1, int(round(self.fraction * len(pool)))))
        out = np.random.default_rng(self.seed).permutation(len(pool))[:n_out]
        held = np.zeros(len(pool), bool)
        held[out] = True
        return pool[~held], pool[held]

    def due(self, i, last):
        """Whether iteration ``i`` is watched (0, every ``every``-th, and the last of the budget)."""
        return i == 0 or i % self.every == 0 or i == last

    def observe(self, i, value, snapshot):
        """Record the held-out loss ``value`` of iteration ``i`` (a number, or per held-out neuron (H,): its mean is
        the loss); ``snapshot()`` copies the videos, called when it is a new best. Returns True when the run
        should stop (``patience`` iterations past the best)."""
        per_neuron = np.asarray(value, np.float64).reshape(-1)
        mean = float(per_neuron.mean())
        self.iterations.append(int(i))
        self.losses.append(mean)
        if self._improves(per_neuron, mean):
            self.best_iteration, self.best_loss, self.best_videos = int(i), mean, snapshot()
            self.best_per_neuron = per_neuron
            return False
        return i - self.best_iteration >= self.patience

    def _improves(self, per_neuron, mean):
        if self.best_per_neuron is None or self.min_z == 0 or len(per_neuron) < 2:
            return mean < self.best_loss
        gain = self.best_per_neuron - per_neuron
        return gain.mean() > self.min_z * gain.std(ddof=1) / np.sqrt(len(gain))


class StopAt:
    """A plain stopper: stop after iteration ``iteration`` (the held-out stopper's rerun)."""

    def __init__(self, iteration):
        self.iteration = int(iteration)

    def __call__(self, i, loss):
        return i >= self.iteration


def make_stopper(recipe):
    """The stopper part a recipe names: None for "none", a :class:`HeldoutStopper` for "heldout"."""
    if recipe.stopper == "none":
        return None
    return HeldoutStopper(recipe.heldout_fraction, recipe.seed, recipe.stopper_every, recipe.stopper_patience,
                          recipe.stopper_rerun, recipe.stopper_min_z)


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
