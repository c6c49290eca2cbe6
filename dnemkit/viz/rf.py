"""Figures of a receptive-field mapping (rf.nc): example RFs, population RF, centre density, mask outline.

All figures are built with matplotlib's object API (``matplotlib.figure.Figure``, Agg canvas): no pyplot state,
safe to use from several threads. :mod:`dnemkit.viz.save` writes them.
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from ..stimuli.geometry import ECCENTRICITY_STEP_DEG
from .screen import eccentricity_contours

__all__ = ["rf_figures", "example_rfs_figure", "population_rf_figure", "centre_density_figure",
           "mask_outline_figure"]

MASK_STYLE = (("train_mask", "white", "train mask (level >= 0.5)"), ("eval_mask", "tab:red", "eval mask (level >= 1)"))


def _clean(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def _mask_contours(ax, ds, legend=False):
    handles = []
    for name, color, label in MASK_STYLE:
        if name not in ds:
            continue
        m = np.asarray(ds[name].values).astype(float)
        if 0 < m.sum() < m.size:
            ax.contour(m, levels=[0.5], colors=color, linewidths=1.2)
            handles.append((color, label))
    if legend and handles:
        from matplotlib.lines import Line2D

        ax.legend([Line2D([0], [0], color=c, lw=1.5) for c, _ in handles], [lab for _, lab in handles],
                  fontsize=7, loc="lower right", framealpha=0.6)


def _examples(ds, n):
    """Up to n neurons: strongest responders, balanced over true cell types (or preferred polarity)."""
    responsive = np.asarray(ds["responsive"].values).astype(bool)
    strength = np.maximum(ds["response_on"].values, ds["response_off"].values)
    groups = ds["true_cell_type"].values if "true_cell_type" in ds else ds["preferred_polarity"].values
    groups = np.asarray(groups).astype(str)
    kinds = list(dict.fromkeys(groups[responsive]))
    picks, per = [], max(1, n // max(len(kinds), 1))
    for kind in kinds:
        idx = np.flatnonzero(responsive & (groups == kind))
        picks += list(idx[np.argsort(-strength[idx], kind="stable")][:per])
    rest = [i for i in np.argsort(-np.where(responsive, strength, -np.inf), kind="stable") if i not in picks]
    picks += [i for i in rest if responsive[i]][: n - len(picks)]
    return picks[:n], groups


def example_rfs_figure(ds, n=8):
    """ON (top row) and OFF (bottom row) maps of ``n`` example neurons, with the found centre (x), the true
    centre (+, when the dataset holds one) and the 1-sigma ellipse of the Gaussian fit (preferred map)."""
    picks, groups = _examples(ds, n)
    cols = max(len(picks), 1)
    fig = Figure(figsize=(1.9 * cols + 0.6, 3.2), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False)
    im = None
    for k in range(cols):
        for row, pol in enumerate(("on", "off")):
            ax = axes[row, k]
            _clean(ax)
            if k >= len(picks):
                ax.axis("off")
                continue
            i = picks[k]
            m = ds[f"rf_{pol}"].values[i]
            im = ax.imshow(np.nan_to_num(m, nan=0.0), cmap="magma", vmin=0, vmax=1)
            if str(ds["preferred_polarity"].values[i]) == pol and np.isfinite(ds["center_x"].values[i]):
                ax.plot(ds["center_x"].values[i], ds["center_y"].values[i], "x", color="cyan", ms=6, mew=1.5)
                if "fit_success" in ds and bool(ds["fit_success"].values[i]):
                    ax.add_patch(Ellipse((ds["fit_center_x"].values[i], ds["fit_center_y"].values[i]),
                                         2 * ds["fit_sigma_x"].values[i], 2 * ds["fit_sigma_y"].values[i],
                                         fill=False, ec="lime", lw=1))
            if "true_center_x" in ds:
                ax.plot(ds["true_center_x"].values[i], ds["true_center_y"].values[i], "+", color="white", ms=7)
            if row == 0:
                ax.set_title(f"neuron {int(ds['neuron'].values[i])}\n{groups[i]}", fontsize=8)
            if k == 0:
                ax.set_ylabel(pol.upper(), fontsize=9)
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.8, label="normalised response")
    truth = " + true centre," if "true_center_x" in ds else ""
    fig.suptitle(f"example receptive fields (x found centre,{truth} green: 1-sigma Gaussian fit)", fontsize=9)
    return fig


def population_rf_figure(ds):
    """Population ON, OFF, ON - OFF and ON + OFF maps with the mask outlines."""
    fig = Figure(figsize=(10, 5.4), layout="constrained")
    axes = fig.subplots(2, 2)
    panels = (("population_rf_on", "population RF, ON", "magma", None),
              ("population_rf_off", "population RF, OFF", "magma", None),
              ("on_minus_off", "ON - OFF", "RdBu_r", "sym"),
              ("on_plus_off", "ON + OFF", "magma", None))
    for ax, (name, title, cmap, scale) in zip(axes.ravel(), panels):
        m = ds[name].values
        if scale == "sym":
            v = float(np.nanmax(np.abs(m))) if np.isfinite(m).any() else 1.0
            im = ax.imshow(m, cmap=cmap, vmin=-v, vmax=v)
        else:
            im = ax.imshow(m, cmap=cmap)
        _mask_contours(ax, ds, legend=name == "population_rf_on")
        eccentricity_contours(ax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x (pixels)", fontsize=8)
        ax.set_ylabel("y (pixels)", fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.85)
    fig.suptitle(f"population receptive field ({int(ds.attrs.get('n_responsive', 0))} responsive of "
                 f"{ds.sizes['neuron']} neurons; dotted: eccentricity every {ECCENTRICITY_STEP_DEG:g}°)", fontsize=10)
    return fig


def centre_density_figure(ds):
    """Density of RF centres on the screen (2-D histogram, 1-px bins) and, with a ground truth, the centre error."""
    has_truth = "center_error" in ds
    fig = Figure(figsize=(10 if has_truth else 6.5, 3.6), layout="constrained")
    axes = fig.subplots(1, 2 if has_truth else 1, squeeze=False)[0]
    ok = np.asarray(ds["responsive"].values).astype(bool) & np.isfinite(ds["center_y"].values)
    h, w = ds.sizes["y"], ds.sizes["x"]
    counts, _, _ = np.histogram2d(ds["center_y"].values[ok], ds["center_x"].values[ok],
                                  bins=(np.arange(h + 1) - 0.5, np.arange(w + 1) - 0.5))
    im = axes[0].imshow(counts, cmap="viridis")
    _mask_contours(axes[0], ds, legend=True)
    eccentricity_contours(axes[0])
    axes[0].set_title(f"RF centre density ({int(ok.sum())} responsive neurons)\ndotted: eccentricity every "
                      f"{ECCENTRICITY_STEP_DEG:g}°", fontsize=9)
    axes[0].set_xlabel("x (pixels)", fontsize=8)
    axes[0].set_ylabel("y (pixels)", fontsize=8)
    fig.colorbar(im, ax=axes[0], shrink=0.85, label="neurons per pixel")
    if has_truth:
        err = ds["center_error"].values[ok]
        ax = axes[1]
        ax.hist(err, bins=np.linspace(0, max(2.0, float(np.nanmax(err)) if err.size else 2.0), 30), color="tab:blue")
        ax.axvline(1.0, color="k", ls="--", lw=1)
        frac = float(np.mean(err <= 1)) if err.size else float("nan")
        ax.set_title(f"distance to the true centre: {100 * frac:.1f} % within 1 px", fontsize=9)
        ax.set_xlabel("pixels", fontsize=8)
        ax.set_ylabel("neurons", fontsize=8)
    return fig


def mask_outline_figure(ds):
    """The alpha mask's train / eval outlines over the population RF (ON + OFF)."""
    fig = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(ds["on_plus_off"].values, cmap="magma")
    _mask_contours(ax, ds, legend=True)
    eccentricity_contours(ax)
    if "train_mask" not in ds:
        ax.text(0.5, 0.02, "no alpha mask stored with this result", transform=ax.transAxes, ha="center",
                color="white", fontsize=8)
    ax.set_title("mask outlines over the population RF (ON + OFF)\ndotted: eccentricity every "
                 f"{ECCENTRICITY_STEP_DEG:g}°", fontsize=9)
    ax.set_xlabel("x (pixels)", fontsize=8)
    ax.set_ylabel("y (pixels)", fontsize=8)
    fig.colorbar(im, ax=ax, shrink=0.85)
    return fig


def rf_figures(ds, n_examples=8):
    """{name: Figure} of every RF figure: rf_examples, rf_population, rf_centres, rf_mask."""
    return {"rf_examples": example_rfs_figure(ds, n_examples), "rf_population": population_rf_figure(ds),
            "rf_centres": centre_density_figure(ds), "rf_mask": mask_outline_figure(ds)}
