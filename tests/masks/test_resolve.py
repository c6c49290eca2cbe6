"""Tests of dnemkit.masks.resolve: the resolver computes, caches and names its masks; no empty or NaN mask is
cached."""

import numpy as np
import pytest
import torch

from dnemkit.encoders.ref import EncoderRef
from dnemkit.errors import DnemkitError
from dnemkit.masks import cache_dir, cached_path, resolve_mask


def test_resolver_computes_and_caches_a_sensitivity_mask_and_says_so(tmp_path):
    ref = EncoderRef("synthetic:6")
    path = cached_path("synthetic:6", None, None, "sensitivity")
    assert not path.exists()
    mask, line = resolve_mask("auto", ref)
    assert "input sensitivity, computed now" in line and path.exists()
    again, line = resolve_mask("auto", EncoderRef("synthetic:6"))
    assert "cached" in line and np.array_equal(again.eval, mask.eval)
    everything, line = resolve_mask("none", ref)
    assert everything.train.all() and everything.eval.all() and "none" in line


class _Blind(torch.nn.Module):
    """An encoder whose rates do not depend on the video."""

    first_valid_frame = 0
    n_neurons = 3

    def __init__(self):
        super().__init__()
        self.register_buffer("rate", torch.ones(3))

    def forward(self, video, behavior=None):
        return (self.rate[None, :, None] + 0 * video.mean(dim=(2, 3))[:, None, :]).expand(video.shape[0], 3, -1)


def test_no_empty_or_nan_mask_is_cached(tmp_path, run_cli, assert_one_line_error):
    before = set(cache_dir().glob("*")) if cache_dir().exists() else set()
    with pytest.raises(DnemkitError, match="do not depend on the movie"):
        resolve_mask("sensitivity", EncoderRef(_Blind()))
    # an alpha mask trained for 1 step selects no pixel: refused, named, not cached
    result = run_cli("mask", "--encoder", "synthetic:7", "--iterations", 1, "--out", tmp_path / "m", "--quiet")
    assert_one_line_error(result, "selects no pixel", "not cached")
    after = set(cache_dir().glob("*")) if cache_dir().exists() else set()
    assert after == before
    assert not (tmp_path / "m" / "mask.nc").exists()
