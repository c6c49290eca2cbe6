"""When a reconstruction stops: ``STOPPERS`` (named parts of :func:`~dnemkit.reconstruction.loop.reconstruct`).

- ``"none"``: the recipe's iterations (the paper's).
- :class:`PlateauStopper` (a plain callable, for most-exciting inputs): stop once the activation stops rising.
- ``"heldout"``: :class:`HeldoutStopper`: a seeded fraction of the neurons leaves the loss; their Poisson loss on
  the current videos (the encoder's rates by fixed 32-frame sub-batches, frames >= 30) is watched every
  ``every`` iterations; the run stops when it has not improved for ``patience`` iterations and returns the videos
  of the best watched iteration. No ground truth is used: the held-out neurons are recorded activity the
  videos were not fitted to, so their loss rises when the videos begin to fit the noise of the others.
- ``"agreement"``: :class:`AgreementStopper`: the video r of the current result (the smoothed mean of the
  models' videos, inside a mask, frames >= 30) with the linear decoder's movie of the same targets
  (:mod:`dnemkit.decoders`) is watched every ``every`` iterations; the run stops when it has not risen for
  ``patience`` iterations and returns the videos of the look ``lag`` (10) iterations past the best. No ground
  truth is used: the decoder is a second estimate of the movie from the same responses by other means (a linear
  readout, no encoder), so the encoder's errors, which the held-out neurons share, are not its errors.
- ``"deviance"``: :class:`DevianceStopper`: the Poisson deviance of the targets under the current videos' rates,
  relative to the Poisson noise level of those rates, is watched every ``every`` iterations; the run stops when it
  has levelled off and returns the first look that was within a set excess of its level. No ground truth, no
  decoder, no neuron left out.

A stopper is either a plain callable ``stop(i, loss (M, B)) -> bool`` (checked after every step) or a watching
object with ``due(i, last)``, ``observe(i, value, snapshot)``, ``best_iteration``, ``best_videos``,
``iterations``, ``values`` and ``trace`` (the name of its watched trace) and either :meth:`HeldoutStopper.split`
(which neurons leave the loss; the loop measures their loss), :meth:`DevianceStopper.fit_value` (the loop gives
it the rates of the neurons in the loss and their targets) or :meth:`AgreementStopper.measure` (it measures the
videos itself) — the loop calls these (docs/method.md, "Knowing when to stop").
"""

import numpy as np
from scipy.ndimage import gaussian_filter

from ..errors import DnemkitError, check_int
from ..losses import expected_poisson_deviance, poisson_deviance
from ..stimuli.geometry import HEIGHT, WIDTH
from ..video import smooth_video
from .config import STOPPERS, check_heldout_fraction, check_positive_ratio, check_stopper_blur  # noqa: F401


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

    name, trace = "heldout", "heldout_loss"

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

    @property
    def values(self):
        """The watched held-out losses, one per watched iteration."""
        return self.losses

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


class AgreementStopper:
    """Stop when the result's agreement with the linear decoder's movie has not risen for ``patience`` iterations;
    return the videos ``lag`` iterations past the best agreement.

    The agreement of a look is the video r (Pearson r over the pixels of ``mask`` x frames ``first``..T-1, as
    :func:`dnemkit.analysis.metrics.video_correlation`) between the result the loop would return at that
    iteration (the models' mean video smoothed by ``smoothing_sigma``) and ``reference`` (both optionally
    blurred by a spatial Gaussian of ``blur`` pixels), averaged over the items. The agreement peaks 5-15
    iterations before the video r with the truth: the decoder's movie is blurred (a ridge readout of 100
    principal components), so the agreement falls as soon as the reconstruction gains fine detail it lacks, while
    that detail still raises the r with the truth. The lag returns the look 10 iterations past the agreement's
    peak for that reason; the video r with the truth rises steeply before its peak and falls slowly after it, so
    a late look costs less than an early one (docs/method.md, "Knowing when to stop", says on which clips the
    constants were chosen).

    Parameters
    ----------
    reference : array (B, T, 36, 64) or (T, 36, 64)
        The decoder's movie of each item's targets, grey levels (:func:`dnemkit.decoders.decoder_start`).
    mask : bool array (36, 64), optional
        The pixels compared (the evaluation mask; None: all).
    smoothing_sigma : float
        The recipe's final Gaussian filter (frames and pixels), applied to the result before comparing.
    every : int
        Iterations between two looks (each costs two spatial filters and one correlation, no encoder pass).
    patience : int
        Iterations without a new best after which the run stops.
    blur : float
        Spatial sigma, pixels, of the Gaussian applied to both videos before comparing (0: none, the default; 1-2
        with a lag of 5 did about as well on the design clips).
    lag : int
        Iterations past the best look whose videos are returned (the latest look within ``lag`` of it; 0: the
        best look's).
    """

    name, trace, rerun = "agreement", "decoder_agreement", False

    def __init__(self, reference, mask=None, smoothing_sigma=0.5, every=5, patience=20, blur=0.0, lag=10):
        reference = np.asarray(reference, np.float32)
        if reference.ndim == 3:
            reference = reference[None]
        if reference.ndim != 4 or reference.shape[2:] != (HEIGHT, WIDTH) or not np.isfinite(reference).all():
            raise DnemkitError(f"the agreement stopper's decoder movie has shape {reference.shape}; expected finite "
                               f"grey levels of shape (frames, {HEIGHT}, {WIDTH}) or (batch, frames, {HEIGHT}, "
                               f"{WIDTH})")
        self.mask = np.ones((HEIGHT, WIDTH), bool) if mask is None else np.asarray(mask, bool)
        if self.mask.shape != (HEIGHT, WIDTH) or not self.mask.any():
            raise DnemkitError(f"the agreement stopper's mask has shape {self.mask.shape} with {int(self.mask.sum())}"
                               f" pixel(s); expected a ({HEIGHT}, {WIDTH}) mask with at least one pixel")
        self.sigma = float(smoothing_sigma)
        self.every = check_int(every, "stopper every", 1, "iterations between looks")
        self.patience = check_int(patience, "stopper patience", 1, "iterations")
        self.blur = check_stopper_blur(blur)
        self.lag = check_int(lag, "stopper lag", 0, "iterations past the best look")
        if self.lag >= self.patience:
            raise DnemkitError(f"stopper lag is {self.lag} iterations but the patience is {self.patience}; expected a "
                               "lag below the patience (the run stops before a later look is seen)")
        self.reference = self._blurred(reference)
        self.reset()

    def reset(self):
        self.iterations, self.values = [], []
        self.best_iteration, self.best_value, self.best_videos, self.peak_iteration = None, -np.inf, None, None

    def _blurred(self, videos):
        """(B, T, 36, 64) float32 videos filtered by the spatial Gaussian of ``blur`` pixels."""
        return gaussian_filter(videos, (0, 0, self.blur, self.blur)).astype(np.float32) if self.blur else videos

    def check(self, batch, frames):
        """Raise DnemkitError unless the decoder's movie has ``batch`` items of ``frames`` frames."""
        if self.reference.shape[:2] != (batch, frames):
            raise DnemkitError(f"the agreement stopper's decoder movie has {self.reference.shape[0]} item(s) of "
                               f"{self.reference.shape[1]} frames; the targets have {batch} of {frames}")

    def due(self, i, last):
        """Whether iteration ``i`` is watched (0, every ``every``-th, and the last of the budget)."""
        return i == 0 or i % self.every == 0 or i == last

    def measure(self, videos, first):
        """The agreement (B,) of the result of ``videos`` (tensor or array (M', B, T, 36, 64), grey levels) with
        the decoder's movie, frames ``first``..T-1 (NaN for a constant video, e.g. the grey start)."""
        raw = videos.detach().cpu().numpy() if hasattr(videos, "detach") else np.asarray(videos)
        result = self._blurred(smooth_video(raw.mean(0), self.sigma))[:, first:, self.mask]  # (B, T - first, pixels)
        ref = self.reference[:, first:, self.mask]
        return np.array([_pearson(a.ravel(), b.ravel()) for a, b in zip(result, ref)])

    def observe(self, i, value, snapshot):
        """Record the agreement ``value`` of iteration ``i`` (a number, or per item (B,): its mean is the
        agreement; NaN never is a best); ``snapshot()`` copies the videos, called for a new best and for every
        look within ``lag`` iterations after it (the latest is returned). Returns True when the run should stop
        (``patience`` iterations past the best)."""
        mean = float(np.mean(np.asarray(value, np.float64)))
        self.iterations.append(int(i))
        self.values.append(mean)
        if np.isfinite(mean) and (self.peak_iteration is None or mean > self.best_value):
            self.peak_iteration, self.best_value = int(i), mean
        elif self.peak_iteration is None or i - self.peak_iteration > self.lag:
            return self.peak_iteration is not None and i - self.peak_iteration >= self.patience
        self.best_iteration, self.best_videos = int(i), snapshot()
        return False


#: the number of neurons in the loss at which the deviance stopper's ``excess`` applies as it is
EXCESS_NEURONS = 2000


def scaled_excess(excess, neurons):
    """The deviance stopper's allowed excess with ``neurons`` in the loss: ``excess`` x sqrt(:data:`EXCESS_NEURONS`
    / neurons) (``excess`` itself when ``neurons`` is None)."""
    return excess if neurons is None else excess * np.sqrt(EXCESS_NEURONS / neurons)


class DevianceStopper:
    """Stop when the fit to the targets has levelled off; return the first look whose fit was already within
    an excess of the level.

    The fit of a look is the deviance ratio: the Poisson deviance of the targets under the rates the encoder
    predicts for the current videos (frames ``first``..T-1, the neurons in the loss, each model its own video),
    divided by the deviance those rates would have on average if the targets were Poisson draws of them (the
    noise level; :func:`dnemkit.losses.expected_poisson_deviance`), averaged over models and items. It falls
    fast while the videos gain what the responses say about the movie and slowly once they fit the responses'
    noise (or the encoder's mismatch to the mouse); on the design clips the video r with the truth peaked where
    the ratio was 0.03-0.05 above the level it reached later with 2000 neurons in the loss, about 0.06 with 1000
    and 0.09 with 500 (the noise a video can fit is a larger share of fewer neurons' deviance), hence the
    allowed excess ``excess * sqrt(2000 / neurons)`` (docs/method.md, "Knowing when to stop"). The run stops once
    the ratio fell by less than ``plateau`` over the last ``patience`` iterations (the level); the returned
    videos are those of the first look within the allowed excess of the lowest ratio seen. No ground truth and no
    decoder are used, and every neuron stays in the loss.

    Parameters
    ----------
    every : int
        Iterations between two looks (each costs one forward pass of every model, no backward).
    patience : int
        The window, iterations, over which the fall of the ratio is measured.
    plateau : float
        The fall of the ratio over ``patience`` iterations below which it has levelled off (> 0).
    excess : float
        How far above the lowest ratio a look may be and still be returned, with 2000 neurons in the loss (> 0);
        with ``neurons`` in the loss (the loop sets it): ``excess * sqrt(2000 / neurons)``.
    """

    name, trace, rerun = "deviance", "deviance_ratio", False

    def __init__(self, every=5, patience=20, plateau=0.01, excess=0.045):
        self.every = check_int(every, "stopper every", 1, "iterations between looks")
        self.patience = check_int(patience, "stopper patience", 1, "iterations")
        self.plateau = check_positive_ratio(plateau, "stopper plateau")
        self.excess = check_positive_ratio(excess, "stopper excess")
        self.neurons = None
        self.reset()

    @property
    def allowed_excess(self):
        """The excess over the lowest ratio a returned look may have: ``excess`` scaled by
        sqrt(:data:`EXCESS_NEURONS` / neurons in the loss) (``excess`` itself while the count is not set)."""
        return scaled_excess(self.excess, self.neurons)

    def reset(self):
        self.iterations, self.values = [], []
        self.best_iteration, self.best_videos, self.lowest = None, None, np.inf
        self._candidates = []  # (iteration, ratio, videos) of the looks that may still be returned

    def due(self, i, last):
        """Whether iteration ``i`` is watched (0, every ``every``-th, and the last of the budget)."""
        return i == 0 or i % self.every == 0 or i == last

    @staticmethod
    def fit_value(rates, target):
        """The deviance ratio (B,) of the rates (a list, one (B, N, F) tensor or array per model's videos) for
        the targets (B, N, F) (the same neurons and frames)."""
        y = target.detach().cpu().numpy() if hasattr(target, "detach") else np.asarray(target)
        ratios = []
        for r in rates:
            lam = r.detach().cpu().numpy() if hasattr(r, "detach") else np.asarray(r)
            ratios.append(poisson_deviance(lam, y).sum(axis=(1, 2)) / expected_poisson_deviance(lam).sum(axis=(1, 2)))
        return np.mean(ratios, axis=0)

    def observe(self, i, value, snapshot):
        """Record the deviance ratio ``value`` of iteration ``i`` (a number, or per item (B,): its mean is the
        ratio); ``snapshot()`` copies the videos (called for every look that may still be returned). Returns True
        when the ratio fell by less than ``plateau`` over the last ``patience`` iterations."""
        ratio = float(np.mean(np.asarray(value, np.float64)))
        if not np.isfinite(ratio):
            raise DnemkitError(f"the deviance stopper's ratio is {ratio} at iteration {i}; expected a finite "
                               "number (the encoder's rates or the targets are not finite)")
        self.iterations.append(int(i))
        self.values.append(ratio)
        self.lowest = min(self.lowest, ratio)
        # a look more than the excess above the lowest ratio so far can never be returned: the lowest only falls
        excess = self.allowed_excess
        self._candidates = [c for c in self._candidates if c[1] - self.lowest <= excess]
        if ratio - self.lowest <= excess:
            self._candidates.append((int(i), ratio, snapshot()))
        self.best_iteration, _, self.best_videos = self._candidates[0]
        # the latest look at least `patience` iterations back (every look when `every` divides the patience)
        back = [v for k, v in zip(self.iterations, self.values) if k <= i - self.patience]
        return bool(back) and back[-1] - ratio < self.plateau


def _pearson(a, b):
    """Pearson r of two flat arrays (float64 sums); NaN when either is constant."""
    a = a.astype(np.float64) - a.mean(dtype=np.float64)
    b = b.astype(np.float64) - b.mean(dtype=np.float64)
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / den) if den > 0 else float("nan")


class StopAt:
    """A plain stopper: stop after iteration ``iteration`` (the held-out stopper's rerun)."""

    def __init__(self, iteration):
        self.iteration = int(iteration)

    def __call__(self, i, loss):
        return i >= self.iteration


def make_stopper(recipe, decoded=None, mask=None):
    """The stopper part a recipe names: None for "none", a :class:`HeldoutStopper` for "heldout", a
    :class:`DevianceStopper` for "deviance", an :class:`AgreementStopper` for "agreement", watching the agreement
    with ``decoded`` (B, T, 36, 64), the decoder's movie of the targets (:func:`dnemkit.decoders.decoder_start`),
    inside ``mask`` (36, 64) (the evaluation mask; None: every pixel)."""
    if recipe.stopper == "none":
        return None
    if recipe.stopper == "agreement":
        if decoded is None:
            raise DnemkitError("the recipe's stopper is 'agreement' but no decoder movie was given; expected "
                               "make_stopper(recipe, decoded=dnemkit.decoders.decoder_start(...)[0]) passed as "
                               "reconstruct(stopper=...) (the commands that take --stopper do this)")
        return AgreementStopper(decoded, mask, recipe.smoothing_sigma, recipe.stopper_every, recipe.stopper_patience,
                                recipe.stopper_blur, recipe.stopper_lag)
    if recipe.stopper == "deviance":
        return DevianceStopper(recipe.stopper_every, recipe.stopper_patience, recipe.stopper_plateau,
                               recipe.stopper_excess)
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
