"""dnemkit.analysis.tracking: scoring a reconstruction while it runs (reconstruct(trackers=[...]))."""

import numpy as np
import pytest
import torch

from dnemkit.analysis.metrics import video_correlation
from dnemkit.analysis.tracking import VideoCorrelationTracker
from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import Recipe, reconstruct
from dnemkit.video import EVAL_FIRST_FRAME


def _movie(seed, t=40):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, size=(t, 36, 64)).astype(np.float32)


def test_tracker_scores_every_model_and_the_ensemble_against_video_correlation():
    truth = np.stack([_movie(0), _movie(1)])
    mask = np.zeros((36, 64), bool)
    mask[5:20, 10:40] = True
    videos = np.stack([truth + np.random.default_rng(k).normal(0, 40 * (k + 1), truth.shape) for k in range(3)])
    ensemble = videos.mean(0)
    scores = VideoCorrelationTracker(truth, eval_mask=mask)(videos, ensemble, 30)
    assert scores.shape == (4, 2)
    for b in range(2):
        for k in range(3):
            assert scores[k, b] == pytest.approx(video_correlation(truth[b], videos[k, b], mask=mask, first_frame=30), abs=1e-6)
        assert scores[3, b] == pytest.approx(video_correlation(truth[b], ensemble[b], mask=mask, first_frame=30), abs=1e-6)
    assert scores[0, 0] > scores[2, 0]  # less noise, higher r


def test_reconstruct_records_the_trace_under_the_trackers_name():
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=60))
    movie = _movie(2)
    with torch.no_grad():
        target = mouse(torch.from_numpy(movie)[None])[0]
    calls = []

    class Brightness:
        name = "mean_grey"
        every = 2

        def __call__(self, videos, ensemble, first_frame):
            calls.append(first_frame)
            return np.concatenate([videos.mean(axis=(2, 3, 4)), ensemble.mean(axis=(1, 2, 3))[None]])

    res = reconstruct(mouse, target, recipe=Recipe(iterations=4), trackers=[Brightness()], progress=False)
    trace = res.traces["mean_grey"]
    assert list(res.tracked_iterations["mean_grey"]) == [0, 2, 4] and trace.shape == (3, 2, 1)
    assert trace[0, 0, 0] == pytest.approx(127.5)  # grey start
    assert calls == [EVAL_FIRST_FRAME] * 3 == [30] * 3 and "video_correlation" not in res.traces


def test_a_tracker_of_the_wrong_shape_or_movie_is_an_error():
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=30))
    target = torch.rand(30, 40)
    with pytest.raises(DnemkitError, match="40 frames"):
        reconstruct(mouse, target, recipe=Recipe(iterations=1),
                    trackers=[VideoCorrelationTracker(_movie(0, t=50))], progress=False)

    class Flat:
        name = "flat"

        def __call__(self, videos, ensemble, first_frame):
            return np.zeros(3)

    with pytest.raises(DnemkitError, match=r"tracker 'flat' returned scores of shape \(3,\); expected \(2, 1\)"):
        reconstruct(mouse, target, recipe=Recipe(iterations=1), trackers=[Flat()], progress=False)
    with pytest.raises(DnemkitError, match="ground truth has shape"):
        VideoCorrelationTracker(np.zeros((10, 36, 36)))


def test_trackers_need_a_name_of_their_own():
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=30))
    target = torch.rand(30, 40)
    with pytest.raises(DnemkitError, match="is not a tracker"):
        reconstruct(mouse, target, recipe=Recipe(iterations=1),
                    trackers=[lambda videos, ensemble, first: np.zeros((2, 1))], progress=False)
    truth = _movie(0)
    with pytest.raises(DnemkitError, match="tracker name 'video_correlation' is taken"):
        reconstruct(mouse, target, recipe=Recipe(iterations=1),
                    trackers=[VideoCorrelationTracker(truth), VideoCorrelationTracker(truth)], progress=False)
    with pytest.raises(DnemkitError, match="tracker name 'loss' is taken"):
        class Loss:
            name = "loss"

            def __call__(self, videos, ensemble, first_frame):
                return np.zeros((2, 1))

        reconstruct(mouse, target, recipe=Recipe(iterations=1), trackers=[Loss()], progress=False)
