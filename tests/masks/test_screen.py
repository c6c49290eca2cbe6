"""Tests of dnemkit.masks.screen: a ScreenMask keeps its level, method and thresholds through a file, and files
written before the rename (level stored as ``alpha``) still read."""

import numpy as np
import pytest
import xarray as xr

from dnemkit.errors import DnemkitError
from dnemkit.io.results import write_dataset
from dnemkit.masks import ScreenMask, load_mask_file


def _level(seed=0):
    return np.random.default_rng(seed).uniform(0, 1.5, (36, 64)).astype(np.float32)


@pytest.mark.parametrize("method", ["alpha", "sensitivity", "given"])
def test_file_round_trip_keeps_level_method_and_thresholds(tmp_path, method):
    mask = ScreenMask(_level(), method, 0.4, 0.9)
    write_dataset(mask.to_dataset(dnemkit_kind="mask"), tmp_path / "m.nc")
    back = load_mask_file(tmp_path / "m.nc")
    assert back.method == method and (back.train_threshold, back.eval_threshold) == (0.4, 0.9)
    np.testing.assert_array_equal(back.level, mask.level)
    np.testing.assert_array_equal(back.train, mask.level >= 0.4)
    np.testing.assert_array_equal(back.eval, mask.level >= 0.9)


def test_a_file_written_before_the_rename_reads_as_an_alpha_mask(tmp_path):
    level = _level(1)
    old = xr.Dataset({"alpha": (("y", "x"), level), "train_mask": (("y", "x"), (level >= 0.5).astype(np.uint8)),
                      "eval_mask": (("y", "x"), (level >= 1).astype(np.uint8))},
                     attrs={"dnemkit_kind": "mask", "train_threshold": 0.5, "eval_threshold": 1.0})
    write_dataset(old, tmp_path / "old.nc")
    back = load_mask_file(tmp_path / "old.nc")
    assert back.method == "alpha"
    np.testing.assert_array_equal(back.level, level)


def test_masks_are_bool_and_at_is_the_threshold_rule():
    mask = ScreenMask(_level(2), "alpha")
    ds = mask.to_dataset()
    assert ds["train_mask"].dtype == bool and ds["eval_mask"].dtype == bool
    assert ds["mask_level"].attrs["method"] == "alpha"
    np.testing.assert_array_equal(mask.at(0.7), mask.level >= 0.7)


def test_an_unknown_method_is_one_line():
    with pytest.raises(DnemkitError, match="mask method is 'magic'; expected one of alpha, sensitivity, given"):
        ScreenMask(_level(), "magic")
