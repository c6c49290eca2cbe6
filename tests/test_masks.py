import numpy as np
import pytest
import torch
import xarray as xr

from conftest import assert_one_line_error, run_cli
from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.errors import DnemkitError
from dnemkit.masks import (MaskConfig, builtin_clips, cache_dir, cache_key, cached_path, resolve_mask,
                           sensitivity_mask, train_alpha_mask)


def test_eval_mask_covers_the_synthetic_rf_centres():
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=400))
    config = MaskConfig(iterations=1000, n_movies=4)
    clips, targets, behaviors = builtin_clips(mouse, config)
    mask = train_alpha_mask(mouse, clips, targets, behaviors, config, progress=False)
    props = mouse.properties()
    cy, cx = np.round(props["center_y"].values).astype(int), np.round(props["center_x"].values).astype(int)
    assert mask.eval[cy, cx].mean() >= 0.99
    assert mask.train[cy, cx].all()
    # ... and masks matter: the screen's far corners, where no RF reaches, stay outside the evaluation mask
    assert not mask.eval[:3, :3].any() and not mask.eval[-3:, -3:].any()
    assert mask.eval.sum() < mask.train.sum() < 36 * 64
    assert mask.alpha.max() > 1.0  # unbounded, as in the paper (~1.4 there)


def test_mask_command_writes_and_caches(tmp_path):
    out = tmp_path / "m"
    result = run_cli("mask", "--encoder", "synthetic:5", "--iterations", 30, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out / "mask.nc", engine="h5netcdf")
    np.testing.assert_array_equal(ds["train_mask"].values, (ds["alpha"].values >= 0.5).astype(np.uint8))
    np.testing.assert_array_equal(ds["eval_mask"].values, (ds["alpha"].values >= 1.0).astype(np.uint8))
    assert ds.attrs["train_threshold"] == 0.5 and ds.attrs["eval_threshold"] == 1.0
    assert (cache_dir() / f"{cache_key('synthetic:5')}.nc").exists()
    assert (out / "mask.png").read_bytes()[:4] == b"\x89PNG"
    assert_one_line_error(run_cli("mask", "--encoder", "synthetic", "--data", tmp_path / "nowhere"),
                          "does not exist")


def test_sensitivity_mask_covers_the_synthetic_rf_centres():
    for seed in (0, 4):
        mouse = SyntheticMouse(seed, SyntheticMouseConfig(n_neurons=400))
        mask = sensitivity_mask(mouse)
        props = mouse.properties()
        cy, cx = np.round(props["center_y"].values).astype(int), np.round(props["center_x"].values).astype(int)
        assert mask.train[cy, cx].mean() >= 0.99 and mask.eval[cy, cx].mean() >= 0.95
        assert not mask.train[:3, :3].any() and not mask.train[-3:, -3:].any()
        assert not mask.train[:3, -3:].any() and not mask.train[-3:, :3].any()
        assert mask.eval.sum() < mask.train.sum() < 36 * 64 / 2


def test_resolver_computes_and_caches_a_sensitivity_mask_and_says_so(tmp_path):
    mouse = SyntheticMouse(6, SyntheticMouseConfig(n_neurons=200))
    path = cached_path("synthetic:6", None, None, "sensitivity")
    assert not path.exists()
    mask, line = resolve_mask("auto", mouse, "synthetic:6")
    assert "input sensitivity, computed now" in line and path.exists()
    again, line = resolve_mask("auto", mouse, "synthetic:6")
    assert "cached" in line and np.array_equal(again.eval, mask.eval)
    everything, line = resolve_mask("none", mouse, "synthetic:6")
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


def test_no_empty_or_nan_mask_is_cached(tmp_path):
    before = set(cache_dir().glob("*")) if cache_dir().exists() else set()
    with pytest.raises(DnemkitError, match="do not depend on the movie"):
        resolve_mask("sensitivity", _Blind(), "blind-encoder")
    # an alpha mask trained for 1 step selects no pixel: refused, named, not cached
    result = run_cli("mask", "--encoder", "synthetic:7", "--iterations", 1, "--out", tmp_path / "m", "--quiet")
    assert_one_line_error(result, "selects no pixel", "not cached")
    after = set(cache_dir().glob("*")) if cache_dir().exists() else set()
    assert after == before
    assert not (tmp_path / "m" / "mask.nc").exists()
