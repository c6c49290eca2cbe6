"""What every figure of the screen draws on it: eccentricity contours from the screen geometry.

Uses only the axes it is given (no pyplot state), so the object-API figures (:mod:`dnemkit.viz.rf`) can use it.
"""

from ..stimuli.geometry import ECCENTRICITY_STEP_DEG, eccentricity_levels, eccentricity_map

__all__ = ["eccentricity_contours", "ECCENTRICITY_COLOR"]

ECCENTRICITY_COLOR = "0.85"


def eccentricity_contours(ax, rows=slice(None), cols=slice(None), step=ECCENTRICITY_STEP_DEG, color=None,
                          label=True):
    """Draw dotted eccentricity contours every ``step`` degrees (:func:`dnemkit.stimuli.geometry.eccentricity_map`:
    the visual angle from the line of sight to the screen centre) on an image axis showing the 36 x 64 screen, or
    its crop ``[rows, cols]`` (slices, as the image shows it). Labels read '10°', '20°', ...

    Returns the matplotlib ContourSet (its ``levels`` are the degrees drawn), or None when no level falls
    inside the crop.
    """
    ecc = eccentricity_map()[rows, cols]
    levels = [lv for lv in eccentricity_levels(step) if ecc.min() < lv < ecc.max()]
    if not levels:
        return None
    from matplotlib import patheffects

    color = color or ECCENTRICITY_COLOR
    halo = [patheffects.withStroke(linewidth=1.8, foreground="k" if color in ("w", "white", ECCENTRICITY_COLOR)
                                   else "w", alpha=0.5)]
    cs = ax.contour(ecc, levels=levels, colors=color, linewidths=0.8, linestyles=":")
    cs.set(path_effects=halo)  # visible over light and dark maps alike
    if label:
        for text in ax.clabel(cs, fmt=lambda v: f"{v:g}°", fontsize=6, inline=True):
            text.set_path_effects(halo)
    return cs
