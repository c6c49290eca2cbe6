"""Named parts of a reconstruction recipe, and the two named recipes built from them.

A recipe is a set of :class:`ReconstructionConfig` defaults; the loop looks its parts up by name in the
registries below, so a new recipe is new parts plus a new entry, not a branch in the loop.

- ``OPTIMIZERS``: ``"paper-adam"`` (the paper's first-moment update, :class:`PaperAdam`) and ``"adam"``
  (per-pixel Adam with a cosine step-size decay, :class:`PixelAdam`).
- ``SCHEDULES``: which 32-frame sub-batches an iteration uses. ``"dense"`` (the paper's: starts 0, 8, 16, ...
  plus one ending at T, every frame in four sub-batches) and ``"tiled"`` (non-overlapping sub-batches at a
  random offset drawn each iteration, every frame in exactly one: 3.5x fewer encoder windows per iteration).
- ``RECIPES``: ``"paper"`` (exact; the config defaults) and ``"fast"`` (Adam, tiled, cosine, few iterations).
- ``OBJECTIVES``: what a sub-batch's loss is. ``"poisson"`` (the paper's, the default of every reconstruction)
  and ``"activation"`` (minus the weighted mean rate: most exciting inputs, :mod:`dnemkit.experiments.mei`).

The fast recipe changes the arithmetic, so it is a named alternative: ``docs/method.md`` ("Recipe", "The fast recipe") gives the
measurements that chose it, and ``benchmarks/recipes.py`` compares both on the same targets.
"""

import math

import numpy as np
import torch

from ..errors import DnemkitError
from .schedule import PaperAdam, subbatch_starts


class PixelAdam:
    """Adam per pixel on the (normalised, masked) input gradient, with warm-up and a cosine step-size decay.

    For iteration i >= 1 of n: lr_i = lr * min(1, i / warmup) * (r + (1 - r) * (1 + cos(pi (i-1) / n)) / 2)
    with r = ``final_ratio``; m, v are the bias-corrected first and second moments;
    x -= lr_i * m / (sqrt(v) + eps + rel_eps * rms), then clip to [0, 255], where rms is the root mean square of
    sqrt(v) over the pixels of each frame. ``lr`` is in grey levels per step: Adam's step is about lr wherever
    the gradient's sign is consistent, whatever the gradient's scale (which the per-sub-batch normalisation
    makes tiny). Plain Adam would also give pixels that the neurons barely see (gradients 1e-6 of the typical)
    full-size steps in noisy directions; the frame-relative ``rel_eps`` scales their steps down with their
    gradients.
    """

    def __init__(self, lr=8.0, iterations=100, warmup=0, beta1=0.9, beta2=0.99, final_ratio=0.05, eps=1e-12,
                 rel_eps=0.3):
        self.lr, self.iterations, self.warmup = lr, iterations, warmup
        self.beta1, self.beta2, self.final_ratio, self.eps = beta1, beta2, final_ratio, eps
        self.rel_eps = rel_eps
        self.m = self.v = None

    def step_size(self, i):
        warm = min(1.0, i / self.warmup) if self.warmup > 0 else 1.0
        progress = min(1.0, (i - 1) / max(1, self.iterations))
        cosine = self.final_ratio + (1 - self.final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        return self.lr * warm * cosine

    @torch.no_grad()
    def step(self, video, grad, i):
        """Update ``video`` in place with gradient ``grad`` at iteration ``i`` (1-based)."""
        if self.m is None:
            self.m, self.v = torch.zeros_like(video), torch.zeros_like(video)
        self.m.mul_(self.beta1).add_(grad, alpha=1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        m_hat = self.m / (1 - self.beta1 ** i)
        rms = (self.v / (1 - self.beta2 ** i)).sqrt()
        floor = self.rel_eps * rms.pow(2).mean(dim=(-2, -1), keepdim=True).sqrt()
        video.sub_(self.step_size(i) * m_hat / (rms + self.eps + floor)).clamp_(0.0, 255.0)
        return video


def paper_adam(config):
    return PaperAdam(config.lr, config.warmup, config.beta1, config.beta2)


def pixel_adam(config):
    return PixelAdam(config.lr, config.iterations, config.warmup, config.beta1, config.beta2, config.final_lr_ratio,
                     rel_eps=config.adam_rel_eps)


OPTIMIZERS = {"paper-adam": paper_adam, "adam": pixel_adam}


def dense_schedule(n_frames, size, stride, rng):
    """The paper's sub-batches: every ``stride`` frames plus one ending at the last frame (rng unused)."""
    return subbatch_starts(n_frames, size, stride)


def tiled_schedule(n_frames, size, stride, rng):
    """Non-overlapping sub-batches at a random offset o (drawn each iteration): o - size, o, o + size, ... clipped
    into the movie, and a tile dropped where its neighbours already cover it; every frame is covered once or
    twice (``stride`` unused). The offset moves the sub-batch borders, where a window sees least context, to a
    different place every iteration."""
    if n_frames < size:
        raise DnemkitError(f"the movie has {n_frames} frames; the reconstruction needs at least {size}")
    offset = int(rng.integers(0, size))
    starts = sorted({min(max(s, 0), n_frames - size) for s in range(offset - size, n_frames, size)})
    kept = [starts[0]]
    for k in range(1, len(starts)):
        following = starts[k + 1] if k + 1 < len(starts) else None
        if following is not None and kept[-1] + size >= following:
            continue  # the tiles on either side already cover this one
        kept.append(starts[k])
    return kept


SCHEDULES = {"dense": dense_schedule, "tiled": tiled_schedule}

#: the fast recipe's defaults; see docs/method.md ("Recipe", "The fast recipe") for the measurements behind them
FAST = dict(optimizer="adam", schedule="tiled", lr=4.0, warmup=0, beta2=0.99, final_lr_ratio=0.05, iterations=40)

#: recipe name -> the ReconstructionConfig fields it sets (everything else keeps the paper's value)
RECIPES = {"paper": {}, "fast": FAST}


def recipe_defaults(name):
    """The config fields of recipe ``name`` (a copy)."""
    if name not in RECIPES:
        raise DnemkitError(f"recipe is {name!r}; expected one of {', '.join(RECIPES)}")
    return dict(RECIPES[name], recipe=name)


def poisson_loss(rates, target, config):
    """The paper's loss per sub-batch: mean over neurons x frames of ``rates - target * log(rates + eps)``.

    rates (M, S, N, F) counts/frame (M models, S sub-batches), target (S, N, F) relu'd. Returns (M, S)."""
    return (rates - target * torch.log(rates + config.loss_eps)).mean(dim=(2, 3))


def negative_activation(rates, weights, config):
    """Minus the weighted mean rate per sub-batch: ``-sum(w * rates) / sum(w)`` over neurons x frames.

    rates (M, S, N, F) counts/frame; weights (S, N, F) >= 0 (the loop's "target": which neuron, at which frames,
    counts for each input; a sub-batch without weight gets loss 0 and no gradient). Returns (M, S)."""
    total = weights.sum(dim=(1, 2)).clamp(min=1e-12)
    return -(rates * weights).sum(dim=(2, 3)) / total


#: objective name -> loss(rates (M, S, N, F), target (S, N, F), config) -> (M, S), minimised by the loop
OBJECTIVES = {"poisson": poisson_loss, "activation": negative_activation}


def make_objective(objective=None):
    """The loss function of ``objective``: None = "poisson" (the paper's), a name in OBJECTIVES, or a callable
    with the same signature."""
    if objective is None:
        return poisson_loss
    if callable(objective):
        return objective
    if objective not in OBJECTIVES:
        raise DnemkitError(f"objective is {objective!r}; expected one of {', '.join(OBJECTIVES)} or a callable")
    return OBJECTIVES[objective]


def make_optimizer(config):
    return OPTIMIZERS[config.optimizer](config)


def make_schedule(config, seed=0):
    """A callable ``starts(n_frames)`` for one reconstruction (seeded, so runs repeat exactly)."""
    rng = np.random.default_rng(seed)
    part = SCHEDULES[config.schedule]
    return lambda n_frames: part(n_frames, config.subbatch_frames, config.subbatch_stride, rng)
