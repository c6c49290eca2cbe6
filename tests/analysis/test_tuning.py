"""Tests of dnemkit.analysis.tuning: the pure measures (OSI/DSI, F1/F0, log-Gaussian fits, tuning_measures)
against analytic answers."""

import math

import numpy as np
import pytest
import xarray as xr

from dnemkit.analysis.tuning import (f1_f0, fit_log_gaussian, global_dsi, global_osi, log_gaussian, peak_dsi, peak_osi,
                                     tuning_measures)
from dnemkit.errors import DnemkitError


DIRS12 = np.arange(0.0, 360.0, 30.0)


def test_global_indices_of_cosine_tuning():
    # R = 1 + cos(2 (theta - 40)): sum R e^{2i theta} = N/2 e^{2i 40}, sum R = N -> gOSI 1/2, gDSI 0
    theta = np.deg2rad(DIRS12)
    curve = 1 + np.cos(2 * (theta - np.deg2rad(40)))
    assert global_osi(curve, DIRS12) == pytest.approx(0.5, abs=1e-12)
    assert global_dsi(curve, DIRS12) == pytest.approx(0.0, abs=1e-12)
    # R = 1 + cos(theta - 40): the first harmonic instead -> gDSI 1/2, gOSI 0
    curve = 1 + np.cos(theta - np.deg2rad(40))
    assert global_dsi(curve, DIRS12) == pytest.approx(0.5, abs=1e-12)
    assert global_osi(curve, DIRS12) == pytest.approx(0.0, abs=1e-12)
    # one direction only: both 1; the baseline is subtracted and negative responses clipped
    spike = np.where(DIRS12 == 90, 5.0, 1.0)
    assert global_osi(spike, DIRS12, baseline=1.0) == pytest.approx(1.0)
    assert global_dsi(spike, DIRS12, baseline=1.0) == pytest.approx(1.0)
    assert np.isnan(global_osi(np.zeros(12), DIRS12, baseline=1.0))  # no response above baseline


def test_peak_indices_allensdk_style():
    d4 = np.array([0.0, 90.0, 180.0, 270.0])
    curve = np.array([[3.0, 1.0, 1.0, 1.0],  # R_pref 3, R_orth 1, R_null 1 -> 0.5, 0.5
                      [2.0, 0.0, 2.0, 0.0],  # orientation selective, not direction selective
                      [1.0, 1.0, 1.0, 1.0]])  # untuned
    np.testing.assert_allclose(peak_osi(curve, d4), [0.5, 1.0, 0.0])
    np.testing.assert_allclose(peak_dsi(curve, d4), [0.5, 0.0, 0.0])
    # baseline 1 subtracted: R = [2, 0, 0, 0] -> fully selective
    np.testing.assert_allclose(peak_osi(curve[:1], d4, baseline=[1.0]), [1.0])
    # a grid without pref +- 90 (60 deg steps): R_orth interpolated halfway between 60 and 120 deg
    d6 = np.arange(0.0, 360.0, 60.0)
    c6 = np.array([[4.0, 2.0, 0.0, 4.0, 2.0, 0.0]])  # R(90) = mean(R(60), R(120)) = 1 -> (4-1)/(4+1)
    np.testing.assert_allclose(peak_osi(c6, d6), [0.6])


def test_f1_f0_of_analytic_traces():
    t = np.arange(60) / 30.0
    # a sinusoid that just touches the baseline: F1 = F0 -> 1, for whole and fractional numbers of cycles
    for tf in (2.0, 1.875, 0.7):
        assert f1_f0(2.0 + 1.0 + np.cos(2 * np.pi * tf * t + 0.3), tf, baseline=2.0) == pytest.approx(1.0, abs=1e-9)
    assert f1_f0(np.full(60, 3.0), 2.0, baseline=1.0) == pytest.approx(0.0, abs=1e-12)  # constant
    # a half-wave rectified sinusoid: (1/2) / (1/pi) = pi / 2 (fine sampling approximates the integrals)
    fine = np.arange(10000) / 5000.0
    assert f1_f0(np.clip(np.cos(2 * np.pi * 3.0 * fine), 0, None), 3.0, fps=5000.0) == pytest.approx(math.pi / 2,
                                                                                                     rel=1e-3)
    assert np.isnan(f1_f0(1 + np.cos(t), 0.0))  # static grating: no modulation frequency
    assert np.isnan(f1_f0(np.full(60, 1.0), 2.0, baseline=2.0))  # below baseline: undefined


def test_log_gaussian_fit_recovers_the_peak_and_bandwidth():
    f = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
    curve = 0.3 + log_gaussian(np.log2(np.where(f > 0, f, 1.0)), 2.0, np.log2(2.6), 0.9)
    curve[0] = 50.0  # tf = 0 has no place on a log axis: it must not pull the fit
    pref, bw, amp = fit_log_gaussian(f, curve, baseline=0.3)
    assert pref == pytest.approx(2.6, rel=1e-5)
    assert bw == pytest.approx(2 * math.sqrt(2 * math.log(2)) * 0.9, rel=1e-5)
    assert amp == pytest.approx(2.0, rel=1e-5)
    assert np.isnan(fit_log_gaussian([1.0, 2.0], [1.0, 2.0])[0])  # fewer than 3 frequencies
    assert np.isnan(fit_log_gaussian(f, np.zeros(6))[0])  # no response
    # a peak far beyond the sampled range is an extrapolation, not a measurement
    assert np.isnan(fit_log_gaussian([1.0, 2.0, 4.0, 8.0], [1.0, 1e-3, 1e-9, 0.0])[0])


def _grid(values, sf=(0.02, 0.04, 0.08), tf=(1.0, 2.0, 4.0), directions=DIRS12):
    return xr.DataArray(values, dims=("neuron", "sf", "tf", "direction"),
                        coords={"neuron": np.arange(len(values)), "sf": list(sf), "tf": list(tf),
                                "direction": list(directions)})


def test_tuning_measures_on_a_built_grid():
    r = np.ones((3, 3, 3, 12))
    r[0, 2, 1, 4] = 5.0  # neuron 0: 0.08 cpd, 2 Hz, 120 deg
    r[0, 2, 1, 10] = 3.0  # ... and weaker at 300 deg (its opposite)
    r[1, 0, 2, 0] = 1.1  # neuron 1: only 10 % above its grey baseline of 1: not responsive
    r[2] *= 0.5  # neuron 2: below its baseline everywhere
    ds = tuning_measures(_grid(r), np.ones(3))
    assert list(ds["responsive"].values) == [True, False, False]
    assert (ds["preferred_sf"].values[0], ds["preferred_tf"].values[0]) == (0.08, 2.0)
    assert ds["preferred_direction"].values[0] == 120.0 and ds["preferred_orientation"].values[0] == 120.0
    assert ds["dsi"].values[0] == pytest.approx((4 - 2) / (4 + 2))
    assert ds["osi"].values[0] == pytest.approx(1.0)
    assert ds["direction_tuning"].shape == (3, 12) and ds["sf_tuning"].shape == (3, 3)
    assert np.isnan(ds["preferred_sf_fit"].values[1])  # fits only for responsive neurons
    assert ds["responsive"].attrs["long_name"].startswith("peak >= (1 + 0.2)")
    with pytest.raises(DnemkitError, match="at least 4"):
        tuning_measures(_grid(r[..., :3], directions=(0, 120, 240)), np.ones(3))
    with pytest.raises(DnemkitError, match="one per neuron"):
        tuning_measures(_grid(r), np.ones(2))
