"""Resolution heatmaps of grating and noise sweeps (PNG through matplotlib's Agg canvas; no pyplot state).

Gratings: rows = spatial frequency (cycles/degree, with cycles/pixel), columns = temporal frequency (Hz).
Noise: rows = sigma_space in degrees (pixels x DEG_PER_PIXEL, docs/method.md, "Deviations from the reference, chosen": multiplied, not divided), columns =
sigma_time in ms (frames x 33.3 ms). Each cell is the ensemble video correlation averaged over direction, repeat
and phase (``ds['resolution']``); cells above the threshold are outlined, and the threshold and the cut-offs
are written under the title.
"""


import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle



def _status(var):
    return var.attrs.get("status", "")


def cutoff_text(ds, axis):
    """'sf 0.071 cpd (interpolated)': the best cut-off along ``axis`` in the units the figure shows."""
    var = ds[f"cutoff_{axis.dim}_best"]
    return f"{axis.dim} {float(var) * axis.to_shown:.3g} {axis.unit} ({_status(var)})"


def plot_resolution_heatmap(ds, threshold=None, title=None):
    """Draw ``ds['resolution']`` of a gratings/noise result (save it with :func:`dnemkit.viz.save.save_figure`).

    ds: a Dataset from run_gratings / run_noise (or read_dataset of gratings.nc / noise.nc). threshold: default
    ``ds.attrs['threshold']``. Returns the matplotlib Figure.
    """
    from ..analysis.resolution import resolution_axes

    kind = ds.attrs.get("dnemkit_kind", "gratings")
    threshold = float(ds.attrs.get("threshold", 0.2) if threshold is None else threshold)
    res = ds["resolution"]
    row_axis, col_axis = resolution_axes(kind)
    rows, cols = ds[row_axis.shown].values, ds[col_axis.shown].values
    row_labels = [row_axis.tick(ds, i) for i in range(len(rows))]
    col_labels = [col_axis.tick(ds, i) for i in range(len(cols))]
    ylabel, xlabel = row_axis.label, col_axis.label
    cut = "cut-off: " + ", ".join(cutoff_text(ds, axis) for axis in (row_axis, col_axis))
    ri, ci = np.argsort(rows), np.argsort(cols)
    m = np.asarray(res.values, dtype=float)[np.ix_(ri, ci)]

    fig = Figure(figsize=(max(7.0, 1.1 * len(cols) + 3.2), max(4.0, 0.8 * len(rows) + 2.6)), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    finite = m[np.isfinite(m)]
    vmin = min(0.0, float(finite.min())) if finite.size else 0.0
    im = ax.imshow(np.ma.masked_invalid(m), origin="lower", cmap="viridis", vmin=vmin, vmax=1.0, aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            v = m[i, j]
            text = "n/a" if not np.isfinite(v) else f"{v:.2f}"
            colour = "white" if not np.isfinite(v) or v < 0.6 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
            if np.isfinite(v) and v > threshold:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=1.5))
    ax.set_xticks(range(len(cols)), [col_labels[k] for k in ci], fontsize=8)
    ax.set_yticks(range(len(rows)), [row_labels[k] for k in ri], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label("ensemble video correlation r")
    if vmin <= threshold <= 1.0:
        cbar.ax.axhline(threshold, color="red", linewidth=1.5)
    enc = ds.attrs.get("encoder", "")
    head = title or f"{kind}: reconstruction resolution ({enc})"
    ax.set_title(f"{head}\nthreshold r = {threshold:g} (outlined cells: above)\n{cut}\n"
                 f"mean over {', '.join(d for d in ds['video_correlation_ensemble'].dims if d not in res.dims)}; "
                 f"{ds.attrs.get('n_computed', '?')}/{ds.attrs.get('n_conditions', '?')} conditions",
                 fontsize=8)
    fig.tight_layout()
    return fig
