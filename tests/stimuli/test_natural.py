"""Tests of dnemkit.stimuli.natural: the bundled images and the natural movies made of them."""

import time

import numpy as np
import pytest

from dnemkit.errors import DnemkitError
from dnemkit.stimuli import natural_movie
from dnemkit.stimuli.natural import NATURAL_IMAGES, load_grey_image


GREY = 127.5


def test_natural_images_load_offline():
    for name in NATURAL_IMAGES:
        image = load_grey_image(name)
        assert image.ndim == 2 and min(image.shape) >= 300 and 0 <= image.min() < image.max() <= 255


@pytest.mark.parametrize("kind", ["pan", "drift", "saccades", "mixed"])
def test_natural_movie_seeded_in_range_and_moving(kind):
    a = natural_movie(seed=11, kind=kind)
    assert a.dims == ("frame", "y", "x") and a.shape == (300, 36, 64) and a.dtype == np.float32
    assert np.array_equal(a.values, natural_movie(seed=11, kind=kind).values)
    assert not np.allclose(a.values, natural_movie(seed=12, kind=kind).values)
    assert float(a.min()) >= 0 and float(a.max()) <= 255
    assert float(a.mean()) == pytest.approx(GREY, abs=15) and 35 <= float(a.std()) <= 62
    step = np.abs(np.diff(a.values, axis=0)).mean(axis=(1, 2))
    assert (step > 0).mean() > 0.95 and step.mean() > 0.3  # the camera keeps moving
    assert a.attrs["seed"] == 11 and a.attrs["kind"] == kind
    assert all(name in NATURAL_IMAGES for name in a.attrs["images"].split(","))


def test_natural_movie_mixed_cuts_between_images_and_is_fast():
    natural_movie(seed=0)  # warm the image cache
    start = time.perf_counter()
    movie = natural_movie(seed=3)
    assert time.perf_counter() - start < 0.5
    starts = movie.attrs["shot_starts"]
    assert starts[0] == 0 and len(starts) >= 2 and len(movie.attrs["images"].split(",")) == len(starts)
    short = natural_movie(seed=3, n_frames=7, kind="pan")
    assert short.shape == (7, 36, 64)
    with pytest.raises(DnemkitError, match="kind is 'zoom'; expected one of"):
        natural_movie(kind="zoom")
    with pytest.raises(DnemkitError, match="n_frames is 0; expected an integer >= 1"):
        natural_movie(n_frames=0)
