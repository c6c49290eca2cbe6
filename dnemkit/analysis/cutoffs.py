"""Resolution cut-offs: the frequency where reconstruction quality falls below a threshold.

Definition used by :func:`cutoff` (for a correlation-vs-frequency curve, e.g. r against spatial frequency):

1. Points with frequency 0 (static / uniform stimuli) are left out: the interpolation works on log(frequency).
   Points whose correlation is NaN are left out too. The remaining points are sorted by ascending frequency.
2. Starting from the lowest frequency where r > threshold, walk up in frequency until the first point with
   r <= threshold. (Points below threshold at the very lowest frequencies, before any point above, are skipped.)
3. The cut-off is where the straight line between the last point above (f1, r1) and that first point below
   (f2, r2) crosses the threshold on the log-frequency axis:
   log f = log f1 + (threshold - r1) / (r2 - r1) * (log f2 - log f1)  -> status "interpolated".
4. No point at or below threshold after the first point above: the highest frequency, status "not_reached"
   (the true cut-off is at least that).
5. No point above threshold: NaN, status "below_everywhere".
"""

import math

import numpy as np

from ..errors import DnemkitError

__all__ = ["cutoff", "CUTOFF_STATUSES"]

CUTOFF_STATUSES = ("interpolated", "not_reached", "below_everywhere")


def cutoff(freqs, corr, *, threshold=0.2):
    """Highest frequency up to which the correlation stays above ``threshold`` (see the module docstring).

    Parameters
    ----------
    freqs : array_like, shape (n,)
        Non-negative, distinct frequencies in any frequency unit (cycles/degree, cycles/pixel, Hz), any order.
        Points at frequency 0 are left out (the interpolation works on log frequency).
    corr : array_like, shape (n,)
        Correlations (dimensionless, '1') at those frequencies; NaN points are ignored.
    threshold : float, optional
        Correlation (dimensionless) the curve must stay above (default 0.2).

    Returns
    -------
    value : float
        The cut-off frequency in the units of ``freqs``; NaN for "below_everywhere", the highest frequency for
        "not_reached".
    status : str
        One of :data:`CUTOFF_STATUSES`: "interpolated", "not_reached", "below_everywhere".
    """
    try:
        f = np.asarray(freqs, dtype=np.float64)
        r = np.asarray(corr, dtype=np.float64)
    except (TypeError, ValueError):
        raise DnemkitError("freqs and corr must be numeric 1-D arrays") from None
    if f.ndim != 1 or f.size == 0:
        raise DnemkitError(f"freqs has shape {tuple(f.shape)}; expected a non-empty 1-D array of frequencies")
    if r.shape != f.shape:
        raise DnemkitError(f"corr has shape {tuple(r.shape)}; expected one value per frequency {tuple(f.shape)}")
    if not np.isfinite(f).all() or (f < 0).any():
        raise DnemkitError("freqs must be finite and non-negative")
    if np.unique(f).size != f.size:
        raise DnemkitError("freqs has repeated values; expected distinct frequencies (average repeats first)")
    if not math.isfinite(float(threshold)):
        raise DnemkitError(f"threshold is {threshold!r}; expected a finite number")
    keep = (f > 0) & ~np.isnan(r)
    if not keep.any():
        raise DnemkitError("freqs has no positive frequency with a finite correlation; expected at least one")
    order = np.argsort(f[keep])
    f, r = f[keep][order], r[keep][order]
    above = r > threshold
    if not above.any():
        return float("nan"), "below_everywhere"
    start = int(np.argmax(above))
    below_after = np.flatnonzero(~above[start:])
    if below_after.size == 0:
        return float(f[-1]), "not_reached"
    j = start + int(below_after[0])
    f1, f2, r1, r2 = f[j - 1], f[j], r[j - 1], r[j]
    frac = (threshold - r1) / (r2 - r1)
    return float(math.exp(math.log(f1) + frac * (math.log(f2) - math.log(f1)))), "interpolated"
