"""The video contract: float32 (..., T, 36, 64), grey levels 0..255, 30 Hz.

`check_video` is the single gate every public entry point passes user videos through, so a bad shape or a
non-finite pixel stops with one clear line instead of a stack trace deep inside an encoder.
"""

import numpy as np

from .errors import DnemkitError
from .stimuli.geometry import HEIGHT, WIDTH


def check_video(video, name="video", min_frames=1, batched=None):
    """Validate a video and return it unchanged.

    video: array or tensor of shape (T, 36, 64) or (B, T, 36, 64) (``batched`` forces one of the two).
    Raises DnemkitError naming ``name`` when the shape is wrong, a pixel is NaN/inf, or T < min_frames.
    """
    shape = tuple(video.shape)
    ok_ndims = {3, 4} if batched is None else ({4} if batched else {3})
    expected = " or ".join(
        s for n, s in ((3, "(T, 36, 64)"), (4, "(B, T, 36, 64)")) if n in ok_ndims
    )
    if len(shape) not in ok_ndims or shape[-2:] != (HEIGHT, WIDTH):
        raise DnemkitError(f"{name} has shape {shape}; expected {expected} (frames x 36 rows x 64 columns)")
    if shape[-3] < min_frames:
        raise DnemkitError(f"{name} has {shape[-3]} frames; expected at least {min_frames}")
    finite = np.isfinite(video).all() if isinstance(video, np.ndarray) else bool(video.isfinite().all())
    if not finite:
        raise DnemkitError(f"{name} contains non-finite pixels (NaN or inf); expected grey levels 0..255")
    return video
