"""Reconstruction quality metrics (docs/method.md, "Recipe" evaluation, §7 analyses).

Every function here is a pure numpy function. About 500 lines: the metrics share the conventions below (frames,
masks, float64, NaN rules) and are read together.

Conventions
-----------
- Videos are float arrays of shape (T, H, W) in grey levels 0..255 (normally (T, 36, 64), 30 Hz). Torch tensors
  are accepted and converted with ``.detach().cpu().numpy()``. All arithmetic is done in float64.
- A mask is a boolean (H, W) array selecting the evaluated pixels (the evaluation mask, level >= 1); ``None``
  means every pixel. Integer masks holding only 0/1 are accepted; any other values (for example a raw alpha
  mask) are rejected: threshold it first.
- ``first_frame``: frames ``first_frame .. T-1`` are evaluated (default 30, as the reference's analyses score:
  the first frames of a trial lack a full encoder window, docs/method.md, "Analyses").
- ``mask``, ``first_frame`` and the other options are keyword-only: ``video_correlation(gt, recon, mask=m)``.
- Bad input raises :class:`dnemkit.errors.DnemkitError` with one line naming the argument.
"""


import numpy as np
from scipy.ndimage import uniform_filter

from ..errors import DnemkitError, check_int
from ..stimuli.geometry import GREY
from ..video import EVAL_FIRST_FRAME

__all__ = [
    "pearson_along",
    "video_correlation",
    "frame_correlation",
    "frame_correlation_trace",
    "pixel_correlation_map",
    "rmse",
    "psnr",
    "ssim",
    "ssim_simplified",
    "motion_energy",
    "motion_energy_trace",
    "frame_entropy",
    "frame_entropy_trace",
    "match_contrast",
    "ensembling_gain",
    "phase_inversion",
    "quality_metrics",
    "apply_eval_mask",
]

MAX_GREY = 255.0  #: peak signal for PSNR and the SSIM data range
ENTROPY_BINS = 25  #: histogram bins over [0, 256) for the frame entropy
DEFAULT_FIRST_FRAME = EVAL_FIRST_FRAME  #: the reference's analyses skip 30 frames (dnemkit.video)
#: the unit (dnemkit.units) of each value :func:`quality_metrics` returns
QUALITY_UNITS = {"video_correlation": "1", "frame_correlation": "1", "rmse": "grey level", "psnr": "dB", "ssim": "1",
                 "ssim_simplified": "1", "motion_energy": "grey level/frame", "motion_energy_gt": "grey level/frame"}


# ----------------------------------------------------------------------------------------------------------------
# input validation
# ----------------------------------------------------------------------------------------------------------------
def as_float_array(x, *, name):
    """x (numpy, torch or array-like) as a float64 numpy array; one clear error naming ``name`` otherwise.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Numbers of any shape.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    ndarray, float64
        ``x``'s values and shape, in ``x``'s unit.
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise DnemkitError(f"{name} must be a numeric array; got {type(x).__name__}") from None
    return arr


def _video(x, name="video", min_frames=1):
    """Validate one video -> float64 (T, H, W)."""
    v = as_float_array(x, name=name)
    if v.ndim != 3:
        raise DnemkitError(f"{name} has shape {tuple(v.shape)}; expected (T, H, W), e.g. (T, 36, 64)")
    if v.shape[0] < min_frames:
        raise DnemkitError(f"{name} has {v.shape[0]} frames; expected at least {min_frames}")
    if v.shape[1] < 1 or v.shape[2] < 1:
        raise DnemkitError(f"{name} has shape {tuple(v.shape)}; expected non-empty frames")
    if not np.isfinite(v).all():
        raise DnemkitError(f"{name} contains non-finite values (NaN or inf); expected grey levels 0..255")
    return v


def _pair(gt, recon, names=("gt", "recon")):
    g = _video(gt, names[0])
    r = _video(recon, names[1])
    if g.shape != r.shape:
        raise DnemkitError(
            f"{names[1]} has shape {tuple(r.shape)}; expected the shape of {names[0]} {tuple(g.shape)}"
        )
    return g, r


def _mask(mask, hw, name="mask"):
    """Validate a mask against frame shape ``hw`` -> boolean (H, W) with at least one True pixel."""
    if mask is None:
        return np.ones(hw, dtype=bool)
    if hasattr(mask, "detach") and hasattr(mask, "cpu"):
        mask = mask.detach().cpu().numpy()
    m = np.asarray(mask)
    if m.shape != tuple(hw):
        raise DnemkitError(f"{name} has shape {tuple(m.shape)}; expected {tuple(hw)} (rows x columns), boolean")
    if m.dtype != bool:
        if not np.issubdtype(m.dtype, np.number) or not np.isin(m, (0, 1)).all():
            raise DnemkitError(
                f"{name} must be boolean (or 0/1); got values other than 0/1 - threshold an alpha mask first"
            )
        m = m.astype(bool)
    if not m.any():
        raise DnemkitError(f"{name} selects no pixel; expected at least one True pixel")
    return m


def _first(first_frame, n_frames, name="first_frame", min_left=1):
    first_frame = check_int(first_frame, name, 0, "a frame index")
    if n_frames - first_frame < min_left:
        raise DnemkitError(
            f"{name} is {first_frame} but the video has {n_frames} frames; expected first_frame <= "
            f"{n_frames - min_left} (at least {min_left} evaluated frame{'s' if min_left > 1 else ''})"
        )
    return first_frame


def _prepare(gt, recon, mask, first_frame):
    """Validated float64 (T', P) arrays of the masked pixels of the evaluated frames, and the mask."""
    g, r = _pair(gt, recon)
    m = _mask(mask, g.shape[1:])
    f = _first(first_frame, g.shape[0])
    return g[f:][:, m], r[f:][:, m], m


# ----------------------------------------------------------------------------------------------------------------
# correlations
# ----------------------------------------------------------------------------------------------------------------
def _pearson(x, y):
    """Pearson r of two flat float64 arrays; NaN when either is constant."""
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt(np.dot(x, x) * np.dot(y, y))
    return float(np.dot(x, y) / den) if den > 0 else float("nan")


def pearson_along(x, y, *, axis):
    """Pearson r along ``axis`` of two float64 arrays; NaN where either is constant.

    Parameters
    ----------
    x, y : ndarray, float64, same shape
        Values in any units.
    axis : int
        The axis along which r is taken.

    Returns
    -------
    ndarray, float64
        Pearson r (dimensionless): the input shape without ``axis``; NaN where either is constant.
    """
    x = x - x.mean(axis=axis, keepdims=True)
    y = y - y.mean(axis=axis, keepdims=True)
    num = (x * y).sum(axis=axis)
    den = np.sqrt((x * x).sum(axis=axis) * (y * y).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~(den > 0)] = np.nan
    return out


def nanmean(values, *, axis=None):
    """Mean of the finite values (NaN and +-inf left out), NaN where there is none, without numpy's "Mean of empty
    slice" warning (a caller that averages over clips or thresholds where none is defined reports that itself).

    Parameters
    ----------
    values : array_like
        Numbers.
    axis : int or tuple of int, optional
        The axes averaged over (None: all of them).

    Returns
    -------
    float or numpy.ndarray
        A float for ``axis=None`` (the float64 mean of the finite values); else an array of ``values``' float
        dtype without ``axis``.
    """
    import warnings

    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    finite = np.isfinite(values)
    if axis is None:
        return float(values[finite].astype(np.float64).mean()) if finite.any() else float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.where(finite, values, np.nan), axis=axis)


def video_correlation(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Pearson r over all (frame, pixel) pairs inside the mask, frames ``first_frame .. T-1`` (docs/method.md, "Analyses").


    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    float
        Pearson r (dimensionless); NaN when either video is constant over the evaluated pixels.
    """
    g, r, _ = _prepare(gt, recon, mask, first_frame)
    return _pearson(g.ravel(), r.ravel())


def frame_correlation_trace(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Per-frame Pearson r over the masked pixels: float64 (T - first_frame,); NaN for constant frames.

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    ndarray, float64, shape (T - first_frame,)
        Pearson r (dimensionless) per evaluated frame; NaN for constant frames.
    """
    g, r, _ = _prepare(gt, recon, mask, first_frame)
    return pearson_along(g, r, axis=1)


def frame_correlation(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Mean frame correlation: per-frame Pearson r over the masked pixels, nan-mean over frames (docs/method.md, "Analyses").

    Frames where gt or recon is constant inside the mask have no correlation (NaN) and are left out of the mean
    (no warning).

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    float
        Mean per-frame Pearson r (dimensionless); NaN when every frame is constant.
    """
    return nanmean(frame_correlation_trace(gt, recon, mask=mask, first_frame=first_frame))


def pixel_correlation_map(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Temporal correlation map: per pixel, Pearson r over frames ``first_frame .. T-1``.


    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    ndarray, float64, shape (H, W)
        Pearson r over frames (dimensionless); NaN outside the mask and at pixels constant in time in either
        video.
    """
    g, r = _pair(gt, recon)
    m = _mask(mask, g.shape[1:])
    f = _first(first_frame, g.shape[0])
    out = np.full(g.shape[1:], np.nan)
    out[m] = pearson_along(g[f:][:, m], r[f:][:, m], axis=0)
    return out


# ----------------------------------------------------------------------------------------------------------------
# error and similarity
# ----------------------------------------------------------------------------------------------------------------
def _rmse(g, r):
    return float(np.sqrt(np.mean((g - r) ** 2)))


def _psnr_from_rmse(e):
    return float("inf") if e == 0 else float(20.0 * np.log10(MAX_GREY / e))


def rmse(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Root-mean-square error in grey levels over the masked pixels x evaluated frames. Returns a float.

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    float
        Root-mean-square error, grey levels.
    """
    g, r, _ = _prepare(gt, recon, mask, first_frame)
    return _rmse(g, r)


def psnr(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Peak signal-to-noise ratio in dB, peak 255: ``20 log10(255 / rmse)`` (inf for identical videos).

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    float
        PSNR, dB; inf for identical videos.
    """
    return _psnr_from_rmse(rmse(gt, recon, mask=mask, first_frame=first_frame))


def _bbox(m):
    rows = np.flatnonzero(m.any(axis=1))
    cols = np.flatnonzero(m.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _ssim_frames(g, r, win_size=7, data_range=MAX_GREY, k1=0.01, k2=0.03):
    """Mean SSIM of each frame of float64 (T, h, w) arrays.

    The same computation as ``skimage.metrics.structural_similarity(g[t], r[t], data_range=255)`` with its
    defaults (uniform 7 x 7 window, reflect borders, sample covariance, K1 = 0.01, K2 = 0.03, a border of
    (win_size - 1) // 2 pixels left out of the mean), vectorised over frames with a (1, w, w) filter.
    """
    size = (1, win_size, win_size)
    ux = uniform_filter(g, size=size)
    uy = uniform_filter(r, size=size)
    uxx = uniform_filter(g * g, size=size)
    uyy = uniform_filter(r * r, size=size)
    uxy = uniform_filter(g * r, size=size)
    n = win_size * win_size
    cov_norm = n / (n - 1.0)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    p = (win_size - 1) // 2
    h, w = g.shape[1:]
    return s[:, p : h - p, p : w - p].mean(axis=(1, 2))


def _ssim(g_full, r_full, m):
    """SSIM on the mask's bounding box, mean over frames. g_full, r_full: (T', H, W) float64."""
    ys, xs = _bbox(m)
    g = g_full[:, ys, xs]
    r = r_full[:, ys, xs]
    side = min(g.shape[1:])
    win = min(7, side if side % 2 == 1 else side - 1)
    if win < 3:
        raise DnemkitError(
            f"mask bounding box is {g.shape[1]} x {g.shape[2]} pixels; expected at least 3 x 3 for SSIM"
        )
    return float(_ssim_frames(g, r, win_size=win).mean())


def ssim(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Standard structural similarity (Wang et al. 2004, scikit-image's definition), mean over frames.

    Each evaluated frame is cropped to the bounding box of the mask (pixels inside the box but outside the mask
    are included: SSIM needs a rectangle) and compared with the scikit-image default SSIM: uniform 7 x 7 window,
    sample covariance, K1 = 0.01, K2 = 0.03, ``data_range=255``, the 3-pixel border left out. The computation is
    vectorised over frames and equals ``skimage.metrics.structural_similarity(gt[t], recon[t], data_range=255)``
    frame by frame (tested). A bounding box narrower than 7 pixels uses the largest odd window that fits (>= 3).

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    float
        SSIM (dimensionless) in [-1, 1]; 1 for identical videos.
    """
    g, r = _pair(gt, recon)
    m = _mask(mask, g.shape[1:])
    f = _first(first_frame, g.shape[0])
    return _ssim(g[f:], r[f:], m)


def _ssim_simplified(g, r, k1=1.0, k2=1.0, data_range=MAX_GREY):
    mx, my = g.mean(), r.mean()
    vx, vy = g.var(), r.var()
    cxy = np.mean((g - mx) * (r - my))
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    return float(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)))


def ssim_simplified(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """PARITY VARIANT - the reference analysis' simplified global SSIM; report :func:`ssim` instead.

    One SSIM over all masked pixels x evaluated frames taken together (no sliding window)::

        SSIM = (2 mu_g mu_r + C1) (2 cov_gr + C2) / ((mu_g^2 + mu_r^2 + C1) (var_g + var_r + C2))

    with population (ddof = 0) variances and covariance, C1 = (k1 L)^2, C2 = (k2 L)^2, L = 255 and
    k1 = k2 = 1 (the reference's constants; the standard ones are 0.01 and 0.03). With such large constants the
    value stays close to 1 and is insensitive to the reconstruction; it exists only to compare with the paper.

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    float
        The simplified SSIM (dimensionless).
    """
    g, r, _ = _prepare(gt, recon, mask, first_frame)
    return _ssim_simplified(g, r)


# ----------------------------------------------------------------------------------------------------------------
# single-video statistics
# ----------------------------------------------------------------------------------------------------------------
def _motion_trace(v_masked):
    return np.abs(np.diff(v_masked, axis=0)).mean(axis=1)


def motion_energy_trace(video, *, mask=None, first_frame=0):
    """Motion energy per frame step: ME(t) = mean over masked pixels of |v(t+1) - v(t)|, grey levels per frame.


    Parameters
    ----------
    video : array_like, shape (T, H, W)
        Grey levels (0..255).
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        The first frame of the first step (default 0); at least 2 frames must remain.

    Returns
    -------
    ndarray, float64, shape (T - first_frame - 1,)
        Motion energy for t = first_frame .. T-2, grey levels per frame.
    """
    v = _video(video, "video")
    m = _mask(mask, v.shape[1:])
    f = _first(first_frame, v.shape[0], min_left=2)
    return _motion_trace(v[f:][:, m])


def motion_energy(video, *, mask=None, first_frame=0):
    """Mean motion energy over t (docs/method.md, "Analyses"): mean of :func:`motion_energy_trace`. Grey levels per frame; float.

    Parameters
    ----------
    video : array_like, shape (T, H, W)
        Grey levels (0..255).
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        The first frame of the first step (default 0); at least 2 frames must remain.

    Returns
    -------
    float
        Mean motion energy, grey levels per frame.
    """
    return float(motion_energy_trace(video, mask=mask, first_frame=first_frame).mean())


def _entropy_trace(v_masked):
    """Entropy in bits of each row of (T, P) pixel values, 25 bins over [0, 256)."""
    n_frames, n_pix = v_masked.shape
    idx = np.floor(np.clip(v_masked, 0.0, MAX_GREY) * (ENTROPY_BINS / 256.0)).astype(np.int64)
    np.clip(idx, 0, ENTROPY_BINS - 1, out=idx)
    idx += np.arange(n_frames)[:, None] * ENTROPY_BINS
    counts = np.bincount(idx.ravel(), minlength=n_frames * ENTROPY_BINS).reshape(n_frames, ENTROPY_BINS)
    p = counts / float(n_pix)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=1)


def frame_entropy_trace(video, *, mask=None):
    """Shannon entropy (bits) of each frame's grey-level histogram: float64 (T,). See :func:`frame_entropy`.

    Parameters
    ----------
    video : array_like, shape (T, H, W)
        Grey levels (0..255).
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.

    Returns
    -------
    ndarray, float64, shape (T,)
        Entropy per frame, bit.
    """
    v = _video(video, "video")
    m = _mask(mask, v.shape[1:])
    return _entropy_trace(v[:, m])


def frame_entropy(video, *, mask=None):
    """Mean Shannon entropy of the frames' grey-level histograms, in bits (docs/method.md, "Analyses").

    For each frame the masked pixels are counted in 25 equal bins over [0, 256) (bin width 10.24 grey levels;
    values are clipped to [0, 255] first so every pixel is counted). The bin probabilities are
    p_i = count_i / n_pixels (the histogram "density" times the bin width, which sums to 1); empty bins are
    dropped and the entropy is H = -sum_i p_i log2 p_i. The result is the mean of H over all frames: 0 for
    constant frames, log2(25) ~ 4.64 (the maximum) when the pixels spread evenly over the 25 bins.

    Parameters
    ----------
    video : array_like, shape (T, H, W)
        Grey levels (0..255).
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.

    Returns
    -------
    float
        Mean entropy over frames, bit (0 .. log2(25)).
    """
    return float(frame_entropy_trace(video, mask=mask).mean())


# ----------------------------------------------------------------------------------------------------------------
# transformations
# ----------------------------------------------------------------------------------------------------------------
def apply_eval_mask(video, mask, *, fill=GREY):
    """Return a float32 copy of ``video`` (..., H, W) with every pixel outside ``mask`` (bool (H, W)) set to
    ``fill`` (default grey 127.5). ``mask=None`` returns an unchanged float32 copy.

    Parameters
    ----------
    video : array_like, shape (..., H, W)
        Grey levels (0..255).
    mask : array_like of bool, shape (H, W) or None
        The kept pixels; None keeps every pixel.
    fill : float, optional
        The grey level outside the mask (default 127.5, mean grey).

    Returns
    -------
    ndarray, float32, shape (..., H, W)
        A copy of ``video``, grey levels.
    """
    v = as_float_array(video, name="video")
    if v.ndim < 2:
        raise DnemkitError(f"video has shape {tuple(v.shape)}; expected (..., H, W), e.g. (T, 36, 64)")
    m = _mask(mask, v.shape[-2:])
    out = v.astype(np.float32, copy=True)
    out[..., ~m] = fill
    return out


def match_contrast(gt, recon, *, mask=None, first_frame=0):
    """Contrast & luminance matching (docs/method.md, "Analyses"): give ``recon`` the mean and std of ``gt`` inside the mask.

    z = (recon - mean_r) / std_r and out = z * std_g + mean_g, where the means and (population) stds are taken
    over all masked pixels x frames ``first_frame .. T-1`` (default: every frame) of each video; the transform
    is applied to every frame; the result is clipped to [0, 255] and set to grey (127.5) outside the mask.
    Correlations with gt are unchanged (unless clipping bites). A constant recon (std 0) becomes gt's mean.

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 0: every frame).

    Returns
    -------
    ndarray, float32, shape (T, H, W)
        The matched reconstruction, grey levels in [0, 255]; 127.5 outside the mask.
    """
    g, r = _pair(gt, recon)
    m = _mask(mask, g.shape[1:])
    f = _first(first_frame, g.shape[0])
    gs, rs = g[f:][:, m], r[f:][:, m]
    mg, sg = gs.mean(), gs.std()
    mr, sr = rs.mean(), rs.std()
    z = (r - mr) / sr if sr > 0 else np.zeros_like(r)
    out = np.clip(z * sg + mg, 0.0, MAX_GREY)
    out[:, ~m] = GREY
    return out.astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# composite analyses
# ----------------------------------------------------------------------------------------------------------------
def ensembling_gain(gt, recons, *, ensemble_recon=None, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Ensembling gain (docs/method.md, "Analyses"): r(ensemble) - mean over models of r(model's own reconstruction).

    r is :func:`video_correlation`.

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255).
    recons : array_like, shape (M, T, H, W)
        One reconstruction per model, grey levels.
    ensemble_recon : array_like, shape (T, H, W), optional
        The ensemble's reconstruction, grey levels; by default the mean of ``recons`` over models (pass the
        smoothed ensemble to measure the paper's full pipeline).
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    dict
        ``model_r`` (ndarray float64 (M,)), ``mean_model_r``, ``ensemble_r``, ``gain`` (floats); all Pearson r or
        differences of r (dimensionless).
    """
    rs = as_float_array(recons, name="recons")
    if rs.ndim != 4 or rs.shape[0] < 1:
        raise DnemkitError(f"recons has shape {tuple(rs.shape)}; expected (M, T, H, W) with M >= 1 models")
    g = _video(gt, "gt")
    if rs.shape[1:] != g.shape:
        raise DnemkitError(f"recons has shape {tuple(rs.shape)}; expected (M, {', '.join(map(str, g.shape))})")
    if not np.isfinite(rs).all():
        raise DnemkitError("recons contains non-finite values (NaN or inf); expected grey levels 0..255")
    if ensemble_recon is None:
        ens = rs.mean(axis=0)
    else:
        ens = _video(ensemble_recon, "ensemble_recon")
        if ens.shape != g.shape:
            raise DnemkitError(
                f"ensemble_recon has shape {tuple(ens.shape)}; expected the shape of gt {tuple(g.shape)}"
            )
    m = _mask(mask, g.shape[1:])
    f = _first(first_frame, g.shape[0])
    gm = g[f:][:, m].ravel()
    model_r = np.array([_pearson(gm, rs[k, f:][:, m].ravel()) for k in range(rs.shape[0])])
    ensemble_r = _pearson(gm, ens[f:][:, m].ravel())
    mean_model_r = nanmean(model_r)
    return {
        "model_r": model_r,
        "mean_model_r": mean_model_r,
        "ensemble_r": ensemble_r,
        "gain": ensemble_r - mean_model_r,
    }


def phase_inversion(gt, recon, recon_inverted, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """Phase-inversion control (docs/method.md, "Analyses") for a stimulus v and its twin 255 - v.

    The argument order is (gt, recon, ...) as in every metric here. ``r_inverted`` near -1 means the
    reconstruction follows the stimulus rather than a fixed pattern.

    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The stimulus v, grey levels (0..255).
    recon : array_like, shape (T, H, W)
        The reconstruction of v, grey levels.
    recon_inverted : array_like, shape (T, H, W)
        The reconstruction of 255 - v, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    dict
        ``r_gt`` = r(recon, gt) and ``r_inverted`` = r(recon, recon_inverted): floats, dimensionless.
    """
    return {
        "r_gt": video_correlation(gt, recon, mask=mask, first_frame=first_frame),
        "r_inverted": video_correlation(recon_inverted, recon, mask=mask, first_frame=first_frame),
    }


def quality_metrics(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """All scalar quality metrics of one reconstruction in one cheap pass (a few ms for 300 frames).


    Parameters
    ----------
    gt : array_like, shape (T, H, W)
        The ground-truth video, grey levels (0..255); numpy or torch.
    recon : array_like, shape (T, H, W)
        The reconstruction, grey levels.
    mask : array_like of bool, shape (H, W), optional
        The evaluated pixels (0/1 accepted); default None: every pixel.
    first_frame : int, optional
        Frames ``first_frame .. T-1`` are evaluated (default 30).

    Returns
    -------
    dict of str to float
        ``video_correlation``, ``frame_correlation`` (dimensionless), ``rmse`` (grey levels), ``psnr`` (dB),
        ``ssim`` (standard), ``ssim_simplified`` (parity variant; dimensionless), ``motion_energy`` (of recon) and
        ``motion_energy_gt`` (grey levels per frame; NaN with a single evaluated frame); units in
        :data:`QUALITY_UNITS`.
    """
    g, r = _pair(gt, recon)
    m = _mask(mask, g.shape[1:])
    f = _first(first_frame, g.shape[0])
    gf, rf = g[f:], r[f:]
    gm, rm = gf[:, m], rf[:, m]
    e = _rmse(gm, rm)
    several = gm.shape[0] >= 2
    return {
        "video_correlation": _pearson(gm.ravel(), rm.ravel()),
        "frame_correlation": nanmean(pearson_along(gm, rm, axis=1)),
        "rmse": e,
        "psnr": _psnr_from_rmse(e),
        "ssim": _ssim(gf, rf, m),
        "ssim_simplified": _ssim_simplified(gm, rm),
        "motion_energy": float(_motion_trace(rm).mean()) if several else float("nan"),
        "motion_energy_gt": float(_motion_trace(gm).mean()) if several else float("nan"),
    }
