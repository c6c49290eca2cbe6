"""`characterize study`: clip selection, the store (resume, kill -9, Dask), duplicates, ensemble sizes against
`characterize natural`, the statistics against independent computations, and one-line errors."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import stats

from dnemkit.experiments.simulate import mouse_folder_name, simulate
from dnemkit.experiments.study import StudyConfig, run
from dnemkit.io.results import read_dataset

FRAMES = 100


@pytest.fixture(scope="module")
def two_mice(tmp_path_factory):
    """Two simulated mice (seeds 0 and 1, 2000 neurons, 36 trials of 100 frames, no oracle repeats)."""
    root = tmp_path_factory.mktemp("study-data")
    for seed in (0, 1):
        simulate(root, seed=seed, trials=36, frames=FRAMES, oracle=False)
    return root


@pytest.fixture(scope="module")
def study(two_mice, tmp_path_factory):
    """A study of both mice with their own ground-truth models (fast recipe, 20 iterations, sensitivity masks)
    and three variations."""
    out = tmp_path_factory.mktemp("study-out")
    config = StudyConfig(data=str(two_mice), encoder="synthetic", recipe=StudyConfig.recipe_named("fast", 20),
                         mask="sensitivity", variations=("predicted", "unsmoothed", "train-mask=1"))
    return config, out, run(config, out=out, progress=False)


def test_the_clips_are_fold_0_of_the_training_split(two_mice, study):
    """The same trials `characterize train` validates on (training.split_folds), in id order."""
    from dnemkit.data import open_mouse
    from dnemkit.training import TrainingConfig, load_trials, split_folds

    _, _, ds = study
    for seed in (0, 1):
        mouse = open_mouse(two_mice / mouse_folder_name(seed))
        _, val = split_folds(load_trials(mouse, ("train", "oracle")), TrainingConfig(fold=0))
        mine = ds["trial"].values[ds["mouse_of_clip"].values == mouse.name]
        assert list(mine) == sorted(t.id for t in val)[:10] and len(mine) >= 3


def test_statistics_equal_independent_computations(study):
    _, _, ds = study
    r = ds["video_correlation"].values
    assert ds.attrs["n_included"] == len(r) and np.isfinite(r).all()
    ci = stats.t.interval(0.95, len(r) - 1, loc=r.mean(), scale=stats.sem(r))
    mean = ds["mean_video_correlation"]
    assert (float(mean), mean.attrs["ci95_low"], mean.attrs["ci95_high"]) == pytest.approx((r.mean(), *ci))
    p = stats.ttest_rel(r, ds["random_video_correlation"].values).pvalue
    assert float(ds["video_vs_random_p"]) == pytest.approx(p, rel=1e-9) and p < 1e-3
    assert r.mean() > 0.3 and abs(np.mean(ds["random_video_correlation"].values)) < 0.1
    # activity predicted from the true movie fits the recordings better than from the reconstruction
    assert float(ds["prediction_correlation_true"].mean()) > float(ds["prediction_correlation_reconstruction"].mean())


def test_frame_correlation_rises_with_contrast(study):
    """A seeded run: clips of higher contrast drive the neurons harder and are reconstructed better."""
    _, _, ds = study
    row = ds.sel(predictor="contrast")
    assert float(row["predictor_r"]) > 0 and float(row["predictor_slope"]) > 0
    assert float(row["predictor_r"]) == pytest.approx(
        np.corrcoef(ds["contrast"].values, ds["frame_correlation"].values)[0, 1])


def test_variations_hold_the_papers_signs_and_are_tested_over_mice(study):
    """Reconstructing from predicted activity beats recorded responses; smoothing does not hurt."""
    _, _, ds = study
    assert list(ds["variation"].values) == ["standard", "predicted", "unsmoothed", "train-mask=1"]
    table = ds["variation_subject_video_correlation"].values  # (mice, variations)
    assert ds.attrs["variation_subjects"] == "mice" and table.shape == (2, 4)
    mean = table.mean(0)
    assert mean[1] > mean[0] and mean[0] >= mean[2]
    assert float(ds["variation_change_percent"].sel(variation="predicted")) == pytest.approx(
        100 * (mean[1] - mean[0]) / mean[0])
    assert float(ds["variation_p"].sel(variation="predicted")) == pytest.approx(
        stats.ttest_rel(table[:, 1], table[:, 0]).pvalue)
    np.testing.assert_allclose(ds["variation_video_correlation"].sel(variation="standard").values,
                               ds["video_correlation"].values, atol=1e-12)
    # the activity predicted from the true movie fits better than from the reconstruction; matching helps it
    corr = ds["input_prediction_correlation"].mean("clip")
    assert float(corr.sel(input="true")) > float(corr.sel(input="reconstruction"))
    assert float(corr.sel(input="matched")) >= float(corr.sel(input="reconstruction")) - 1e-6


def test_rescoring_another_eval_threshold_equals_a_fresh_run(study, tmp_path):
    """The sweep re-scores stored videos; a fresh study whose mask file says eval threshold 0.75 (same alpha, same
    training mask) reconstructs again and gives the same r per clip."""
    from dnemkit.encoders.ref import EncoderRef
    from dnemkit.io.results import write_dataset
    from dnemkit.masks import resolve_mask
    from dnemkit.masks import ScreenMask

    config, _, ds = study
    one = mouse_folder_name(0)
    mask, _ = resolve_mask("sensitivity", EncoderRef("synthetic:0"))
    path = tmp_path / "mask.nc"
    write_dataset(ScreenMask(mask.level, mask.method, 0.5, 0.75).to_dataset(dnemkit_kind="mask"), path)
    fresh = run(config.replace(mice=(one,), mask=str(path), variations=()), progress=False)
    mine = ds["mouse_of_clip"].values == one
    rescored = ds["threshold_clip_video_correlation"].sel(training_mask="standard", eval_threshold=0.75).values
    assert fresh.attrs["units_computed"] == int(mine.sum())
    np.testing.assert_allclose(rescored[mine], fresh["video_correlation"].values, atol=1e-6)
    at_one = ds["threshold_clip_video_correlation"].sel(training_mask="standard", eval_threshold=1.0).values
    np.testing.assert_allclose(at_one, ds["video_correlation"].values, atol=1e-12)
    diam = ds["eval_mask_diameter_deg"]
    assert (diam.sel(eval_threshold=0.25) > diam.sel(eval_threshold=1.25)).all()


def test_rerun_recomputes_nothing_and_dask_gives_the_same_numbers(two_mice, study):
    config, out, ds = study
    again = run(config, out=out, progress=False)
    assert again.attrs["units_computed"] == 0
    # standard, predicted and train-mask=1 reconstruct; unsmoothed re-scores the standard videos
    assert again.attrs["units_reused"] == ds.attrs["n_units"] == 3 * ds.attrs["n_clips"]
    np.testing.assert_array_equal(again["video_correlation"].values, ds["video_correlation"].values)
    dask = run(config.replace(executor="dask", workers=1, mice=(mouse_folder_name(1),), variations=()),
               progress=False)
    mine = ds["mouse_of_clip"].values == mouse_folder_name(1)
    np.testing.assert_allclose(dask["video_correlation"].values, ds["video_correlation"].values[mine], atol=1e-6)
    assert read_dataset(out / "study.nc", kind="study").sizes["clip"] == ds.sizes["clip"]


def test_kill_9_mid_study_then_rerun_reuses_the_stored_clips(two_mice, tmp_path):
    out, fresh = tmp_path / "killed", tmp_path / "fresh"
    args = [sys.executable, "-c", "from dnemkit.cli import main; main()", "study", "--data", str(two_mice / mouse_folder_name(0)),
            "--encoder", "synthetic", "--iterations", "10", "--trials", "3", "--mask", "none", "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(args + ["--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = out / "study.store"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(store.glob("[!.]*.nc")) if store.is_dir() else []) < 1:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(list(store.glob("[!.]*.nc")))
    assert stored >= 1 and not (out / "study.nc").exists()
    rerun = subprocess.run(args + ["--out", str(out)], env=env, capture_output=True, text=True, check=True)
    assert f"{stored} already stored (reused)" in rerun.stdout
    whole = subprocess.run(args + ["--out", str(fresh)], env=env, capture_output=True, text=True, check=True)
    assert "0 already stored" in whole.stdout
    a, b = read_dataset(out / "study.nc"), read_dataset(fresh / "study.nc")
    np.testing.assert_array_equal(a["video_correlation"].values, b["video_correlation"].values)
    np.testing.assert_array_equal(a["frame_correlation"].values, b["frame_correlation"].values)


# ---------------------------------------------------------------------------------------------------- duplicates
def _write_planted(root, n_neurons=40):
    """A mouse whose test tier holds a copy of a training clip's movie and a near miss (same first frame blended
    40 % with another picture)."""
    import torch

    from dnemkit.data.sensorium import write_mouse
    from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig, sample_responses
    from dnemkit.stimuli import natural_movie

    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=n_neurons))
    movies = [natural_movie(seed=7000 + k, n_frames=FRAMES).values for k in range(6)]
    near = 0.6 * movies[1] + 0.4 * natural_movie(seed=7999, n_frames=FRAMES).values
    tests = [movies[0].copy(), near, natural_movie(seed=7100, n_frames=FRAMES).values]
    trials = []
    for k, (video, tier) in enumerate([(m, "train") for m in movies] + [(m, "live_test_main") for m in tests]):
        video = video.astype(np.float32)
        behavior = np.tile(np.array([[15.0], [0.0], [0.0], [0.0]], np.float32), (1, FRAMES))
        with torch.no_grad():
            rates = mouse(torch.from_numpy(video)[None], torch.from_numpy(behavior)[None])[0].numpy()
        trials.append(dict(video=video, responses=sample_responses(rates, np.random.default_rng(k)), behavior=behavior[:2],
                           pupil_center=behavior[2:], tier=tier))
    write_mouse(root, mouse_folder_name(0), trials)
    return mouse


def test_a_planted_duplicate_is_flagged_and_excluded_and_a_near_miss_is_not(tmp_path):
    _write_planted(tmp_path / "data")
    ds = run(StudyConfig(data=str(tmp_path / "data"), encoder="synthetic", tiers=("live_test_main",),
                         recipe=StudyConfig.recipe_named("fast", 2), mask="none"), progress=False)
    assert list(ds["trial"].values) == [6, 7, 8]
    assert list(ds["duplicate"].values) == [True, False, False]
    assert int(ds["duplicate_trial"].values[0]) == 0 and float(ds["duplicate_correlation"].values[0]) == \
        pytest.approx(1.0)
    assert int(ds["duplicate_trial"].values[1]) == 1 and 0.5 < float(ds["duplicate_correlation"].values[1]) < 0.95
    assert list(ds["included"].values) == [False, True, True]
    assert float(ds["mean_video_correlation"]) == pytest.approx(ds["video_correlation"].values[1:].mean())
    kept = run(StudyConfig(data=str(tmp_path / "data"), encoder="synthetic", tiers=("live_test_main",),
                           recipe=StudyConfig.recipe_named("fast", 2), mask="none", keep_duplicates=True),
               progress=False)
    assert kept["included"].values.all()
    assert float(kept["mean_video_correlation"]) == pytest.approx(kept["video_correlation"].values.mean())


# ---------------------------------------------------------------------------------------------------- ensembles
@pytest.fixture(scope="module")
def three_models(tmp_path_factory, perturbed_dwiseneuro):
    """A 37-neuron simulated mouse and a folder of three small DwiseNeuros (readout 0: 37 neurons) written as
    argus checkpoints."""
    from dnemkit.encoders.checkpoint import save_checkpoint

    root = tmp_path_factory.mktemp("ens")
    simulate(root / "data", seed=3, trials=16, n_neurons=37, frames=FRAMES, oracle=False)
    for k in range(3):
        save_checkpoint(root / "models" / f"model-{k:03d}-0.1.pth", perturbed_dwiseneuro(seed=k))
    return root


def test_ensemble_sizes_equal_natural_with_k_models_and_the_anova_is_by_hand(three_models, run_cli, tmp_path):
    data, models = three_models / "data" / mouse_folder_name(3), three_models / "models"
    ds = run(StudyConfig(data=str(data), encoder=str(models), recipe=StudyConfig.recipe_named("fast", 3), mask="none",
                         trials=2, variations=("gradient",), input_predictions=False), progress=False)
    assert ds.sizes["ensemble_size"] == 3 and ds.attrs["ensemble_subjects"] == "clips"
    gradient = ds["variation_video_correlation"].sel(variation="gradient").values
    assert np.isfinite(gradient).all() and not np.allclose(gradient, ds["video_correlation"].values)
    trial = int(ds["trial"].values[0])
    for k in (1, 2, 3):
        out = tmp_path / f"n{k}"
        result = run_cli("natural", "--data", data, "--trial", trial, "--encoder", models, "--models", k,
                         "--iterations", 3, "--mask", "none", "--no-video", "--quiet", "--out", out)
        assert result.exit_code == 0, result.output
        natural = read_dataset(out / "natural.nc")
        assert float(ds["ensemble_video_correlation"].values[0, k - 1]) == pytest.approx(
            float(natural["video_correlation"]), abs=1e-5)
    # one-way repeated-measures ANOVA by hand: subjects x sizes table, F = MS_size / MS_error
    table = ds["ensemble_video_correlation"].values
    n, k = table.shape
    grand = table.mean()
    ss_size = n * ((table.mean(0) - grand) ** 2).sum()
    ss_subject = k * ((table.mean(1) - grand) ** 2).sum()
    ss_error = ((table - grand) ** 2).sum() - ss_size - ss_subject
    f = (ss_size / (k - 1)) / (ss_error / ((k - 1) * (n - 1)))
    a = ds["ensemble_anova_p"]
    assert a.attrs["F"] == pytest.approx(f, rel=1e-8)
    assert float(a) == pytest.approx(stats.f.sf(f, k - 1, (k - 1) * (n - 1)), rel=1e-8)


# ---------------------------------------------------------------------------------------------------- user mistakes
def test_bad_input_is_one_line(two_mice, three_models, tmp_path, run_cli, assert_one_line_error):
    (tmp_path / "empty").mkdir()
    cases = [
        (["--data", tmp_path / "empty"], "holds no mouse folders"),
        (["--data", two_mice, "--encoder", "synthetic", "--tier", "final_test_main"], "no labelled trials in tier"),
        (["--data", two_mice, "--encoder", three_models / "models"], "map to no readout"),
        (["--data", two_mice / mouse_folder_name(0), "--encoder", three_models / "models"], "predicts 37 neurons"),
        (["--data", two_mice, "--encoder", "synthetic", "--fold", 1, "--tier", "train"], "one selection"),
        (["--data", two_mice, "--encoder", "synthetic", "--mouse-map", "oops"], "NAME=INDEX"),
        (["--data", two_mice, "--encoder", "synthetic", "--variations", "gradient"], "has 1; expected an ensemble"),
        (["--data", two_mice, "--encoder", "synthetic", "--variations", "sharper"], "variation 'sharper' is unknown"),
    ]
    for args, phrase in cases:
        result = run_cli("study", *args, "--quiet", "--out", tmp_path / "o")
        assert_one_line_error(result, phrase)
        assert not (tmp_path / "o" / "study.nc").exists()


def test_mouse_folders_map_to_readouts_by_encoder_json_names_or_mouse_map(three_models, tmp_path):
    """Readout 0 has 37 neurons, readout 1 has 20: each mouse must land on its own (neuron counts are checked)."""
    import json
    import shutil

    from dnemkit.experiments.study.plan import plan_mice

    root = tmp_path / "data"
    shutil.copytree(three_models / "data" / mouse_folder_name(3), root / mouse_folder_name(3))
    simulate(root, seed=4, trials=9, n_neurons=20, frames=FRAMES, oracle=False)
    models = tmp_path / "models"
    shutil.copytree(three_models / "models", models)
    by_map = plan_mice(StudyConfig(data=str(root), encoder=str(models),
                                   mouse_map=((mouse_folder_name(4)[:12], 1), (mouse_folder_name(3)[:12], 0))))
    assert [(p.name, p.ref.mouse, p.ref.encoder.n_neurons) for p in by_map] == [
        (mouse_folder_name(3), 0, 37), (mouse_folder_name(4), 1, 20)]
    (models / "encoder.json").write_text(json.dumps({"mice": [mouse_folder_name(3), mouse_folder_name(4)]}))
    by_name = plan_mice(StudyConfig(data=str(root), encoder=str(models)))
    assert [p.ref.mouse for p in by_name] == [0, 1]
    (models / "encoder.json").write_text(json.dumps({"mice": [mouse_folder_name(4), mouse_folder_name(3)]}))
    with pytest.raises(Exception, match="predicts 20 neurons but mouse .*synthetic0003 has 37"):
        plan_mice(StudyConfig(data=str(root), encoder=str(models)))
