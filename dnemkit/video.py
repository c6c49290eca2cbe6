"""The video contract: float32 (..., T, 36, 64), grey levels 0..255, 30 Hz.

`check_video` validates a video that comes from a user (every movie file read by :mod:`dnemkit.io.movies`, the
movie of `characterize natural`), so a bad shape or a non-finite pixel stops with one clear line instead of a
stack trace deep inside an encoder. Arrays given to the metrics are checked there
(:func:`dnemkit.analysis.metrics.as_float_array`), stimuli are made valid.
"""

from .errors import DnemkitError
from .stimuli.geometry import HEIGHT, WIDTH

#: the first frame a movie is scored on (video/frame correlations, response metrics, the optimisation's tracking):
#: every analysis notebook of the reference and its predict_response_from_recon.py set ``eval_frame_skip = 30``
#: ("1 second"), and the paper's numbers come from them; the encoder's first full window ends at frame 30. (Only
#: the reference's reconstruction script tracked its in-loop scores from frame 32: docs/method.md, "Analyses".)
EVAL_FIRST_FRAME = 30


def check_video(video, name="video", min_frames=1, batched=None):
    """Validate a video and return it unchanged.

    video: array or tensor of shape (T, 36, 64) or (B, T, 36, 64) (``batched`` forces one of the two).
    Raises DnemkitError naming ``name`` when the shape is wrong, a pixel is NaN/inf, or T < min_frames.
    """
    import numpy as np  # here, not at import: `characterize --help` reads EVAL_FIRST_FRAME without numpy

    dtype = str(video.dtype)
    if "bool" in dtype or "complex" in dtype:
        raise DnemkitError(f"{name} has dtype {dtype}; expected real grey levels 0..255 (float or integer)")
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


def check_grey_range(video, name="video"):
    """Warn (one line) when a video does not look like grey levels 0..255: values all within 0..1 (a 0..1 float
    movie: multiply by 255) or values outside 0..255. Returns the video unchanged."""
    from .errors import say

    import numpy as np

    v = np.asarray(video)
    if v.size == 0:
        return video
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    if lo < 0 or hi > 255:
        say(None, f"{name} has values {lo:.4g}..{hi:.4g} outside the grey levels 0..255; values outside are used as "
             "they are (expected 0..255)", warning=True)
    elif hi <= 1.0 and v.dtype.kind == "f" and hi > lo:
        say(None, f"{name} has values {lo:.4g}..{hi:.4g}, all within 0..1; expected grey levels 0..255 (multiply a 0..1 "
             "movie by 255)", warning=True)
    return video


def smooth_video(videos, sigma):
    """The ensemble's final Gaussian filter: float32 copy of (..., T, 36, 64) numpy videos filtered over (frame,
    y, x) with sigma in frames and pixels (0 = none); leading dims are not mixed."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    if sigma <= 0:
        return np.array(videos, np.float32)
    sig = (0,) * (videos.ndim - 3) + (sigma,) * 3
    return gaussian_filter(videos, sig).astype(np.float32)
