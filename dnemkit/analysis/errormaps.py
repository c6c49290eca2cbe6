"""Error maps between reconstructions from recorded and from predicted activity (docs/method.md, "Analyses").

E = recon_from_recorded - recon_from_predicted; E+ = max(E, 0) marks where the recorded-activity reconstruction
is brighter, E- = max(-E, 0) where it is darker. Both inputs are expected to be already smoothed (the paper's
sigma = 0.5 Gaussian) - this module only subtracts, splits and masks.

:func:`response_correlation_difference` is the paper's Fig. 6C: per neuron, how much better the true movie
predicts the recorded responses than the reconstruction does.
"""

import numpy as np

from ..errors import DnemkitError
from .metrics import as_float_array, pearson_along

__all__ = ["error_maps", "response_correlation_difference"]


def _array(x, name):
    a = as_float_array(x, name=name)
    if a.ndim < 2:
        raise DnemkitError(f"{name} has shape {tuple(a.shape)}; expected (..., H, W), e.g. (T, 36, 64)")
    if not np.isfinite(a).all():
        raise DnemkitError(f"{name} contains non-finite values (NaN or inf); expected grey levels 0..255")
    return a


def error_maps(recon_recorded, recon_predicted, *, mask=None):
    """Split the difference of two reconstructions into positive and negative error maps.

    Parameters
    ----------
    recon_recorded : array_like, shape (..., H, W)
        The reconstruction from recorded activity, in grey levels (0..255) - usually a video (T, 36, 64) or a
        time-averaged frame (36, 64).
    recon_predicted : array_like, same shape
        The reconstruction from predicted activity, in grey levels.
    mask : array_like of bool, shape (H, W), optional
        Pixels kept (0/1 accepted); ``None`` (default) keeps every pixel.

    Returns
    -------
    E_plus, E_minus : ndarray, float64, the input shape
        In grey levels, both >= 0, with E_plus - E_minus = recon_recorded - recon_predicted inside the mask and
        both 0 outside it.
    """
    a = _array(recon_recorded, "recon_recorded")
    b = _array(recon_predicted, "recon_predicted")
    if a.shape != b.shape:
        raise DnemkitError(
            f"recon_predicted has shape {tuple(b.shape)}; expected the shape of recon_recorded {tuple(a.shape)}"
        )
    e = a - b
    if mask is not None:
        if hasattr(mask, "detach") and hasattr(mask, "cpu"):
            mask = mask.detach().cpu().numpy()
        m = np.asarray(mask)
        if m.shape != a.shape[-2:]:
            raise DnemkitError(f"mask has shape {tuple(m.shape)}; expected {tuple(a.shape[-2:])}, boolean")
        if m.dtype != bool:
            if not np.issubdtype(m.dtype, np.number) or not np.isin(m, (0, 1)).all():
                raise DnemkitError("mask must be boolean (or 0/1); threshold an alpha mask first")
            m = m.astype(bool)
        e[..., ~m] = 0.0
    return np.maximum(e, 0.0), np.maximum(-e, 0.0)


def response_correlation_difference(recorded, predicted_true, predicted_reconstruction, *, first_frame):
    """Per neuron, delta r = r(recorded, predicted from the true movie) - r(recorded, predicted from the
    reconstruction), Pearson r over frames ``first_frame .. T-1`` (docs/method.md, "Analyses").

    Parameters
    ----------
    recorded : array_like, shape (N, T)
        Recorded responses, counts/frame (neurons, frames at 30 Hz).
    predicted_true : array_like, shape (N, T)
        The encoder's predictions for the ground-truth movie (with the recorded behaviour), counts/frame.
    predicted_reconstruction : array_like, shape (N, T)
        The encoder's predictions for the reconstruction (same behaviour), counts/frame.
    first_frame : int
        The first scored frame (0 <= first_frame <= T - 2).

    Returns
    -------
    r_true, r_reconstruction, delta_r : ndarray, float64, shape (N,)
        Pearson r (dimensionless) of recorded with predicted_true, of recorded with predicted_reconstruction,
        and their difference; NaN for a neuron whose recorded or predicted responses are constant over the
        scored frames. delta_r > 0: the true movie explains the neuron better than the reconstruction does.
    """
    arrays = [as_float_array(a, name=name) for a, name in ((recorded, "recorded"), (predicted_true, "predicted_true"),
                                                       (predicted_reconstruction, "predicted_reconstruction"))]
    if arrays[0].ndim != 2:
        raise DnemkitError(f"recorded has shape {tuple(arrays[0].shape)}; expected (N, T) (neurons, frames)")
    for a, name in zip(arrays[1:], ("predicted_true", "predicted_reconstruction")):
        if a.shape != arrays[0].shape:
            raise DnemkitError(f"{name} has shape {tuple(a.shape)}; expected {tuple(arrays[0].shape)} "
                               "(the recorded responses' neurons and frames)")
    t = arrays[0].shape[1]
    first = int(first_frame)
    if not 0 <= first <= t - 2:
        raise DnemkitError(f"first_frame is {first_frame}; expected 0..{t - 2} (at least 2 scored frames of {t})")
    rec, true, recon = (a[:, first:] for a in arrays)
    r_true = pearson_along(rec, true, axis=1)
    r_recon = pearson_along(rec, recon, axis=1)
    return r_true, r_recon, r_true - r_recon
