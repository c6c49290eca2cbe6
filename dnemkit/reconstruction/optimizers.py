"""The two optimisers of a reconstruction: the paper's first-moment update and per-pixel Adam.

Each updates a video (B, T, 36, 64) grey levels in place from its normalised, masked gradient, one iteration at a
time, and clips it to [0, 255]. ``OPTIMIZERS`` maps a recipe's ``optimizer`` name to a factory of the recipe.
"""

import math

import torch


class PaperAdam:
    """The paper's "Adam": first moment only, linear warm-up, bias terms as published.

    For iteration i >= 1: lr_i = lr * min(1, i / warmup); m = b1*m + (1-b1)*g;
    lr_t = lr_i * sqrt(1 - b2^(i+1)) / (1 - b1^(i+1)); x -= lr_t * m / (1 - b1^(i+1)); x = clip(x, 0, 255).
    (The first-moment bias correction enters twice, as in the reference.)
    """

    def __init__(self, lr=1000.0, warmup=10, beta1=0.9, beta2=0.999):
        self.lr, self.warmup, self.beta1, self.beta2 = lr, warmup, beta1, beta2
        self.m = None

    def step_size(self, i):
        lr_i = self.lr * min(1.0, i / self.warmup) if self.warmup > 0 else self.lr
        return lr_i * math.sqrt(1 - self.beta2 ** (i + 1)) / (1 - self.beta1 ** (i + 1))

    @torch.no_grad()
    def step(self, video, grad, i):
        """Update ``video`` in place with gradient ``grad`` at iteration ``i`` (1-based)."""
        if self.m is None:
            self.m = torch.zeros_like(video)
        self.m.mul_(self.beta1).add_(grad, alpha=1 - self.beta1)
        m_hat = self.m / (1 - self.beta1 ** (i + 1))
        video.sub_(self.step_size(i) * m_hat).clamp_(0.0, 255.0)
        return video


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


def paper_adam(recipe):
    return PaperAdam(recipe.lr, recipe.warmup, recipe.beta1, recipe.beta2)


def pixel_adam(recipe):
    return PixelAdam(recipe.lr, recipe.iterations, recipe.warmup, recipe.beta1, recipe.beta2, recipe.final_lr_ratio,
                     rel_eps=recipe.adam_rel_eps)


OPTIMIZERS = {"paper-adam": paper_adam, "adam": pixel_adam}


def make_optimizer(recipe):
    """A fresh optimiser of ``recipe`` (its own moments: one per reconstructed video stack)."""
    return OPTIMIZERS[recipe.optimizer](recipe)
