"""Gradient transforms of the reconstruction loop (its ``precondition`` part, applied to the gradient before the
optimiser's step): :class:`MeiTransform`, the image-MEI frame average and the Gaussian blur of most exciting
inputs (:mod:`dnemkit.experiments.mei`)."""

import math

import torch
import torch.nn.functional as F

from ..stimuli.geometry import HEIGHT, WIDTH


def _gaussian_kernel(sigma):
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return k / k.sum()


class MeiTransform:
    """The gradient transform (the loop's ``precondition``): the mean over frames for image MEIs (one frame held
    for the clip), then a separable Gaussian blur of ``sigma`` px (edges replicated; 0 = none)."""

    def __init__(self, static, sigma):
        self.static, self.sigma = static, sigma
        self.kernel = _gaussian_kernel(sigma) if sigma > 0 else None

    def __call__(self, g):
        if self.static:
            g = g.mean(dim=1, keepdim=True).expand_as(g)
        if self.kernel is None:
            return g.contiguous()
        k = self.kernel.to(g.device, g.dtype)
        r = len(k) // 2
        x = g.reshape(-1, 1, HEIGHT, WIDTH)
        x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        x = F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
        return x.reshape(g.shape)
