"""Tests of dnemkit.analysis.stats: paired t-tests, repeated-measures ANOVA, adjacent-level tests, errors."""

import math

import numpy as np
import pytest
from scipy import stats as st

import dnemkit.analysis as A
from dnemkit.errors import DnemkitError


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
    res = A.repeated_measures_anova(values, level_names=["12.5%", "25%", "50%", "100%"])
    assert res["F"] == pytest.approx(F, rel=1e-9)
    assert res["df_num"] == df1 and res["df_den"] == df2
    assert res["p"] == pytest.approx(st.f.sf(F, df1, df2), rel=1e-6)
    assert A.repeated_measures_anova(values)["F"] == pytest.approx(F, rel=1e-9)


def test_adjacent_level_tests_bonferroni():
    rng = np.random.default_rng(6)
    values = np.array([0.3, 0.4, 0.42, 0.6]) + rng.normal(0, 0.04, (6, 4))
    names = ["a", "b", "c", "d"]
    out = A.adjacent_level_tests(values, level_names=names)
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
        A.adjacent_level_tests(np.ones((4, 3)), level_names=["a", "b"])
    with pytest.raises(DnemkitError, match=r"a has 1 value\(s\); expected at least 2 subjects"):
        A.paired_ttest([1.0], [2.0])
    with pytest.raises(DnemkitError, match=r"b has 2 values; expected as many as a \(3\)"):
        A.paired_ttest([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(DnemkitError, match=r"b contains NaN or inf"):
        A.paired_ttest([1.0, 2.0], [1.0, np.nan])


def test_mean_sem_matches_scipy_and_is_nan_for_one_value():
    from dnemkit.analysis.stats import mean_sem

    values = np.random.default_rng(0).normal(size=(4, 7))
    mean, sem = mean_sem(values, axis=1)
    np.testing.assert_allclose(mean, values.mean(axis=1))
    np.testing.assert_allclose(sem, st.sem(values, axis=1))
    one_mean, one_sem = mean_sem(values[:, :1], axis=1)
    np.testing.assert_allclose(one_mean, values[:, 0])
    assert np.isnan(one_sem).all()
