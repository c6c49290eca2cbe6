"""Drifting-grating tuning measures per neuron (AllenSDK-style), from mean responses over a grating grid.

Pure numpy / xarray / scipy: nothing here runs an encoder (see :mod:`dnemkit.experiments.tuning` for that).
One module of about 530 lines, on purpose: the measures share their conventions (below) and one fit, and read
best side by side as AllenSDK's do.

Inputs
------
``responses``: xr.DataArray, dims (neuron, sf, tf, direction), coordinates ``sf`` in cycles/degree, ``tf`` in Hz
and ``direction`` in degrees (the convention of :func:`dnemkit.stimuli.gratings.drifting_grating`: 0 = drifting
rightwards, 90 = upwards); values are mean responses (counts/frame) over the analysed frames.
``baseline``: (neuron,) the response to uniform grey, same units.

Conventions
-----------
- R = responses - baseline, clipped at 0 ("baseline-subtracted, rectified"), is what every selectivity index and
  fit below uses: a suppressed response counts as no response rather than a negative one.
- The preferred condition is the grid point (sf, tf, direction) of the largest mean response. The direction
  tuning curve is taken at the preferred sf and tf, the SF curve at the preferred tf and direction, the TF curve
  at the preferred sf and direction.
- Orientation = direction mod 180: the axis of drift (the grating's wave vector), so a preferred orientation of
  0 means vertical bars drifting horizontally. It equals the synthetic mouse's ``orientation_deg`` (the angle of
  its Gabors' wave vector, same screen convention).
- Responsive: peak response >= (1 + RESPONSIVE_RELATIVE) x baseline AND peak - baseline >= RESPONSIVE_ABSOLUTE
  counts/frame (predicted responses are noise-free, so a relative and an absolute margin replace the trial
  statistics AllenSDK uses).
"""

import math
import warnings

import numpy as np
import xarray as xr
from scipy.optimize import OptimizeWarning, curve_fit

from ..errors import DnemkitError

__all__ = ["RESPONSIVE_RELATIVE", "RESPONSIVE_ABSOLUTE", "FPS", "rectified", "preferred_indices",
           "tuning_curves", "global_osi", "global_dsi", "peak_osi", "peak_dsi", "vector_sum_angles",
           "log_gaussian", "fit_log_gaussian", "fit_log_gaussians", "fourier_components", "f1_f0",
           "f1_f0_from_components", "responsive_neurons", "tuning_measures", "orientation_error",
           "population_summary", "pick_examples"]

#: responsive: the peak exceeds the grey baseline by at least 20 % of it ...
RESPONSIVE_RELATIVE = 0.2
#: ... and by at least this many counts/frame (rates of the synthetic mouse and the demo are ~0.1-3 counts/frame)
RESPONSIVE_ABSOLUTE = 0.02
FPS = 30.0  #: frames per second of every dnemkit movie
#: a log-Gaussian peak further than this (octaves) outside the sampled frequencies is an extrapolation: NaN
FIT_MARGIN_OCTAVES = 1.0
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
DIMS = ("neuron", "sf", "tf", "direction")


# ----------------------------------------------------------------------------------------------------------------
# basics
# ----------------------------------------------------------------------------------------------------------------
def rectified(values, *, baseline=None):
    """``values - baseline`` clipped at 0.

    Parameters
    ----------
    values : array_like, shape (..., K)
        Responses, counts/frame.
    baseline : array_like, optional
        Broadcastable to ``values[..., 0]`` (one value per curve), counts/frame; default None (0).

    Returns
    -------
    ndarray, float64, shape (..., K)
        Rectified responses R >= 0, counts/frame.
    """
    values = np.asarray(values, np.float64)
    if baseline is not None:
        values = values - np.asarray(baseline, np.float64)[..., None]
    return np.clip(values, 0.0, None)


def _check_responses(responses):
    if not isinstance(responses, xr.DataArray):
        raise DnemkitError(f"responses is a {type(responses).__name__}; expected an xarray DataArray with dims "
                           f"{DIMS}")
    if set(responses.dims) != set(DIMS):
        raise DnemkitError(f"responses has dims {responses.dims}; expected {DIMS}")
    if any(responses.sizes[d] < 1 for d in DIMS):
        raise DnemkitError(f"responses has an empty dim ({dict(responses.sizes)}); expected a full grid")
    return responses.transpose(*DIMS)


def preferred_indices(responses):
    """Grid indices of each neuron's largest mean response.

    Parameters
    ----------
    responses : xarray.DataArray or array_like, shape (neuron, sf, tf, direction)
        Mean responses, counts/frame; NaN conditions are ignored.

    Returns
    -------
    i_sf, i_tf, i_direction : ndarray of int, shape (neuron,)
        Grid indices of the largest response (a neuron without any finite response gets 0, 0, 0).
    """
    r = np.asarray(responses.transpose(*DIMS).values if isinstance(responses, xr.DataArray) else responses,
                   np.float64)
    flat = np.where(np.isfinite(r), r, -np.inf).reshape(r.shape[0], -1)
    return np.unravel_index(flat.argmax(axis=1), r.shape[1:])


def tuning_curves(responses):
    """Direction, SF and TF tuning curves through each neuron's preferred condition.

    Parameters
    ----------
    responses : xarray.DataArray, dims (neuron, sf, tf, direction)
        Mean responses, counts/frame, with coordinates sf (cycles/degree), tf (Hz), direction (degree).

    Returns
    -------
    xarray.Dataset
        direction_tuning (neuron, direction) at the preferred sf and tf; sf_tuning (neuron, sf) at the preferred
        tf and direction; tf_tuning (neuron, tf) at the preferred sf and direction (all raw mean responses,
        counts/frame); pref_sf_index, pref_tf_index, pref_direction_index (neuron, int).
    """
    responses = _check_responses(responses)
    r = np.asarray(responses.values, np.float64)
    i_sf, i_tf, i_dir = preferred_indices(r)
    n = np.arange(r.shape[0])
    ds = xr.Dataset(coords={k: responses[k] for k in DIMS if k in responses.coords})
    ds["direction_tuning"] = (("neuron", "direction"), r[n, i_sf, i_tf, :])
    ds["sf_tuning"] = (("neuron", "sf"), r[n, :, i_tf, i_dir])
    ds["tf_tuning"] = (("neuron", "tf"), r[n, i_sf, :, i_dir])
    for name, where in (("direction_tuning", "preferred sf and tf"), ("sf_tuning", "preferred tf and direction"),
                        ("tf_tuning", "preferred sf and direction")):
        ds[name].attrs.update(units=responses.attrs.get("units", "counts/frame"),
                              long_name=f"mean response at the {where}")
    ds["pref_sf_index"] = ("neuron", i_sf.astype(np.int64))
    ds["pref_tf_index"] = ("neuron", i_tf.astype(np.int64))
    ds["pref_direction_index"] = ("neuron", i_dir.astype(np.int64))
    return ds


# ----------------------------------------------------------------------------------------------------------------
# selectivity indices
# ----------------------------------------------------------------------------------------------------------------
def _vector_sum(curve, directions_deg, harmonic, baseline):
    r = rectified(curve, baseline=baseline)
    theta = np.deg2rad(np.asarray(directions_deg, np.float64))
    if theta.shape[-1:] != r.shape[-1:]:
        raise DnemkitError(f"{theta.shape[-1]} directions for tuning curves of {r.shape[-1]} points; expected "
                           "one direction per point")
    return (r * np.exp(1j * harmonic * theta)).sum(-1), r.sum(-1)


def global_osi(curve, directions_deg, *, baseline=None):
    """Global (vector-sum) orientation selectivity: gOSI = |sum R(theta) exp(2 i theta)| / sum R(theta).

    R = curve - baseline clipped at 0. 0 = untuned, 1 = responds at one orientation only (both directions of
    it). Directions should sample the circle evenly, otherwise an untuned cell gets gOSI > 0.

    Parameters
    ----------
    curve : array_like, shape (..., direction)
        Mean responses, counts/frame.
    directions_deg : array_like, shape (direction,)
        The directions, degree.
    baseline : array_like, shape (...), optional
        Subtracted before rectification, counts/frame (default None: 0).

    Returns
    -------
    ndarray, float64, shape (...)
        gOSI in [0, 1] (dimensionless); NaN where sum R = 0.
    """
    s, total = _vector_sum(curve, directions_deg, 2, baseline)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.abs(s) / np.where(total > 0, total, 1.0), np.nan)


def global_dsi(curve, directions_deg, *, baseline=None):
    """Global (vector-sum) direction selectivity: gDSI = |sum R(theta) exp(i theta)| / sum R(theta).

    Same arguments and conventions as :func:`global_osi`. 0 = equal responses to opposite directions, 1 = one
    direction only.

    Parameters
    ----------
    curve : array_like, shape (..., direction)
        Mean responses, counts/frame.
    directions_deg : array_like, shape (direction,)
        The directions, degree.
    baseline : array_like, shape (...), optional
        Subtracted before rectification, counts/frame (default None: 0).

    Returns
    -------
    ndarray, float64, shape (...)
        gDSI in [0, 1] (dimensionless); NaN where sum R = 0.
    """
    s, total = _vector_sum(curve, directions_deg, 1, baseline)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.abs(s) / np.where(total > 0, total, 1.0), np.nan)


def vector_sum_angles(curve, directions_deg, *, baseline=None):
    """(direction, orientation) in degrees of the vector sums: arg(sum R e^{i theta}) in [0, 360) and
    arg(sum R e^{2 i theta}) / 2 in [0, 180). Continuous estimates between grid directions; NaN where sum R = 0.

    Parameters
    ----------
    curve : array_like, shape (..., direction)
        Mean responses, counts/frame.
    directions_deg : array_like, shape (direction,)
        The directions, degree.
    baseline : array_like, shape (...), optional
        Subtracted before rectification, counts/frame (default None: 0).

    Returns
    -------
    direction, orientation : ndarray, float64, shape (...)
        Degree; NaN where sum R = 0.
    """
    s1, total = _vector_sum(curve, directions_deg, 1, baseline)
    s2, _ = _vector_sum(curve, directions_deg, 2, baseline)
    direction = np.where(total > 0, np.rad2deg(np.angle(s1)) % 360.0, np.nan)
    orientation = np.where(total > 0, (np.rad2deg(np.angle(s2)) / 2.0) % 180.0, np.nan)
    return direction, orientation


def _circular_interp(curve, directions_deg, at_deg):
    """curve (N, D) sampled at directions (D,) -> (N,) values at ``at_deg`` (N,), linear on the circle."""
    d = np.asarray(directions_deg, np.float64) % 360.0
    order = np.argsort(d)
    d, c = d[order], np.asarray(curve, np.float64)[:, order]
    # wrap one sample on each side so every angle lies between two samples
    dd = np.concatenate([d[-1:] - 360.0, d, d[:1] + 360.0])
    cc = np.concatenate([c[:, -1:], c, c[:, :1]], axis=1)
    at = np.asarray(at_deg, np.float64) % 360.0
    return np.array([np.interp(a, dd, row) for a, row in zip(at, cc)])


def _peak_index(pref_rest, other):
    with np.errstate(invalid="ignore", divide="ignore"):
        total = pref_rest + other
        return np.where(total > 0, (pref_rest - other) / np.where(total > 0, total, 1.0), np.nan)


def peak_osi(curve, directions_deg, *, baseline=None):
    """AllenSDK-style orientation selectivity: OSI = (R_pref - R_orth) / (R_pref + R_orth).

    R = curve - baseline clipped at 0; R_pref at the curve's maximum, R_orth the mean of R at pref + 90 and
    pref - 90 (interpolated linearly around the circle when the grid lacks them).

    Parameters
    ----------
    curve : array_like, shape (N, direction)
        Mean responses, counts/frame (one curve (direction,) is read as N = 1).
    directions_deg : array_like, shape (direction,)
        The directions, degree.
    baseline : array_like, shape (N,), optional
        Subtracted before rectification, counts/frame (default None: 0).

    Returns
    -------
    ndarray, float64, shape (N,)
        OSI in [0, 1] (dimensionless); NaN where R_pref + R_orth = 0.
    """
    r = rectified(np.atleast_2d(curve), baseline=baseline)
    d = np.asarray(directions_deg, np.float64)
    i = r.argmax(axis=1)
    pref = r[np.arange(len(r)), i]
    orth = 0.5 * (_circular_interp(r, d, d[i] + 90.0) + _circular_interp(r, d, d[i] - 90.0))
    return _peak_index(pref, orth)


def peak_dsi(curve, directions_deg, *, baseline=None):
    """AllenSDK-style direction selectivity: DSI = (R_pref - R_null) / (R_pref + R_null), R_null at pref + 180.

    Same arguments and conventions as :func:`peak_osi`.

    Parameters
    ----------
    curve : array_like, shape (N, direction)
        Mean responses, counts/frame (one curve (direction,) is read as N = 1).
    directions_deg : array_like, shape (direction,)
        The directions, degree.
    baseline : array_like, shape (N,), optional
        Subtracted before rectification, counts/frame (default None: 0).

    Returns
    -------
    ndarray, float64, shape (N,)
        DSI in [0, 1] (dimensionless); NaN where R_pref + R_null = 0.
    """
    r = rectified(np.atleast_2d(curve), baseline=baseline)
    d = np.asarray(directions_deg, np.float64)
    i = r.argmax(axis=1)
    pref = r[np.arange(len(r)), i]
    null = _circular_interp(r, d, d[i] + 180.0)
    return _peak_index(pref, null)


# ----------------------------------------------------------------------------------------------------------------
# SF / TF fits
# ----------------------------------------------------------------------------------------------------------------
def log_gaussian(log2_f, amplitude, mu, sigma):
    """amplitude * exp(-(log2 f - mu)^2 / (2 sigma^2)): a Gaussian on a log2-frequency axis (octaves).

    The model :func:`fit_log_gaussian` hands to ``scipy.optimize.curve_fit``, so its parameters stay positional.

    Parameters
    ----------
    log2_f : array_like
        log2 of the frequencies (octave).
    amplitude : float
        The peak height, in the unit of the curve.
    mu : float
        The peak's position, octave (log2 of the preferred frequency).
    sigma : float
        The width, octave.

    Returns
    -------
    ndarray, float64, the shape of ``log2_f``
    """
    return amplitude * np.exp(-0.5 * ((log2_f - mu) / sigma) ** 2)


def fit_log_gaussian(freqs, curve, *, baseline=0.0):
    """Fit a log-Gaussian to one SF or TF tuning curve with scipy.optimize.curve_fit.

    Frequencies <= 0 (TF = 0, a static grating) have no place on a log axis and are left out. All results are
    NaN when fewer than 3 positive frequencies remain, R is 0 everywhere, the fit fails, or its peak lies more
    than FIT_MARGIN_OCTAVES outside the sampled range (an extrapolation).

    The fitted peak summarises the whole curve: for a curve with a heavy tail on one side (e.g. a low-pass TF
    curve) it lies towards that tail from the grid peak.

    Parameters
    ----------
    freqs : array_like, shape (K,)
        Frequencies (cycles/degree or Hz).
    curve : array_like, shape (K,)
        Mean responses, counts/frame.
    baseline : float, optional
        Subtracted first (R = curve - baseline clipped at 0), counts/frame (default 0).

    Returns
    -------
    preferred : float
        The preferred frequency 2**mu, in the units of ``freqs``.
    bandwidth : float
        Full width at half maximum, octave.
    amplitude : float
        Height of the fitted curve above the baseline, in the units of ``curve``.
    """
    f = np.asarray(freqs, np.float64)
    r = rectified(np.asarray(curve, np.float64)[None], baseline=np.asarray([baseline]))[0]
    keep = (f > 0) & np.isfinite(r)
    x, y = np.log2(f[keep]), r[keep]
    failed = (float("nan"),) * 3
    if x.size < 3 or not (y.max(initial=0.0) > 0):
        return failed
    scale = y.max()
    p0 = (1.0, x[y.argmax()], 1.0)
    try:
        with warnings.catch_warnings():
            # 3 points fit 3 parameters exactly: scipy cannot estimate a covariance, which is not needed here
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            (amp, mu, sigma), _ = curve_fit(log_gaussian, x, y / scale, p0=p0, maxfev=2000)
    except (RuntimeError, ValueError, FloatingPointError):
        return failed
    sigma = abs(sigma)
    ok = (np.isfinite([amp, mu, sigma]).all() and amp > 0 and sigma > 0
          and x.min() - FIT_MARGIN_OCTAVES <= mu <= x.max() + FIT_MARGIN_OCTAVES)
    if not ok:
        return failed
    return float(2.0 ** mu), float(FWHM_PER_SIGMA * sigma), float(amp * scale)


def fit_log_gaussians(freqs, curves, *, baseline=None, mask=None):
    """:func:`fit_log_gaussian` for every row of ``curves``.

    Parameters
    ----------
    freqs : array_like, shape (K,)
        Frequencies (cycles/degree or Hz).
    curves : array_like, shape (N, K)
        Mean responses, counts/frame.
    baseline : array_like, shape (N,), optional
        One baseline per curve, counts/frame (default None: 0).
    mask : array_like of bool, shape (N,), optional
        Fit only these rows (others NaN); default None: all.

    Returns
    -------
    preferred, bandwidth, amplitude : ndarray, float64, shape (N,)
        In the units of ``freqs``, octave, and counts/frame (see :func:`fit_log_gaussian`).
    """
    curves = np.atleast_2d(np.asarray(curves, np.float64))
    n = curves.shape[0]
    base = np.zeros(n) if baseline is None else np.broadcast_to(np.asarray(baseline, np.float64), (n,))
    pref, bw, amp = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    rows = range(n) if mask is None else np.flatnonzero(mask)
    for i in rows:
        pref[i], bw[i], amp[i] = fit_log_gaussian(freqs, curves[i], baseline=base[i])
    return pref, bw, amp


# ----------------------------------------------------------------------------------------------------------------
# F1 / F0
# ----------------------------------------------------------------------------------------------------------------
def fourier_components(trace, tf_hz, *, fps=FPS, first_frame=0):
    """Mean and first-harmonic components of per-frame responses at a grating's temporal frequency.

    Frame k of the trace is at time (first_frame + k) / fps seconds. The response is fitted by least squares
    with trace ~ c + a cos(w t) + b sin(w t), w = 2 pi tf. With a whole number of cycles in the window (the default grids) c is exactly the mean over the
    frames and (a, b) the DFT at tf; with a fractional number, c is the mean without the bias of the partial
    cycle, and the harmonic is still free of leakage from the mean.
    All three results are linear in the trace, so the components of a mean of traces (models) are the means of
    their components.

    Parameters
    ----------
    trace : array_like, shape (..., T)
        Per-frame responses, counts/frame.
    tf_hz : float
        The grating's temporal frequency, Hz.
    fps : float, optional
        Frame rate, Hz (default :data:`FPS`, 30).
    first_frame : int, optional
        The index of the trace's first frame in the stimulus (sets the phase; default 0).

    Returns
    -------
    mean, a, b : ndarray, float64, shape (...)
        c (the plain mean for tf = 0) and the cosine and sine coefficients, counts/frame; the F1 amplitude is
        hypot(a, b). a and b are NaN for tf = 0 or fewer than 3 frames.
    """
    trace = np.asarray(trace, np.float64)
    t = (first_frame + np.arange(trace.shape[-1])) / float(fps)
    if not tf_hz > 0 or trace.shape[-1] < 3:
        mean = trace.mean(-1)
        nan = np.full(mean.shape, np.nan)
        return mean, nan, nan.copy()
    w = 2.0 * np.pi * float(tf_hz) * t
    design = np.stack([np.ones_like(t), np.cos(w), np.sin(w)], axis=1)  # (T, 3)
    # one pseudo-inverse for every trace: far cheaper than a least-squares solve per call with many right-hand sides
    coef = trace @ np.linalg.pinv(design).T  # (..., 3)
    return coef[..., 0], coef[..., 1], coef[..., 2]


def f1_f0_from_components(mean, a, b, baseline):
    """F1/F0 = hypot(a, b) / (mean - baseline): the first-harmonic amplitude over the baseline-subtracted mean.

    Parameters
    ----------
    mean, a, b : array_like
        As returned by :func:`fourier_components`, counts/frame.
    baseline : array_like
        Broadcastable to ``mean``, counts/frame.

    Returns
    -------
    ndarray, float64
        F1/F0 (dimensionless); NaN where mean - baseline <= 0 (no net response: the ratio is meaningless) or
        where a, b are NaN.
    """
    f0 = np.asarray(mean, np.float64) - np.asarray(baseline, np.float64)
    f1 = np.hypot(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(f0 > 0, f1 / np.where(f0 > 0, f0, 1.0), np.nan)


def f1_f0(trace, tf_hz, *, baseline=0.0, fps=FPS, first_frame=0):
    """F1/F0 of per-frame responses (..., T) to a grating of ``tf_hz``: F1 = amplitude of the response's
    Fourier component at tf (see :func:`fourier_components`), F0 = mean - baseline. A half-wave-rectified
    sinusoid gives pi/2, a sinusoid that touches the baseline (1 + cos) gives 1, a constant gives 0. F1/F0 > 1:
    simple (linear, phase-following), < 1: complex (phase-invariant) - Skottun et al. 1991.

    Parameters
    ----------
    trace : array_like, shape (..., T)
        Per-frame responses, counts/frame.
    tf_hz : float
        The grating's temporal frequency, Hz.
    baseline : array_like, optional
        Broadcastable to ``trace[..., 0]``, counts/frame (default 0).
    fps : float, optional
        Frame rate, Hz (default 30).
    first_frame : int, optional
        The index of the trace's first frame in the stimulus (default 0).

    Returns
    -------
    ndarray, float64, shape (...)
        F1/F0 (dimensionless); NaN for tf = 0, fewer than 3 frames, or no response above the baseline.
    """
    mean, a, b = fourier_components(trace, tf_hz, fps=fps, first_frame=first_frame)
    return f1_f0_from_components(mean, a, b, baseline)


# ----------------------------------------------------------------------------------------------------------------
# everything
# ----------------------------------------------------------------------------------------------------------------
def responsive_neurons(peak, baseline, *, relative=RESPONSIVE_RELATIVE, absolute=RESPONSIVE_ABSOLUTE):
    """(neuron,) bool: peak >= (1 + relative) * baseline and peak - baseline >= absolute (counts/frame).

    Parameters
    ----------
    peak : array_like, shape (neuron,)
        Peak mean response, counts/frame.
    baseline : array_like, shape (neuron,)
        Response to uniform grey, counts/frame.
    relative : float, optional
        Relative margin (dimensionless; default :data:`RESPONSIVE_RELATIVE`, 0.2).
    absolute : float, optional
        Absolute margin, counts/frame (default :data:`RESPONSIVE_ABSOLUTE`, 0.02).

    Returns
    -------
    ndarray of bool, shape (neuron,)
    """
    peak, baseline = np.asarray(peak, np.float64), np.asarray(baseline, np.float64)
    with np.errstate(invalid="ignore"):
        return (peak >= (1.0 + relative) * baseline) & (peak - baseline >= absolute)


def _circ_diff(a, b, period):
    return np.abs((np.asarray(a) - np.asarray(b) + period / 2.0) % period - period / 2.0)


def tuning_measures(responses, baseline, *, f1_cos=None, f1_sin=None, relative=RESPONSIVE_RELATIVE,
                    absolute=RESPONSIVE_ABSOLUTE, fit=True):
    """Every per-neuron tuning measure of a grating grid.

    Parameters
    ----------
    responses : xarray.DataArray, dims (neuron, sf, tf, direction)
        Mean responses, counts/frame, with coordinates sf (cycles/degree), tf (Hz), direction (degree); at least
        4 directions.
    baseline : array_like, shape (neuron,)
        Response to uniform grey, counts/frame.
    f1_cos, f1_sin : xarray.DataArray, optional
        Like ``responses``: the cosine / sine coefficients of each condition's response at its tf
        (:func:`fourier_components`), counts/frame; without them F1/F0 is NaN.
    relative, absolute : float, optional
        The responsive criterion (:func:`responsive_neurons`; dimensionless, counts/frame).
    fit : bool, optional
        Fit log-Gaussians to the SF and TF curves of responsive neurons (default True).

    Returns
    -------
    xarray.Dataset
        Over ``neuron`` (plus the curves of :func:`tuning_curves`):
        peak_response, baseline (counts/frame); responsive (bool); preferred_direction (deg, grid);
        preferred_orientation (deg, direction mod 180); vector_direction, vector_orientation (deg, vector-sum
        angles); osi, dsi (peak definitions), gosi, gdsi (global definitions); preferred_sf (cpd, grid) and
        preferred_tf (Hz, grid); preferred_sf_fit (cpd), sf_bandwidth (octaves), sf_fit_amplitude, preferred_tf_fit
        (Hz), tf_bandwidth (octaves), tf_fit_amplitude (log-Gaussian fits of responsive neurons, NaN when not fitted
        or failed); f1, f0 (counts/frame), f1_f0 at the preferred drifting condition (the largest response among
        tf > 0; F1/F0 is undefined for a static grating); f1_f0_sf (cpd), f1_f0_tf (Hz), f1_f0_direction (deg): that
        condition; cell_class ('simple' where F1/F0 > 1, 'complex' where <= 1, '' where unresponsive or undefined).
        attrs: responsive_relative, responsive_absolute, responsive_criterion, n_responsive.
    """
    responses = _check_responses(responses)
    r, base = _checked_grid(responses, baseline)
    n = r.shape[0]
    sf, tf, directions = (np.asarray(responses[k].values, np.float64) for k in ("sf", "tf", "direction"))

    ds = tuning_curves(responses)
    i_sf, i_tf, i_dir = (ds[k].values for k in ("pref_sf_index", "pref_tf_index", "pref_direction_index"))
    peak = r[np.arange(n), i_sf, i_tf, i_dir]
    ok = responsive_neurons(peak, base, relative=relative, absolute=absolute)
    units = responses.attrs.get("units", "counts/frame")
    _put(ds, "peak_response", peak, units, "largest mean response over the grid")
    _put(ds, "baseline", base, units, "mean response to uniform grey")
    ds["responsive"] = ("neuron", ok)
    ds["responsive"].attrs["long_name"] = (f"peak >= (1 + {relative:g}) x baseline and peak - baseline >= "
                                           f"{absolute:g} {units}")
    _add_direction_measures(ds, directions, i_dir, base)
    _add_frequency_measures(ds, sf, tf, i_sf, i_tf, base, ok, fit, units)
    ratio = _add_f1_f0(ds, r, base, sf, tf, directions, f1_cos, f1_sin, units)
    cls = np.where(~ok | ~np.isfinite(ratio), "", np.where(ratio > 1.0, "simple", "complex"))
    ds["cell_class"] = ("neuron", cls.astype(str))
    ds["cell_class"].attrs["long_name"] = "simple (F1/F0 > 1) or complex (F1/F0 <= 1); '' unresponsive/undefined"
    ds.attrs.update(responsive_relative=float(relative), responsive_absolute=float(absolute),
                    responsive_criterion=f"peak response >= (1 + {relative:g}) x grey baseline and peak - baseline "
                                         f">= {absolute:g} {units}",
                    n_responsive=int(ok.sum()))
    return ds


def _put(ds, name, values, unit, long_name, dims="neuron"):
    ds[name] = (dims, values)
    ds[name].attrs.update(units=unit, long_name=long_name)


def _checked_grid(responses, baseline):
    """The checked grid's responses (neuron, sf, tf, direction) and baseline (neuron,) as float64 arrays.

    Raises DnemkitError for a baseline of another length or a grid of fewer than 4 directions.
    """
    r = np.asarray(responses.values, np.float64)
    base = np.asarray(baseline, np.float64).reshape(-1)
    n = r.shape[0]
    if base.shape != (n,):
        raise DnemkitError(f"baseline has {base.size} values; expected one per neuron ({n})")
    directions = np.asarray(responses["direction"].values, np.float64)
    if directions.size < 4:
        raise DnemkitError(f"the grid has {directions.size} directions; expected at least 4 (OSI and DSI need the "
                           "orthogonal and opposite directions)")
    return r, base


def _add_direction_measures(ds, directions, i_dir, base):
    """Add the direction and orientation measures of ``ds["direction_tuning"]`` (neuron, direction) to ``ds``.

    directions: the grid's (degree); i_dir: (neuron,) index of each neuron's preferred grid direction;
    base: (neuron,) grey baseline, subtracted (and the rest clipped at 0) by the selectivity indices.
    """
    dcurve = ds["direction_tuning"].values
    pref_dir = directions[i_dir] % 360.0
    _put(ds, "preferred_direction", pref_dir, "degree", "drift direction of the largest response at the preferred "
         "sf and tf (0 = rightwards, 90 = upwards; a tie, as for DSI = 0, goes to the first grid direction)")
    _put(ds, "preferred_orientation", pref_dir % 180.0, "degree", "preferred direction mod 180 (axis of drift)")
    vdir, vori = vector_sum_angles(dcurve, directions, baseline=base)
    _put(ds, "vector_direction", vdir, "degree", "angle of sum R(theta) exp(i theta), R = response - baseline >= 0")
    _put(ds, "vector_orientation", vori, "degree", "angle of sum R(theta) exp(2 i theta) / 2")
    _put(ds, "osi", peak_osi(dcurve, directions, baseline=base), "1", "(R_pref - R_orth) / (R_pref + R_orth), R_orth = mean "
         "at pref +- 90 deg, R = response - baseline clipped at 0 (AllenSDK-style)")
    _put(ds, "dsi", peak_dsi(dcurve, directions, baseline=base), "1", "(R_pref - R_null) / (R_pref + R_null), R_null at pref "
         "+ 180 deg, R = response - baseline clipped at 0 (AllenSDK-style)")
    _put(ds, "gosi", global_osi(dcurve, directions, baseline=base), "1",
         "|sum R(theta) exp(2 i theta)| / sum R(theta), R = response - baseline clipped at 0 (global OSI)")
    _put(ds, "gdsi", global_dsi(dcurve, directions, baseline=base), "1",
         "|sum R(theta) exp(i theta)| / sum R(theta), R = response - baseline clipped at 0 (global DSI)")


def _add_frequency_measures(ds, sf, tf, i_sf, i_tf, base, ok, fit, units):
    """Add the preferred grid SF (cycles/degree) and TF (Hz) and, with ``fit``, the log-Gaussian fits of the
    ``ok`` (responsive) neurons' SF and TF curves to ``ds`` (NaN where not fitted)."""
    _put(ds, "preferred_sf", sf[i_sf], "cycles/degree", "spatial frequency of the largest response (grid)")
    _put(ds, "preferred_tf", tf[i_tf], "Hz", "temporal frequency of the largest response (grid)")
    nan = np.full(len(base), np.nan)
    for dim, freqs, unit in (("sf", sf, "cycles/degree"), ("tf", tf, "Hz")):
        pref, bw, amp = fit_log_gaussians(freqs, ds[f"{dim}_tuning"].values, baseline=base, mask=ok) if fit else (nan,) * 3
        only = " (tf > 0 only)" if dim == "tf" else ""
        _put(ds, f"preferred_{dim}_fit", pref, unit,
             f"peak of a log-Gaussian fit to the {dim.upper()} tuning curve{only} (responsive neurons)")
        _put(ds, f"{dim}_bandwidth", bw, "octave", f"full width at half maximum of the {dim.upper()} log-Gaussian "
             "fit")
        _put(ds, f"{dim}_fit_amplitude", amp, units, f"height of the {dim.upper()} log-Gaussian fit above the "
             "baseline")


def _add_f1_f0(ds, r, base, sf, tf, directions, f1_cos, f1_sin, units):
    """Add F1, F0 and F1/F0 at each neuron's preferred drifting condition (the largest response among tf > 0)
    and that condition to ``ds``; return F1/F0 (neuron,).

    r: (neuron, sf, tf, direction) mean responses; f1_cos, f1_sin: DataArrays like it, the Fourier coefficients
    at each condition's tf. Everything is NaN without them or without a drifting condition.
    """
    n = r.shape[0]
    idx = np.arange(n)
    f1, f0, ratio, f1_sf, f1_tf, f1_dir = (np.full(n, np.nan) for _ in range(6))
    drifting = tf > 0
    if f1_cos is not None and f1_sin is not None and drifting.any():
        a_all = np.asarray(_check_responses(f1_cos).values, np.float64)
        b_all = np.asarray(_check_responses(f1_sin).values, np.float64)
        rd = np.where(drifting[None, None, :, None], r, -np.inf)
        j_sf, j_tf, j_dir = preferred_indices(rd)
        a, b = a_all[idx, j_sf, j_tf, j_dir], b_all[idx, j_sf, j_tf, j_dir]
        f1 = np.hypot(a, b)
        f0 = r[idx, j_sf, j_tf, j_dir] - base
        ratio = f1_f0_from_components(r[idx, j_sf, j_tf, j_dir], a, b, base)
        f1_sf, f1_tf, f1_dir = sf[j_sf], tf[j_tf], directions[j_dir] % 360.0
    _put(ds, "f1", f1, units, "amplitude of the response's Fourier component at the grating's tf (preferred "
         "drifting condition)")
    _put(ds, "f0", f0, units, "mean response - baseline at the preferred drifting condition")
    _put(ds, "f1_f0", ratio, "1", "F1 / F0 at the preferred drifting condition (> 1: simple, <= 1: complex)")
    _put(ds, "f1_f0_sf", f1_sf, "cycles/degree", "spatial frequency of the condition F1/F0 is measured at")
    _put(ds, "f1_f0_tf", f1_tf, "Hz", "temporal frequency of the condition F1/F0 is measured at")
    _put(ds, "f1_f0_direction", f1_dir, "degree", "drift direction of the condition F1/F0 is measured at")
    return ratio


def orientation_error(found_deg, true_deg):
    """Absolute difference of two orientations (degrees, period 180), in [0, 90].

    Parameters
    ----------
    found_deg, true_deg : array_like, broadcastable
        Orientations, degree.

    Returns
    -------
    ndarray or float
        The difference, degree, in [0, 90].
    """
    return _circ_diff(found_deg, true_deg, 180.0)


def _grid_counts(values, grid):
    return {float(g): int(np.sum(np.isclose(values, g))) for g in np.asarray(grid, np.float64)}


def population_summary(ds):
    """Headline numbers of a tuning Dataset (from :func:`tuning_measures` or a tuning.nc) as a plain dict.

    Over responsive neurons: n_neurons, n_responsive; median osi, dsi, gosi, gdsi, f1_f0; n_simple, n_complex;
    preferred_sf_counts / preferred_tf_counts ({grid value: neurons}); median preferred_sf_fit (cpd),
    preferred_tf_fit (Hz) and n_sf_fit / n_tf_fit (successful fits).

    Parameters
    ----------
    ds : xarray.Dataset
        A tuning Dataset over ``neuron`` (responsive, cell_class, the indices, preferred_sf/tf and their fits).

    Returns
    -------
    dict
        The numbers above: ints, floats (medians in their variables' units: '1', cycles/degree, Hz), and dicts
        {grid value: int}.
    """
    ok = np.asarray(ds["responsive"].values).astype(bool)
    cls = np.asarray(ds["cell_class"].values).astype(str)

    def med(name):
        v = np.asarray(ds[name].values, np.float64)[ok]
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else float("nan")

    out = {"n_neurons": int(ok.size), "n_responsive": int(ok.sum())}
    for name in ("osi", "dsi", "gosi", "gdsi", "f1_f0", "preferred_sf_fit", "preferred_tf_fit"):
        out[f"median_{name}"] = med(name)
    out["n_simple"] = int(np.sum(ok & (cls == "simple")))
    out["n_complex"] = int(np.sum(ok & (cls == "complex")))
    out["preferred_sf_counts"] = _grid_counts(np.asarray(ds["preferred_sf"].values)[ok], ds["sf"].values)
    out["preferred_tf_counts"] = _grid_counts(np.asarray(ds["preferred_tf"].values)[ok], ds["tf"].values)
    out["n_sf_fit"] = int(np.isfinite(np.asarray(ds["preferred_sf_fit"].values)[ok]).sum())
    out["n_tf_fit"] = int(np.isfinite(np.asarray(ds["preferred_tf_fit"].values)[ok]).sum())
    return out


def pick_examples(ds, *, n=6):
    """Indices of up to ``n`` responsive example neurons of a tuning Dataset, simple and complex alternately.

    Within a class the picks are spread evenly over the stronger half of its neurons (by peak - baseline): the
    very strongest alone would all share the lowest SF (the largest receptive fields).

    Parameters
    ----------
    ds : xarray.Dataset
        A tuning Dataset (responsive, cell_class, peak_response, baseline over ``neuron``).
    n : int, optional
        The most examples (default 6).

    Returns
    -------
    list of int
        Neuron indices (positions along ``neuron``).
    """
    ok = np.asarray(ds["responsive"].values).astype(bool)
    cls = np.asarray(ds["cell_class"].values).astype(str)
    strength = np.asarray(ds["peak_response"].values, np.float64) - np.asarray(ds["baseline"].values, np.float64)
    per_class = []
    for c in ("simple", "complex", ""):
        idx = np.flatnonzero(ok & (cls == c))
        idx = idx[np.argsort(-strength[idx], kind="stable")][: max(1, (len(idx) + 1) // 2)]
        k = min(len(idx), n)
        per_class.append(list(idx[np.unique(np.linspace(0, len(idx) - 1, k).round().astype(int))]) if k else [])
    picks = []
    for k in range(n):
        for group in per_class:
            if k < len(group) and len(picks) < n:
                picks.append(int(group[k]))
    return picks
