"""Tests of dnemkit.experiments.simulate: the simulated mouse on disk, checked against the Sensorium layout
(``sim_root``: tests/experiments/conftest.py)."""

import numpy as np
import xarray as xr

from dnemkit.data import find_mouse


def test_simulate_writes_the_sensorium_layout(sim_root):
    """Checked with plain numpy against docs/method.md, "Data layout", independently of the reader."""
    root, summary = sim_root
    folder = root / "dynamic10000-0-0-Video-synthetic0000"
    tiers = np.load(folder / "meta/trials/tiers.npy")
    assert list(tiers) == ["train", "train", "train", "train", "oracle", "final_test_main"]
    video = np.load(folder / "data/videos/3.npy")
    responses = np.load(folder / "data/responses/3.npy")
    assert video.shape == (36, 64, 120) and responses.shape == (2000, 120)  # trial 3 is 20 frames longer
    short = np.load(folder / "data/responses/0.npy")
    assert short.shape == (2000, 120) and np.isnan(short[:, 100:]).all() and not np.isnan(short[:, :100]).any()
    assert np.isnan(np.load(folder / "data/responses/5.npy")).all()  # unlabeled final test trial
    assert not np.isnan(np.load(folder / "data/behavior/5.npy")[:, :100]).any()
    assert np.load(folder / "meta/neurons/unit_ids.npy").shape == (2000,)
    assert np.load(folder / "meta/statistics/responses/all/mean.npy").shape == (2000,)
    # counts are non-negative integers (Poisson)
    assert np.all(short[:, :100] >= 0) and np.all(short[:, :100] == np.round(short[:, :100]))
    mouse = find_mouse(root)
    assert mouse.n_neurons == 2000 and mouse.trial(3).length == 120 and mouse.trial(0).length == 100
    truth = xr.open_dataset(summary["truth"], engine="h5netcdf")
    assert truth.sizes["neuron"] == 2000 and 0 < truth.attrs["noise_ceiling"] < 1
    # the video on disk is the (H, W, T) transpose of what the reader returns
    np.testing.assert_array_equal(mouse.trial(3).video, np.moveaxis(video, -1, 0))
