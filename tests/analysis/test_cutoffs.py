"""Tests of dnemkit.analysis.cutoffs: the log-linear cut-off frequency, its edge cases and errors."""

import math

import numpy as np
import pytest

import dnemkit.analysis as A
from dnemkit.errors import DnemkitError


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
