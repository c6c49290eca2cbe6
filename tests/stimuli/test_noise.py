"""Tests of dnemkit.stimuli.noise against independent computations (autocorrelations, moments)."""

import math

import numpy as np
import pytest

from dnemkit.errors import DnemkitError
from dnemkit.stimuli import gaussian_noise, geometry


GREY = 127.5


def autocorrelation(video, lag, axis):
    """Pearson correlation between the movie and itself shifted by ``lag`` along ``axis``."""
    v = np.asarray(video, dtype=np.float64)
    a = np.take(v, np.arange(v.shape[axis] - lag), axis=axis)
    b = np.take(v, np.arange(lag, v.shape[axis]), axis=axis)
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


@pytest.mark.parametrize("sigma_space, sigma_time", [(0, 0), (2, 1), (8, 4), (32, 32)])
def test_noise_mean_std_shape_and_attrs(sigma_space, sigma_time):
    v = gaussian_noise(sigma_space, sigma_time, seed=3)
    assert v.dims == ("frame", "y", "x") and v.shape == (60, 36, 64) and v.dtype == np.float32
    assert float(v.mean()) == pytest.approx(GREY, abs=1.0)
    assert float(v.std()) == pytest.approx(51.0, abs=1.5)  # clipping at 2.5 std trims it a little
    assert float(v.min()) >= 0 and float(v.max()) <= 255
    assert v.attrs["sigma_space_px"] == sigma_space and v.attrs["sigma_time_frames"] == sigma_time
    assert v.attrs["sigma_space_deg"] == pytest.approx(sigma_space * geometry.DEG_PER_PIXEL)
    assert v.attrs["sigma_time_ms"] == pytest.approx(sigma_time * 1000 / 30)
    assert v.attrs["seed"] == 3


def test_spatial_autocorrelation_matches_gaussian_filtered_white_noise():
    # white noise filtered by a Gaussian of sigma has autocorrelation exp(-d^2 / (4 sigma^2))
    v = gaussian_noise(2, 0, n_frames=200, seed=1)
    for d in (1, 2, 4):
        expected = math.exp(-(d**2) / 16)
        assert autocorrelation(v, d, axis=2) == pytest.approx(expected, abs=0.025)
        assert autocorrelation(v, d, axis=1) == pytest.approx(expected, abs=0.025)
    assert abs(autocorrelation(v, 1, axis=0)) < 0.03  # temporally white


def test_temporal_autocorrelation_matches_sigma_time():
    v = gaussian_noise(0, 3, n_frames=300, seed=2)
    for d in (1, 3, 6):
        assert autocorrelation(v, d, axis=0) == pytest.approx(math.exp(-(d**2) / 36), abs=0.025)
    assert abs(autocorrelation(v, 1, axis=2)) < 0.03  # spatially white


def test_unfiltered_noise_is_white():
    v = gaussian_noise(0, 0, seed=4)
    for axis in (0, 1, 2):
        assert abs(autocorrelation(v, 1, axis=axis)) < 0.02


def test_noise_seeds_and_patch():
    a, b, c = gaussian_noise(2, 2, seed=5), gaussian_noise(2, 2, seed=5), gaussian_noise(2, 2, seed=6)
    assert np.array_equal(a.values, b.values) and not np.allclose(a.values, c.values)
    p = gaussian_noise(2, 2, seed=5, patch_columns=(11, 47)).values
    assert (p[:, :, :11] == GREY).all() and (p[:, :, 47:] == GREY).all()
    assert p[:, :, 11:47].mean() == pytest.approx(GREY, abs=1.0) and p[:, :, 11:47].std() == pytest.approx(51, abs=1.5)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(sigma_space=-1, sigma_time=0), ["sigma_space", ">= 0"]),
        (dict(sigma_space=0, sigma_time=-0.5), ["sigma_time", ">= 0"]),
        (dict(sigma_space=float("inf"), sigma_time=0), ["sigma_space", "finite"]),
        (dict(sigma_space=1, sigma_time=1, n_frames=0), ["n_frames", ">= 1"]),
        (dict(sigma_space=1, sigma_time=1, patch_columns=(40, 20)), ["patch_columns", "start < stop"]),
        (dict(sigma_space=1, sigma_time=1, patch_columns="ab"), ["patch_columns", "two integers"]),
        (dict(sigma_space=1, sigma_time=1, seed=-1), ["seed", ">= 0"]),
    ],
)
def test_noise_errors(kwargs, words):
    with pytest.raises(DnemkitError) as err:
        gaussian_noise(**kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)
