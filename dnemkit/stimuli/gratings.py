"""Drifting sinusoidal gratings (docs/method.md, "Stimuli").

Direction convention (screen coordinates, as the viewer sees the movie): 0 deg drifts rightwards (towards
increasing column x), 90 deg drifts upwards (towards row 0), 180 deg leftwards, 270 deg downwards. With
u = x cos(direction) - y sin(direction) the position along the drift direction (x = column, y = row, both
measured from pixel (0, 0)), frame f at t = f / 30 s shows

    127.5 + 127.5 * contrast * cos(2 pi (sf * u - tf * t) + phase)

so a crest (constant argument) moves by tf / sf pixels per second along +u.
"""

import math

import numpy as np

from ..errors import DnemkitError, check_int, check_number
from .geometry import (
    FPS,
    GREY,
    HEIGHT,
    NYQUIST_CYC_PER_PX,
    NYQUIST_HZ,
    WIDTH,
    cpd_to_cyc_per_px,
    cyc_per_px_to_cpd,
    video_dataarray,
)
from ..units import GREY_LEVEL

UNITS = ("cpd", "cyc/px")
_TOL = 1e-9  # lets the exact Nyquist values (0.5 cyc/px, 15 Hz) through despite float round-off


def drifting_grating(sf, tf, direction, n_frames=60, units="cpd", phase=0.0, contrast=1.0):
    """Full-field drifting sinusoidal grating.

    sf: spatial frequency, in cycles/degree (units="cpd", converted with geometry.cpd_to_cyc_per_px) or in
        cycles/pixel (units="cyc/px"); 0 < sf <= 0.5 cyc/px (= 0.143 cpd, the pixel Nyquist limit).
    tf: temporal frequency in Hz at 30 frames/s, 0 <= tf <= 15 (0 = static; 15 = a counter-phase flicker).
    direction: drift direction in degrees; 0 = rightwards, 90 = upwards (see the module docstring).
    n_frames: number of frames (>= 1).
    phase: phase offset in radians at pixel (0, 0), frame 0.
    contrast: Michelson contrast in [0, 1] (1 = full range 0..255).

    Returns an xarray.DataArray, dims (frame, y, x), shape (n_frames, 36, 64), float32 grey levels 0..255.
    attrs: sf_cpd, sf_cyc_per_px, tf_hz, direction_deg, phase_rad, contrast.
    """
    if units not in UNITS:
        raise DnemkitError(f"units is {units!r}; expected one of {UNITS}")
    sf = check_number(sf, "sf")
    tf = check_number(tf, "tf")
    direction = check_number(direction, "direction")
    phase = check_number(phase, "phase")
    contrast = check_number(contrast, "contrast")
    sf_px = cpd_to_cyc_per_px(sf) if units == "cpd" else sf
    if sf_px <= 0:
        raise DnemkitError(f"sf is {sf!r} {units}; expected a spatial frequency > 0")
    if sf_px > NYQUIST_CYC_PER_PX + _TOL:
        nyquist = NYQUIST_CYC_PER_PX if units == "cyc/px" else cyc_per_px_to_cpd(NYQUIST_CYC_PER_PX)
        raise DnemkitError(
            f"sf is {sf!r} {units} (= {sf_px:.6g} cyc/px); expected at most the pixel Nyquist limit "
            f"{nyquist:.6g} {units}"
        )
    if tf < 0 or tf > NYQUIST_HZ + _TOL:
        raise DnemkitError(f"tf is {tf!r} Hz; expected 0 <= tf <= {NYQUIST_HZ:g} Hz (Nyquist at {FPS:g} frames/s)")
    if not 0 <= contrast <= 1:
        raise DnemkitError(f"contrast is {contrast!r}; expected a number in [0, 1]")
    n_frames = check_int(n_frames, "n_frames", 1)

    theta = math.radians(direction)
    t = np.arange(n_frames)[:, None, None] / FPS
    y = np.arange(HEIGHT)[None, :, None]
    x = np.arange(WIDTH)[None, None, :]
    u = x * math.cos(theta) - y * math.sin(theta)  # minus: rows grow downwards, 90 deg points up
    video = GREY + GREY * contrast * np.cos(2 * math.pi * (sf_px * u - tf * t) + phase)
    attrs = {
        "stimulus": "drifting_grating",
        "sf_cpd": cyc_per_px_to_cpd(sf_px),
        "sf_cyc_per_px": sf_px,
        "tf_hz": tf,
        "direction_deg": direction,
        "phase_rad": phase,
        "contrast": contrast,
        "units": GREY_LEVEL,
    }
    return video_dataarray(np.clip(video, 0.0, 255.0).astype(np.float32), attrs)
