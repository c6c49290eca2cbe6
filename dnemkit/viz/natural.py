"""Figures of a natural-movie reconstruction (natural.nc)."""

from matplotlib.figure import Figure
import numpy as np

from ..video import EVAL_FIRST_FRAME


def _outline(ax, mask, color):
    if mask is not None and mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=color, linewidths=0.8)


def _view(mask, margin=3):
    """(row slice, column slice) of the mask's bounding box plus ``margin`` pixels: where the neurons look."""
    if not mask.any() or mask.all():
        return slice(None), slice(None)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return (slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
            slice(max(cols[0] - margin, 0), cols[-1] + margin + 1))


def natural_summary(ds, n_frames=6):
    """A figure: ground-truth and reconstruction frames, pixel-correlation map, loss and correlation traces.

    Frames: the whole screen of the ground truth, then the part the neurons see (the evaluation mask's bounding
    box + 3 px) of the ground truth and of the reconstruction, contrast-matched inside the mask for display
    (docs/method.md, "Analyses"; correlations are unaffected).
    """
    from ..analysis.metrics import match_contrast

    gt, rec = ds["ground_truth"].values, ds["reconstruction"].values
    first = int(ds.attrs.get("first_eval_frame", EVAL_FIRST_FRAME))
    eval_mask = ds["eval_mask"].values.astype(bool)
    shown = match_contrast(gt, rec, mask=eval_mask) if eval_mask.any() else rec
    ys, xs = _view(eval_mask)
    frames = np.linspace(first, gt.shape[0] - 1, n_frames).astype(int)
    fig = Figure(figsize=(2.1 * n_frames, 9.0), layout="constrained")
    # frames and traces in subfigures of their own: the traces' labels and colour bar would otherwise widen the
    # gaps between the frame columns above them
    top, bottom = fig.subfigures(2, 1, height_ratios=[3, 1])
    grid = top.add_gridspec(3, n_frames)
    rows = ((gt, "ground truth", False), (gt, "ground truth,\nwhere the neurons look", True),
            (shown, "reconstruction\n(contrast-matched)", True))
    for k, f in enumerate(frames):
        for row, (video, label, crop) in enumerate(rows):
            ax = top.add_subplot(grid[row, k])
            ax.imshow(video[f][ys, xs] if crop else video[f], cmap="gray", vmin=0, vmax=255)
            _outline(ax, eval_mask[ys, xs] if crop else eval_mask, "tab:orange")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{label}\nframe {f}" if k == 0 else f"frame {f}", fontsize=8)
    traces = bottom.add_gridspec(1, 3)
    ax = bottom.add_subplot(traces[0, 0])
    im = ax.imshow(ds["pixel_correlation"].values, cmap="RdBu_r", vmin=-1, vmax=1)
    from .screen import eccentricity_contours

    eccentricity_contours(ax, color="0.35")
    ax.set_title("pixel temporal correlation\n(dotted: eccentricity, 10° steps)", fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])
    bottom.colorbar(im, ax=ax, shrink=0.8)
    ax = bottom.add_subplot(traces[0, 1])
    ax.plot(ds["iteration"], ds["loss"].values)
    ax.set_xlabel("iteration"), ax.set_ylabel("Poisson loss")
    chosen = int(ds.attrs.get("stopped_at", -1))
    watched = [name for name in ("deviance_ratio", "heldout_loss", "decoder_agreement") if name in ds]
    if watched:  # the stopper's criterion beside the loss, and the look it returned on both trace panels
        twin = ax.twinx()
        twin.plot(ds["stopper_iteration"], ds[watched[0]].values, "o-", color="tab:red", ms=3)
        twin.set_ylabel(watched[0].replace("_", " ") + " (stopper)", color="tab:red", fontsize=8)
        if watched[0] == "deviance_ratio":  # the knee the stopper looks for is within a few tenths of the level
            lowest = float(ds["deviance_ratio"].min())
            twin.set_ylim(lowest - 0.02, lowest + 0.3)
        if chosen >= 0:
            ax.axvline(chosen, color="tab:red", ls="--", lw=0.8)
    ax = bottom.add_subplot(traces[0, 2])
    if "video_correlation_trace" in ds:
        for member in ds["member"].values:
            trace = ds["video_correlation_trace"].sel(member=member)
            ax.plot(ds["eval_iteration"], trace, "o-" if member == "ensemble" else ".-", label=str(member), ms=3)
        if watched and chosen >= 0:
            ax.axvline(chosen, color="tab:red", ls="--", lw=0.8, label=f"returned (it. {chosen})")
        ax.legend(fontsize=7)
    ax.set_xlabel("iteration"), ax.set_ylabel("video correlation")
    fig.suptitle(f"video r = {float(ds['video_correlation']):.3f}, frame r = {float(ds['frame_correlation']):.3f}"
                 f"  ({ds.attrs.get('recipe', '')})", fontsize=10)
    return fig
