"""Tests of dnemkit.viz.errors: the error-map movie's frames and the red/blue overlay, written as an MP4."""

import numpy as np


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
