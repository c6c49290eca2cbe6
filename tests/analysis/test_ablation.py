"""Tests of dnemkit.analysis.ablation on hand-built datasets: nested subsets against an explicit permutation, the
subject table against explicit loops, the statistics against scipy on the same table."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from dnemkit.analysis.ablation import ablation_statistics, nested_subsets, subject_table
from dnemkit.errors import DnemkitError


def _results(mice=None):
    """video_correlation (keep_fraction 3, movie 4, seed 2) with known values; optional mouse coordinate."""
    rng = np.random.default_rng(7)
    v = rng.uniform(0.1, 0.9, (3, 4, 2))
    ds = xr.Dataset({"video_correlation": (("keep_fraction", "movie", "seed"), v)},
                    coords={"keep_fraction": [1.0, 0.5, 0.25], "movie": [10, 11, 12, 13], "seed": [0, 1]})
    if mice is not None:
        ds = ds.assign_coords(mouse=("movie", mice))
    return ds, v


def test_nested_subsets_are_the_first_of_one_permutation():
    subsets = nested_subsets(10, fractions=(0.25, 1.0, 0.5), rng=np.random.default_rng(3))
    order = np.random.default_rng(3).permutation(10)
    assert list(subsets) == [1.0, 0.5, 0.25]
    for f, expected_n in ((1.0, 10), (0.5, 5), (0.25, 2)):  # round(2.5) = 2 (banker's rounding)
        assert subsets[f].dtype == np.int64
        np.testing.assert_array_equal(subsets[f], np.sort(order[:expected_n]))
    assert set(subsets[0.25]) <= set(subsets[0.5]) <= set(subsets[1.0])
    assert nested_subsets(3, fractions=0.01, rng=np.random.default_rng(0))[0.01].size == 1  # at least one neuron


def test_subject_table_movie_movie_seed_and_mouse_equal_explicit_loops():
    ds, v = _results(mice=["a", "b", "a", "c"])
    table, labels = subject_table(ds)
    expected = np.array([[np.mean(v[k, m, :]) for k in range(3)] for m in range(4)])
    np.testing.assert_allclose(table, expected, rtol=1e-12)
    assert labels == ["10", "11", "12", "13"]

    table, labels = subject_table(ds, subjects="movie_seed")
    expected = np.array([[v[k, m, s] for k in range(3)] for m in range(4) for s in range(2)])
    np.testing.assert_array_equal(table, expected)
    assert labels[:3] == ["10/0", "10/1", "11/0"]

    table, labels = subject_table(ds, subjects="mouse")
    assert labels == ["a", "b", "c"]
    per_movie = v.mean(axis=2)
    np.testing.assert_allclose(table[0], (per_movie[:, 0] + per_movie[:, 2]) / 2, rtol=1e-12)
    np.testing.assert_allclose(table[2], per_movie[:, 3], rtol=1e-12)


def test_subject_table_refuses_unknown_subjects_and_mice_without_coordinate():
    ds, _ = _results()
    with pytest.raises(DnemkitError, match="subjects"):
        subject_table(ds, subjects="neuron")
    with pytest.raises(DnemkitError, match="mouse coordinate"):
        subject_table(ds, subjects="mouse")


def test_ablation_statistics_equal_scipy_on_the_same_table():
    ds, v = _results()
    out = ablation_statistics(ds)
    table = v.mean(axis=2).T  # (movies, levels)
    np.testing.assert_allclose(out["subject_correlation"].values, table, rtol=1e-12)
    for c in range(2):
        res = stats.ttest_rel(table[:, c + 1], table[:, c])
        assert float(out["test_t"][c]) == pytest.approx(res.statistic, rel=1e-9)
        assert float(out["test_p_bonferroni"][c]) == pytest.approx(min(1.0, 2 * res.pvalue), rel=1e-9)
        assert float(out["test_mean_difference"][c]) == pytest.approx(np.mean(table[:, c + 1] - table[:, c]))
    assert float(out["anova_df_num"]) == 2 and float(out["anova_df_den"]) == 2 * 3
    assert out.attrs["statistics"] == "ok" and out.attrs["n_subjects"] == 4
    again = ablation_statistics(out, subjects="movie_seed")  # earlier statistics replaced, not stacked
    assert again.attrs["n_subjects"] == 8 and again["subject_correlation"].shape == (8, 3)


def test_ablation_statistics_with_one_subject_are_nan_and_say_why():
    ds, _ = _results(mice=["a", "a", "a", "a"])
    out = ablation_statistics(ds, subjects="mouse")
    assert np.isnan(float(out["anova_F"])) and np.isnan(out["test_t"].values).all()
    assert out.attrs["statistics"].startswith("not computed: needs at least 2 subjects")

