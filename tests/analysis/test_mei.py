"""Tests of dnemkit.analysis.mei: the descriptors recover the parameters of analytic Gabors, gratings and drifts."""

import numpy as np
import pytest

from dnemkit.analysis.mei import (contrast, energy_centre, fit_gabor, image_descriptors, mei_descriptors,
                                  rms_contrast, video_motion)
from dnemkit.analysis.tuning import orientation_error
from dnemkit.errors import DnemkitError
from dnemkit.stimuli.geometry import GREY, cpd_to_cyc_per_px
from dnemkit.stimuli.gratings import drifting_grating


def gabor(cy, cx, sigma, sf, theta_deg, phase, amplitude=0.6, shape=(36, 64)):
    """A Gabor in the synthetic mouse's convention (u = x cos(theta) - y sin(theta)), contrast units."""
    yy, xx = np.mgrid[:shape[0], :shape[1]].astype(float)
    y, x = yy - cy, xx - cx
    t = np.deg2rad(theta_deg)
    u = x * np.cos(t) - y * np.sin(t)
    return amplitude * np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)) * np.cos(2 * np.pi * sf * u + phase)


CASES = [(18.3, 30.7, 2.5, 0.10, 20.0, 0.0), (14.0, 40.2, 1.2, 0.30, 135.0, np.pi), (22.6, 25.1, 3.0, 0.07, 80.0, 0.0),
         (16.5, 33.0, 1.8, 0.15, 170.0, np.pi / 2)]


@pytest.mark.parametrize("cy, cx, sigma, sf, theta, phase", CASES)
def test_gabor_fit_recovers_the_parameters(cy, cx, sigma, sf, theta, phase):
    img = gabor(cy, cx, sigma, sf, theta, phase)
    params, r2 = fit_gabor(img)
    a, y, x, s, f, ori, ph = params
    assert r2 > 0.99
    assert np.hypot(y - cy, x - cx) < 0.2
    assert orientation_error(ori, theta) < 2.0
    assert f == pytest.approx(sf, rel=0.05)
    assert s == pytest.approx(sigma, rel=0.1)
    d = image_descriptors(img)
    assert np.hypot(d["center_y"] - cy, d["center_x"] - cx) < 0.2
    if phase in (0.0, np.pi):  # even Gabors: bright (ON) or dark (OFF) centre
        assert d["polarity"] == (1.0 if phase == 0.0 else -1.0)
    # the energy-weighted RMS distance of a Gaussian envelope's energy exp(-r^2 / sigma^2) is sigma
    assert d["size"] == pytest.approx(sigma, rel=0.2)


def test_descriptors_tolerate_noise():
    rng = np.random.default_rng(0)
    img = gabor(17.0, 31.0, 2.0, 0.12, 60.0, np.pi) + rng.normal(0, 0.03, (36, 64))
    d = image_descriptors(img)
    assert np.hypot(d["center_y"] - 17, d["center_x"] - 31) < 0.5
    assert orientation_error(d["orientation"], 60.0) < 5
    assert d["sf"] == pytest.approx(0.12, rel=0.1)
    assert d["polarity"] == -1.0


@pytest.mark.parametrize("direction", [0.0, 45.0, 120.0, 290.0])
def test_orientation_convention_is_the_gratings(direction):
    """A grating of drift direction d, windowed, has orientation d mod 180 (the atlas' convention)."""
    sf_cpd = 0.036
    frame = contrast(drifting_grating(sf_cpd, 0.0, direction, 1, units="cpd").values[0])
    yy, xx = np.mgrid[:36, :64]
    img = frame * np.exp(-((yy - 18) ** 2 + (xx - 32) ** 2) / (2 * 3.0 ** 2))
    d = image_descriptors(img)
    assert orientation_error(d["orientation"], direction % 180) < 3
    assert d["sf"] == pytest.approx(cpd_to_cyc_per_px(sf_cpd), rel=0.1)


@pytest.mark.parametrize("direction, tf", [(0.0, 2.0), (90.0, 4.0), (225.0, 3.0)])
def test_video_motion_of_a_drifting_grating(direction, tf):
    video = contrast(drifting_grating(0.036, tf, direction, 32, units="cpd").values)
    yy, xx = np.mgrid[:36, :64]
    video = video * np.exp(-((yy - 18) ** 2 + (xx - 32) ** 2) / (2 * 4.0 ** 2))[None]
    m = video_motion(video)
    assert m["tf"] == pytest.approx(tf, abs=0.5)
    assert orientation_error(m["direction"], direction) < 10 and abs((m["direction"] - direction + 180) % 360 - 180) < 10
    assert m["direction_index"] > 0.8


def test_a_standing_wave_has_no_direction():
    t = np.arange(32)[:, None, None] / 30.0
    img = gabor(18, 32, 3.0, 0.1, 30.0, 0.0)
    m = video_motion(img[None] * np.cos(2 * np.pi * 3.0 * t))
    assert m["tf"] == pytest.approx(3.0, abs=0.5)
    assert abs(m["direction_index"]) < 0.1


def test_rms_contrast_of_a_grating():
    g = drifting_grating(0.071, 0.0, 0.0, 1, units="cpd", contrast=0.5).values
    assert rms_contrast(g) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert rms_contrast(np.full((36, 64), GREY)) == 0


def test_energy_centre_and_blank_images():
    img = np.zeros((36, 64))
    assert all(np.isnan(energy_centre(img)))
    d = image_descriptors(img)
    assert np.isnan(d["center_y"]) and np.isnan(d["orientation"])
    img[10, 50] = 1.0
    assert energy_centre(img) == pytest.approx((10.0, 50.0))


def test_mei_descriptors_dataset():
    imgs = np.stack([GREY + GREY * gabor(*c) for c in CASES])[:, None].repeat(3, axis=1)
    ds = mei_descriptors(imgs)
    assert ds.sizes["neuron"] == len(CASES)
    assert ds["sf"].attrs["units"] == "cycles/pixel" and ds["orientation"].attrs["units"] == "degree"
    assert "tf" not in ds
    assert np.allclose(ds["center_x"].values, [c[1] for c in CASES], atol=0.2)
    with pytest.raises(DnemkitError, match="expected \\(neuron, frame, y, x\\)"):
        mei_descriptors(imgs[:, 0])
