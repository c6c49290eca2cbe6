"""The Poisson loss of training and reconstruction (one formula; each reduces it its own way)."""

import functools

import numpy as np
import torch

#: inside the log, so that a rate of exactly 0 gives a finite loss (the reference's value)
POISSON_EPS = 1e-8


def poisson_nll(rates, target, eps=POISSON_EPS):
    """Elementwise Poisson negative log-likelihood up to a constant: ``rates - target * log(rates + eps)``.

    rates, target: tensors of one shape (counts/frame; target >= 0). Returns that shape. Training sums it over
    neurons and frames and averages over the batch; a reconstruction averages it over neurons and frames of
    each sub-batch.
    """
    return rates - target * torch.log(rates + eps)


def poisson_deviance(rates, target):
    """Elementwise Poisson deviance ``2 (y log(y / rate) - (y - rate))`` (0 log 0 = 0), float64 numpy.

    rates, target: arrays of one shape (counts/frame; target >= 0; rates are floored at 1e-8, as the loss's
    epsilon). The deviance is the loss (:func:`poisson_nll`) minus its value at rates equal to the targets, times
    2: 0 for a perfect fit, about 1 per observation on average when the rates are the true ones and the targets
    Poisson draws of them (:func:`expected_poisson_deviance`)."""
    rates = np.maximum(np.asarray(rates, np.float64), DEVIANCE_FLOOR)
    target = np.asarray(target, np.float64)
    log_ratio = np.log(np.where(target > 0, target, 1.0) / rates)
    return 2.0 * (np.where(target > 0, target * log_ratio, 0.0) - target + rates)


def expected_poisson_deviance(rates):
    """The deviance (:func:`poisson_deviance`) each observation has on average when its target is a Poisson draw
    of ``rates`` (float64 numpy, the shape of ``rates``): 2 E[y log(y/rate) - y + rate], y ~ Poisson(rate).
    About 2 rate log(1/rate) for small rates, 1 + 1/(6 rate) for large ones; interpolated (log-log) in a table
    of exact sums over y, relative error below 1e-5 (tests/test_losses.py)."""
    rates = np.maximum(np.asarray(rates, np.float64), DEVIANCE_FLOOR)
    grid, table = _expected_deviance_table()
    inside = np.exp(np.interp(np.log(np.minimum(rates, grid[-1])), np.log(grid), np.log(table)))
    return np.where(rates > grid[-1], 1.0 + 1.0 / (6.0 * rates) + 1.0 / (6.0 * rates ** 2), inside)


#: the smallest rate the deviances use (the loss adds the same epsilon inside its log for the same reason)
DEVIANCE_FLOOR = POISSON_EPS


@functools.lru_cache(maxsize=1)
def _expected_deviance_table():
    """(rates, expected deviance): 2401 rates log-spaced over 1e-8..1e3, each an exact sum over y (the Poisson
    probabilities in log space: no overflow at large y)."""
    from scipy.special import gammaln, xlogy

    grid = np.geomspace(DEVIANCE_FLOOR, 1e3, 2401)
    table = np.empty_like(grid)
    for lo in range(0, len(grid), 300):
        lam = grid[lo:lo + 300, None]
        y = np.arange(int(lam[-1, 0] + 40 * np.sqrt(lam[-1, 0]) + 40))[None]
        pmf = np.exp(xlogy(y, lam) - lam - gammaln(y + 1))
        table[lo:lo + 300] = 2.0 * np.sum(pmf * (xlogy(y, y / lam) - y + lam), axis=1)
    return grid, table
