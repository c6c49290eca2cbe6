"""Tests of dnemkit.stimuli.gratings against independent computations (FFT peaks, explicit pixels)."""

import math

import numpy as np
import pytest

from dnemkit.errors import DnemkitError
from dnemkit.stimuli import drifting_grating, geometry


GREY = 127.5


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
