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

from ..errors import DnemkitError, check_int
from .metrics import as_float_array
from ..units import DIMENSIONLESS, PIXEL

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
    a = as_float_array(x, name=name)
    if a.ndim != 3 or 0 in a.shape:
        raise DnemkitError(f"{name} has shape {tuple(a.shape)}; expected (neuron, y, x), e.g. (N, 36, 64)")
    if not np.isfinite(a).all():
        raise DnemkitError(f"{name} contains non-finite values (NaN or inf); expected mean responses")
    return a


def rf_maps(r_pre, r_flash, *, threshold=RF_THRESHOLD, sigma=RF_SIGMA_PX, eps=RF_EPS):
    """Normalised receptive-field maps of one polarity (docs/method.md, "Analyses").

    Steps, per neuron:

    1. relative response (r_flash - r_pre) / (r_pre + eps) (eps = 1e-8 guards a silent baseline);
    2. values < ``threshold`` (0.1) set to 0 - this also zeroes the opposite polarity's suppression;
    3. Gaussian smoothing, sigma = 2 px over (y, x) only (``scipy.ndimage.gaussian_filter``, reflect borders);
    4. division by the neuron's maximum, so maps peak at 1.

    Neurons whose smoothed map is 0 everywhere (no response above threshold) get an all-NaN map: they are
    unresponsive (see :func:`unresponsive_neurons`).

    Parameters
    ----------
    r_pre : array_like, shape (neuron, y, x)
        Non-negative mean responses, counts/frame, over the 15 frames before the flash at each position.
    r_flash : array_like, shape (neuron, y, x)
        Mean responses, counts/frame, over the 15 frames during the flash.
    threshold : float, optional
        Relative responses (dimensionless) below it are set to 0 (default :data:`RF_THRESHOLD`, 0.1).
    sigma : float, optional
        Spatial smoothing, pixel (default :data:`RF_SIGMA_PX`, 2).
    eps : float, optional
        Added to r_pre, counts/frame (default :data:`RF_EPS`, 1e-8).

    Returns
    -------
    ndarray, float64, shape (neuron, y, x)
        Maps peaking at 1 (dimensionless); all NaN for an unresponsive neuron.
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
    """Boolean (neuron,): True where a map from :func:`rf_maps` is all NaN (no response above threshold).

    Parameters
    ----------
    maps : array_like, shape (neuron, y, x)
        RF maps (dimensionless) from :func:`rf_maps`.

    Returns
    -------
    ndarray of bool, shape (neuron,)
    """
    return np.isnan(_maps(maps)).all(axis=(1, 2))


def rf_centres(maps):
    """RF centres: the pixel at each map's maximum.

    Parameters
    ----------
    maps : array_like, shape (neuron, y, x)
        RF maps (dimensionless).

    Returns
    -------
    cy, cx : ndarray, float64, shape (neuron,)
        Row and column of the maximum, pixel; when several pixels share the maximum the centre is their mean
        position; NaN for all-NaN (unresponsive) maps.
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


def fit_gaussian_2d(rf_map, *, sigma0=2.0):
    """Fit an axis-aligned 2-D Gaussian to one map; never raises on a failed fit.

    model: offset + amplitude * exp(-(y - center_y)^2 / (2 sigma_y^2) - (x - center_x)^2 / (2 sigma_x^2)), in
    pixel coordinates (row, column). ``scipy.optimize.curve_fit`` starts at the map's maximum (centre), sigma0 px,
    amplitude = max - min and offset = min; NaN pixels are ignored; centres are bounded to the map extended by
    half its size, sigmas to [0.05, 2 * max(H, W)] px.

    Parameters
    ----------
    rf_map : array_like, shape (y, x)
        One map (dimensionless); NaN pixels are ignored.
    sigma0 : float, optional
        The starting sigma, pixel (default 2).

    Returns
    -------
    dict
        Floats ``center_y, center_x, sigma_y, sigma_x`` (pixel), ``amplitude, offset`` (the map's unit) and
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


def fit_gaussians(maps, *, sigma0=2.0):
    """:func:`fit_gaussian_2d` for every map of (neuron, y, x).

    Parameters
    ----------
    maps : array_like, shape (neuron, y, x)
        RF maps (dimensionless).
    sigma0 : float, optional
        The starting sigma, pixel (default 2).

    Returns
    -------
    dict of str to ndarray, each shape (neuron,)
        float64 ``center_y, center_x, sigma_y, sigma_x`` (pixel), ``amplitude, offset`` (NaN where the fit
        failed or the map is unresponsive) and bool ``success``.
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

    Parameters
    ----------
    maps : array_like, shape (neuron, y, x)
        RF maps (dimensionless).

    Returns
    -------
    ndarray, float64, shape (y, x)
        The mean map (dimensionless); NaN where every neuron is NaN. No warnings.
    """
    a = _maps(maps)
    ok = np.isfinite(a)
    count = ok.sum(axis=0)
    total = np.where(ok, a, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def on_off_maps(on, off):
    """ON - OFF and ON + OFF combinations of two maps of equal shape (e.g. population RFs, (y, x)).

    Parameters
    ----------
    on, off : array_like, same shape
        The ON and the OFF map (dimensionless).

    Returns
    -------
    dict of str to ndarray
        ``on_minus_off`` and ``on_plus_off`` (float64, the maps' shape).
    """
    a = np.asarray(on, dtype=np.float64)
    b = np.asarray(off, dtype=np.float64)
    if a.shape != b.shape:
        raise DnemkitError(f"off has shape {tuple(b.shape)}; expected the shape of on {tuple(a.shape)}")
    return {"on_minus_off": a - b, "on_plus_off": a + b}


#: the two flash polarities of the sparse noise, in the order of the responses' ``polarity`` dim
POLARITIES = ("on", "off")
#: netCDF encoding of the maps
COMPRESSION = {"zlib": True, "complevel": 4}


def _relative_peak(r_pre, r_flash, eps=1e-8):
    """(neuron,) maximum over positions of (r_flash - r_pre) / r_pre (NaN positions ignored)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = (r_flash - r_pre) / (r_pre + eps)
    rel = np.where(np.isfinite(rel), rel, -np.inf).reshape(rel.shape[0], -1)
    return rel.max(axis=1)


def _smoothed_peak(r_pre, r_flash, threshold, sigma, eps=1e-8):
    """(neuron,) the factor rf_maps divides by: the maximum of the thresholded, smoothed relative response."""
    rel = (r_flash - r_pre) / (r_pre + eps)
    rel[rel < threshold] = 0.0
    return gaussian_filter(rel, sigma=(0.0, sigma, sigma)).max(axis=(1, 2))


def receptive_fields(responses, *, fit=True, fit_max=None, threshold=RF_THRESHOLD, sigma=RF_SIGMA_PX):
    """RF maps, centres, Gaussian fits and population RFs from the responses to on/off flashes.

    Parameters
    ----------
    responses : xarray.Dataset
        With r_pre, r_flash (model, polarity, neuron, y, x), counts/frame (as
        :func:`dnemkit.experiments.rf.sparse_noise_responses` gives).
    fit : bool, optional
        Fit 2-D Gaussians to the preferred map of responsive neurons (about 18 ms per map); default True.
    fit_max : int, optional
        Fit at most this many (the strongest responders first); default None: all.
    threshold : float, optional
        Relative-response threshold (dimensionless), docs/method.md, "Analyses" (default 0.1).
    sigma : float, optional
        Spatial smoothing, pixel, docs/method.md, "Analyses" (default 2).

    Returns
    -------
    xarray.Dataset
        A copy of the input dataset plus (neuron dims (neuron, y, x) unless noted):
        rf_on, rf_off: the maps of the ensemble (model-averaged) responses, NaN for a neuron without any response
        above threshold in that polarity; response_on/off (neuron): peak relative response; rf_on_peak, rf_off_peak
        (neuron): the maps' normalisation factors (rf_on * rf_on_peak is the un-normalised smoothed map, comparable
        between polarities); preferred_polarity (neuron, 'on'/'off'); polarity_index (neuron, -1..1); responsive
        (neuron, bool); center_y, center_x (neuron, pixels): the maximum of the preferred map (NaN if unresponsive);
        center_{y,x}_{on,off}: of each map; model_center_{y,x} (model, neuron): the same from each model's own
        responses; fit_center_y, fit_center_x, fit_sigma_y, fit_sigma_x, fit_amplitude, fit_offset, fit_success,
        fitted (neuron): the Gaussian fits; population_rf_on, population_rf_off, on_minus_off, on_plus_off (y, x).
    """
    if not {"r_pre", "r_flash"} <= set(responses.data_vars):
        raise DnemkitError("responses lack r_pre / r_flash; expected the dataset of sparse_noise_responses()")
    if fit_max is not None:
        fit_max = check_int(fit_max, "fit_max", 0)
    ds = responses.copy()
    r_pre = ds["r_pre"].values.astype(np.float64)
    r_flash = ds["r_flash"].values.astype(np.float64)
    unmapped = np.isnan(r_pre) | np.isnan(r_flash)
    if unmapped.any():  # positions not mapped count as no response (relative response 0)
        r_pre, r_flash = np.where(unmapped, 1.0, r_pre), np.where(unmapped, 1.0, r_flash)
    mean_pre, mean_flash = r_pre.mean(axis=0), r_flash.mean(axis=0)  # explicit average over the models
    maps, peaks, preferred, responsive = _add_polarity_maps(ds, mean_pre, mean_flash, threshold, sigma)
    _add_model_centres(ds, r_pre, r_flash, threshold, sigma)
    fitted = _add_fits(ds, preferred, responsive, np.maximum(peaks["on"], peaks["off"]), fit, fit_max)
    _add_population(ds, maps)
    ds.attrs.update(rf_threshold=threshold, rf_sigma_px=sigma, n_neurons=int(preferred.shape[0]),
                    n_responsive=int(responsive.sum()), n_fitted=int(fitted.sum()), n_models=int(r_pre.shape[0]),
                    fit_max=-1 if fit_max is None else int(fit_max),
                    ensemble_maps="mean of the models' r_pre and r_flash over the model dim, then the RF maps of "
                                  "docs/method.md (Analyses)")
    return ds


def _preferred(maps, peaks):
    """(neuron, y, x) the map of each neuron's preferred polarity (the larger peak relative response; ties: on)."""
    return np.where((peaks["on"] >= peaks["off"])[:, None, None], maps["on"], maps["off"])


def _add_polarity_maps(ds, mean_pre, mean_flash, threshold, sigma):
    """The ON/OFF maps, peaks, centres and polarity of the model-averaged responses (polarity, neuron, y, x)."""
    maps = {pol: rf_maps(mean_pre[p], mean_flash[p], threshold=threshold, sigma=sigma)
            for p, pol in enumerate(POLARITIES)}
    peaks = {pol: _relative_peak(mean_pre[p], mean_flash[p]) for p, pol in enumerate(POLARITIES)}
    preferred = _preferred(maps, peaks)
    responsive = ~np.isnan(preferred).all(axis=(1, 2))
    dims3 = ("neuron", "y", "x")
    for p, pol in enumerate(POLARITIES):
        ds[f"rf_{pol}"] = (dims3, maps[pol].astype(np.float32), dict(
            units=DIMENSIONLESS, long_name=f"{pol.upper()} receptive field: (r_flash - r_pre) / r_pre, < {threshold} -> 0, "
                                 f"Gaussian sigma {sigma} px, normalised to the neuron's maximum; model-averaged "
                                 "responses"))
        ds[f"rf_{pol}"].encoding.update(COMPRESSION)
        ds[f"rf_{pol}_peak"] = ("neuron", _smoothed_peak(mean_pre[p], mean_flash[p], threshold, sigma), dict(
            units=DIMENSIONLESS, long_name=f"maximum of the {pol.upper()} map before the division by the maximum: "
                                 f"rf_{pol} * rf_{pol}_peak is the un-normalised map (comparable across polarities)"))
        ds[f"response_{pol}"] = ("neuron", peaks[pol], dict(
            units=DIMENSIONLESS, long_name=f"peak relative {pol.upper()} response (r_flash - r_pre) / r_pre over positions"))
        py, px = rf_centres(maps[pol])
        ds[f"center_y_{pol}"] = ("neuron", py, {"units": PIXEL})
        ds[f"center_x_{pol}"] = ("neuron", px, {"units": PIXEL})
    ds["preferred_polarity"] = ("neuron", np.where(peaks["on"] >= peaks["off"], "on", "off"),
                                {"long_name": "polarity of the larger peak relative response (ties: on)"})
    with np.errstate(invalid="ignore", divide="ignore"):
        index = (peaks["on"] - peaks["off"]) / (np.abs(peaks["on"]) + np.abs(peaks["off"]))
    ds["polarity_index"] = ("neuron", index, dict(
        units=DIMENSIONLESS, long_name="(response_on - response_off) / (|response_on| + |response_off|): +1 ON only, -1 OFF "
                             "only, 0 both (e.g. complex cells)"))
    ds["responsive"] = ("neuron", responsive,
                        {"long_name": f"some relative response >= {threshold} in the preferred polarity"})
    cy, cx = rf_centres(preferred)
    ds["center_y"] = ("neuron", cy, {"units": PIXEL, "long_name": "row of the maximum of the preferred-polarity "
                                                                     "RF map"})
    ds["center_x"] = ("neuron", cx, {"units": PIXEL, "long_name": "column of the maximum of the "
                                                                     "preferred-polarity RF map"})
    return maps, peaks, preferred, responsive


def _add_model_centres(ds, r_pre, r_flash, threshold, sigma):
    """model_center_y/x (model, neuron): the preferred-map centres of each model's own responses (how well the
    models agree; their maps are not stored)."""
    n_models = r_pre.shape[0]
    if n_models == 1:
        mcy, mcx = ds["center_y"].values[None], ds["center_x"].values[None]
    else:
        mcy, mcx = np.full((2, n_models, r_pre.shape[2]), np.nan)
        for m in range(n_models):
            maps = {pol: rf_maps(r_pre[m, p], r_flash[m, p], threshold=threshold, sigma=sigma)
                    for p, pol in enumerate(POLARITIES)}
            peaks = {pol: _relative_peak(r_pre[m, p], r_flash[m, p]) for p, pol in enumerate(POLARITIES)}
            mcy[m], mcx[m] = rf_centres(_preferred(maps, peaks))
    ds["model_center_y"] = (("model", "neuron"), mcy, {"units": PIXEL})
    ds["model_center_x"] = (("model", "neuron"), mcx, {"units": PIXEL})


def _add_fits(ds, preferred, responsive, strength, fit, fit_max):
    """Gaussian fits of the preferred maps of responsive neurons, strongest first (at most ``fit_max``)."""
    n = preferred.shape[0]
    fits = {k: np.full(n, np.nan) for k in _FIT_KEYS}
    success, fitted = np.zeros(n, bool), np.zeros(n, bool)
    if fit:
        order = np.flatnonzero(responsive)
        order = order[np.argsort(-strength[order], kind="stable")][:fit_max]
        if len(order):
            result = fit_gaussians(preferred[order])
            for k in _FIT_KEYS:
                fits[k][order] = result[k]
            success[order] = result["success"]
            fitted[order] = True
    for k in _FIT_KEYS:
        ds[f"fit_{k}"] = ("neuron", fits[k], {"units": PIXEL if k.startswith(("center", "sigma")) else "1"})
    ds["fit_success"] = ("neuron", success)
    ds["fitted"] = ("neuron", fitted, {"long_name": "a 2-D Gaussian was fitted to the preferred map (responsive, "
                                                    "within fit_max)"})
    return fitted


def _add_population(ds, maps):
    """Population RFs (nan-mean of the neurons' maps) and their ON - OFF / ON + OFF combinations (y, x)."""
    pop_on, pop_off = population_rf(maps["on"]), population_rf(maps["off"])
    combos = on_off_maps(pop_on, pop_off)
    for name, values in (("population_rf_on", pop_on), ("population_rf_off", pop_off),
                         ("on_minus_off", combos["on_minus_off"]), ("on_plus_off", combos["on_plus_off"])):
        ds[name] = (("y", "x"), values, {"units": DIMENSIONLESS, "long_name": name.replace("_", " ") + " (nan-mean of the neurons' maps)"})


def compare_to_truth(ds, truth):
    """Add the true RF centres and cell types (an encoder's ``properties()``, e.g. the synthetic mouse's).

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`receptive_fields` (center_y, center_x, responsive over ``neuron``).
    truth : xarray.Dataset
        Over ``neuron`` (the same neurons) with center_y, center_x (pixel) and optionally cell_type.

    Returns
    -------
    xarray.Dataset
        A copy of ``ds`` with true_center_y, true_center_x (pixel), true_cell_type, center_error (neuron,
        Euclidean distance in pixels of the preferred-map centre to the true centre) and attrs
        centre_error_median (pixel), within_1px_fraction (over responsive neurons).
    """
    if truth.sizes.get("neuron") != ds.sizes["neuron"]:
        raise DnemkitError(f"the ground truth has {truth.sizes.get('neuron')} neurons; the encoder predicts "
                           f"{ds.sizes['neuron']}; expected the same neurons")
    ds = ds.copy()
    ds["true_center_y"] = ("neuron", np.asarray(truth["center_y"].values, np.float64), {"units": PIXEL})
    ds["true_center_x"] = ("neuron", np.asarray(truth["center_x"].values, np.float64), {"units": PIXEL})
    if "cell_type" in truth:
        ds["true_cell_type"] = ("neuron", np.asarray(truth["cell_type"].values).astype(str))
    err = np.hypot(ds["center_y"].values - ds["true_center_y"].values,
                   ds["center_x"].values - ds["true_center_x"].values)
    ds["center_error"] = ("neuron", err)
    ds["center_error"].attrs.update(units=PIXEL, long_name="distance of the RF centre to the true centre")
    ok = ds["responsive"].values
    if ok.any():
        ds.attrs.update(centre_error_median=float(np.median(err[ok])),
                        within_1px_fraction=float(np.mean(err[ok] <= 1.0)))
    return ds
