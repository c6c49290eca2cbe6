"""Constraints of the reconstruction loop (its ``constraint`` part, applied to the input after every step): the
contrast budget of most exciting inputs (:mod:`dnemkit.experiments.mei`)."""

import math

import torch

from ..stimuli.geometry import GREY


def project_to_budget(video, contrast, steps=30):
    """Project videos (B, T, 36, 64) grey levels in place onto the contrast budget and return them.

    The contrast c = (v - 127.5) / 127.5 of each item becomes clip(s c, -1, 1) with the one scale s > 0 that
    makes its root mean square over pixels and frames equal ``contrast`` (found by bisection; the norm of
    clip(s c) grows with s). For s <= 1 this is the Euclidean projection onto {RMS <= budget} within the
    screen's range (the KKT solution), so the fixed points of the projected steps are the constrained optima;
    scaling and clipping in turn instead would push contrast into the low-amplitude surround at every step. An
    item with too few non-grey pixels to hold the budget is saturated (s large: every non-grey pixel at +-1); a
    uniform grey item stays grey.
    """
    c = ((video - GREY) / GREY).flatten(1)
    target = contrast * math.sqrt(c.shape[1])

    def norm(scale):
        return (c * scale[:, None]).clamp(-1.0, 1.0).norm(dim=1)

    n0 = c.norm(dim=1)
    ok = n0 > 0
    lo = torch.where(ok, target / n0.clamp(min=1e-12), torch.ones_like(n0))  # unclipped: norm(lo) <= target
    scale = lo.clone()
    clipped = ok & (lo * c.abs().amax(dim=1) > 1.0)  # only these need the search (gratings at low budgets don't)
    if bool(clipped.any()):
        c_all, c = c, c[clipped]
        lo = hi = lo[clipped]
        for _ in range(40):  # the clip lowers the norm: raise hi until it holds the budget (or saturates)
            short = norm(hi) < target
            if not bool(short.any()):
                break
            hi = torch.where(short, hi * 2, hi)
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            below = norm(mid) < target
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        scale[clipped] = hi
        c = c_all
    scale = torch.where(ok, scale, torch.ones_like(scale))
    video.copy_((GREY + GREY * (c * scale[:, None]).clamp(-1.0, 1.0)).view_as(video))
    return video
