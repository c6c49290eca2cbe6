"""Screen geometry: pixels <-> visual degrees, frames <-> seconds.

The screen is 31.8 x 56.5 cm at 15 cm from the eye, shown as 36 x 64 pixels (0.883 cm per pixel). At the screen
centre one pixel subtends atan(0.883/15) = 3.37 deg; the reference analysis used one linear factor instead
(0.5 cycles/pixel <-> 0.143 cycles/degree exactly, i.e. 3.497 deg per pixel). dnemkit uses that linear factor everywhere,
so the paper's grids map one-to-one: sf_cpd = sf_cyc_per_px / DEG_PER_PIXEL.

Positions on the screen (eccentricity, solid angle, mask sizes in degrees) use the flat screen's true geometry
instead (docs/method.md, "Geometry and units"): the eye looks perpendicularly at the screen's centre, the point
midway between the middle rows and columns, ``SCREEN_CENTRE_PX`` = (17.5, 31.5) in (row, column) pixel
coordinates (pixel centres at integers); a pixel at distance rho cm from it on the screen lies at the visual angle
atan(rho / 15 cm) from the line of sight.
"""

import math

HEIGHT = 36  #: movie rows (pixels)
WIDTH = 64  #: movie columns (pixels)
FPS = 30.0  #: frames per second
GREY = 127.5  #: mid-grey level; videos are 0..255
NYQUIST_HZ = FPS / 2.0  #: highest temporal frequency a 30 Hz movie can carry (15 Hz)
NYQUIST_CYC_PER_PX = 0.5  #: highest spatial frequency a pixel grid can carry

DEG_PER_PIXEL = 0.5 / 0.143  #: the reference's linear conversion: 0.5 cyc/px = 0.143 cpd (3.497 deg/px)
CM_PER_PIXEL = 0.883
EYE_DISTANCE_CM = 15.0
DEG_PER_PIXEL_AT_CENTRE = math.degrees(math.atan(CM_PER_PIXEL / EYE_DISTANCE_CM))  #: 3.37 deg
MS_PER_FRAME = 1000.0 / FPS
SCREEN_HEIGHT_CM = 31.8
SCREEN_WIDTH_CM = 56.5
#: (row, column) of the screen centre, the foot of the perpendicular from the eye, in pixel coordinates
SCREEN_CENTRE_PX = ((HEIGHT - 1) / 2.0, (WIDTH - 1) / 2.0)
ECCENTRICITY_STEP_DEG = 10.0  #: the contour spacing of the figures (the paper's Fig. 1, figure supplement 3)


def cpd_to_cyc_per_px(sf_cpd):
    """Spatial frequency in cycles/degree -> cycles/pixel (linear factor DEG_PER_PIXEL)."""
    return sf_cpd * DEG_PER_PIXEL


def cyc_per_px_to_cpd(sf_px):
    """Spatial frequency in cycles/pixel -> cycles/degree."""
    return sf_px / DEG_PER_PIXEL


def px_to_deg(pixels):
    """A length in pixels -> visual degrees."""
    return pixels * DEG_PER_PIXEL


def eccentricity_map(height=HEIGHT, width=WIDTH, centre=SCREEN_CENTRE_PX, cm_per_pixel=CM_PER_PIXEL,
                     distance_cm=EYE_DISTANCE_CM):
    """Eccentricity of every pixel centre: the visual angle between the line of sight to the screen centre (the
    perpendicular foot) and the line to the pixel, atan(rho / distance_cm) with rho its distance on the screen.

    height, width: pixels (36, 64); centre: (row, column) of the perpendicular foot in pixel coordinates (pixel
    centres at integers; default the screen's middle, (17.5, 31.5)); cm_per_pixel: 0.883; distance_cm: 15.
    Returns float64 (height, width) in degrees (0 at the centre; ~65 deg at the screen's corners).
    """
    import numpy as np

    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rho_cm = np.hypot(y - centre[0], x - centre[1]) * cm_per_pixel
    return np.degrees(np.arctan(rho_cm / distance_cm))


def eccentricity_levels(step=ECCENTRICITY_STEP_DEG, height=HEIGHT, width=WIDTH):
    """Contour levels step, 2 step, ... (degrees) below the largest eccentricity on the screen."""
    import numpy as np

    top = float(eccentricity_map(height, width).max())
    return np.arange(step, top, step)


def pixel_solid_angle(height=HEIGHT, width=WIDTH, centre=SCREEN_CENTRE_PX, cm_per_pixel=CM_PER_PIXEL,
                      distance_cm=EYE_DISTANCE_CM):
    """Solid angle of every pixel seen from the eye, in square degrees, float64 (height, width).

    A flat pixel of area a at distance rho from the perpendicular foot subtends a * d / (d^2 + rho^2)^(3/2)
    steradians (its area foreshortened by the cosine of the eccentricity, divided by the squared distance);
    1 sr = (180 / pi)^2 square degrees. ~11.4 deg^2 (3.37 deg squared) at the centre.
    """
    import numpy as np

    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rho2 = (np.hypot(y - centre[0], x - centre[1]) * cm_per_pixel) ** 2
    sr = cm_per_pixel ** 2 * distance_cm / (distance_cm ** 2 + rho2) ** 1.5
    return sr * np.degrees(1.0) ** 2


def pixel_retinotopic_area(height=HEIGHT, width=WIDTH, cm_per_pixel=SCREEN_WIDTH_CM / WIDTH,
                           distance_cm=EYE_DISTANCE_CM):
    """Each pixel's retinotopic area as the paper computes it, square degrees, float64 (height, width).

    The pixel's angular height times its angular width, each the difference of ``arctan(edge / distance)`` over
    its two edges, edges measured from the screen centre along the pixel's own row or column offset (the
    reference's ``calc_pix_area``: square pixels of screen width / 64 cm, 15 cm away). Unlike
    :func:`pixel_solid_angle` it ignores that a pixel off both meridians is seen obliquely, so it overstates the
    area of corner pixels; the paper's mask diameters come from it, and the full screen is 121.4 deg.
    """
    import numpy as np

    def spans(n):
        edges = (np.arange(n + 1) - n / 2.0) * cm_per_pixel  # pixel edges, cm from the screen centre
        return np.abs(np.diff(np.degrees(np.arctan(edges / distance_cm))))

    return np.outer(spans(height), spans(width))


def mask_size_deg(mask):
    """Sizes of a (36, 64) boolean mask in visual degrees, from the screen geometry.

    Returns a dict of floats (NaN for an empty mask): ``diameter_deg``, the paper's "diameter": 2 sqrt(A / pi)
    with A the sum of the masked pixels' :func:`pixel_retinotopic_area` (121.4 deg for the full screen);
    ``equivalent_diameter_deg``, the diameter of the disc with the mask's solid angle (sum of
    :func:`pixel_solid_angle`; a disc of 2 theta deg at the centre -> ~2 theta for small theta; an alternative
    that accounts for oblique viewing, 108.0 deg for the full screen); ``horizontal_extent_deg`` and ``vertical_extent_deg``, the visual angle subtended along the
    horizontal (vertical) meridian through the screen centre between the outer edges of the mask's leftmost and
    rightmost columns (top and bottom rows); ``area_deg2``, the solid angle in square degrees.
    """
    import numpy as np

    m = np.asarray(mask).astype(bool)
    if m.shape != (HEIGHT, WIDTH):
        from ..errors import DnemkitError

        raise DnemkitError(f"mask has shape {m.shape}; expected ({HEIGHT}, {WIDTH})")
    if not m.any():
        nan = float("nan")
        return {"diameter_deg": nan, "equivalent_diameter_deg": nan, "horizontal_extent_deg": nan,
                "vertical_extent_deg": nan, "area_deg2": nan}
    area = float(pixel_solid_angle()[m].sum())
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))

    def span(lo, hi, centre):
        edges = (np.array([lo - 0.5, hi + 0.5]) - centre) * CM_PER_PIXEL
        return float(np.degrees(np.arctan(edges[1] / EYE_DISTANCE_CM) - np.arctan(edges[0] / EYE_DISTANCE_CM)))

    retinotopic = float(pixel_retinotopic_area()[m].sum())
    return {"diameter_deg": float(2 * np.sqrt(retinotopic / np.pi)),
            "equivalent_diameter_deg": float(2 * np.sqrt(area / np.pi)),
            "horizontal_extent_deg": span(cols[0], cols[-1], SCREEN_CENTRE_PX[1]),
            "vertical_extent_deg": span(rows[0], rows[-1], SCREEN_CENTRE_PX[0]), "area_deg2": area}


def frames_to_ms(frames):
    """A duration in frames -> milliseconds at 30 Hz."""
    return frames * MS_PER_FRAME


def video_dataarray(video, attrs):
    """A (T, 36, 64) float32 video as an xarray DataArray with dims (frame, y, x) and pixel coordinates."""
    import numpy as np
    import xarray as xr

    video = np.asarray(video, dtype=np.float32)
    return xr.DataArray(video, dims=("frame", "y", "x"), attrs=attrs,
                        coords={"frame": np.arange(video.shape[0]), "y": np.arange(HEIGHT), "x": np.arange(WIDTH)})
