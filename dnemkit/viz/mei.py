"""The figure of most exciting inputs (mei.nc): a gallery of MEIs sorted by position, and the MEIs' descriptors
against the tuning atlas' and their activation against the best grating's and natural clip's.

matplotlib's object API (``matplotlib.figure.Figure``), no pyplot state, as the other viz modules.
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from ..stimuli.geometry import GREY

__all__ = ["mei_figure", "gallery_order", "GALLERY_MAX"]

#: at most this many MEIs in the gallery (spread over the sorted neurons)
GALLERY_MAX = 24


def gallery_order(ds):
    """Indices (along ``neuron``) of the MEIs shown: at most GALLERY_MAX, sorted by centre column then row."""
    cx = np.nan_to_num(np.asarray(ds["center_x"].values, float), nan=1e9)
    cy = np.nan_to_num(np.asarray(ds["center_y"].values, float), nan=1e9)
    order = np.lexsort((cy, cx))
    if len(order) > GALLERY_MAX:
        order = order[np.unique(np.linspace(0, len(order) - 1, GALLERY_MAX).round().astype(int))]
    return order


def _frames(ds):
    """(neuron, y, x) contrast shown for each MEI: the image, or the video's frame of largest contrast energy."""
    mei = (np.asarray(ds["mei"].values, np.float64) - GREY) / GREY
    if mei.ndim == 4:
        mei = mei[np.arange(len(mei)), (mei ** 2).sum(axis=(2, 3)).argmax(1)]
    return mei


def _scatter(ax, x, y, xlabel, ylabel, log=False, period=None):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if log:
        ok &= (x > 0) & (y > 0)
    ax.scatter(x[ok], y[ok], s=12, color="tab:blue", alpha=0.8)
    if ok.any():
        lo, hi = min(x[ok].min(), y[ok].min()), max(x[ok].max(), y[ok].max())
        if period:
            lo, hi = 0.0, period
        elif not log:
            lo = 0.0
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # plain numbers, not 10^x, also within one decade
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FormatStrFormatter("%g"))
            axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return int(ok.sum())


def mei_figure(ds):
    """Gallery (top rows; red bright, blue dark, each MEI on its own symmetric scale, its neuron and centre
    marked) and four panels: MEI orientation and SF against the atlas', activation of the MEI against the best
    grating's and the best natural clip's (the dashed line is equality)."""
    order = gallery_order(ds)
    frames = _frames(ds)
    cols = 8
    rows = max(1, int(np.ceil(len(order) / cols)))
    fig = Figure(figsize=(13, 1.1 * rows + 3.4), layout="constrained")
    grid = fig.add_gridspec(rows + 2, cols, height_ratios=[1] * rows + [0.25, 2.6])
    neurons = np.asarray(ds["neuron"].values)
    for k, j in enumerate(order):
        ax = fig.add_subplot(grid[k // cols, k % cols])
        lim = float(np.abs(frames[j]).max()) or 1.0
        ax.imshow(frames[j], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.plot(ds["center_x"].values[j], ds["center_y"].values[j], "+", color="k", ms=5, mew=0.8)
        ax.set_title(f"#{neurons[j]}", fontsize=7, pad=1)
        ax.set_xticks([])
        ax.set_yticks([])
    kind = ds.attrs.get("mei_kind", "image")
    fig.suptitle(f"most exciting {'images' if kind == 'image' else 'videos (frame of largest contrast)'} at RMS "
                 f"contrast {ds.attrs.get('contrast_budget', '?')}, sorted by centre column ({len(order)} of "
                 f"{ds.sizes['neuron']}); {ds.attrs.get('encoder', '')}", fontsize=9)
    axes = [fig.add_subplot(grid[rows + 1, 2 * i:2 * i + 2]) for i in range(4)]
    atlas = np.asarray(ds["atlas_orientation"].values, float)
    # the MEI's orientation drawn at its representative nearest the atlas' (0 and 180 deg are one orientation)
    nearest = atlas + (np.asarray(ds["orientation"].values, float) - atlas + 90.0) % 180.0 - 90.0
    _scatter(axes[0], atlas, nearest, "atlas orientation (deg)", "MEI orientation (deg, mod 180)", period=180)
    _scatter(axes[1], ds["atlas_sf"].values, ds["sf_cpd"].values, "atlas preferred SF (cpd)", "MEI SF (cpd)",
             log=True)
    act = ds["activation"].values
    n_win = int(np.sum(act >= ds["grating_activation"].values))
    _scatter(axes[2], ds["grating_activation"].values, act, "best grating (counts/frame)", "MEI (counts/frame)")
    axes[2].set_title(f"MEI >= best grating: {n_win}/{len(act)}", fontsize=8)
    _scatter(axes[3], ds["natural_activation"].values, act, "best natural clip (counts/frame)",
             "MEI (counts/frame)")
    if kind == "video" and "tf" in ds:
        axes[1].set_title(f"median MEI TF {np.nanmedian(ds['tf'].values):.2g} Hz", fontsize=8)
    return fig
