"""Tests of dnemkit.encoders.responses: an encoder's responses to stimuli, batched, without gradients, checked."""

import numpy as np
import pytest
import torch

from dnemkit.encoders.responses import encoder_device, predict_responses
from dnemkit.errors import DnemkitError


class _Mean(torch.nn.Module):
    """Two 'neurons': the mean grey level of each frame, and twice it (plus a behaviour row when given)."""

    n_neurons, first_valid_frame, description = 2, 0, "mean-grey"

    def forward(self, video, behavior=None):
        m = video.mean((-1, -2))[:, None, :]
        out = torch.cat([m, 2 * m], 1)
        return out if behavior is None else out + behavior[:, :1]


def test_batches_give_the_rates_of_one_pass_and_need_no_gradient():
    videos = np.random.default_rng(0).uniform(0, 255, (5, 4, 36, 64)).astype(np.float32)
    whole = predict_responses(_Mean(), videos)
    assert whole.shape == (5, 2, 4) and whole.dtype == np.float32
    np.testing.assert_allclose(predict_responses(_Mean(), videos, batch=2), whole, rtol=1e-6)
    made = predict_responses(_Mean(), (5, lambda a, b: torch.from_numpy(videos[a:b])), batch=3)
    np.testing.assert_allclose(made, whole, rtol=1e-6)
    means = predict_responses(_Mean(), videos, batch=2, reduce=lambda r: r.mean(-1).double())
    assert means.shape == (5, 2) and means.dtype == np.float64
    behavior = np.ones((5, 4, 4), np.float32)
    np.testing.assert_allclose(predict_responses(_Mean(), videos, behavior, batch=1), whole + 1, rtol=1e-6)
    assert encoder_device(_Mean()) == torch.device("cpu")


def test_a_broken_encoder_is_one_line():
    class Negative(_Mean):
        def forward(self, video, behavior=None):
            return -super().forward(video, behavior) - 1

    videos = np.full((2, 3, 36, 64), 128.0, np.float32)
    with pytest.raises(DnemkitError, match="negative rates"):
        predict_responses(Negative(), videos)
    with pytest.raises(DnemkitError, match=r"expected \(2, 3, 3\) \(3 neurons\)"):
        predict_responses(_Mean(), videos, n_neurons=3)
