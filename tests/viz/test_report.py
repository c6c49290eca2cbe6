"""The HTML report (dnemkit.viz.report through `characterize report`): every figure and the provenance
embedded, results of an unknown kind shown generically, non-results refused."""

import base64
import re

import numpy as np
import pytest
import xarray as xr

from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.io.results import provenance, write_dataset



def _generic_result(path):
    ds = xr.Dataset({"resolution": (("sf", "tf"), np.arange(6.0).reshape(2, 3)), "best_r": 0.75,
                     "curve": (("tf",), np.array([0.1, 0.4, 0.2]))},
                    coords={"sf": [0.5, 0.25], "tf": [1.0, 2.0, 4.0]})
    ds.attrs.update(provenance("mystery", {"alpha": 1}, "synthetic", 3))
    return write_dataset(ds, path)


def test_report_embeds_every_figure_and_the_provenance(tmp_path, ablation, errormap, run_cli):
    from dnemkit.analysis.receptive_fields import receptive_fields
    from dnemkit.experiments.rf import sparse_noise_responses

    small = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=5))
    rf = receptive_fields(sparse_noise_responses(small, positions=[[r, c] for r in range(12, 26, 2)
                                                                   for c in range(22, 44, 2)], progress=False))
    rf.attrs.update(provenance("rf", {"chunk": 64}, "synthetic-5", None))
    paths = [write_dataset(rf, tmp_path / "rf.nc"), write_dataset(ablation, tmp_path / "ablation.nc"),
             write_dataset(errormap, tmp_path / "errormap.nc"), _generic_result(tmp_path / "mystery.nc")]
    out = tmp_path / "report.html"
    result = run_cli("report", *paths, "--out", out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4 + 1 + 2 + 1  # rf: 4 figures, ablation 1, errormap 2 (maps, delta r), generic 1
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    for fragment in ("dnemkit_version", "synthetic-40", "synthetic-5", "mystery", "best_r", "0.75",
                     "repeated-measures ANOVA", "video r, from recorded activity", "&quot;iterations&quot;: 3"):
        assert fragment in page, fragment
    assert "src=\"http" not in page  # self-contained


def test_report_rejects_non_results(tmp_path, run_cli, assert_one_line_error):
    plain = tmp_path / "plain.nc"
    xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(plain, engine="h5netcdf")
    assert_one_line_error(run_cli("report", plain, "--out", tmp_path / "r.html"), "not a dnemkit result")
    text = tmp_path / "notes.nc"
    text.write_text("hello")
    assert_one_line_error(run_cli("report", text, "--out", tmp_path / "r.html"), "notes.nc")
    assert_one_line_error(run_cli("report", tmp_path / "missing.nc"), "does not exist")
    assert not (tmp_path / "r.html").exists()
