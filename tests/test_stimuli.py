"""Tests of dnemkit.stimuli against independent computations (FFT peaks, autocorrelations, explicit pixels)."""

import math
import time

import numpy as np
import pytest
import xarray as xr

from dnemkit import stimuli
from dnemkit.errors import DnemkitError
from dnemkit.stimuli import (
    drifting_grating,
    gaussian_noise,
    geometry,
    iter_sparse_noise,
    natural_movie,
    phase_invert,
    sparse_noise,
)
from dnemkit.stimuli.natural import NATURAL_IMAGES, load_grey_image
from dnemkit.stimuli.sparse import all_positions

GREY = 127.5


# ----------------------------------------------------------------------------------------------- gratings
def fft_peaks(video):
    """The two strongest 3-D Fourier components as a set of (cycles/frame, cycles/row, cycles/column)."""
    spectrum = np.abs(np.fft.fftn(np.asarray(video, dtype=np.float64) - GREY))
    freqs = [np.fft.fftfreq(n) for n in spectrum.shape]
    order = np.argsort(spectrum.ravel())[::-1][:2]
    peaks = {tuple(round(float(f[i]), 6) for f, i in zip(freqs, np.unravel_index(k, spectrum.shape))) for k in order}
    return peaks, spectrum


@pytest.mark.parametrize("direction", [0, 90, 180, 270])
def test_grating_fft_peak_at_requested_sf_tf_direction(direction):
    # 0.25 cyc/px is 16 cycles over 64 columns and 9 over 36 rows; 3 Hz over 60 frames is 6 cycles: exact bins
    sf, tf = 0.25, 3.0
    video = drifting_grating(sf, tf, direction, n_frames=60, units="cyc/px")
    theta = math.radians(direction)
    # cos(2 pi (fx x + fy y + ft t)) has components at +-(ft, fy, fx); the expected wave vector follows from the
    # documented convention: 0 deg moves to +x, 90 deg to row 0 (-y), crest at sf * u = tf * t
    ft, fy, fx = -tf / geometry.FPS, -sf * math.sin(theta), sf * math.cos(theta)
    expected = {tuple(round(s * c + 0.0, 6) for c in (ft, fy, fx)) for s in (1, -1)}
    peaks, spectrum = fft_peaks(video)
    assert peaks == expected
    # a pure sinusoid: the two peaks hold all the energy
    assert np.sort(spectrum.ravel())[-3] < 1e-6 * spectrum.max()


def test_grating_drifts_one_pixel_per_frame_in_the_documented_direction():
    # tf / (30 * sf) = 1.875 / (30 / 16) = 1 pixel per frame
    right = drifting_grating(1 / 16, 1.875, 0, n_frames=2, units="cyc/px").values
    np.testing.assert_allclose(right[1][:, 1:], right[0][:, :-1], atol=1e-3)  # content moved to larger x
    up = drifting_grating(1 / 16, 1.875, 90, n_frames=2, units="cyc/px").values
    np.testing.assert_allclose(up[1][:-1, :], up[0][1:, :], atol=1e-3)  # content moved towards row 0
    left = drifting_grating(1 / 16, 1.875, 180, n_frames=2, units="cyc/px").values
    np.testing.assert_allclose(left[1][:, :-1], left[0][:, 1:], atol=1e-3)


def test_grating_values_units_and_attrs():
    g = drifting_grating(0.125, 0.0, 0, n_frames=3, units="cyc/px")
    assert g.dims == ("frame", "y", "x") and g.shape == (3, 36, 64) and g.dtype == np.float32
    assert float(g.min()) == pytest.approx(0.0, abs=1e-3) and float(g.max()) == pytest.approx(255.0, abs=1e-3)
    np.testing.assert_allclose(g.values[0, 0, :8], GREY + GREY * np.cos(2 * np.pi * 0.125 * np.arange(8)), atol=1e-3)
    assert (g.values[0] == g.values[2]).all()  # tf 0 is static
    cpd = drifting_grating(0.125 / geometry.DEG_PER_PIXEL, 0.0, 0, n_frames=3)
    np.testing.assert_allclose(cpd.values, g.values, atol=1e-3)
    assert cpd.attrs["sf_cyc_per_px"] == pytest.approx(0.125)
    assert g.attrs["sf_cpd"] == pytest.approx(0.125 * 0.143 / 0.5)
    assert g.attrs["tf_hz"] == 0.0 and g.attrs["direction_deg"] == 0.0
    half = drifting_grating(0.125, 0.0, 0, n_frames=1, units="cyc/px", contrast=0.5)
    assert float(half.max()) == pytest.approx(GREY * 1.5, abs=1e-3)


def test_grating_15hz_is_a_counterphase_flicker_and_nyquist_sf_is_allowed():
    g = drifting_grating(0.0625, 15.0, 0, n_frames=4, units="cyc/px").values - GREY
    np.testing.assert_allclose(g[1], -g[0], atol=1e-3)
    np.testing.assert_allclose(g[2], g[0], atol=1e-3)
    nyq = drifting_grating(0.5, 0.0, 0, n_frames=1, units="cyc/px").values[0, 0, :4]
    np.testing.assert_allclose(nyq, [255, 0, 255, 0], atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(sf=0, tf=1, direction=0, units="cyc/px"), ["sf", "> 0"]),
        (dict(sf=-0.1, tf=1, direction=0), ["sf", "> 0"]),
        (dict(sf=0.6, tf=1, direction=0, units="cyc/px"), ["sf", "Nyquist"]),
        (dict(sf=0.144, tf=1, direction=0), ["sf", "cyc/px", "0.143 cpd"]),
        (dict(sf=0.1, tf=-1, direction=0, units="cyc/px"), ["tf", "0 <= tf <= 15"]),
        (dict(sf=0.1, tf=16, direction=0, units="cyc/px"), ["tf", "Nyquist"]),
        (dict(sf=0.1, tf=1, direction=float("nan"), units="cyc/px"), ["direction", "finite"]),
        (dict(sf=0.1, tf=1, direction=0, units="cyc/px", n_frames=0), ["n_frames", ">= 1"]),
        (dict(sf=0.1, tf=1, direction=0, units="deg"), ["units", "cyc/px"]),
        (dict(sf=0.1, tf=1, direction=0, units="cyc/px", contrast=2), ["contrast", "[0, 1]"]),
    ],
)
def test_grating_errors(kwargs, words):
    with pytest.raises(DnemkitError) as err:
        drifting_grating(**kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)


# ----------------------------------------------------------------------------------------------- noise
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


# ----------------------------------------------------------------------------------------------- sparse noise
def test_sparse_noise_one_pixel_at_the_requested_position_during_the_flash_only():
    positions = np.array([[3, 5], [20, 60], [35, 0]])
    s = sparse_noise(positions, polarities=("on", "off"))
    assert s.dims == ("stimulus", "frame", "y", "x") and s.shape == (6, 45, 36, 64) and s.dtype == np.float32
    assert list(s.polarity.values) == ["on"] * 3 + ["off"] * 3
    assert (s.attrs["pre_frames"], s.attrs["flash_frames"], s.attrs["post_frames"]) == (15, 15, 15)
    for i in range(6):
        clip = s.values[i]
        y, x, pol = int(s.pos_y[i]), int(s.pos_x[i]), s.polarity.values[i]
        assert (y, x) == tuple(positions[i % 3])
        changed = np.argwhere(clip != GREY)
        flash_frames = np.arange(15, 30)
        assert np.array_equal(changed, np.column_stack([flash_frames, np.full(15, y), np.full(15, x)]))
        assert (clip[15:30, y, x] == (255.0 if pol == "on" else 0.0)).all()


def test_sparse_noise_timing_and_chunks():
    s = sparse_noise([[0, 0]], polarities="off", pre=2, flash=3, post=1)
    assert s.shape == (1, 6, 36, 64)
    assert [float(s.values[0, f, 0, 0]) for f in range(6)] == [GREY, GREY, 0, 0, 0, GREY]
    positions = all_positions()[100:105]
    chunks = list(iter_sparse_noise(chunk=2, positions=positions, polarities=("on",), pre=1, flash=1, post=1))
    assert [c.sizes["stimulus"] for c in chunks] == [2, 2, 1]
    got = np.concatenate([np.column_stack([c.pos_y, c.pos_x]) for c in chunks])
    assert np.array_equal(got, positions)
    grid = all_positions()
    assert grid.shape == (36 * 64, 2) and len({tuple(p) for p in grid}) == 36 * 64


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(positions=[[36, 0]]), ["positions", "row < 36"]),
        (dict(positions=[[0, -1]]), ["positions", "off the screen"]),
        (dict(positions=[[1.5, 2.0]]), ["positions", "integer"]),
        (dict(positions=[1, 2]), ["positions", "(K, 2)"]),
        (dict(positions=[[0, 0]], polarities=("on", "grey")), ["polarities", "'on'"]),
        (dict(positions=[[0, 0]], flash=0), ["flash", ">= 1"]),
    ],
)
def test_sparse_noise_errors(kwargs, words):
    with pytest.raises(DnemkitError) as err:
        sparse_noise(**kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)


# ----------------------------------------------------------------------------------------------- phase inversion
def test_phase_invert_numpy_and_dataarray():
    v = gaussian_noise(1, 1, n_frames=5, seed=7)
    inv = phase_invert(v)
    assert isinstance(inv, xr.DataArray) and inv.dims == v.dims
    np.testing.assert_allclose(v.values + inv.values, 255.0)
    assert inv.attrs["phase"] == "inverted" and inv.attrs["sigma_space_px"] == 1
    assert v.attrs.get("phase") is None  # the input is untouched
    twice = phase_invert(inv)
    np.testing.assert_allclose(twice.values, v.values, atol=1e-4)  # float32 rounding only
    assert twice.attrs["phase"] == "original"
    raw = v.values
    np.testing.assert_allclose(phase_invert(phase_invert(raw)), raw, atol=1e-4)
    assert phase_invert(raw).dtype == np.float32
    with pytest.raises(DnemkitError, match="video is a str; expected an array"):
        phase_invert("video")


# ----------------------------------------------------------------------------------------------- natural movies
def test_natural_images_load_offline():
    for name in NATURAL_IMAGES:
        image = load_grey_image(name)
        assert image.ndim == 2 and min(image.shape) >= 300 and 0 <= image.min() < image.max() <= 255


@pytest.mark.parametrize("kind", ["pan", "drift", "saccades", "mixed"])
def test_natural_movie_seeded_in_range_and_moving(kind):
    a = natural_movie(seed=11, kind=kind)
    assert a.dims == ("frame", "y", "x") and a.shape == (300, 36, 64) and a.dtype == np.float32
    assert np.array_equal(a.values, natural_movie(seed=11, kind=kind).values)
    assert not np.allclose(a.values, natural_movie(seed=12, kind=kind).values)
    assert float(a.min()) >= 0 and float(a.max()) <= 255
    assert float(a.mean()) == pytest.approx(GREY, abs=15) and 35 <= float(a.std()) <= 62
    step = np.abs(np.diff(a.values, axis=0)).mean(axis=(1, 2))
    assert (step > 0).mean() > 0.95 and step.mean() > 0.3  # the camera keeps moving
    assert a.attrs["seed"] == 11 and a.attrs["kind"] == kind
    assert all(name in NATURAL_IMAGES for name in a.attrs["images"].split(","))


def test_natural_movie_mixed_cuts_between_images_and_is_fast():
    natural_movie(seed=0)  # warm the image cache
    start = time.perf_counter()
    movie = natural_movie(seed=3)
    assert time.perf_counter() - start < 0.5
    starts = movie.attrs["shot_starts"]
    assert starts[0] == 0 and len(starts) >= 2 and len(movie.attrs["images"].split(",")) == len(starts)
    short = natural_movie(seed=3, n_frames=7, kind="pan")
    assert short.shape == (7, 36, 64)
    with pytest.raises(DnemkitError, match="kind is 'zoom'; expected one of"):
        natural_movie(kind="zoom")
    with pytest.raises(DnemkitError, match="n_frames is 0; expected an integer >= 1"):
        natural_movie(n_frames=0)


def test_package_reexports():
    assert stimuli.gaussian_noise is gaussian_noise and stimuli.geometry is geometry
    for name in ("drifting_grating", "sparse_noise", "iter_sparse_noise", "phase_invert", "natural_movie"):
        assert callable(getattr(stimuli, name))
