"""Tests of dnemkit.analysis: receptive fields, error maps, statistics, cut-offs, re-exports."""

import math

import numpy as np
import pytest
from scipy import stats as st
from scipy.ndimage import gaussian_filter

import dnemkit.analysis as A
from dnemkit.errors import DnemkitError

H, W = 36, 64


def _gauss(cy, cx, sy, sx, h=H, w=W):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-0.5 * (((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2))


# ------------------------------------------------------------------------------------------------ RF maps
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


# ------------------------------------------------------------------------------------------------ error maps
def test_error_map_identities():
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 255, (10, H, W))
    b = rng.uniform(0, 255, (10, H, W))
    mask = np.zeros((H, W), bool)
    mask[5:30, 10:50] = True
    ep, em = A.error_maps(a, b, mask)
    assert ep.shape == em.shape == a.shape
    assert (ep >= 0).all() and (em >= 0).all()
    assert ((ep == 0) | (em == 0)).all()
    np.testing.assert_allclose((ep - em)[:, mask], (a - b)[:, mask])
    assert (ep[:, ~mask] == 0).all() and (em[:, ~mask] == 0).all()
    ep2, em2 = A.error_maps(a[0], b[0])
    np.testing.assert_allclose(ep2 - em2, a[0] - b[0])


def test_error_map_errors():
    with pytest.raises(DnemkitError, match=r"recon_predicted has shape \(2, 36, 64\); expected the shape of recon_recorded \(3, 36, 64\)"):
        A.error_maps(np.zeros((3, H, W)), np.zeros((2, H, W)))
    with pytest.raises(DnemkitError, match=r"mask has shape \(36, 63\); expected \(36, 64\)"):
        A.error_maps(np.zeros((3, H, W)), np.zeros((3, H, W)), np.ones((H, W - 1), bool))
    with pytest.raises(DnemkitError, match=r"recon_recorded contains non-finite values"):
        A.error_maps(np.full((H, W), np.inf), np.zeros((H, W)))


# ------------------------------------------------------------------------------------------------ statistics
def test_paired_ttest_hand():
    a = np.array([0.55, 0.61, 0.48, 0.59, 0.52])
    b = np.array([0.50, 0.52, 0.47, 0.51, 0.49])
    d = a - b
    t_hand = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    res = A.paired_ttest(a, b)
    assert res["t"] == pytest.approx(t_hand)
    assert res["p"] == pytest.approx(2 * st.t.sf(abs(t_hand), d.size - 1))
    assert res["n"] == 5 and res["mean_difference"] == pytest.approx(d.mean())


def test_repeated_measures_anova_matches_numpy():
    rng = np.random.default_rng(4)
    n, L = 5, 4
    values = np.array([0.34, 0.43, 0.51, 0.57]) + rng.normal(0, 0.03, (n, L)) + rng.normal(0, 0.05, (n, 1))
    grand = values.mean()
    ss_levels = n * ((values.mean(axis=0) - grand) ** 2).sum()
    ss_subjects = L * ((values.mean(axis=1) - grand) ** 2).sum()
    ss_total = ((values - grand) ** 2).sum()
    ss_error = ss_total - ss_levels - ss_subjects
    df1, df2 = L - 1, (L - 1) * (n - 1)
    F = (ss_levels / df1) / (ss_error / df2)
    res = A.repeated_measures_anova(values, ["12.5%", "25%", "50%", "100%"])
    assert res["F"] == pytest.approx(F, rel=1e-9)
    assert res["df_num"] == df1 and res["df_den"] == df2
    assert res["p"] == pytest.approx(st.f.sf(F, df1, df2), rel=1e-6)
    assert A.repeated_measures_anova(values)["F"] == pytest.approx(F, rel=1e-9)


def test_adjacent_level_tests_bonferroni():
    rng = np.random.default_rng(6)
    values = np.array([0.3, 0.4, 0.42, 0.6]) + rng.normal(0, 0.04, (6, 4))
    names = ["a", "b", "c", "d"]
    out = A.adjacent_level_tests(values, names)
    assert len(out) == 3
    for i, res in enumerate(out):
        ref = st.ttest_rel(values[:, i + 1], values[:, i])
        assert (res["level_a"], res["level_b"]) == (names[i], names[i + 1])
        assert res["t"] == pytest.approx(ref.statistic)
        assert res["p"] == pytest.approx(ref.pvalue)
        assert res["p_bonferroni"] == pytest.approx(min(1.0, 3 * ref.pvalue))
        assert res["n_tests"] == 3 and res["n"] == 6
        assert res["mean_difference"] == pytest.approx((values[:, i + 1] - values[:, i]).mean())
    # capped at 1
    flat = rng.normal(0, 1, (6, 3))
    assert all(r["p_bonferroni"] <= 1.0 for r in A.adjacent_level_tests(flat))


def test_stats_errors():
    with pytest.raises(DnemkitError, match=r"values has 1 subject\(s\); expected at least 2"):
        A.repeated_measures_anova(np.ones((1, 3)))
    with pytest.raises(DnemkitError, match=r"values has 1 level\(s\); expected at least 2"):
        A.adjacent_level_tests(np.ones((4, 1)))
    with pytest.raises(DnemkitError, match=r"values contains NaN or inf"):
        A.repeated_measures_anova(np.array([[1.0, 2.0], [np.nan, 3.0]]))
    with pytest.raises(DnemkitError, match=r"values has shape \(4,\); expected \(subjects, levels\)"):
        A.repeated_measures_anova(np.ones(4))
    with pytest.raises(DnemkitError, match=r"level_names has 2 names; expected one per level \(3\)"):
        A.adjacent_level_tests(np.ones((4, 3)), ["a", "b"])
    with pytest.raises(DnemkitError, match=r"a has 1 value\(s\); expected at least 2 subjects"):
        A.paired_ttest([1.0], [2.0])
    with pytest.raises(DnemkitError, match=r"b has 2 values; expected as many as a \(3\)"):
        A.paired_ttest([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(DnemkitError, match=r"b contains NaN or inf"):
        A.paired_ttest([1.0, 2.0], [1.0, np.nan])


# ------------------------------------------------------------------------------------------------ cut-offs
def test_cutoff_log_linear_interpolation():
    f = np.array([0.0625, 0.125, 0.25, 0.5])
    r = 0.8 - 0.3 * np.log2(f / 0.0625)  # 0.8, 0.5, 0.2, -0.1: linear in log f
    value, status = A.cutoff(f, r, threshold=0.35)
    assert status == "interpolated"
    assert value == pytest.approx(0.0625 * 2 ** ((0.8 - 0.35) / 0.3), rel=1e-12)
    # order of the input and an extra zero frequency do not matter
    perm = [2, 0, 3, 1]
    value2, _ = A.cutoff(np.r_[f[perm], 0.0], np.r_[r[perm], -0.5], threshold=0.35)
    assert value2 == pytest.approx(value, rel=1e-12)
    # r exactly at the threshold counts as not above
    assert A.cutoff(f, r, threshold=0.2) == (pytest.approx(0.25), "interpolated")


def test_cutoff_edge_cases():
    f = [0.5, 1.0, 2.0]
    assert A.cutoff(f, [0.9, 0.8, 0.7]) == (2.0, "not_reached")
    v, s = A.cutoff(f, [0.1, 0.0, -0.1])
    assert math.isnan(v) and s == "below_everywhere"
    # a dip at the lowest frequency is skipped; the first fall after the first point above counts
    v, s = A.cutoff([0.5, 1.0, 2.0, 4.0], [0.1, 0.6, 0.1, 0.9])
    assert s == "interpolated" and v == pytest.approx(2 ** 0.8)
    # NaN correlations are ignored
    assert A.cutoff([1.0, 2.0, 4.0], [0.5, np.nan, 0.5]) == (4.0, "not_reached")
    assert set(A.CUTOFF_STATUSES) == {"interpolated", "not_reached", "below_everywhere"}


def test_cutoff_errors():
    with pytest.raises(DnemkitError, match=r"corr has shape \(2,\); expected one value per frequency \(3,\)"):
        A.cutoff([1, 2, 3], [0.5, 0.4])
    with pytest.raises(DnemkitError, match=r"freqs must be finite and non-negative"):
        A.cutoff([-1, 2], [0.5, 0.4])
    with pytest.raises(DnemkitError, match=r"freqs has repeated values"):
        A.cutoff([1, 1, 2], [0.5, 0.4, 0.3])
    with pytest.raises(DnemkitError, match=r"freqs has no positive frequency"):
        A.cutoff([0.0], [0.5])
    with pytest.raises(DnemkitError, match=r"freqs has shape \(0,\); expected a non-empty 1-D array"):
        A.cutoff([], [])


def test_reexports():
    for name in A.__all__:
        assert callable(getattr(A, name)) or name == "CUTOFF_STATUSES"
