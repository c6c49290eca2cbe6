"""Figures of a drifting-grating tuning atlas (tuning.nc): population distributions, example curves, polar plots.

Built with matplotlib's object API (``matplotlib.figure.Figure``, Agg canvas), no pyplot state, as the other viz
modules; :func:`dnemkit.viz.save.save_figure` writes them. Polar plots use the grating generator's convention, which
is also matplotlib's polar default: 0 deg = drifting rightwards, angles grow counter-clockwise (90 = upwards).
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from ..analysis.tuning import FWHM_PER_SIGMA, pick_examples

__all__ = ["tuning_figures", "population_figure", "examples_figure", "polar_figure", "example_neurons"]

CLASS_COLOURS = {"simple": "tab:orange", "complex": "tab:blue", "": "0.5"}


def _responsive(ds):
    return np.asarray(ds["responsive"].values).astype(bool)


def _classes(ds):
    return np.asarray(ds["cell_class"].values).astype(str)


def example_neurons(ds, n=6):
    """Indices of up to ``n`` example neurons: the ones with stored traces (example_neuron) first, then
    :func:`dnemkit.analysis.tuning.pick_examples`."""
    picks = [int(i) for i in np.asarray(ds["example_neuron"].values)] if "example_neuron" in ds else []
    picks += [i for i in pick_examples(ds, n=n) if i not in picks]
    return picks[:n]


def _hist(ax, values, bins, colour, label=None, **kw):
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    ax.hist(values, bins=bins, color=colour, alpha=0.75, label=label, **kw)
    return values


def _median_label(ds, name, ok):
    v = np.asarray(ds[name].values, np.float64)[ok]
    v = v[np.isfinite(v)]
    label = "g" + name[1:].upper() if name.startswith("g") else name.upper()
    return f"{label} (median {np.median(v):.2f})" if v.size else label


def _grid_bars(ax, values, grid, title, unit):
    grid = np.asarray(grid, np.float64)
    counts = [int(np.sum(np.isclose(values, g))) for g in grid]
    ax.bar(np.arange(len(grid)), counts, color="tab:green", alpha=0.8)
    ax.set_xticks(np.arange(len(grid)))
    ax.set_xticklabels([f"{g:.3g}" for g in grid], fontsize=7, rotation=45 if len(grid) > 6 else 0)
    ax.set_xlabel(unit, fontsize=8)
    ax.set_ylabel("responsive neurons", fontsize=8)
    ax.set_title(title, fontsize=9)


def population_figure(ds):
    """2 x 3 panels over responsive neurons: preferred SF and TF (grid peaks, with the median of the
    log-Gaussian fits), OSI / gOSI, DSI / gDSI, F1/F0 (split at 1: simple vs complex), preferred direction."""
    ok = _responsive(ds)
    fig = Figure(figsize=(13, 7.2), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, (var, fit, dim, unit) in zip(axes[0, :2], (("preferred_sf", "preferred_sf_fit", "sf", "cycles/degree"),
                                                       ("preferred_tf", "preferred_tf_fit", "tf", "Hz"))):
        vals = np.asarray(ds[var].values, np.float64)[ok]
        fits = np.asarray(ds[fit].values, np.float64)[ok]
        fits = fits[np.isfinite(fits)]
        extra = f"; fit median {np.median(fits):.3g} ({fits.size} fits)" if fits.size else "; no fits"
        _grid_bars(ax, vals, ds[dim].values, f"preferred {dim.upper()} (grid peak{extra})", unit)
    ax = axes[0, 2]
    bins = np.linspace(0, 1, 21)
    for name, colour in (("osi", "tab:purple"), ("gosi", "tab:cyan")):
        _hist(ax, np.asarray(ds[name].values)[ok], bins, colour, label=_median_label(ds, name, ok))
    ax.set_title("orientation selectivity: peak OSI and global gOSI", fontsize=9)
    ax.set_xlabel("index", fontsize=8)
    ax.set_ylabel("responsive neurons", fontsize=8)
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    for name, colour in (("dsi", "tab:red"), ("gdsi", "tab:olive")):
        _hist(ax, np.asarray(ds[name].values)[ok], bins, colour, label=_median_label(ds, name, ok))
    ax.set_title("direction selectivity: peak DSI and global gDSI", fontsize=9)
    ax.set_xlabel("index", fontsize=8)
    ax.set_ylabel("responsive neurons", fontsize=8)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    ratio = np.asarray(ds["f1_f0"].values, np.float64)[ok]
    top = max(2.0, float(np.nanmax(ratio)) if np.isfinite(ratio).any() else 2.0)
    bins = np.linspace(0, min(top, 4.0), 33)
    cls = _classes(ds)[ok]
    for c in ("complex", "simple"):
        _hist(ax, np.clip(ratio[cls == c], 0, bins[-1]), bins, CLASS_COLOURS[c],
              label=f"{c} ({int(np.sum(cls == c))})")
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_title("F1/F0 at the preferred drifting condition", fontsize=9)
    ax.set_xlabel("F1 / F0", fontsize=8)
    ax.set_ylabel("responsive neurons", fontsize=8)
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    _grid_bars(ax, np.asarray(ds["preferred_direction"].values, np.float64)[ok], ds["direction"].values,
               "preferred direction (0 = rightwards, 90 = upwards)", "degrees")
    fig.suptitle(f"tuning atlas: {int(ok.sum())} responsive of {ok.size} neurons "
                 f"({ds.attrs.get('encoder', '')})", fontsize=10)
    return fig


def examples_figure(ds, n=6):
    """One row per example neuron: direction, SF and TF tuning curves through the preferred condition (grey line:
    the grey baseline, dashed: the log-Gaussian fits) and, when stored, the response trace at the preferred
    drifting condition."""
    picks = example_neurons(ds, n)
    has_traces = "example_trace" in ds
    cols = 4 if has_traces else 3
    rows = max(len(picks), 1)
    fig = Figure(figsize=(3.3 * cols, 2.1 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    if not picks:
        for ax in axes.ravel():
            ax.axis("off")
        axes[0, 0].text(0.5, 0.5, "no responsive neuron", ha="center", transform=axes[0, 0].transAxes)
        return fig
    traces = list(np.asarray(ds["example_neuron"].values)) if has_traces else []
    for row, i in enumerate(picks):
        base = float(ds["baseline"].values[i])
        cls = str(ds["cell_class"].values[i]) or "unclassified"
        _direction_panel(axes[row, 0], ds, i, base, cls)
        for col, (dim, unit) in enumerate((("sf", "cpd"), ("tf", "Hz")), start=1):
            _frequency_panel(axes[row, col], ds, i, dim, unit, base)
        if has_traces:
            if i in traces:
                _trace_panel(axes[row, 3], ds, i, traces.index(i), base, cls)
            else:
                axes[row, 3].axis("off")
    axes[rows - 1, 0].set_xlabel("direction (degrees)", fontsize=8)
    axes[rows - 1, 1].set_xlabel("spatial frequency (cycles/degree)", fontsize=8)
    axes[rows - 1, 2].set_xlabel("temporal frequency (Hz)", fontsize=8)
    if has_traces:
        axes[rows - 1, 3].set_xlabel("frame (30 Hz; grey: before the first valid frame)", fontsize=8)
    for ax in axes.ravel():
        ax.tick_params(labelsize=7)
    fig.suptitle("example tuning curves (counts/frame; grey line: response to uniform grey, dashed: log-Gaussian "
                 "fit)", fontsize=9)
    return fig


def _direction_panel(ax, ds, i, base, cls):
    """Neuron ``i``'s direction tuning curve (counts/frame over degrees), coloured by its class ``cls``, with
    the grey baseline ``base``; its OSI and DSI in the title."""
    directions = np.asarray(ds["direction"].values, np.float64)
    ax.plot(directions, ds["direction_tuning"].values[i], "o-", ms=3, color=CLASS_COLOURS.get(cls, "0.3"))
    ax.axhline(base, color="0.6", lw=1)
    ax.set_xticks(directions[:: max(1, len(directions) // 8)])
    ax.set_ylabel(f"neuron {int(ds['neuron'].values[i])}\n{cls}", fontsize=8)
    ax.set_title(f"direction: OSI {float(ds['osi'].values[i]):.2f}, DSI {float(ds['dsi'].values[i]):.2f}",
                 fontsize=8)


def _frequency_panel(ax, ds, i, dim, unit, base):
    """Neuron ``i``'s ``dim`` ("sf" or "tf") tuning curve on a log frequency axis (``unit``), with the grey
    baseline ``base`` and, where fitted, the log-Gaussian fit (dashed) and its peak (dotted)."""
    f = np.asarray(ds[dim].values, np.float64)
    y = np.asarray(ds[f"{dim}_tuning"].values[i], np.float64)
    pos = f > 0
    ax.plot(f[pos], y[pos], "o-", ms=3, color="k")
    ax.set_xscale("log")
    ticks = list(f[pos])
    if (~pos).any():  # a static grating cannot go on the log axis: drawn at the left edge, labelled 0
        x0 = f[pos].min() / 2 if pos.any() else 1.0
        ax.plot(np.full((~pos).sum(), x0), y[~pos], "s", color="0.4", ms=4)
        ticks = [x0] + ticks
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(["0" if t not in f[pos] else f"{t:.3g}" for t in ticks])
    ax.axhline(base, color="0.6", lw=1)
    mu = float(ds[f"preferred_{dim}_fit"].values[i])
    width = float(ds[f"{dim}_bandwidth"].values[i])
    if np.isfinite(mu) and pos.sum() > 1:
        xs = np.geomspace(f[pos].min(), f[pos].max(), 100)
        amp = float(ds[f"{dim}_fit_amplitude"].values[i])
        ax.plot(xs, base + amp * np.exp(-0.5 * (np.log2(xs / mu) * FWHM_PER_SIGMA / width) ** 2), "--",
                color="tab:red", lw=1)
        ax.axvline(mu, color="tab:red", lw=0.8, ls=":")
    ax.set_title(f"{dim.upper()}: peak {float(ds[f'preferred_{dim}'].values[i]):.3g} {unit}"
                 + (f", fit {mu:.3g} ({width:.1f} oct)" if np.isfinite(mu) else ", no fit"), fontsize=8)


def _trace_panel(ax, ds, i, k, base, cls):
    """Example ``k``'s (neuron ``i``'s) per-frame response at its preferred drifting condition; the frames
    before the encoder's first valid frame in light grey."""
    tr = np.asarray(ds["example_trace"].values[k], np.float64)
    first = int(ds.attrs.get("first_frame", 0))
    frames = np.arange(tr.size)
    ax.plot(frames[first:], tr[first:], color=CLASS_COLOURS.get(cls, "0.3"), lw=1)
    ax.plot(frames[:first], tr[:first], color="0.75", lw=1)
    ax.axhline(base, color="0.6", lw=1)
    ax.set_title(f"trace at {float(ds['example_tf'].values[k]):.3g} Hz, "
                 f"{float(ds['example_direction'].values[k]):.0f} deg: F1/F0 "
                 f"{float(ds['f1_f0'].values[i]):.2f}", fontsize=8)


def polar_figure(ds, n=7):
    """Polar plots: the distribution of preferred directions of responsive neurons, then the direction tuning
    (response - baseline, clipped at 0, divided by its maximum) of ``n`` example neurons."""
    picks = example_neurons(ds, n)
    panels = 1 + len(picks)
    cols = min(4, panels)
    rows = int(np.ceil(panels / cols))
    fig = Figure(figsize=(3.2 * cols, 3.3 * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, k + 1, projection="polar") for k in range(panels)]
    theta = np.deg2rad(np.asarray(ds["direction"].values, np.float64))
    order = np.argsort(theta)
    closed = np.r_[theta[order], theta[order][:1] + 2 * np.pi]
    ok = _responsive(ds)
    pref = np.asarray(ds["preferred_direction"].values, np.float64)[ok]
    counts = np.array([np.sum(np.isclose(pref % 360.0, np.rad2deg(t) % 360.0)) for t in theta[order]])
    width = 2 * np.pi / max(len(theta), 1) * 0.8
    axes[0].bar(theta[order], counts, width=width, color="tab:green", alpha=0.8)
    axes[0].set_title(f"preferred directions\n({int(ok.sum())} responsive neurons)", fontsize=8)
    for ax, i in zip(axes[1:], picks):
        r = np.clip(np.asarray(ds["direction_tuning"].values[i], np.float64) - float(ds["baseline"].values[i]), 0,
                    None)
        r = r / r.max() if r.max() > 0 else r
        cls = str(ds["cell_class"].values[i]) or "unclassified"
        ax.plot(closed, np.r_[r[order], r[order][:1]], "o-", ms=3, color=CLASS_COLOURS.get(cls, "0.3"))
        ax.fill(closed, np.r_[r[order], r[order][:1]], color=CLASS_COLOURS.get(cls, "0.3"), alpha=0.2)
        ax.set_ylim(0, 1.05)
        ax.set_yticklabels([])
        ax.set_title(f"neuron {int(ds['neuron'].values[i])} ({cls})\ngOSI {float(ds['gosi'].values[i]):.2f}, "
                     f"gDSI {float(ds['gdsi'].values[i]):.2f}", fontsize=8)
    for ax in axes:
        ax.tick_params(labelsize=7)
    fig.suptitle("direction tuning (0 deg = drifting rightwards, 90 deg = upwards)", fontsize=9)
    return fig


def tuning_figures(ds, n_examples=6):
    """{name: Figure}: tuning_population, tuning_examples, tuning_polar."""
    return {"tuning_population": population_figure(ds), "tuning_examples": examples_figure(ds, n_examples),
            "tuning_polar": polar_figure(ds, n_examples + 1)}
