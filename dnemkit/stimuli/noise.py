"""Spatio-temporally filtered Gaussian noise movies (docs/method.md, "Stimuli").

White Gaussian noise is low-pass filtered by a Gaussian of ``sigma_space`` pixels (rows and columns) and
``sigma_time`` frames, then normalised to mean 127.5 and std 51 (255 / 5) and clipped to [0, 255].

Filtering is done in the Fourier domain on a field larger than the movie, and the movie is cropped from it.
Multiplying by the Gaussian's transfer function equals an untruncated Gaussian filter with periodic borders;
the margin of 6 sigma per filtered axis keeps the periodic wrap-around out of the crop (the residual correlation
across the seam is exp(-9) ~ 1e-4), so the crop is stationary noise without the edge artefacts a 'wrap' or
'reflect' border would leave on a 36 x 64 field. The cost stays well under a second even for sigma = 32.
"""

import math

import numpy as np
import scipy.fft

from ..errors import DnemkitError, check_int
from .geometry import GREY, HEIGHT, WIDTH, frames_to_ms, px_to_deg, video_dataarray
from ..units import GREY_LEVEL

NOISE_STD = 255.0 / 5.0  #: target standard deviation of the grey levels (51)


def _check_sigma(value, name):
    if not (isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value) and value >= 0):
        raise DnemkitError(f"{name} is {value!r}; expected a finite number >= 0 (0 = unfiltered)")
    return float(value)


def _check_columns(patch_columns):
    if patch_columns is None:
        return 0, WIDTH
    try:
        c0, c1 = (int(c) for c in patch_columns)
    except (TypeError, ValueError):
        raise DnemkitError(f"patch_columns is {patch_columns!r}; expected None or two integers (start, stop)") from None
    if not 0 <= c0 < c1 <= WIDTH:
        raise DnemkitError(f"patch_columns is {patch_columns!r}; expected 0 <= start < stop <= {WIDTH}")
    return c0, c1


def _padded_length(n, sigma):
    """FFT length along one axis: n plus a 6-sigma margin that hides the periodic seam (n when unfiltered)."""
    return n if sigma == 0 else scipy.fft.next_fast_len(n + math.ceil(6 * sigma))


def filtered_noise(shape, sigmas, rng):
    """Stationary Gaussian-filtered white noise of ``shape`` (any ndim), zero mean, arbitrary scale.

    sigmas: one Gaussian sigma per axis, in samples (0 = leave that axis white).
    """
    lengths = [_padded_length(n, s) for n, s in zip(shape, sigmas)]
    white = rng.standard_normal(lengths, dtype=np.float32)
    if not any(sigmas):
        return white
    spectrum = scipy.fft.rfftn(white, workers=-1)
    for axis, (length, sigma) in enumerate(zip(lengths, sigmas)):
        if sigma == 0:
            continue
        last = axis == len(lengths) - 1
        freqs = scipy.fft.rfftfreq(length) if last else scipy.fft.fftfreq(length)
        # the Fourier transform of a unit-area Gaussian of this sigma
        gain = np.exp(-2.0 * (math.pi * sigma * freqs) ** 2).astype(np.float32)
        spectrum *= gain.reshape([-1 if a == axis else 1 for a in range(len(lengths))])
    field = scipy.fft.irfftn(spectrum, s=lengths, workers=-1)
    return field[tuple(slice(0, n) for n in shape)]


def gaussian_noise(sigma_space, sigma_time, n_frames=60, seed=0, patch_columns=None):
    """Gaussian-filtered white-noise movie.

    sigma_space: Gaussian sigma in pixels, applied along rows and columns (0 = spatially white).
    sigma_time: Gaussian sigma in frames at 30 Hz (0 = temporally white).
    n_frames: number of frames (>= 1).
    seed: seed of the numpy Generator; the same seed gives the same movie.
    patch_columns: optional (start, stop) column range (half-open, e.g. (11, 47) for the paper's 36 x 36 patch);
        noise is drawn and normalised inside it, the rest of the screen is grey 127.5.

    Returns an xarray.DataArray, dims (frame, y, x), shape (n_frames, 36, 64), float32 grey levels 0..255:
    mean 127.5 and std 51 inside the noise region before clipping to [0, 255]. attrs: sigma_space_px,
    sigma_time_frames, sigma_space_deg, sigma_time_ms, seed, patch_columns.
    """
    sigma_space = _check_sigma(sigma_space, "sigma_space")
    sigma_time = _check_sigma(sigma_time, "sigma_time")
    n_frames, seed = check_int(n_frames, "n_frames", 1), check_int(seed, "seed", 0)
    c0, c1 = _check_columns(patch_columns)

    rng = np.random.default_rng(seed)
    field = filtered_noise((n_frames, HEIGHT, c1 - c0), (sigma_time, sigma_space, sigma_space), rng)
    field = (field - field.mean()) / (field.std() + 1e-12)

    video = np.full((n_frames, HEIGHT, WIDTH), GREY, dtype=np.float32)
    video[:, :, c0:c1] = np.clip(GREY + NOISE_STD * field, 0.0, 255.0)
    attrs = {
        "stimulus": "gaussian_noise",
        "sigma_space_px": sigma_space,
        "sigma_time_frames": sigma_time,
        "sigma_space_deg": px_to_deg(sigma_space),
        "sigma_time_ms": frames_to_ms(sigma_time),
        "seed": int(seed),
        "patch_columns": [c0, c1],
        "units": GREY_LEVEL,
    }
    return video_dataarray(video, attrs)
