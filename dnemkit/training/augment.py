"""Training batches: random windows of the training trials, stacked as DwiseNeuro inputs, and CutMix."""

import math

import numpy as np
import torch

from ..encoders.dwiseneuro.encoder import SPAN, STEP, WINDOW


def _draw_windows(trials, n, rng):
    """n random windows: (trial index, last frame >= 30) pairs."""
    which = rng.integers(0, len(trials), size=n)
    ends = [int(rng.integers(SPAN, trials[i].length)) for i in which]
    return list(zip(which.tolist(), ends))


def _gather(trials, windows, stacker, device):
    """Stacked inputs (B, 5, 16, 64, 64) and targets relu(responses) (B, N, 16) of the given windows, on device.

    Only the 16 frames of each window are gathered on the CPU; the 64 x 64 planes are built on ``device``."""
    frames = [end - SPAN + STEP * np.arange(WINDOW) for _, end in windows]
    video = torch.stack([trials[i].video[f] for (i, _), f in zip(windows, frames)]).to(device)
    behavior = torch.stack([trials[i].behavior[:, f] for (i, _), f in zip(windows, frames)]).to(device)
    targets = torch.stack([trials[i].responses[:, f] for (i, _), f in zip(windows, frames)]).to(device)
    with torch.no_grad():
        return stacker.stack_inputs(video, behavior), targets.clamp(min=0)


def cutmix_box(rng, alpha=1.0, size=64):
    """A CutMix box (y0, y1, x0, x1) on a size x size plane: area fraction about 1 - lam, lam ~ Beta(alpha, alpha),
    centre uniform, clipped at the borders (so the real area fraction is (y1 - y0)(x1 - x0) / size**2)."""
    lam = rng.beta(alpha, alpha)
    cut = int(size * math.sqrt(1.0 - lam))
    cy, cx = rng.integers(0, size, size=2)
    y0, y1 = np.clip([cy - cut // 2, cy + cut // 2], 0, size)
    x0, x1 = np.clip([cx - cut // 2, cx + cut // 2], 0, size)
    return int(y0), int(y1), int(x0), int(x1)


def cutmix(x, target, x_other, target_other, box):
    """Paste ``box`` of another window into one window (all channels and frames), mix targets by the box area.

    x, x_other: (5, 16, H, W); target, target_other: (N, 16). Returns new (mixed x, mixed target) tensors with
    target = (1 - a) * target + a * target_other, a = box area / (H * W).
    """
    y0, y1, x0, x1 = box
    mixed = x.clone()
    mixed[..., y0:y1, x0:x1] = x_other[..., y0:y1, x0:x1]
    area = (y1 - y0) * (x1 - x0) / (x.shape[-2] * x.shape[-1])
    return mixed, (1.0 - area) * target + area * target_other


def _training_batch(trials, config, rng, stacker, device="cpu"):
    """One batch: inputs (B, 5, 16, 64, 64), targets (B, N, 16), with CutMix applied per window."""
    b = config.batch_size
    x, y = _gather(trials, _draw_windows(trials, b, rng), stacker, device)
    mix = np.flatnonzero(rng.random(b) < config.cutmix_prob)
    if mix.size:
        x2, y2 = _gather(trials, _draw_windows(trials, mix.size, rng), stacker, device)
        for k, i in enumerate(mix):
            x[i], y[i] = cutmix(x[i], y[i], x2[k], y2[k], cutmix_box(rng, config.cutmix_alpha, x.shape[-1]))
    return x, y


# ---------------------------------------------------------------------------------------------------- optimisation
