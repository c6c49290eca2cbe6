"""Figures and an RGB movie of error maps (errormap.nc): E+ (recorded brighter) in red, E- (darker) in blue."""

import numpy as np
from matplotlib.figure import Figure

from ..stimuli.geometry import GREY

__all__ = ["errormap_figure", "errormap_figures", "overlay_frames", "errormap_movie_frames"]

RED = np.array([255.0, 40.0, 40.0])
BLUE = np.array([40.0, 90.0, 255.0])


def _outline(ax, ds):
    if "eval_mask" in ds:
        m = np.asarray(ds["eval_mask"].values).astype(float)
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


def errormap_figure(ds, n_frames=6):
    """Mean E+ / E- / |E| maps, then a frame strip: ground truth, both reconstructions and the overlay."""
    first = int(ds.attrs.get("first_eval_frame", 0))
    t = ds.sizes["frame"]
    frames = np.linspace(min(first, t - 1), t - 1, n_frames).astype(int)
    scale = _scale(ds)
    fig = Figure(figsize=(2.1 * n_frames, 9.4), layout="constrained")
    grid = fig.add_gridspec(5, n_frames)
    maps = (("mean_e_plus", "mean E+ (recorded brighter)", "Reds"),
            ("mean_e_minus", "mean E- (recorded darker)", "Blues"),
            ("mean_abs_error", "mean |E|", "magma"))
    width = n_frames // 3
    for k, (name, title, cmap) in enumerate(maps):
        ax = fig.add_subplot(grid[0, k * width:(k + 1) * width])
        im = ax.imshow(ds[name].values, cmap=cmap, vmin=0)
        _outline(ax, ds)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(title + " (grey levels)", fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.8)
    overlay = overlay_frames(ds["ground_truth"].values[frames], ds["e_plus"].values[frames],
                             ds["e_minus"].values[frames], scale)
    rows = (("ground_truth", "ground truth"), ("recon_recorded", "from recorded"),
            ("recon_predicted", "from predicted"), (None, "E+ red / E- blue"))
    for r, (name, label) in enumerate(rows, start=1):
        for k, f in enumerate(frames):
            ax = fig.add_subplot(grid[r, k])
            if name is None:
                ax.imshow(overlay[k])
            else:
                ax.imshow(ds[name].values[f], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{label}\nframe {f}" if k == 0 else f"frame {f}", fontsize=7)
    fig.suptitle(f"error maps: r(recorded) = {float(ds['video_correlation_recorded']):.3f}, r(predicted) = "
                 f"{float(ds['video_correlation_predicted']):.3f}; mean E+ {float(ds['e_plus_mean']):.3g}, "
                 f"E- {float(ds['e_minus_mean']):.3g} grey levels (overlay: full colour at {scale:.3g})", fontsize=9)
    return fig


def errormap_figures(ds):
    """{name: Figure}: errormap."""
    return {"errormap": errormap_figure(ds)}


def errormap_movie_frames(ds, gap=2):
    """(T, 36, 3 * 64 + 2 * gap, 3) uint8: reconstruction from recorded | from predicted | overlay on the truth."""
    def grey_rgb(v):
        return np.clip(np.rint(v), 0, 255).astype(np.uint8)[..., None].repeat(3, axis=-1)

    overlay = overlay_frames(ds["ground_truth"].values, ds["e_plus"].values, ds["e_minus"].values, _scale(ds))
    t, h = overlay.shape[:2]
    spacer = np.full((t, h, gap, 3), round(GREY), np.uint8)
    return np.concatenate([grey_rgb(ds["recon_recorded"].values), spacer, grey_rgb(ds["recon_predicted"].values),
                           spacer, overlay], axis=2)
