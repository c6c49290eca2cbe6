"""dnemkit.viz.kinds: one registry of figures and headline numbers, shared by the commands and the report."""

import numpy as np
import xarray as xr
from click.testing import CliRunner

from dnemkit.cli import main
from dnemkit.io.results import read_dataset
from dnemkit.viz.kinds import KINDS, figures_of, headline_of
from dnemkit.viz.report import render_section


def test_the_command_prints_and_the_report_shows_the_registrys_headline_rows(tmp_path):
    result = CliRunner().invoke(main, ["natural", "--encoder", "synthetic", "--iterations", "2", "--models", "1",
                                       "--no-video", "--quiet", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    ds = read_dataset(tmp_path / "natural.nc")
    rows = headline_of(ds)
    labels = [label for label, _ in rows]
    assert "video correlation" in labels and "frame correlation" in labels
    for label, value in rows:
        assert f"{label}: {value}" in result.output.splitlines()
    assert f"{float(ds['video_correlation']):.3f}" == dict(rows)["video correlation"]
    section = render_section(tmp_path / "natural.nc", ds)
    assert all(label in section for label in labels)
    # the figures the command wrote are the registry's, by name
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(figures_of(ds))


def test_an_unregistered_kind_gets_its_scalars():
    ds = xr.Dataset({"best_r": 0.75, "curve": ("t", np.arange(3.0))}, attrs={"dnemkit_kind": "mystery"})
    assert figures_of(ds) is None
    assert headline_of(ds) == [("best_r", "0.75")]
    assert {"natural", "mask", "gratings", "noise", "rf", "ablation", "errormap", "tuning"} <= set(KINDS)
