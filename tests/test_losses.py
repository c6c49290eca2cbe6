"""The Poisson deviance and its expectation (dnemkit.losses), against direct sums and sampling."""

import numpy as np
import pytest
from scipy.special import gammaln, xlogy

from dnemkit.losses import expected_poisson_deviance, poisson_deviance, poisson_nll


def _expected_by_sum(rate):
    """2 E[y log(y / rate) - y + rate], y ~ Poisson(rate), summed over y far into the tail (float64)."""
    y = np.arange(int(rate + 60 * np.sqrt(rate) + 80))
    p = np.exp(xlogy(y, rate) - rate - gammaln(y + 1))
    return 2 * np.sum(p * (xlogy(y, y / rate) - y + rate))


@pytest.mark.parametrize("rate", [3e-7, 4.2e-4, 0.013, 0.37, 1.0, 2.9, 17.0, 240.0, 999.0, 1500.0, 7000.0])
def test_expected_deviance_equals_the_sum_over_counts(rate):
    assert float(expected_poisson_deviance(rate)) == pytest.approx(_expected_by_sum(rate), rel=1e-5)


def test_expected_deviance_is_the_mean_deviance_of_poisson_draws():
    rng = np.random.default_rng(0)
    for rate in (0.05, 0.8, 6.0):
        y = rng.poisson(rate, size=400_000)
        dev = poisson_deviance(np.full(y.shape, rate), y)
        assert dev.mean() == pytest.approx(float(expected_poisson_deviance(rate)), abs=4 * dev.std() / np.sqrt(y.size))


def test_deviance_is_twice_the_loss_above_its_value_at_the_targets():
    import torch

    rng = np.random.default_rng(1)
    rates = rng.gamma(1.0, 2.0, size=50) + 1e-3
    y = rng.poisson(rates).astype(np.float64)
    nll = poisson_nll(torch.as_tensor(rates), torch.as_tensor(y), eps=0.0).numpy()
    at_targets = np.where(y > 0, y - xlogy(y, y), 0.0)  # the loss with rates equal to the targets
    np.testing.assert_allclose(poisson_deviance(rates, y), 2 * (nll - at_targets), rtol=1e-10, atol=1e-12)
    assert (poisson_deviance(y + (y == 0), y + (y == 0)) == 0).all()  # a perfect fit
    assert np.isfinite(poisson_deviance(np.zeros(3), np.array([0.0, 1.0, 5.0]))).all()  # rate 0: floored
