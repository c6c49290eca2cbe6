"""Tests of dnemkit.viz.errors: the error-map movie's frames and the red/blue overlay, written as an MP4."""

import numpy as np
import pytest



def test_rgb_overlay_movie(errormap, tmp_path):
    from dnemkit.io.movies import read_movie, write_movie
    from dnemkit.viz.errors import errormap_movie_frames, overlay_frames

    frames = errormap_movie_frames(errormap)
    assert frames.shape == (40, 36, 3 * 64 + 4, 3) and frames.dtype == np.uint8
    red = overlay_frames(np.full((1, 2, 2), 100.0), np.full((1, 2, 2), 10.0), np.zeros((1, 2, 2)), 10.0)
    assert tuple(red[0, 0, 0]) == (255, 40, 40)
    path = write_movie(tmp_path / "e.mp4", frames)
    assert read_movie(path).shape[0] == 40
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, no leftovers


def _eccentricity_levels(fig):
    """Levels of the dotted eccentricity contours drawn on any axis of ``fig``."""
    from matplotlib.contour import ContourSet

    found = []
    for ax in fig.axes:
        for artist in ax.get_children():
            if isinstance(artist, ContourSet) and list(artist.levels[:2]) == [10, 20]:
                found.append(list(artist.levels))
    return found


def test_screen_maps_carry_eccentricity_contours(errormap):
    """The error maps, the pixel correlation map and the alpha-mask figure draw 10-degree eccentricity steps."""
    from dnemkit.masks import ScreenMask
    from dnemkit.viz.errors import errormap_figures
    from dnemkit.viz.masks import mask_figure

    figures = errormap_figures(errormap)
    assert len(_eccentricity_levels(figures["errormap"])) == 4  # E+, E-, |E| and the pixel correlation map
    alpha = np.zeros((36, 64), np.float32)
    alpha[10:26, 20:44] = 1.2
    assert _eccentricity_levels(mask_figure(ScreenMask(alpha).to_dataset()))[0][:6] == [10, 20, 30, 40, 50, 60]
    delta = figures["errormap_delta_r"]
    assert "Δr" in delta.axes[0].get_xlabel()
    assert sum(p.get_height() for p in delta.axes[0].patches) == np.isfinite(errormap["delta_r"].values).sum()
