"""Tests of dnemkit.analysis.errormaps: positive and negative error maps, identities and errors."""

import numpy as np
import pytest

from dnemkit.analysis.errormaps import error_maps
from dnemkit.errors import DnemkitError


H, W = 36, 64


def test_error_map_identities():
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 255, (10, H, W))
    b = rng.uniform(0, 255, (10, H, W))
    mask = np.zeros((H, W), bool)
    mask[5:30, 10:50] = True
    ep, em = error_maps(a, b, mask=mask)
    assert ep.shape == em.shape == a.shape
    assert (ep >= 0).all() and (em >= 0).all()
    assert ((ep == 0) | (em == 0)).all()
    np.testing.assert_allclose((ep - em)[:, mask], (a - b)[:, mask])
    assert (ep[:, ~mask] == 0).all() and (em[:, ~mask] == 0).all()
    ep2, em2 = error_maps(a[0], b[0])
    np.testing.assert_allclose(ep2 - em2, a[0] - b[0])


def test_error_map_errors():
    with pytest.raises(DnemkitError, match=r"recon_predicted has shape \(2, 36, 64\); expected the shape of recon_recorded \(3, 36, 64\)"):
        error_maps(np.zeros((3, H, W)), np.zeros((2, H, W)))
    with pytest.raises(DnemkitError, match=r"mask has shape \(36, 63\); expected \(36, 64\)"):
        error_maps(np.zeros((3, H, W)), np.zeros((3, H, W)), mask=np.ones((H, W - 1), bool))
    with pytest.raises(DnemkitError, match=r"recon_recorded contains non-finite values"):
        error_maps(np.full((H, W), np.inf), np.zeros((H, W)))


def test_response_correlation_difference_equals_np_corrcoef_per_neuron():
    from dnemkit.analysis.errormaps import response_correlation_difference

    rng = np.random.default_rng(5)
    recorded = rng.poisson(2.0, (4, 20)).astype(float)
    true = recorded + rng.normal(0, 0.5, recorded.shape)
    recon = rng.normal(2.0, 1.0, recorded.shape)
    recon[3] = 1.0  # constant prediction: NaN for that neuron
    r_true, r_recon, delta = response_correlation_difference(recorded, true, recon, first_frame=5)
    for n in range(4):
        assert r_true[n] == pytest.approx(np.corrcoef(recorded[n, 5:], true[n, 5:])[0, 1], rel=1e-12)
        if n < 3:
            assert r_recon[n] == pytest.approx(np.corrcoef(recorded[n, 5:], recon[n, 5:])[0, 1], rel=1e-12)
    assert np.isnan(r_recon[3]) and np.isnan(delta[3])
    np.testing.assert_allclose(delta[:3], r_true[:3] - r_recon[:3])
    with pytest.raises(DnemkitError, match="first_frame"):
        response_correlation_difference(recorded, true, recon, first_frame=19)
