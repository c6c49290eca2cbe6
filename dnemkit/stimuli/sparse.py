"""On/off sparse noise for receptive-field mapping, and phase inversion (docs/method.md, "Stimuli").

Each clip is grey (127.5) with a single pixel flashed to 255 (on) or 0 (off): ``pre`` grey frames, ``flash``
frames with the pixel set, ``post`` grey frames (15 + 15 + 15 = 1.5 s by default).

Memory: a clip is 45 x 36 x 64 float32 = 415 kB, so every position in both polarities (4608 clips) is about
1.9 GB. Pass chunks of ``positions`` to :func:`sparse_noise`, or loop over :func:`iter_sparse_noise`.
"""

import numpy as np
import xarray as xr

from ..errors import DnemkitError, check_int
from .geometry import GREY, HEIGHT, WIDTH

FLASH_VALUE = {"on": 255.0, "off": 0.0}


def all_positions():
    """Every pixel as a (36 * 64, 2) int array of (row, col), row-major."""
    rows, cols = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1)


def _check_positions(positions):
    if positions is None:
        return all_positions()
    arr = np.asarray(positions)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1 or not np.issubdtype(arr.dtype, np.integer):
        raise DnemkitError(
            f"positions has shape {arr.shape} and dtype {arr.dtype}; expected a (K, 2) integer array of (row, col)"
        )
    if (arr < 0).any() or (arr[:, 0] >= HEIGHT).any() or (arr[:, 1] >= WIDTH).any():
        raise DnemkitError(f"positions has pixels off the screen; expected 0 <= row < {HEIGHT}, 0 <= col < {WIDTH}")
    return arr.astype(np.int64)


def _check_polarities(polarities):
    polarities = (polarities,) if isinstance(polarities, str) else tuple(polarities)
    if not polarities or any(p not in FLASH_VALUE for p in polarities):
        raise DnemkitError(f"polarities is {polarities!r}; expected a non-empty sequence of 'on' and/or 'off'")
    return polarities


def _check_frames(value, name, minimum):
    return check_int(value, name, minimum, "frames")


def sparse_noise(positions=None, polarities=("on", "off"), pre=15, flash=15, post=15):
    """One clip per (polarity, position): a single pixel flashed on grey.

    positions: (K, 2) int array of (row, col) pixels; None = all 36 x 64 (about 1.9 GB with both polarities,
        see the module docstring).
    polarities: sequence of "on" (pixel 255) and/or "off" (pixel 0).
    pre, flash, post: grey frames before, flash frames, grey frames after (30 frames/s).

    Returns an xarray.DataArray, dims (stimulus, frame, y, x), shape (len(polarities) * K, pre + flash + post,
    36, 64), float32 grey levels; stimuli are ordered polarity-major (all positions of the first polarity, then
    the next). Coords on ``stimulus``: pos_y, pos_x (pixel) and polarity. attrs: pre_frames, flash_frames,
    post_frames (the flash occupies frames pre .. pre + flash - 1).
    """
    positions = _check_positions(positions)
    polarities = _check_polarities(polarities)
    pre, flash, post = _check_frames(pre, "pre", 0), _check_frames(flash, "flash", 1), _check_frames(post, "post", 0)

    n = len(polarities) * len(positions)
    video = np.full((n, pre + flash + post, HEIGHT, WIDTH), GREY, dtype=np.float32)
    pos_y = np.tile(positions[:, 0], len(polarities))
    pos_x = np.tile(positions[:, 1], len(polarities))
    polarity = np.repeat(np.array(polarities), len(positions))
    values = np.array([FLASH_VALUE[p] for p in polarity], dtype=np.float32)
    video[np.arange(n), pre : pre + flash, pos_y, pos_x] = values[:, None]
    return xr.DataArray(
        video,
        dims=("stimulus", "frame", "y", "x"),
        coords={
            "pos_y": ("stimulus", pos_y),
            "pos_x": ("stimulus", pos_x),
            "polarity": ("stimulus", polarity),
            "frame": np.arange(pre + flash + post),
            "y": np.arange(HEIGHT),
            "x": np.arange(WIDTH),
        },
        attrs={"stimulus": "sparse_noise", "pre_frames": pre, "flash_frames": flash, "post_frames": post},
    )


def iter_sparse_noise(chunk=256, positions=None, polarities=("on", "off"), pre=15, flash=15, post=15):
    """Yield :func:`sparse_noise` arrays for successive chunks of ``chunk`` positions (all polarities each).

    With the default chunk of 256 positions and two polarities a chunk holds 512 clips (about 212 MB).
    """
    chunk = _check_frames(chunk, "chunk", 1)
    positions = _check_positions(positions)
    for start in range(0, len(positions), chunk):
        yield sparse_noise(positions[start : start + chunk], polarities, pre, flash, post)


def phase_invert(video):
    """255 - video: the contrast-inverted twin of a stimulus.

    video: numpy array, torch tensor or xarray.DataArray of grey levels 0..255, any shape.
    A DataArray keeps its coords and attrs; attrs["phase"] becomes "inverted" (or back to "original" when the
    input was already inverted, so inverting twice restores the original, attrs included).
    """
    if isinstance(video, xr.DataArray):
        out = 255.0 - video
        out.attrs = dict(video.attrs)
        out.attrs["phase"] = "original" if video.attrs.get("phase") == "inverted" else "inverted"
        return out
    if isinstance(video, (list, tuple)):
        video = np.asarray(video, dtype=np.float32)
    try:
        return 255.0 - video
    except TypeError:
        raise DnemkitError(f"video is a {type(video).__name__}; expected an array of grey levels 0..255") from None
