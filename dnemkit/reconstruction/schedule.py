"""The sub-batch schedule and the paper's first-moment optimiser (docs/method.md, "Recipe")."""

import math

import torch

from ..errors import DnemkitError


def subbatch_starts(n_frames, size=32, stride=8):
    """First frames of the sub-batches: 0, stride, 2*stride, ... and a last one ending at n_frames.

    300 frames -> 35 sub-batches (0, 8, ..., 264, 268).
    """
    if n_frames < size:
        raise DnemkitError(f"the movie has {n_frames} frames; the reconstruction needs at least {size}")
    starts = list(range(0, n_frames - size + 1, stride))
    if starts[-1] + size < n_frames:
        starts.append(n_frames - size)
    return starts


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
