"""Screen geometry: eccentricity, solid angle and mask sizes in degrees (dnemkit.stimuli.geometry), and the
eccentricity contours the figures draw (dnemkit.viz.screen), against the screen's dimensions computed here."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from dnemkit.stimuli.geometry import eccentricity_map, mask_size_deg, pixel_solid_angle

SCREEN_CM = (31.8, 56.5)  # height, width of the screen
EYE_CM = 15.0
CM_PER_PX = SCREEN_CM[0] / 36  # 0.883
CENTRE = (35 / 2, 63 / 2)  # (row, column): the middle of the 36 x 64 pixel centres


def test_eccentricity_is_the_angle_to_the_line_of_sight():
    ecc = eccentricity_map()
    assert ecc.shape == (36, 64)
    for row, col in ((0, 0), (17, 31), (35, 10), (5, 60)):
        rho = math.hypot(row - CENTRE[0], col - CENTRE[1]) * CM_PER_PX
        assert ecc[row, col] == pytest.approx(math.degrees(math.atan(rho / EYE_CM)), abs=0.05)
    # symmetric about the stated centre, and the corners near 65 degrees (half-diagonal 32.4 cm at 15 cm)
    np.testing.assert_allclose(ecc, ecc[::-1, ::-1], atol=1e-12)
    corner = math.degrees(math.atan(math.hypot(*SCREEN_CM) / 2 / EYE_CM))
    assert ecc.max() == pytest.approx(corner, abs=1.0)


def test_the_10_degree_contour_lies_at_its_radius_in_pixels():
    """The contour every figure draws (viz.screen) at 10 degrees: tan(10 deg) * 15 cm / 0.883 cm per px ~ 3.0 px
    from the screen centre (x 31.5, y 17.5)."""
    from dnemkit.viz.screen import eccentricity_contours

    ax = Figure().subplots()
    ax.imshow(np.zeros((36, 64)))
    cs = eccentricity_contours(ax, label=False)
    levels = list(cs.levels)
    assert levels[:3] == [10, 20, 30] and levels[-1] < 65
    for degrees in (10, 30):
        path = cs.get_paths()[levels.index(degrees)]
        radius = np.hypot(path.vertices[:, 0] - CENTRE[1], path.vertices[:, 1] - CENTRE[0])
        expected = math.tan(math.radians(degrees)) * EYE_CM / CM_PER_PX
        assert len(radius) > 8
        np.testing.assert_allclose(radius, expected, atol=0.03 * degrees / 10)
    assert expected == pytest.approx(9.81, abs=0.01) and 2.99 < math.tan(math.radians(10)) * EYE_CM / CM_PER_PX < 3.0


def test_mask_sizes_in_degrees():
    # the whole screen: 2 atan(half-width / 15 cm) wide, 2 atan(half-height / 15 cm) high (~124 x 93 deg)
    full = mask_size_deg(np.ones((36, 64), bool))
    assert full["horizontal_extent_deg"] == pytest.approx(2 * math.degrees(math.atan(SCREEN_CM[1] / 2 / EYE_CM)),
                                                          abs=0.05)
    assert full["vertical_extent_deg"] == pytest.approx(2 * math.degrees(math.atan(SCREEN_CM[0] / 2 / EYE_CM)),
                                                        abs=0.05)
    # a disc of eccentricity <= 30 deg: the solid angle of a 30-deg cone, 2 pi (1 - cos 30 deg) sr
    disc = eccentricity_map() <= 30
    cone = 2 * math.pi * (1 - math.cos(math.radians(30))) * math.degrees(1) ** 2
    sizes = mask_size_deg(disc)
    assert sizes["area_deg2"] == pytest.approx(cone, rel=0.02)
    assert sizes["equivalent_diameter_deg"] == pytest.approx(2 * math.sqrt(cone / math.pi), rel=0.01)
    # a pixel at the centre subtends ~ atan(0.883 / 15)^2 square degrees
    assert pixel_solid_angle()[17, 31] == pytest.approx(math.degrees(math.atan(CM_PER_PX / EYE_CM)) ** 2, rel=0.01)
    assert np.isnan(mask_size_deg(np.zeros((36, 64), bool))["equivalent_diameter_deg"])


def test_masks_carry_their_sizes_in_degrees():
    import xarray as xr

    from dnemkit.masks import ScreenMask

    alpha = np.clip(1.4 - eccentricity_map() / 25, 0, None).astype(np.float32)  # eval: ecc <= 10, train: <= 22.5
    mask = ScreenMask(alpha)
    for ds in (mask.to_dataset(), mask.attach_to(xr.Dataset())):
        for name, selected in (("train_mask", alpha >= 0.5), ("eval_mask", alpha >= 1)):
            expected = mask_size_deg(selected)
            for key in ("equivalent_diameter_deg", "horizontal_extent_deg", "vertical_extent_deg"):
                assert ds[name].attrs[key] == pytest.approx(expected[key], abs=1e-3)
    assert 18 < ds["eval_mask"].attrs["equivalent_diameter_deg"] < 22  # a 10-deg-radius disc


def _reference_pixel_area(h, w):
    """One pixel's retinotopic area as the paper's analysis computes it, written out for one pixel: the screen is
    56.5 cm / 64 px wide (square pixels), 15 cm away; the pixel's edges in cm from the screen centre, made
    positive (no pixel straddles the centre), turned into angles with arctan."""
    size, distance = 56.5 / 64, 15.0
    out = 1.0
    for index, n in ((h, 36), (w, 64)):
        centre = index - (n / 2 - 0.5)
        lo, hi = sorted((abs(centre - 0.5) * size, abs(centre + 0.5) * size))
        out *= abs(math.degrees(math.atan(hi / distance)) - math.degrees(math.atan(lo / distance)))
    return out


def test_mask_diameter_is_the_papers():
    """diameter_deg = 2 sqrt(A / pi), A the summed per-pixel retinotopic area of the reference's calc_pix_area
    (checked pixel by pixel); the full screen is 121.4 deg, as the paper states."""
    from dnemkit.stimuli.geometry import pixel_retinotopic_area

    area = pixel_retinotopic_area()
    for h, w in ((0, 0), (17, 31), (18, 32), (35, 63), (5, 40)):
        assert area[h, w] == pytest.approx(_reference_pixel_area(h, w), rel=1e-12)
    assert mask_size_deg(np.ones((36, 64), bool))["diameter_deg"] == pytest.approx(121.4, abs=0.05)
    block = np.zeros((36, 64), bool)
    block[10:20, 20:44] = True
    hand = sum(_reference_pixel_area(h, w) for h in range(10, 20) for w in range(20, 44))
    assert mask_size_deg(block)["diameter_deg"] == pytest.approx(2 * math.sqrt(hand / math.pi), rel=1e-12)
    # the paper's area ignores oblique viewing: larger than the solid angle, the more so far from the centre
    assert mask_size_deg(block)["diameter_deg"] > mask_size_deg(block)["equivalent_diameter_deg"]
    assert np.isnan(mask_size_deg(np.zeros((36, 64), bool))["diameter_deg"])
