"""Tests of dnemkit.analysis.receptive_fields: RF maps, centres, Gaussian fits, population maps, errors."""

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import dnemkit.analysis as A
from dnemkit.errors import DnemkitError


H, W = 36, 64


def _gauss(cy, cx, sy, sx, h=H, w=W):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-0.5 * (((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2))


def test_rf_maps_recover_centres():
    centres = [(10, 20), (25, 50), (5, 5)]
    r_pre = np.full((3, H, W), 2.0)
    r_flash = np.stack([2.0 + 3.0 * _gauss(cy, cx, 2.0, 2.5) for cy, cx in centres])
    maps = A.rf_maps(r_pre, r_flash)
    assert maps.shape == (3, H, W)
    np.testing.assert_allclose(np.nanmax(maps, axis=(1, 2)), 1.0)
    cy, cx = A.rf_centres(maps)
    np.testing.assert_array_equal(cy, [c[0] for c in centres])
    np.testing.assert_array_equal(cx, [c[1] for c in centres])
    assert not A.unresponsive_neurons(maps).any()


def test_rf_maps_formula_independent():
    rng = np.random.default_rng(0)
    r_pre = rng.uniform(0.5, 2.0, (2, H, W))
    r_flash = r_pre * rng.uniform(0.7, 1.5, (2, H, W))
    got = A.rf_maps(r_pre, r_flash)
    for n in range(2):
        rel = (r_flash[n] - r_pre[n]) / r_pre[n]
        rel = np.where(rel < 0.1, 0.0, rel)
        sm = gaussian_filter(rel, 2.0)  # 2-D smoothing of one neuron
        np.testing.assert_allclose(got[n], sm / sm.max(), atol=1e-6)


def test_rf_polarity_zeroing_and_unresponsive():
    r_pre = np.ones((2, 3, 3))
    r_flash = np.ones((2, 3, 3))
    r_flash[0, 0, 0] = 1.05  # +5 %: below 0.1 -> 0
    r_flash[0, 1, 1] = 1.5  # +50 %: kept
    r_flash[0, 2, 2] = 0.2  # suppression (opposite polarity): 0
    r_flash[1] = 0.5  # neuron 1 only suppressed: unresponsive
    maps = A.rf_maps(r_pre, r_flash, sigma=0.0)
    expected = np.zeros((3, 3))
    expected[1, 1] = 1.0
    np.testing.assert_allclose(maps[0], expected, atol=1e-9)
    assert np.isnan(maps[1]).all()
    np.testing.assert_array_equal(A.unresponsive_neurons(maps), [False, True])
    cy, cx = A.rf_centres(maps)
    assert (cy[0], cx[0]) == (1.0, 1.0) and math.isnan(cy[1]) and math.isnan(cx[1])


def test_rf_silent_baseline_guarded():
    r_pre = np.zeros((1, H, W))
    r_flash = np.zeros((1, H, W))
    r_flash[0, 12, 33] = 0.5
    maps = A.rf_maps(r_pre, r_flash)
    assert np.isfinite(maps).all()
    assert A.rf_centres(maps) == (pytest.approx([12.0]), pytest.approx([33.0]))


def test_rf_centre_ties_averaged():
    m = np.zeros((1, 5, 5))
    m[0, 1, 1] = m[0, 1, 3] = 1.0
    cy, cx = A.rf_centres(m)
    assert (cy[0], cx[0]) == (1.0, 2.0)


def test_fit_gaussian_recovers_centre_and_sigma():
    m = 0.1 + 0.8 * _gauss(17.3, 40.6, 2.5, 3.5)
    fit = A.fit_gaussian_2d(m)
    assert fit["success"]
    assert abs(fit["center_y"] - 17.3) < 0.2 and abs(fit["center_x"] - 40.6) < 0.2
    assert abs(fit["sigma_y"] - 2.5) < 0.2 and abs(fit["sigma_x"] - 3.5) < 0.2
    assert fit["amplitude"] == pytest.approx(0.8, abs=1e-3) and fit["offset"] == pytest.approx(0.1, abs=1e-3)


def test_fit_gaussians_vectorised_and_failures():
    maps = np.stack([_gauss(10.2, 30.7, 2.0, 2.0), np.full((H, W), np.nan), np.zeros((H, W)),
                     _gauss(30.0, 8.4, 3.0, 1.5)])
    fits = A.fit_gaussians(maps)
    np.testing.assert_array_equal(fits["success"], [True, False, False, True])
    assert abs(fits["center_y"][0] - 10.2) < 0.2 and abs(fits["center_x"][0] - 30.7) < 0.2
    assert abs(fits["center_y"][3] - 30.0) < 0.2 and abs(fits["center_x"][3] - 8.4) < 0.2
    assert abs(fits["sigma_y"][3] - 3.0) < 0.2 and abs(fits["sigma_x"][3] - 1.5) < 0.2
    for key in ("center_y", "center_x", "sigma_y", "sigma_x", "amplitude", "offset"):
        assert np.isnan(fits[key][1]) and np.isnan(fits[key][2])


def test_fit_gaussian_ignores_nan_pixels():
    m = _gauss(12.0, 20.0, 2.0, 2.0)
    m[:, 40:] = np.nan
    fit = A.fit_gaussian_2d(m)
    assert fit["success"] and abs(fit["center_y"] - 12) < 0.2 and abs(fit["center_x"] - 20) < 0.2


def test_population_rf_and_on_off():
    maps = np.zeros((3, 4, 4))
    maps[0, 1, 1] = 1.0
    maps[1, 1, 1] = 0.5
    maps[2] = np.nan
    pop = A.population_rf(maps)
    assert pop[1, 1] == pytest.approx(0.75) and pop[0, 0] == 0.0
    assert np.isnan(A.population_rf(np.full((2, 3, 3), np.nan))).all()
    res = A.on_off_maps(pop, 2 * pop)
    np.testing.assert_allclose(res["on_minus_off"], -pop)
    np.testing.assert_allclose(res["on_plus_off"], 3 * pop)


def test_rf_errors():
    with pytest.raises(DnemkitError, match=r"r_flash has shape \(2, 3, 4\); expected the shape of r_pre \(2, 3, 3\)"):
        A.rf_maps(np.ones((2, 3, 3)), np.ones((2, 3, 4)))
    with pytest.raises(DnemkitError, match=r"r_pre has shape \(3, 3\); expected \(neuron, y, x\)"):
        A.rf_maps(np.ones((3, 3)), np.ones((3, 3)))
    with pytest.raises(DnemkitError, match=r"r_pre has negative values; expected non-negative"):
        A.rf_maps(-np.ones((1, 3, 3)), np.ones((1, 3, 3)))
    with pytest.raises(DnemkitError, match=r"r_flash contains non-finite values"):
        A.rf_maps(np.ones((1, 3, 3)), np.full((1, 3, 3), np.nan))
    with pytest.raises(DnemkitError, match=r"rf_map has shape \(2, 3, 3\); expected \(y, x\)"):
        A.fit_gaussian_2d(np.ones((2, 3, 3)))
    with pytest.raises(DnemkitError, match=r"off has shape \(3,\); expected the shape of on \(2,\)"):
        A.on_off_maps(np.ones(2), np.ones(3))
