"""Figure of a screen mask with its two thresholds and eccentricity contours."""

from matplotlib.figure import Figure
import numpy as np

from ..stimuli.geometry import ECCENTRICITY_STEP_DEG, mask_size_deg
from .screen import eccentricity_contours


def mask_figure(ds):
    """The mask level as an image with the train (level >= 0.5) and eval (level >= 1) outlines."""
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    level = ds["mask_level"] if "mask_level" in ds else ds["alpha"]
    im = ax.imshow(level.values, cmap="viridis")
    fig.colorbar(im, ax=ax, label=f"{ds.attrs.get('method', 'alpha')} level")
    for name, color in (("train_mask", "white"), ("eval_mask", "tab:red")):
        m = ds[name].values.astype(float)
        if 0 < m.sum() < m.size:
            ax.contour(m, levels=[0.5], colors=color, linewidths=1.2)
    eccentricity_contours(ax)
    sizes = []
    for name, label in (("train_mask", "train"), ("eval_mask", "eval")):
        d = mask_size_deg(ds[name].values)["diameter_deg"]
        if np.isfinite(d):
            sizes.append(f"{label} {d:.0f}°")
    ax.set_title(f"{ds.attrs.get('method', 'alpha')} mask: white = train (>= {ds.attrs['train_threshold']}), "
                 f"red = eval (>= {ds.attrs['eval_threshold']})\ndotted: eccentricity every "
                 f"{ECCENTRICITY_STEP_DEG:g}°" + (f"; diameters (the paper's) {', '.join(sizes)}" if sizes else ""),
                 fontsize=9)
    ax.set_xlabel("x (pixels)"), ax.set_ylabel("y (pixels)")
    return fig
