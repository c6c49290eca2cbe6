"""The natural-movie experiment (dnemkit.experiments.natural) and `characterize natural`, on a simulated
dataset (``sim_root``: tests/experiments/conftest.py)."""

import numpy as np
import pytest
import xarray as xr

from dnemkit.encoders.ref import EncoderRef
from dnemkit.experiments.natural import NaturalConfig, run


def test_predicted_activity_reconstructs_better_than_recorded(sim_root):
    root, _ = sim_root
    common = dict(encoder=EncoderRef("synthetic", None, 1), data=str(root), trial=2,
                  recipe=NaturalConfig.recipe_named("paper", 12))
    recorded = run(NaturalConfig(**common), progress=False)
    predicted = run(NaturalConfig(predicted=True, **common), progress=False)
    assert predicted["video_correlation"] > recorded["video_correlation"] > 0.05
    for ds in (recorded, predicted):
        assert ds["ground_truth"].dims == ("frame", "y", "x") and ds.sizes["frame"] == 100
        assert ds.attrs["dnemkit_kind"] == "natural" and ds.attrs["recipe"].startswith("paper: 1 model(s) x 12")
        assert ds.attrs["fold_batchnorm"] == 0  # the paper's recipe runs the plain path


def test_natural_cli_writes_dataset_figure_and_movie(tmp_path, sim_root, run_cli):
    root, _ = sim_root
    out = tmp_path / "run"
    result = run_cli("natural", "--encoder", "synthetic", "--data", root, "--trial", 1, "--iterations", 3,
                     "--keep-fraction", 0.5, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "video correlation:" in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert sum(line.startswith("mask: ") for line in lines) == 1 and len(lines) == len(set(lines))  # said once
    ds = xr.open_dataset(out / "natural.nc", engine="h5netcdf")
    assert ds["loss_neuron"].sum() == 1000
    assert ds.attrs["fold_batchnorm"] == 1  # the fast recipe's default
    assert ds.sizes["frame"] == 100
    assert (out / "natural.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "natural.mp4").stat().st_size > 1000
    assert not list(out.glob(".*tmp*"))
    # evaluate reads the same file back and agrees with the stored metrics
    ev = run_cli("evaluate", out / "natural.nc", out / "natural.nc", "--json")
    import json
    metrics = json.loads(ev.output)
    assert metrics["video_correlation"] == pytest.approx(float(ds["video_correlation"]), rel=1e-6)


def test_natural_user_mistakes(tmp_path, sim_root, run_cli, assert_one_line_error):
    root, _ = sim_root
    assert_one_line_error(run_cli("natural", "--iterations", 0), "--iterations")
    assert_one_line_error(run_cli("natural", "--recipe", "slow"), "--recipe")
    assert_one_line_error(run_cli("natural", "--encoder", "synthetic", "--mask", tmp_path / "nomask.nc"),
                          "nomask.nc")
    assert_one_line_error(run_cli("natural", "--encoder", "synthetic", "--data", root, "--movie",
                                  tmp_path / "m.npy"), "--data and --movie")
    assert_one_line_error(run_cli("natural", "--keep-fraction", 1.5), "--keep-fraction", "1.5", "0<x<=1")
    assert_one_line_error(run_cli("natural", "--data", tmp_path / "missing"), "does not exist")
    assert_one_line_error(run_cli("natural", "--encoder", "nope"), "unknown encoder spec")
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a movie")
    assert_one_line_error(run_cli("natural", "--encoder", "synthetic", "--movie", bad), str(bad))
    nan = tmp_path / "nan.npy"
    movie = np.full((40, 36, 64), 127.5, np.float32)
    movie[3, 4, 5] = np.nan
    np.save(nan, movie)
    assert_one_line_error(run_cli("natural", "--encoder", "synthetic", "--movie", nan), "non-finite")
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((40, 30, 30), np.float32))
    assert_one_line_error(run_cli("natural", "--encoder", "synthetic", "--movie", wrong), "shape")
    # an unlabeled trial has nothing to reconstruct from unless --predicted
    assert_one_line_error(run_cli("natural", "--encoder", "synthetic", "--data", root, "--trial", 5),
                          "no recorded responses")


def test_natural_keep_fraction_error_names_the_option(run_cli, assert_one_line_error):
    assert_one_line_error(run_cli("natural", "--keep-fraction", 1.5), "--keep-fraction")


def test_natural_cli_with_the_deviance_stopper_stores_its_trace_and_says_its_choice(tmp_path, sim_root, run_cli):
    root, _ = sim_root
    out = tmp_path / "dev"
    result = run_cli("natural", "--encoder", "synthetic", "--data", root, "--trial", 1, "--stopper", "deviance",
                     "--iterations", 40, "--no-video", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("stopper: deviance chose iteration"))
    ds = xr.open_dataset(out / "natural.nc", engine="h5netcdf")
    q = ds["deviance_ratio"]
    assert q.dims == ("stopper_iteration",) and int(q["stopper_iteration"][0]) == 0
    chosen = int(line.split("iteration ")[1].split()[0])
    assert f"{float(q.sel(stopper_iteration=chosen)):.3f}" in line and f"lowest {float(q.min()):.3f}" in line
    # the returned look: the first within the excess (0.045 with the synthetic mouse's 2000 neurons) of the lowest
    assert "within 0.045 of the lowest, 0.045 x sqrt(2000 / 2000 neurons in the loss)" in line
    within = q["stopper_iteration"].values[(q.values - q.values.min()) <= 0.045]
    assert chosen == int(within[0])
    assert ds.attrs["stopper"] == line and int(ds.attrs["stopped_at"]) == chosen
    assert f"iterations run, the videos of iteration {chosen} returned" in ds.attrs["recipe"]
    # the truth was scored at every look: the look returned is the one the stored result's video r belongs to
    tracked = ds["video_correlation_trace"].sel(member="ensemble")
    assert float(tracked.sel(eval_iteration=chosen)) == pytest.approx(float(ds["video_correlation"]), rel=1e-5)
    assert (out / "natural.png").read_bytes()[:4] == b"\x89PNG"
    # --stopper-excess: a smaller excess returns the first look within it (the same trajectory)
    tight = run_cli("natural", "--encoder", "synthetic", "--data", root, "--trial", 1, "--stopper", "deviance",
                    "--stopper-excess", 0.01, "--iterations", 40, "--no-video", "--out", tmp_path / "tight",
                    "--quiet")
    assert tight.exit_code == 0, tight.output
    again = xr.open_dataset(tmp_path / "tight" / "natural.nc", engine="h5netcdf")
    q2 = again["deviance_ratio"]
    first_within = q2["stopper_iteration"].values[(q2.values - q2.values.min()) <= 0.01][0]
    assert int(again.attrs["stopped_at"]) == int(first_within) >= chosen
