"""Tests of dnemkit.stimuli.sparse: sparse-noise flashes pixel by pixel, timing, errors; phase inversion."""

import numpy as np
import pytest
import xarray as xr

from dnemkit.errors import DnemkitError
from dnemkit.stimuli import gaussian_noise, iter_sparse_noise, phase_invert, sparse_noise
from dnemkit.stimuli.sparse import all_positions


GREY = 127.5


def test_sparse_noise_one_pixel_at_the_requested_position_during_the_flash_only():
    positions = np.array([[3, 5], [20, 60], [35, 0]])
    s = sparse_noise(positions, polarities=("on", "off"))
    assert s.dims == ("stimulus", "frame", "y", "x") and s.shape == (6, 45, 36, 64) and s.dtype == np.float32
    assert list(s.polarity.values) == ["on"] * 3 + ["off"] * 3
    assert (s.attrs["pre_frames"], s.attrs["flash_frames"], s.attrs["post_frames"]) == (15, 15, 15)
    for i in range(6):
        clip = s.values[i]
        y, x, pol = int(s.pos_y[i]), int(s.pos_x[i]), s.polarity.values[i]
        assert (y, x) == tuple(positions[i % 3])
        changed = np.argwhere(clip != GREY)
        flash_frames = np.arange(15, 30)
        assert np.array_equal(changed, np.column_stack([flash_frames, np.full(15, y), np.full(15, x)]))
        assert (clip[15:30, y, x] == (255.0 if pol == "on" else 0.0)).all()


def test_sparse_noise_timing_and_chunks():
    s = sparse_noise([[0, 0]], polarities="off", pre=2, flash=3, post=1)
    assert s.shape == (1, 6, 36, 64)
    assert [float(s.values[0, f, 0, 0]) for f in range(6)] == [GREY, GREY, 0, 0, 0, GREY]
    positions = all_positions()[100:105]
    chunks = list(iter_sparse_noise(chunk=2, positions=positions, polarities=("on",), pre=1, flash=1, post=1))
    assert [c.sizes["stimulus"] for c in chunks] == [2, 2, 1]
    got = np.concatenate([np.column_stack([c.pos_y, c.pos_x]) for c in chunks])
    assert np.array_equal(got, positions)
    grid = all_positions()
    assert grid.shape == (36 * 64, 2) and len({tuple(p) for p in grid}) == 36 * 64


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(positions=[[36, 0]]), ["positions", "row < 36"]),
        (dict(positions=[[0, -1]]), ["positions", "off the screen"]),
        (dict(positions=[[1.5, 2.0]]), ["positions", "integer"]),
        (dict(positions=[1, 2]), ["positions", "(K, 2)"]),
        (dict(positions=[[0, 0]], polarities=("on", "grey")), ["polarities", "'on'"]),
        (dict(positions=[[0, 0]], flash=0), ["flash", ">= 1"]),
    ],
)
def test_sparse_noise_errors(kwargs, words):
    with pytest.raises(DnemkitError) as err:
        sparse_noise(**kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_phase_invert_numpy_and_dataarray():
    v = gaussian_noise(1, 1, n_frames=5, seed=7)
    inv = phase_invert(v)
    assert isinstance(inv, xr.DataArray) and inv.dims == v.dims
    np.testing.assert_allclose(v.values + inv.values, 255.0)
    assert inv.attrs["phase"] == "inverted" and inv.attrs["sigma_space_px"] == 1
    assert v.attrs.get("phase") is None  # the input is untouched
    twice = phase_invert(inv)
    np.testing.assert_allclose(twice.values, v.values, atol=1e-4)  # float32 rounding only
    assert twice.attrs["phase"] == "original"
    raw = v.values
    np.testing.assert_allclose(phase_invert(phase_invert(raw)), raw, atol=1e-4)
    assert phase_invert(raw).dtype == np.float32
    with pytest.raises(DnemkitError, match="video is a str; expected an array"):
        phase_invert("video")
