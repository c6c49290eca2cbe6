"""Tests of dnemkit.reconstruction.schedule: the sub-batch schedule of a trial and the paper's Adam update."""

import numpy as np
import pytest
import torch

from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import PaperAdam, subbatch_starts


def test_schedule_of_a_trial():
    starts = subbatch_starts(300)
    assert len(starts) == 35 and starts[:3] == [0, 8, 16] and starts[-2:] == [264, 268]
    assert subbatch_starts(32) == [0]
    assert subbatch_starts(45) == [0, 8, 13]
    with pytest.raises(DnemkitError, match="at least 32"):
        subbatch_starts(20)


def test_paper_adam_matches_the_published_update_in_float64():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(15, 4)) * 1e-3
    video = torch.full((4,), 127.5, dtype=torch.float64)
    opt = PaperAdam()
    x, m = np.full(4, 127.5), np.zeros(4)
    for i in range(1, 16):
        opt.step(video, torch.tensor(grads[i - 1]), i)
        lr_i = 1000 * min(1, i / 10)
        m = 0.9 * m + 0.1 * grads[i - 1]
        lr_t = lr_i * np.sqrt(1 - 0.999 ** (i + 1)) / (1 - 0.9 ** (i + 1))
        x = np.clip(x - lr_t * m / (1 - 0.9 ** (i + 1)), 0, 255)
    np.testing.assert_allclose(video.numpy(), x, rtol=1e-12)
