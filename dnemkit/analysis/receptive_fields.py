"""Receptive-field maps from on/off sparse-noise responses (docs/method.md, "Analyses").

The sparse-noise stimulus flashes one pixel (255 = ON, 0 = OFF) at each of the H x W positions: 15 grey frames,
15 flash frames, 15 grey frames. For one polarity, a neuron's responses averaged over the 15 pre-flash frames and
over the 15 flash frames of each position give ``r_pre`` and ``r_flash``, both (neuron, y, x); this module turns
them into normalised RF maps, centres, 2-D Gaussian fits and population maps. Pure numpy / scipy.
"""

import warnings

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.optimize import OptimizeWarning, curve_fit

from ..errors import DnemkitError
from .metrics import as_float_array

__all__ = [
    "rf_maps",
    "unresponsive_neurons",
    "rf_centres",
    "fit_gaussian_2d",
    "fit_gaussians",
    "population_rf",
    "on_off_maps",
]

RF_THRESHOLD = 0.1  #: relative responses below this are set to 0 (suppression and noise)
RF_SIGMA_PX = 2.0  #: spatial smoothing of the maps, pixels
RF_EPS = 1e-8  #: added to r_pre so a silent baseline does not divide by zero

_FIT_KEYS = ("center_y", "center_x", "sigma_y", "sigma_x", "amplitude", "offset")


def _responses(x, name):
    a = as_float_array(x, name)
    if a.ndim != 3 or 0 in a.shape:
        raise DnemkitError(f"{name} has shape {tuple(a.shape)}; expected (neuron, y, x), e.g. (N, 36, 64)")
    if not np.isfinite(a).all():
        raise DnemkitError(f"{name} contains non-finite values (NaN or inf); expected mean responses")
    return a


def rf_maps(r_pre, r_flash, threshold=RF_THRESHOLD, sigma=RF_SIGMA_PX, eps=RF_EPS):
    """Normalised receptive-field maps of one polarity (docs/method.md, "Analyses").

    r_pre, r_flash: float (neuron, y, x), non-negative mean responses (rates) over the 15 frames before and the
    15 frames during the flash at each position. Steps, per neuron:

    1. relative response (r_flash - r_pre) / (r_pre + eps) (eps = 1e-8 guards a silent baseline);
    2. values < ``threshold`` (0.1) set to 0 - this also zeroes the opposite polarity's suppression;
    3. Gaussian smoothing, sigma = 2 px over (y, x) only (``scipy.ndimage.gaussian_filter``, reflect borders);
    4. division by the neuron's maximum, so maps peak at 1.

    Neurons whose smoothed map is 0 everywhere (no response above threshold) get an all-NaN map: they are
    unresponsive (see :func:`unresponsive_neurons`). Returns float64 (neuron, y, x).
    """
    pre = _responses(r_pre, "r_pre")
    flash = _responses(r_flash, "r_flash")
    if flash.shape != pre.shape:
        raise DnemkitError(f"r_flash has shape {tuple(flash.shape)}; expected the shape of r_pre {tuple(pre.shape)}")
    if (pre < 0).any():
        raise DnemkitError("r_pre has negative values; expected non-negative mean responses (rates)")
    rel = (flash - pre) / (pre + eps)
    rel[rel < threshold] = 0.0
    smooth = gaussian_filter(rel, sigma=(0.0, sigma, sigma))
    peak = smooth.max(axis=(1, 2))
    out = np.full_like(smooth, np.nan)
    ok = peak > 0
    out[ok] = smooth[ok] / peak[ok, None, None]
    return out


def _maps(maps, name="maps"):
    if hasattr(maps, "detach") and hasattr(maps, "cpu"):
        maps = maps.detach().cpu().numpy()
    a = np.asarray(maps, dtype=np.float64)
    if a.ndim != 3 or 0 in a.shape:
        raise DnemkitError(f"{name} has shape {tuple(a.shape)}; expected (neuron, y, x)")
    return a


def unresponsive_neurons(maps):
    """Boolean (neuron,): True where a map from :func:`rf_maps` is all NaN (no response above threshold)."""
    return np.isnan(_maps(maps)).all(axis=(1, 2))


def rf_centres(maps):
    """RF centres: the pixel at each map's maximum.

    maps: (neuron, y, x). Returns (cy, cx), two float64 (neuron,) arrays of row and column indices; when several
    pixels share the maximum the centre is their mean position; NaN for all-NaN (unresponsive) maps.
    """
    a = _maps(maps)
    n = a.shape[0]
    cy = np.full(n, np.nan)
    cx = np.full(n, np.nan)
    for i in range(n):
        m = a[i]
        if np.isnan(m).all():
            continue
        ys, xs = np.nonzero(m == np.nanmax(m))
        cy[i], cx[i] = ys.mean(), xs.mean()
    return cy, cx


def _gauss2d(coords, cy, cx, sy, sx, amp, offset):
    y, x = coords
    return offset + amp * np.exp(-0.5 * (((y - cy) / sy) ** 2 + ((x - cx) / sx) ** 2))


def fit_gaussian_2d(rf_map, sigma0=2.0):
    """Fit an axis-aligned 2-D Gaussian to one map; never raises on a failed fit.

    model: offset + amplitude * exp(-(y - center_y)^2 / (2 sigma_y^2) - (x - center_x)^2 / (2 sigma_x^2)), in
    pixel coordinates (row, column). ``scipy.optimize.curve_fit`` starts at the map's maximum (centre), sigma0 px,
    amplitude = max - min and offset = min; NaN pixels are ignored; centres are bounded to the map extended by
    half its size, sigmas to [0.05, 2 * max(H, W)] px.
    rf_map: (y, x). Returns a dict of floats ``center_y, center_x, sigma_y, sigma_x, amplitude, offset`` and
    ``success`` (bool); all values NaN and success False when the map is empty/constant or the fit fails.
    """
    if hasattr(rf_map, "detach") and hasattr(rf_map, "cpu"):
        rf_map = rf_map.detach().cpu().numpy()
    m = np.asarray(rf_map, dtype=np.float64)
    if m.ndim != 2 or 0 in m.shape:
        raise DnemkitError(f"rf_map has shape {tuple(m.shape)}; expected (y, x)")
    fail = dict.fromkeys(_FIT_KEYS, float("nan"))
    fail["success"] = False
    ok = np.isfinite(m)
    if ok.sum() < 7:
        return fail
    h, w = m.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    y, x, z = yy[ok], xx[ok], m[ok]
    lo, hi = z.min(), z.max()
    if not hi > lo:
        return fail
    k = int(np.argmax(z))
    p0 = [y[k], x[k], sigma0, sigma0, hi - lo, lo]
    big = 2.0 * max(h, w)
    bounds = (
        [-0.5 * h, -0.5 * w, 0.05, 0.05, -np.inf, -np.inf],
        [1.5 * h, 1.5 * w, big, big, np.inf, np.inf],
    )
    p0[2] = p0[3] = min(max(sigma0, 0.05), big)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            popt, _ = curve_fit(_gauss2d, (y, x), z, p0=p0, bounds=bounds, maxfev=5000)
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        return fail
    if not np.isfinite(popt).all():
        return fail
    out = {key: float(v) for key, v in zip(_FIT_KEYS, popt)}
    out["success"] = True
    return out


def fit_gaussians(maps, sigma0=2.0):
    """:func:`fit_gaussian_2d` for every map of (neuron, y, x).

    Returns a dict of (neuron,) arrays: float64 ``center_y, center_x, sigma_y, sigma_x, amplitude, offset``
    (NaN where the fit failed or the map is unresponsive) and bool ``success``.
    """
    a = _maps(maps)
    n = a.shape[0]
    out = {key: np.full(n, np.nan) for key in _FIT_KEYS}
    out["success"] = np.zeros(n, dtype=bool)
    for i in range(n):
        fit = fit_gaussian_2d(a[i], sigma0=sigma0)
        for key in _FIT_KEYS:
            out[key][i] = fit[key]
        out["success"][i] = fit["success"]
    return out


def population_rf(maps):
    """Population RF: nan-mean of the maps over neurons (unresponsive all-NaN maps drop out).

    maps: (neuron, y, x). Returns float64 (y, x); NaN where every neuron is NaN. No warnings.
    """
    a = _maps(maps)
    ok = np.isfinite(a)
    count = ok.sum(axis=0)
    total = np.where(ok, a, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def on_off_maps(on, off):
    """ON - OFF and ON + OFF combinations of two maps of equal shape (e.g. population RFs, (y, x)).

    Returns a dict with ``on_minus_off`` and ``on_plus_off`` (float64, same shape).
    """
    a = np.asarray(on, dtype=np.float64)
    b = np.asarray(off, dtype=np.float64)
    if a.shape != b.shape:
        raise DnemkitError(f"off has shape {tuple(b.shape)}; expected the shape of on {tuple(a.shape)}")
    return {"on_minus_off": a - b, "on_plus_off": a + b}
