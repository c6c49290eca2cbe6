"""Population ablation, error maps, the HTML report and their command-line error cases (tiny runs)."""

import base64
import re

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from scipy import stats
from statsmodels.stats.anova import AnovaRM

from dnemkit.analysis.ablation import ablation_statistics, nested_subsets
from dnemkit.experiments.ablation import run_ablation
from dnemkit.experiments.errormap import error_map_analysis
from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig, sample_responses
from dnemkit.reconstruction import ReconstructionConfig, reconstruct
from dnemkit.io.results import provenance, read_dataset, write_dataset
from dnemkit.stimuli import natural_movie

from conftest import assert_one_line_error, run_cli, write_factories

@pytest.fixture(scope="module")
def mouse():
    return SyntheticMouse(0, SyntheticMouseConfig(n_neurons=40))


@pytest.fixture(scope="module")
def box_mask():
    m = np.zeros((36, 64), bool)
    m[6:30, 14:50] = True
    return m


@pytest.fixture(scope="module")
def ablation(mouse):
    return run_ablation(mouse, keep_fractions=(1, 0.5, 0.25), movies=3, seeds=2, iterations=2, frames=40,
                        ground_truth=mouse, mask="none", progress=False)


def test_ablation_dataset_dims_and_subsets(ablation, mouse):
    ds = ablation
    assert ds["video_correlation"].dims == ("keep_fraction", "movie", "seed")
    assert ds["video_correlation"].shape == (3, 3, 2)
    assert list(ds["keep_fraction"].values) == [1.0, 0.5, 0.25]
    assert list(ds["movie"].values) == [5000, 5001, 5002]
    assert np.isfinite(ds["video_correlation"].values).all()
    assert list(ds["n_kept"].values) == [40, 20, 10]
    # the full population is one reconstruction shared by every seed; each other subset is its own call
    np.testing.assert_array_equal(ds["video_correlation"].values[0, :, 0], ds["video_correlation"].values[0, :, 1])
    assert ds.attrs["reconstruction_calls"] == 1 + 2 * 2
    kept = ds["kept"].values.astype(bool)
    assert (kept[2] <= kept[1]).all() and (kept[1] <= kept[0]).all()  # nested subsets per seed
    assert not np.array_equal(kept[1, 0], kept[1, 1])  # different seeds, different subsets
    assert ds.attrs["dnemkit_kind"] == "ablation"


def test_ablated_neurons_leave_the_loss(mouse):
    """A keep-fraction cell equals a direct reconstruct(neurons=subset) call of the same movies."""
    from dnemkit.experiments.ablation import population_ablation

    movies = np.stack([natural_movie(seed=7000 + k, n_frames=40).values for k in range(2)])
    with torch.no_grad():
        responses = sample_responses(mouse(torch.from_numpy(movies)), 3)
    config = ReconstructionConfig(iterations=2, subbatches_per_pass=64)
    ds = population_ablation(mouse, movies, responses, None, (1, 0.5), (4,), config, progress=False)
    subset = nested_subsets(40, (1, 0.5), 4)[0.5]
    direct = reconstruct(mouse, responses, config=config, neurons=subset, progress=False).ensemble
    from dnemkit.analysis import video_correlation

    r = [video_correlation(movies[j], direct[j], None, 30) for j in range(2)]
    np.testing.assert_allclose(ds["video_correlation"].sel(keep_fraction=0.5, seed=4).values, r, rtol=1e-6)


def test_ablation_statistics_equal_scipy_and_statsmodels(ablation):
    ds = read_dataset_roundtrip(ablation)
    table = ds["video_correlation"].mean("seed").transpose("movie", "keep_fraction").values
    frame = pd.DataFrame({"subject": np.repeat(np.arange(3), 3), "level": np.tile(["a", "b", "c"], 3),
                          "value": table.ravel()})
    expected = AnovaRM(frame, depvar="value", subject="subject", within=["level"]).fit().anova_table.iloc[0]
    assert float(ds["anova_F"]) == pytest.approx(expected["F Value"], rel=1e-9)
    assert float(ds["anova_p"]) == pytest.approx(expected["Pr > F"], rel=1e-9)
    assert float(ds["anova_df_den"]) == 4
    for c in range(2):
        res = stats.ttest_rel(table[:, c + 1], table[:, c])
        assert float(ds["test_t"][c]) == pytest.approx(res.statistic, rel=1e-9)
        assert float(ds["test_p"][c]) == pytest.approx(res.pvalue, rel=1e-9)
        assert float(ds["test_p_bonferroni"][c]) == pytest.approx(min(1.0, 2 * res.pvalue), rel=1e-9)
    # movie x seed pairs as subjects
    pairs = ablation_statistics(ds, "movie_seed")
    table2 = ds["video_correlation"].transpose("keep_fraction", "movie", "seed").values.reshape(3, -1).T
    res = stats.ttest_rel(table2[:, 2], table2[:, 1])
    assert float(pairs["test_t"][1]) == pytest.approx(res.statistic, rel=1e-9)
    assert pairs.attrs["n_subjects"] == 6


def read_dataset_roundtrip(ds, tmp=None):
    """Write and read back, as a user of ablation.nc would see the numbers."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = write_dataset(ds, Path(folder) / "ablation.nc")
        return read_dataset(path, kind="ablation")


@pytest.fixture(scope="module")
def errormap(mouse, box_mask):
    movie = natural_movie(seed=5100, n_frames=40).values
    with torch.no_grad():
        recorded = sample_responses(mouse(torch.from_numpy(movie)[None])[0], 1)
    ds = error_map_analysis(mouse, movie, recorded, None, ReconstructionConfig(iterations=3), box_mask, box_mask,
                            progress=False)
    ds.attrs.update(provenance("errormap", {"iterations": 3}, "synthetic-40", 0))
    return ds


def test_error_maps_are_the_difference_of_the_stored_reconstructions(errormap, box_mask):
    ds = errormap
    diff = ds["recon_recorded"].values.astype(float) - ds["recon_predicted"].values.astype(float)
    e = ds["e_plus"].values.astype(float) - ds["e_minus"].values.astype(float)
    np.testing.assert_allclose(e[:, box_mask], diff[:, box_mask], atol=1e-4)
    assert (ds["e_plus"].values >= 0).all() and (ds["e_minus"].values >= 0).all()
    assert (ds["e_plus"].values[:, ~box_mask] == 0).all() and (ds["e_minus"].values[:, ~box_mask] == 0).all()
    assert (ds["recon_recorded"].values[:, ~box_mask] == 127.5).all()  # grey outside the mask
    assert np.abs(e).max() > 0  # recorded and predicted targets differ
    assert ds["mean_e_plus"].dims == ("y", "x")


def test_rgb_overlay_movie(errormap, tmp_path):
    from dnemkit.io.movies import read_movie, write_movie
    from dnemkit.viz.errors import errormap_movie_frames, overlay_frames

    frames = errormap_movie_frames(errormap)
    assert frames.shape == (40, 36, 3 * 64 + 4, 3) and frames.dtype == np.uint8
    red = overlay_frames(np.full((1, 2, 2), 100.0), np.full((1, 2, 2), 10.0), np.zeros((1, 2, 2)), 10.0)
    assert tuple(red[0, 0, 0]) == (255, 40, 40)
    path = write_movie(tmp_path / "e.mp4", frames)
    assert read_movie(path).shape[0] == 40
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, no leftovers


def _generic_result(path):
    ds = xr.Dataset({"resolution": (("sf", "tf"), np.arange(6.0).reshape(2, 3)), "best_r": 0.75,
                     "curve": (("tf",), np.array([0.1, 0.4, 0.2]))},
                    coords={"sf": [0.5, 0.25], "tf": [1.0, 2.0, 4.0]})
    ds.attrs.update(provenance("mystery", {"alpha": 1}, "synthetic", 3))
    return write_dataset(ds, path)


def test_report_embeds_every_figure_and_the_provenance(tmp_path, ablation, errormap):
    from dnemkit.experiments.rf import receptive_fields, sparse_noise_responses

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
    assert len(images) == 4 + 1 + 1 + 1  # rf: 4 figures, ablation 1, errormap 1, generic 1
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    for fragment in ("dnemkit_version", "synthetic-40", "synthetic-5", "mystery", "best_r", "0.75",
                     "repeated-measures ANOVA", "video r, from recorded activity", "&quot;iterations&quot;: 3"):
        assert fragment in page, fragment
    assert "src=\"http" not in page  # self-contained


def test_report_rejects_non_results(tmp_path):
    plain = tmp_path / "plain.nc"
    xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(plain, engine="h5netcdf")
    assert_one_line_error(run_cli("report", plain, "--out", tmp_path / "r.html"), "not a dnemkit result")
    text = tmp_path / "notes.nc"
    text.write_text("hello")
    assert_one_line_error(run_cli("report", text, "--out", tmp_path / "r.html"), "notes.nc")
    assert_one_line_error(run_cli("report", tmp_path / "missing.nc"), "does not exist")
    assert not (tmp_path / "r.html").exists()


def test_ablation_and_errormap_cli_tiny_runs(tmp_path):
    write_factories(tmp_path)
    spec = f"{tmp_path / 'factories.py'}:tiny"
    result = run_cli("ablation", "--encoder", spec, "--predicted", "--keep-fraction", "1,0.5", "--movies", 2,
                     "--seeds", 1, "--iterations", 1, "--frames", 32, "--mask", "none", "--out", tmp_path / "a",
                     "--quiet")
    assert result.exit_code == 0, result.output
    assert "repeated-measures ANOVA" in result.output and "Bonferroni" in result.output
    assert read_dataset(tmp_path / "a" / "ablation.nc", kind="ablation")["video_correlation"].shape == (2, 2, 1)
    assert (tmp_path / "a" / "ablation.png").exists()
    result = run_cli("errormap", "--encoder", spec, "--ground-truth", spec, "--frames", 32, "--iterations", 1,
                     "--mask", "none", "--out", tmp_path / "e", "--quiet")
    assert result.exit_code == 0, result.output
    for name in ("errormap.nc", "errormap.png", "errormap.mp4"):
        assert (tmp_path / "e" / name).stat().st_size > 0


def test_cli_user_errors(tmp_path):
    write_factories(tmp_path)
    empty = f"{tmp_path / 'factories.py'}:empty"
    tiny = f"{tmp_path / 'factories.py'}:tiny"
    for bad in ("1,1.5", "0,0.5", "-0.25", "1,x"):
        assert_one_line_error(run_cli("ablation", "--keep-fraction", bad, "--out", tmp_path), "--keep-fraction")
    assert_one_line_error(run_cli("ablation", "--encoder", empty, "--out", tmp_path), "0 neurons")
    assert_one_line_error(run_cli("errormap", "--encoder", empty, "--out", tmp_path), "0 neurons")
    # recorded targets need the ground truth's neurons to be the encoder's
    assert_one_line_error(run_cli("errormap", "--encoder", tiny, "--out", tmp_path), "12 neurons", "2000")
    assert not list(tmp_path.glob("*.nc"))
