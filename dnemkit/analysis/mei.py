"""Descriptors of most exciting inputs (MEIs): centre, size, orientation, spatial frequency, polarity, and for
videos temporal frequency and drift direction. Pure numpy / scipy: nothing here runs an encoder
(:mod:`dnemkit.experiments.mei` makes the MEIs).

Conventions (docs/method.md, "MEI")
-----------------------------------
- Contrast ``c = (v - 127.5) / 127.5`` of a video ``v`` in grey levels; the contrast budget is the root mean
  square of ``c`` over every pixel (and frame) of the input, :func:`rms_contrast`.
- Orientation is the angle of the wave vector in the screen convention of the drifting gratings (u = x cos(d) -
  y sin(d); rows grow downwards), mod 180: the same as the tuning atlas' ``preferred_orientation`` and the
  synthetic mouse's ``orientation_deg``.
- Spatial frequency in cycles/pixel (x ``cyc_per_px_to_cpd`` for cycles/degree), temporal frequency in Hz,
  direction in degrees (0 = drifting rightwards, 90 = upwards), positions in pixels (row y, column x).
"""

import math

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter
from scipy.optimize import least_squares

from ..errors import DnemkitError
from ..stimuli.geometry import FPS, GREY

__all__ = ["contrast", "rms_contrast", "energy_centre", "fit_gabor", "image_descriptors", "video_motion",
           "mei_descriptors", "GABOR_KEYS"]

#: the Gabor fit's parameters, in the order of :func:`fit_gabor`'s result
GABOR_KEYS = ("amplitude", "center_y", "center_x", "sigma", "sf", "orientation", "phase")
#: radius (pixels) of the window around the energy centre inside which the Gabor is fitted
FIT_RADIUS = 10.0
#: energy map smoothing (pixels) for the centre estimate: merges a Gabor's lobes into one blob
ENERGY_SIGMA = 1.5


def contrast(video):
    """Contrast ``(v - 127.5) / 127.5`` of grey levels.

    Parameters
    ----------
    video : array_like, any shape
        Grey levels (0..255).

    Returns
    -------
    ndarray, float64, the input shape
        Contrast (dimensionless), in [-1, 1] for v in [0, 255].
    """
    return (np.asarray(video, np.float64) - GREY) / GREY


def rms_contrast(video, *, axes=None):
    """Root mean square contrast of ``video`` (grey levels) over ``axes`` (None = all): the MEI budget's
    measure. A full-field grating of Michelson contrast C has RMS contrast C / sqrt(2).

    Parameters
    ----------
    video : array_like, any shape, e.g. (T, 36, 64)
        Grey levels (0..255).
    axes : int or tuple of int, optional
        The axes averaged over (default None: all).

    Returns
    -------
    float or ndarray
        RMS of :func:`contrast` (dimensionless); the input shape without ``axes``.
    """
    return np.sqrt(np.mean(contrast(video) ** 2, axis=axes))


def energy_centre(image, *, sigma=ENERGY_SIGMA, radius=4.0):
    """(row, column) in pixels of an image's contrast energy: the maximum of ``c^2`` smoothed with a Gaussian of
    ``sigma`` px, refined to the energy-weighted centroid within ``radius`` px of it.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Contrast (dimensionless, :func:`contrast`).
    sigma : float, optional
        Smoothing of the energy map, pixel (default :data:`ENERGY_SIGMA`, 1.5).
    radius : float, optional
        Radius of the centroid's window around the maximum, pixel (default 4).

    Returns
    -------
    row, column : float
        The centre in pixels (row y, column x); (nan, nan) for a blank image.
    """
    img = np.asarray(image, np.float64)
    energy = gaussian_filter(img ** 2, sigma, mode="constant")
    y0, x0 = np.unravel_index(np.argmax(energy), energy.shape)
    yy, xx = np.mgrid[:img.shape[0], :img.shape[1]]
    near = (yy - y0) ** 2 + (xx - x0) ** 2 <= radius ** 2
    w = energy * near
    total = w.sum()
    if total <= 0:
        return float("nan"), float("nan")
    return float((w * yy).sum() / total), float((w * xx).sum() / total)


def _gabor(params, yy, xx):
    a, cy, cx, sigma, f, theta, phase = params
    y, x = yy - cy, xx - cx
    along = x * np.cos(theta) - y * np.sin(theta)
    return a * np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)) * np.cos(2 * np.pi * f * along + phase)


def _spectral_guess(img, window):
    """(sf cycles/pixel, orientation radians) of the largest non-DC peak of the windowed image's power."""
    h, w = img.shape
    n = 128
    power = np.abs(np.fft.fft2(img * window, s=(n, n))) ** 2
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.fftfreq(n)[None, :]
    radius = np.hypot(fy, fx)
    power = np.where(radius >= 1.5 / max(h, w), power, 0.0)  # away from DC: a blob's peak is not a carrier
    iy, ix = np.unravel_index(np.argmax(power), power.shape)
    return float(radius[iy, ix]), float(np.arctan2(-fy[iy, 0], fx[0, ix]))


def fit_gabor(image, *, centre=None, radius=FIT_RADIUS):
    """Least-squares fit of a Gabor ``a exp(-r^2 / 2 sigma^2) cos(2 pi sf u + phase)``, u = (x - cx) cos(theta) -
    (y - cy) sin(theta), to the pixels within ``radius`` px of ``centre``.

    Starts from the power spectrum's peak and from half and twice its frequency, at four phases; keeps the best.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Contrast (dimensionless).
    centre : (float, float), optional
        (row, column) in pixels: the start and the window's centre (default None: :func:`energy_centre`).
    radius : float, optional
        Radius of the fitted window, pixel (default :data:`FIT_RADIUS`, 10).

    Returns
    -------
    params : ndarray, float64, shape (7,)
        In :data:`GABOR_KEYS` order: amplitude (contrast, > 0), center_y, center_x (pixel), sigma (pixel), sf
        (cycles/pixel), orientation (degree, mod 180), phase (radian, in (-pi, pi]; 0 = bright centre); NaNs for
        a blank image.
    r2 : float
        Fraction of the windowed variance explained (dimensionless); nan for a blank image.
    """
    img = np.asarray(image, np.float64)
    if img.ndim != 2:
        raise DnemkitError(f"image has shape {img.shape}; expected (rows, columns)")
    nan = np.full(len(GABOR_KEYS), np.nan)
    if not np.any(img):
        return nan, float("nan")
    cy, cx = energy_centre(img) if centre is None else centre
    yy, xx = np.mgrid[:img.shape[0], :img.shape[1]].astype(np.float64)
    near = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
    window = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (radius / 2) ** 2))
    f0, theta0 = _spectral_guess(img, window)
    target, ys, xs = img[near], yy[near], xx[near]
    scale = float(np.abs(target).max())
    variance = float(np.sum((target - target.mean()) ** 2)) or 1.0
    lower = [0.0, cy - radius, cx - radius, 0.5, 0.005, -np.inf, -np.inf]
    upper = [4 * scale + 1e-9, cy + radius, cx + radius, radius, 0.5, np.inf, np.inf]
    best, best_cost = None, np.inf
    sigma0 = min(max(0.25 / max(f0, 1e-3), 1.0), radius / 2)
    for f in (f0, f0 / 2, 2 * f0):
        f = float(np.clip(f, 0.01, 0.49))
        for phase in (0.0, np.pi / 2, np.pi, -np.pi / 2):
            start = [scale, cy, cx, sigma0, f, theta0, phase]
            try:
                res = least_squares(lambda p: _gabor(p, ys, xs) - target, start, bounds=(lower, upper),
                                    x_scale="jac", max_nfev=200)
            except ValueError:
                continue
            if res.cost < best_cost:
                best, best_cost = res.x, res.cost
    if best is None:
        return nan, float("nan")
    a, y, x, sigma, f, theta, phase = best
    # one canonical form: orientation in [0, 180); flipping the wave vector by 180 deg negates the phase
    theta_deg = math.degrees(theta) % 360.0
    if theta_deg >= 180.0:
        theta_deg -= 180.0
        phase = -phase
    phase = (phase + np.pi) % (2 * np.pi) - np.pi
    return np.array([a, y, x, sigma, f, theta_deg, phase]), float(1.0 - 2 * best_cost / variance)


def image_descriptors(image):
    """Descriptors of one image MEI (H, W) contrast: a dict of floats (units in :func:`mei_descriptors`).

    center_y, center_x: the fitted Gabor's centre (the energy centre when the fit fails or leaves the window);
    size: sqrt of the energy-weighted mean squared distance from the centre within FIT_RADIUS px (pixel; the
    envelope sigma for a Gabor); orientation, sf, phase, sigma, gabor_r2: the Gabor fit; polarity: the sign of
    the MEI's contrast at its centre, smoothed with sigma 1 px (+1 bright, ON; -1 dark, OFF); polarity_index:
    that smoothed value over the image's largest |contrast|.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Contrast (dimensionless).

    Returns
    -------
    dict of str to float
        center_y, center_x, size, sigma (pixel), orientation (degree), sf (cycles/pixel), phase (radian),
        gabor_r2, polarity, polarity_index (dimensionless); all NaN for a blank image.
    """
    img = np.asarray(image, np.float64)
    ey, ex = energy_centre(img)
    out = dict(center_y=ey, center_x=ex, size=np.nan, orientation=np.nan, sf=np.nan, phase=np.nan, sigma=np.nan,
               gabor_r2=np.nan, polarity=np.nan, polarity_index=np.nan)
    if not np.isfinite(ey):
        return out
    params, r2 = fit_gabor(img, centre=(ey, ex))
    if np.all(np.isfinite(params)) and math.hypot(params[1] - ey, params[2] - ex) <= 3.0:
        out.update(center_y=float(params[1]), center_x=float(params[2]))
    cy, cx = out["center_y"], out["center_x"]
    out.update(orientation=float(params[5]), sf=float(params[4]), phase=float(params[6]), sigma=float(params[3]),
               gabor_r2=r2)
    yy, xx = np.mgrid[:img.shape[0], :img.shape[1]]
    d2 = (yy - cy) ** 2 + (xx - cx) ** 2
    energy = img ** 2 * (d2 <= FIT_RADIUS ** 2)
    if energy.sum() > 0:
        out["size"] = float(np.sqrt((energy * d2).sum() / energy.sum()))
    smooth = gaussian_filter(img, 1.0, mode="constant")
    iy, ix = int(np.clip(round(cy), 0, img.shape[0] - 1)), int(np.clip(round(cx), 0, img.shape[1] - 1))
    peak = float(np.abs(img).max())
    out["polarity"] = float(np.sign(smooth[iy, ix]))
    out["polarity_index"] = float(smooth[iy, ix] / peak) if peak > 0 else float("nan")
    return out


def video_motion(video, *, centre=None, radius=FIT_RADIUS, fps=FPS, n_fft=128):
    """Temporal frequency and drift direction of a video MEI from its space-time power spectrum.

    video: (T, H, W) contrast. The frames are windowed in space (a Gaussian of sigma radius / 2 around
    ``centre``, None = the energy centre of the frames' root-mean-square image) and in time (Hann), the mean
    frame is removed, and the largest peak of the zero-padded 3-D power spectrum gives (tf, ky, kx).

    Parameters
    ----------
    video : array_like, shape (T, H, W)
        Contrast (dimensionless); fewer than 4 frames or a blank video gives NaNs.
    centre : (float, float), optional
        (row, column) in pixels of the spatial window (default None: the energy centre).
    radius : float, optional
        The spatial window's sigma is radius / 2, pixel (default :data:`FIT_RADIUS`, 10).
    fps : float, optional
        Frame rate, Hz (default 30).
    n_fft : int, optional
        Frames of the zero-padded temporal FFT (default 128).

    Returns
    -------
    dict of str to float
        tf (Hz), direction (degree, 0 = rightwards, 90 = upwards: the drift of cos(2 pi (k.(x, y) - tf t))),
        direction_index ((P - P_opposite) / (P + P_opposite) at that peak and at the same spatial frequency
        drifting the other way: 1 a pure drift, 0 a standing or flickering pattern; dimensionless), sf
        (cycles/pixel) of the peak.
    """
    v = np.asarray(video, np.float64)
    if v.ndim != 3:
        raise DnemkitError(f"video has shape {v.shape}; expected (frames, rows, columns)")
    t, h, w = v.shape
    nan = dict(tf=np.nan, direction=np.nan, direction_index=np.nan, sf=np.nan)
    if t < 4 or not np.any(v):
        return nan
    cy, cx = energy_centre(np.sqrt((v ** 2).mean(0))) if centre is None else centre
    if not np.isfinite(cy):
        return nan
    yy, xx = np.mgrid[:h, :w]
    space = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (radius / 2) ** 2))
    x = (v - v.mean(0, keepdims=True)) * space[None] * np.hanning(t)[:, None, None]
    power = np.abs(np.fft.fftn(x, s=(n_fft, 64, 64), axes=(0, 1, 2))) ** 2
    ft = np.fft.fftfreq(n_fft, 1.0 / fps)
    fy, fx = np.fft.fftfreq(64), np.fft.fftfreq(64)
    # cos(2 pi (ky y + kx x - tf t)) has its peaks at (ft, fy, fx) = +-(-tf, ky, kx): search ft < 0 only
    half = power * (ft < 0)[:, None, None]
    it, iy, ix = np.unravel_index(np.argmax(half), half.shape)
    p, opposite = power[it, iy, ix], power[it, (-iy) % 64, (-ix) % 64]
    ky, kx = fy[iy], fx[ix]
    return dict(tf=float(-ft[it]), direction=float(math.degrees(math.atan2(-ky, kx)) % 360.0),
                direction_index=float((p - opposite) / (p + opposite)) if p + opposite > 0 else np.nan,
                sf=float(np.hypot(ky, kx)))


#: name -> (units, long_name) of every descriptor :func:`mei_descriptors` returns
_DESCRIPTORS = {
    "center_y": ("pixel", "row of the MEI's centre (fitted Gabor; energy centre if the fit fails)"),
    "center_x": ("pixel", "column of the MEI's centre (fitted Gabor; energy centre if the fit fails)"),
    "size": ("pixel", "root-mean-square distance of the contrast energy from the centre (within 10 px): the "
                      "envelope sigma of a Gabor"),
    "orientation": ("degree", "orientation of the fitted Gabor's wave vector, mod 180 (the tuning atlas' "
                              "convention)"),
    "sf": ("cycles/pixel", "spatial frequency of the fitted Gabor"),
    "phase": ("radian", "phase of the fitted Gabor at its centre: 0 bright centre, +-pi dark, +-pi/2 odd"),
    "sigma": ("pixel", "envelope sigma of the fitted Gabor"),
    "gabor_r2": ("1", "fraction of the MEI's variance within 10 px of the centre the Gabor explains"),
    "polarity": ("1", "sign of the MEI's contrast at its centre (smoothed 1 px): +1 bright (ON), -1 dark (OFF)"),
    "polarity_index": ("1", "smoothed contrast at the centre / the largest |contrast| of the MEI"),
    "tf": ("Hz", "temporal frequency of the largest peak of the video MEI's space-time power spectrum"),
    "direction": ("degree", "drift direction of that peak (0 = rightwards, 90 = upwards)"),
    "direction_index": ("1", "(P - P_opposite) / (P + P_opposite): 1 a pure drift, 0 standing or flickering"),
}


def mei_descriptors(meis, *, video=False):
    """Descriptors of every MEI.

    An image MEI is its frames' mean (they are equal); a video MEI's spatial descriptors come from the frame of
    largest contrast energy.

    Parameters
    ----------
    meis : array_like or xarray.DataArray, shape (neuron, frame, y, x)
        Grey levels (0..255); a DataArray's ``neuron`` coordinate is kept.
    video : bool, optional
        Also measure tf, direction, direction_index (:func:`video_motion`); default False.

    Returns
    -------
    xarray.Dataset
        One float64 variable per descriptor over ``neuron``, with units (pixel, degree, cycles/pixel, radian,
        Hz, '1') and long names in attrs.
    """
    arr = np.asarray(getattr(meis, "values", meis), np.float64)
    if arr.ndim != 4:
        raise DnemkitError(f"meis have shape {arr.shape}; expected (neuron, frame, y, x)")
    c = contrast(arr)
    rows = []
    for k in range(len(c)):
        if video:
            energy = (c[k] ** 2).sum(axis=(1, 2))
            d = image_descriptors(c[k][int(np.argmax(energy))])
            d.update({key: val for key, val in video_motion(c[k], centre=(d["center_y"], d["center_x"])).items()
                      if key != "sf"})
        else:
            d = image_descriptors(c[k].mean(0))
        rows.append(d)
    names = [n for n in _DESCRIPTORS if n in rows[0]] if rows else []
    ds = xr.Dataset({n: ("neuron", np.array([r[n] for r in rows], np.float64)) for n in names})
    for n in names:
        ds[n].attrs.update(units=_DESCRIPTORS[n][0], long_name=_DESCRIPTORS[n][1])
    if "neuron" in getattr(meis, "coords", {}):
        ds = ds.assign_coords(neuron=meis["neuron"].values)
    return ds
