"""dnemkit.units: every unit a results dataset carries is in the one vocabulary."""

import numpy as np
import xarray as xr
from click.testing import CliRunner

from dnemkit.cli import main
from dnemkit.encoders import SyntheticMouse
from dnemkit.io.results import read_dataset
from dnemkit.stimuli import drifting_grating, gaussian_noise, natural_movie, sparse_noise
from dnemkit.units import VOCABULARY, missing_units, per, stray_units


def test_stray_units_names_what_is_outside_the_vocabulary():
    ds = xr.Dataset({"a": ("x", np.zeros(2), {"units": "grey level"}),
                     "b": ("x", np.zeros(2), {"units": "grey level (0-255)"})},
                    coords={"x": ("x", [0, 1], {"units": "pixels"})})
    assert sorted(stray_units(ds)) == [("b", "grey level (0-255)"), ("x", "pixels")]
    assert "grey level" in VOCABULARY and "1" in VOCABULARY


def test_per_element_units_and_missing_units():
    ds = xr.Dataset({"slope": ("p", [0.1, 0.2], {"units_from": "slope_units"}),
                     "bad_slope": ("p", [0.1, 0.2], {"units_from": "bad_units"}),
                     "bare": ("p", [1.0, 2.0]), "flag": ("p", [True, False]), "count": ("p", [1, 2])},
                    coords={"slope_units": ("p", ["1/grey level", "1"]), "bad_units": ("p", ["1/furlong", "1"])})
    assert stray_units(ds) == [("bad_slope", "1/furlong")]
    assert missing_units(ds) == ["bare"]  # floats need a unit; bools and integers (flags, counts) do not
    assert per("1") == "1" and per("grey level") == "1/grey level"


def test_stimuli_and_the_synthetic_mouse_use_the_vocabulary():
    arrays = [drifting_grating(0.036, 1.875, 0, n_frames=4), gaussian_noise(2, 2, n_frames=4, seed=0),
              natural_movie(seed=0, n_frames=4), sparse_noise(positions=[[3, 4]])]
    for array in arrays:
        assert stray_units(array.to_dataset(name="video")) == [], array.name
    assert stray_units(SyntheticMouse(0).properties()) == []


def test_results_of_natural_and_gratings_use_the_vocabulary(tmp_path):
    runner = CliRunner()
    natural = runner.invoke(main, ["natural", "--encoder", "synthetic", "--iterations", "2", "--models", "1",
                                   "--no-video", "--quiet", "--out", str(tmp_path / "n")])
    assert natural.exit_code == 0, natural.output
    gratings = runner.invoke(main, ["gratings", "--encoder", "synthetic", "--sf", "0.036", "--tf", "1.875",
                                    "--directions", "0", "--frames", "40", "--iterations", "2", "--quiet",
                                    "--out", str(tmp_path / "g")])
    assert gratings.exit_code == 0, gratings.output
    for path in (tmp_path / "n" / "natural.nc", tmp_path / "g" / "gratings.nc"):
        ds = read_dataset(path)
        assert stray_units(ds) == [], path.name
        assert sum("units" in v.attrs for v in ds.variables.values()) >= 5  # units are there, not just absent
