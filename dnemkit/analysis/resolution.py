"""How a sweep's resolution is read: the two axes of its heatmap and their cut-offs (docs/method.md, "Analyses").

A sweep's ``resolution`` is the ensemble video correlation over the grid's two axes (rows: sf or sigma_space,
columns: tf or sigma_time), averaged over the other dims. Along a frequency axis the cut-off is the largest
frequency with r above the threshold; along a sigma axis, the smallest sigma > 0 down to which r stays above it,
read on 1 / sigma (:func:`dnemkit.analysis.cutoffs.cutoff` on a log axis either way). :class:`ResolutionAxis`
describes one axis: what the table and the figure show, in which units, and how its cut-off is read.
"""

import warnings
from dataclasses import KW_ONLY, dataclass

import numpy as np

from ..errors import DnemkitError
from ..stimuli.geometry import DEG_PER_PIXEL, MS_PER_FRAME
from .cutoffs import cutoff
from ..units import DIMENSIONLESS

__all__ = ["ResolutionAxis", "GRATING_AXES", "NOISE_AXES", "resolution_axes", "add_resolution"]


@dataclass(frozen=True)
class ResolutionAxis:
    """One axis of a sweep's resolution heatmap (rows or columns) and how its cut-off is read.

    dim: the grid dim. shown: the coordinate the table and the figure show, in ``unit``; secondary: another
    coordinate and its unit written under a tick (or None). label: the figure's axis label. finer: "larger" (a
    frequency: the cut-off is the largest value with r above the threshold) or "smaller" (a sigma: the smallest
    value > 0 down to which r stays above it, read on 1 / sigma). cutoff_unit: the units of ``cutoff_<dim>``;
    extra: {attr name: factor} of the best cut-off's value in other units. across: what the per-row cut-off's
    long name says, with {other} for the other axis. to_shown: the factor from the dim's values to ``shown``'s.

    Parameters
    ----------
    dim : str
        The grid dim.
    shown : str
        The coordinate the table and the figure show.
    unit : str
        Its unit as the figure writes it (e.g. "cpd", "Hz", "deg", "ms").
    label : str
        The figure's axis label.
    finer : {"larger", "smaller"}
        Which way the resolution gets finer along the axis.
    cutoff_unit : str
        The units of ``cutoff_<dim>`` (dnemkit.units: cycles/degree, Hz, pixel, frame).
    across : str
        The per-row cut-off's long name, with {other} for the other axis.
    secondary : (str, str), optional
        Another coordinate and its unit written under a tick (default None).
    extra : tuple of (str, float), optional
        (attr name, factor) pairs of the best cut-off's value in other units (default none).
    to_shown : float, optional
        The factor from the dim's values to ``shown``'s (default 1).

    Returns
    -------
    ResolutionAxis
        A frozen description; ``secondary``, ``extra`` and ``to_shown`` are keyword-only.
    """

    dim: str
    shown: str
    unit: str
    label: str
    finer: str
    cutoff_unit: str
    across: str
    _: KW_ONLY
    secondary: tuple | None = None
    extra: tuple = ()
    to_shown: float = 1.0

    def tick(self, ds, i):
        """The figure's tick label of value ``i``: the shown value, and the secondary one under it.

        Parameters
        ----------
        ds : xarray.Dataset
            A sweep's results, with the ``shown`` (and secondary) coordinates.
        i : int
            The index along the axis.

        Returns
        -------
        str
            The shown value (with a degree sign for degrees), and the secondary value on a second line.
        """
        text = f"{float(ds[self.shown].values[i]):.4g}{chr(176) if self.unit == 'deg' else ''}"
        if self.secondary is not None:
            coord, unit = self.secondary
            text += f"\n({float(ds[coord].values[i]):.3g} {unit})"
        return text


GRATING_AXES = (
    ResolutionAxis("sf", "sf", "cpd", "spatial frequency (cycles/degree)", "larger", "cycles/degree",
                   "highest sf with r above the threshold at this {other} (log-sf interpolation, "
                   "dnemkit.analysis.cutoff)", secondary=("sf_cyc_per_px", "c/px"),
                   extra=(("cyc_per_px", DEG_PER_PIXEL),)),
    ResolutionAxis("tf", "tf", "Hz", "temporal frequency (Hz)", "larger", "Hz",
                   "highest tf with r above the threshold at this {other} (tf = 0 left out: log axis)"),
)
NOISE_AXES = (
    ResolutionAxis("sigma_space", "sigma_space_deg", "deg", "spatial sigma (degrees)", "smaller", "pixel",
                   "smallest sigma_space > 0 down to which r stays above the threshold (log interpolation)",
                   secondary=("sigma_space", "px"), extra=(("degrees", DEG_PER_PIXEL),), to_shown=DEG_PER_PIXEL),
    ResolutionAxis("sigma_time", "sigma_time_ms", "ms", "temporal sigma (ms)", "smaller", "frame",
                   "smallest sigma_time > 0 down to which r stays above the threshold (log interpolation)",
                   secondary=("sigma_time", "fr"), extra=(("ms", MS_PER_FRAME),), to_shown=MS_PER_FRAME),
)


def resolution_axes(kind):
    """(rows, columns) :class:`ResolutionAxis` of a sweep kind ("gratings" or "noise").

    Parameters
    ----------
    kind : str
        The sweep kind: "gratings" (rows sf, columns tf) or "noise" (rows sigma_space, columns sigma_time).

    Returns
    -------
    tuple of ResolutionAxis
        (rows, columns): :data:`GRATING_AXES` or :data:`NOISE_AXES`.
    """
    try:
        return {"gratings": GRATING_AXES, "noise": NOISE_AXES}[kind]
    except KeyError:
        raise DnemkitError(f"results of kind {kind!r} have no resolution axes; expected gratings or noise") from None



def _cutoff(freqs, corr, threshold):
    try:
        return cutoff(freqs, corr, threshold=threshold)
    except DnemkitError:
        return float("nan"), "not_computed"


def _cutoff_along(axis, values, corr, threshold):
    """(cut-off, status) of ``corr`` along ``values`` of ``axis``: the largest frequency with r above the
    threshold, or the smallest sigma > 0 down to which r stays above it (read on 1 / sigma: a log axis)."""
    if axis.finer == "larger":
        return _cutoff(values, corr, threshold=threshold)
    keep = values > 0
    if not keep.any():
        return float("nan"), "not_computed"
    v, status = _cutoff(1.0 / values[keep], np.asarray(corr)[keep], threshold=threshold)
    return (1.0 / v if v > 0 else float("nan")), status


def add_resolution(ds, *, axes, threshold):
    """Add ``resolution`` (the heatmap: ensemble r, mean over the other dims) and the cut-offs along the grid's
    two ``axes`` (rows, columns; :class:`ResolutionAxis`) to ``ds``:
    ``cutoff_<dim>`` over the other axis, its ``_status``, and ``cutoff_<dim>_best`` at the other axis' best.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep's results with ``video_correlation_ensemble`` (dimensionless) over the two axes' dims and any
        others (averaged over, NaN skipped: an incomplete grid is read as far as it goes).
    axes : tuple of ResolutionAxis
        (rows, columns), e.g. :func:`resolution_axes` of the sweep's kind.
    threshold : float
        The correlation (dimensionless) a cut-off is read at (:func:`dnemkit.analysis.cutoffs.cutoff`).

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, modified in place, with ``resolution`` (rows dim, columns dim; units '1'), and per axis
        ``cutoff_<dim>`` (the other dim; in the axis' ``cutoff_unit``, e.g. cycles/degree, Hz, pixel, frame),
        ``cutoff_<dim>_status`` (str: a :data:`dnemkit.analysis.cutoffs.CUTOFF_STATUSES` or "not_computed") and
        the scalar ``cutoff_<dim>_best`` (its status in attrs).
    """
    rows, cols = axes
    r = ds["video_correlation_ensemble"]
    others = [d for d in r.dims if d not in (rows.dim, cols.dim)]
    with np.errstate(invalid="ignore"), _quiet():
        res = r.mean(others, skipna=True).transpose(rows.dim, cols.dim)
    res.attrs = dict(units=DIMENSIONLESS, long_name="ensemble video correlation, mean over " + ", ".join(others),
                     threshold=threshold)
    ds["resolution"] = res
    m = res.values
    for axis, other, along in ((rows, cols, m.T), (cols, rows, m)):  # along: (other, axis) correlations
        values = ds[axis.dim].values
        per = [_cutoff_along(axis, values, corr, threshold) for corr in along]
        ds[f"cutoff_{axis.dim}"] = (other.dim, np.array([v for v, _ in per]), dict(
            units=axis.cutoff_unit, threshold=threshold, long_name=axis.across.format(other=other.dim)))
        ds[f"cutoff_{axis.dim}_status"] = (other.dim, np.array([st for _, st in per], dtype=str))
        with _quiet():
            best, status = _cutoff_along(axis, values, np.nanmax(along, axis=0), threshold)
        ds[f"cutoff_{axis.dim}_best"] = ((), best, dict(
            units=axis.cutoff_unit, status=status, threshold=threshold,
            long_name=f"{axis.dim} cut-off at the best {other.dim} (max over {other.dim})",
            **{name: best * factor for name, factor in axis.extra}))
    return ds


class _quiet:
    """Silence numpy's 'mean of empty slice' warnings for grids that are not complete yet."""

    def __enter__(self):
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
