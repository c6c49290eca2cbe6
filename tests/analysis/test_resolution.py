"""Tests of dnemkit.analysis.resolution: a sweep's resolution heatmap, its axes and their cut-offs."""

import numpy as np
import pytest
import xarray as xr

from dnemkit.analysis.resolution import GRATING_AXES, NOISE_AXES, add_resolution, resolution_axes
from dnemkit.errors import DnemkitError


def _sweep(r):
    """A gratings-like Dataset: ensemble r over (sf, tf, phase) = r[sf, tf] in both phases."""
    sf, tf = [0.018, 0.036, 0.071, 0.143], [1.0, 4.0]
    values = np.repeat(np.asarray(r, float)[:, :, None], 2, axis=2)
    return xr.Dataset({"video_correlation_ensemble": (("sf", "tf", "phase"), values)},
                      coords={"sf": sf, "tf": tf, "phase": ["original", "inverted"]})


def test_axes_of_each_kind_and_one_line_for_others():
    assert resolution_axes("gratings") == GRATING_AXES and resolution_axes("noise") == NOISE_AXES
    assert [a.dim for a in GRATING_AXES] == ["sf", "tf"] and [a.finer for a in NOISE_AXES] == ["smaller"] * 2
    with pytest.raises(DnemkitError, match="no resolution axes; expected gratings or noise"):
        resolution_axes("tuning")


def test_heatmap_and_cutoffs_along_a_frequency_axis():
    # r falls with sf; at tf 4 it crosses 0.2 halfway (on log sf) between 0.036 and 0.071
    ds = add_resolution(_sweep([[0.9, 0.8], [0.7, 0.3], [0.5, 0.1], [0.1, 0.0]]), axes=GRATING_AXES, threshold=0.2)
    np.testing.assert_allclose(ds["resolution"].values, [[0.9, 0.8], [0.7, 0.3], [0.5, 0.1], [0.1, 0.0]])
    assert ds["resolution"].dims == ("sf", "tf") and ds["resolution"].attrs["threshold"] == 0.2
    cut = ds["cutoff_sf"].values  # per tf
    assert cut[1] == pytest.approx(np.exp((np.log(0.036) + np.log(0.071)) / 2))
    assert list(ds["cutoff_sf_status"].values) == ["interpolated", "interpolated"]
    assert float(ds["cutoff_sf_best"]) == pytest.approx(cut[0])  # the best tf is tf 1 everywhere
    assert ds["cutoff_sf_best"].attrs["cyc_per_px"] == pytest.approx(float(ds["cutoff_sf_best"]) * 3.5, rel=0.01)


def test_an_incomplete_grid_is_quiet_and_nan_where_nothing_is_computed():
    r = np.full((4, 2), np.nan)
    r[0, 0] = 0.9
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = add_resolution(_sweep(r), axes=GRATING_AXES, threshold=0.2)
    assert np.isnan(ds["resolution"].values[1:]).all()
    assert ds["cutoff_sf_status"].values[1] == "not_computed"
