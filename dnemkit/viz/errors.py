"""Figures and an RGB movie of error maps (errormap.nc): E+ (recorded brighter) in red, E- (darker) in blue, and
the distribution of the per-neuron delta r (the paper's Fig. 6C).

A result of recorded data holds several clips (a ``clip`` dim): the maps figure shows the maps averaged over
clips and the frames of one clip (``clip``, default the first); the movie is that clip's.
"""

import warnings

import numpy as np
from matplotlib.figure import Figure

from ..stimuli.geometry import GREY
from .screen import eccentricity_contours

__all__ = ["errormap_figure", "errormap_figures", "delta_r_figure", "overlay_frames", "errormap_movie_frames",
           "one_clip"]

RED = np.array([255.0, 40.0, 40.0])
BLUE = np.array([40.0, 90.0, 255.0])


def one_clip(ds, clip=0):
    """``ds`` itself (one movie), or its clip number ``clip`` (position along the ``clip`` dim)."""
    return ds.isel(clip=clip) if "clip" in ds.dims else ds


def _outline(ax, ds):
    if "eval_mask" in ds:
        m = np.asarray(ds["eval_mask"].values).astype(float)
        if m.ndim == 3:  # clips of several mice: the union of their masks
            m = m.max(axis=0)
        if 0 < m.sum() < m.size:
            ax.contour(m, levels=[0.5], colors="tab:orange", linewidths=0.8)


def _scale(ds, percentile=99.0):
    """Grey levels of |E| shown at full colour: a high percentile of E+ and E- over the evaluated frames."""
    first = int(ds.attrs.get("first_eval_frame", 0))
    values = np.concatenate([ds["e_plus"].values[first:].ravel(), ds["e_minus"].values[first:].ravel()])
    values = values[values > 0]
    return float(np.percentile(values, percentile)) if values.size else 1.0


def overlay_frames(ground_truth, e_plus, e_minus, scale):
    """(T, H, W, 3) uint8: grey ground truth, blended towards red by E+ / scale and blue by E- / scale."""
    g = np.asarray(ground_truth, np.float64)[..., None].repeat(3, axis=-1)
    a_plus = np.clip(np.asarray(e_plus, np.float64) / scale, 0, 1)[..., None]
    a_minus = np.clip(np.asarray(e_minus, np.float64) / scale, 0, 1)[..., None]
    out = g * (1 - a_plus - a_minus) + RED * a_plus + BLUE * a_minus  # E+ and E- never overlap
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def errormap_figure(ds, n_frames=6, clip=0):
    """Mean E+ / E- / |E| maps and the pixel correlation map (means over clips when there are several), with
    eccentricity contours; then a frame strip of one clip: ground truth, both reconstructions and the overlay."""
    shown = one_clip(ds, clip)
    first = int(ds.attrs.get("first_eval_frame", 0))
    t = ds.sizes["frame"]
    frames = np.linspace(min(first, t - 1), t - 1, n_frames).astype(int)
    scale = _scale(shown)
    clips = ds.sizes.get("clip", 0)
    fig = Figure(figsize=(2.1 * n_frames, 9.4), layout="constrained")
    grid = fig.add_gridspec(5, n_frames)
    top = grid[0, :].subgridspec(1, 4)
    maps = (("mean_e_plus", "mean E+ (recorded brighter)", "Reds", {"vmin": 0}, " (grey levels)", "k"),
            ("mean_e_minus", "mean E- (recorded darker)", "Blues", {"vmin": 0}, " (grey levels)", "k"),
            ("mean_abs_error", "mean |E|", "magma", {"vmin": 0}, " (grey levels)", "w"),
            ("pixel_correlation", "pixel r(truth, from recorded)", "RdBu_r", {"vmin": -1, "vmax": 1}, "", "k"))
    for k, (name, title, cmap, limits, unit, ecc_color) in enumerate(maps):
        if name not in ds:
            continue
        ax = fig.add_subplot(top[0, k])
        with warnings.catch_warnings():  # pixels outside every clip's mask: NaN, no warning
            warnings.simplefilter("ignore", RuntimeWarning)
            values = ds[name].values if not clips else np.nanmean(ds[name].values, axis=0)
        im = ax.imshow(values, cmap=cmap, **limits)
        _outline(ax, ds)
        eccentricity_contours(ax, color=ecc_color)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(title + unit + (f"\nmean over {clips} clips" if clips else ""), fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.8)
    overlay = overlay_frames(shown["ground_truth"].values[frames], shown["e_plus"].values[frames],
                             shown["e_minus"].values[frames], scale)
    rows = (("ground_truth", "ground truth"), ("recon_recorded", "from recorded"),
            ("recon_predicted", "from predicted"), (None, "E+ red / E- blue"))
    for r, (name, label) in enumerate(rows, start=1):
        for k, f in enumerate(frames):
            ax = fig.add_subplot(grid[r, k])
            if name is None:
                ax.imshow(overlay[k])
            else:
                ax.imshow(shown[name].values[f], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{label}\nframe {f}" if k == 0 else f"frame {f}", fontsize=7)

    def mean(name):
        return float(np.nanmean(ds[name].values))

    which = ""
    if clips:
        which = (f"{clips} clips (means); frames of {shown['mouse'].values} trial {int(shown['trial'].values)}"
                 if "trial" in shown.coords else f"{clips} clips (means)")
        which += "\n"
    fig.suptitle(f"{which}error maps: r(recorded) = {mean('video_correlation_recorded'):.3f}, r(predicted) = "
                 f"{mean('video_correlation_predicted'):.3f}; mean E+ {mean('e_plus_mean'):.3g}, "
                 f"E- {mean('e_minus_mean'):.3g} grey levels (overlay: full colour at {scale:.3g}); "
                 "dotted: eccentricity, 10° steps", fontsize=9)
    return fig


def delta_r_figure(ds):
    """The paper's Fig. 6C: the distribution over neurons (and clips) of delta r = r(recorded, predicted from the
    true movie) - r(recorded, predicted from the reconstruction), and the two correlations against each other."""
    delta = np.asarray(ds["delta_r"].values, float).ravel()
    r_true = np.asarray(ds["response_r_true"].values, float).ravel()
    r_recon = np.asarray(ds["response_r_reconstruction"].values, float).ravel()
    ok = np.isfinite(delta)
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    if ok.any():
        span = max(float(np.percentile(np.abs(delta[ok]), 99.5)), 1e-3)  # a few near-silent neurons stay out
        ax.hist(np.clip(delta[ok], -span, span), bins=np.linspace(-span, span, 41), color="tab:purple", alpha=0.85)
        mean = float(delta[ok].mean())
        ax.axvline(0, color="k", lw=1)
        ax.axvline(mean, color="tab:orange", lw=1.5, ls="--", label=f"mean {mean:+.3f}")
        ax.legend(fontsize=8)
        ax2.scatter(r_true[ok], r_recon[ok], s=4, alpha=0.4, color="tab:purple", lw=0)
        lo = float(min(r_true[ok].min(), r_recon[ok].min(), 0))
        hi = float(max(r_true[ok].max(), r_recon[ok].max(), 0.1))
        ax2.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax2.set_xlim(lo, hi), ax2.set_ylim(lo, hi)
        ax2.set_aspect("equal")
    clips = ds.sizes.get("clip", 1)
    first = ds.attrs.get("first_eval_frame", "?")
    ax.set_xlabel("Δr = r(recorded, pred. true movie) − r(recorded, pred. reconstruction)", fontsize=8)
    ax.set_ylabel("neurons" + (f" x clips ({clips})" if clips > 1 else ""), fontsize=8)
    frac = float(np.mean(delta[ok] > 0)) if ok.any() else float("nan")
    ax.set_title(f"per-neuron Δr (frames >= {first}): {int(ok.sum())} values, {100 * frac:.0f} % > 0\n"
                 "(values beyond the 99.5th percentile of |Δr| in the end bins)", fontsize=9)
    ax2.set_xlabel("r(recorded, predicted from the true movie)", fontsize=8)
    ax2.set_ylabel("r(recorded, predicted from the reconstruction)", fontsize=8)
    ax2.set_title("per neuron (below the diagonal: Δr > 0)", fontsize=9)
    return fig


def errormap_figures(ds):
    """{name: Figure}: errormap, and errormap_delta_r when the dataset holds delta r (Fig. 6C)."""
    figures = {"errormap": errormap_figure(ds)}
    if "delta_r" in ds:
        figures["errormap_delta_r"] = delta_r_figure(ds)
    return figures


def errormap_movie_frames(ds, gap=2, clip=0):
    """(T, 36, 3 * 64 + 2 * gap, 3) uint8: reconstruction from recorded | from predicted | overlay on the truth
    (of clip number ``clip`` when the dataset holds several)."""
    ds = one_clip(ds, clip)
    def grey_rgb(v):
        return np.clip(np.rint(v), 0, 255).astype(np.uint8)[..., None].repeat(3, axis=-1)

    overlay = overlay_frames(ds["ground_truth"].values, ds["e_plus"].values, ds["e_minus"].values, _scale(ds))
    t, h = overlay.shape[:2]
    spacer = np.full((t, h, gap, 3), round(GREY), np.uint8)
    return np.concatenate([grey_rgb(ds["recon_recorded"].values), spacer, grey_rgb(ds["recon_predicted"].values),
                           spacer, overlay], axis=2)
