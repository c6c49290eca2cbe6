"""`characterize mask`: mask.nc with its thresholds, the figure, and the cache filled."""

import numpy as np
import xarray as xr

from dnemkit.masks import cache_dir, mask_key
from dnemkit.units import missing_units, stray_units


def test_mask_command_writes_and_caches(tmp_path, run_cli, assert_one_line_error):
    out = tmp_path / "m"
    result = run_cli("mask", "--encoder", "synthetic:5", "--iterations", 30, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out / "mask.nc", engine="h5netcdf")
    np.testing.assert_array_equal(ds["train_mask"].values, (ds["mask_level"].values >= 0.5))
    np.testing.assert_array_equal(ds["eval_mask"].values, (ds["mask_level"].values >= 1.0))
    assert ds.attrs["train_threshold"] == 0.5 and ds.attrs["eval_threshold"] == 1.0
    assert ds.attrs["method"] == "alpha" and (stray_units(ds), missing_units(ds)) == ([], [])
    assert (cache_dir() / f"{mask_key('synthetic:5')}.nc").exists()
    assert (out / "mask.png").read_bytes()[:4] == b"\x89PNG"
    assert_one_line_error(run_cli("mask", "--encoder", "synthetic", "--data", tmp_path / "nowhere"),
                          "does not exist")
