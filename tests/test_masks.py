import numpy as np
import xarray as xr

from conftest import assert_one_line_error, run_cli
from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.reconstruction.masks import MaskConfig, builtin_clips, cache_dir, cache_key, train_alpha_mask


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
