"""Screen geometry: pixels <-> visual degrees, frames <-> seconds.

The screen is 31.8 x 56.5 cm at 15 cm from the eye, shown as 36 x 64 pixels (0.883 cm per pixel). At the screen
centre one pixel subtends atan(0.883/15) = 3.37 deg; the reference analysis used one linear factor instead
(0.5 cycles/pixel <-> 0.143 cycles/degree exactly, i.e. 3.497 deg per pixel). dnemkit uses that linear factor everywhere,
so the paper's grids map one-to-one: sf_cpd = sf_cyc_per_px / DEG_PER_PIXEL.
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


def cpd_to_cyc_per_px(sf_cpd):
    """Spatial frequency in cycles/degree -> cycles/pixel (linear factor DEG_PER_PIXEL)."""
    return sf_cpd * DEG_PER_PIXEL


def cyc_per_px_to_cpd(sf_px):
    """Spatial frequency in cycles/pixel -> cycles/degree."""
    return sf_px / DEG_PER_PIXEL


def px_to_deg(pixels):
    """A length in pixels -> visual degrees."""
    return pixels * DEG_PER_PIXEL


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
