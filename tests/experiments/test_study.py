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
                         mask="sensitivity", variations=("predicted", "unsmoothed", "train-mask=1", "train-mask=none"))
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
    rand = ds["random_video_correlation"].values
    two_sample = stats.ttest_ind(r, rand)  # the paper's test: independent samples, df = 2n - 2
    assert float(ds["video_vs_random_p"]) == pytest.approx(two_sample.pvalue, rel=1e-9) and two_sample.pvalue < 1e-3
    assert ds["video_vs_random_p"].attrs["df"] == 2 * len(r) - 2
    assert ds["video_vs_random_p"].attrs["t"] == pytest.approx(two_sample.statistic, rel=1e-9)
    assert float(ds["video_vs_random_paired_p"]) == pytest.approx(stats.ttest_rel(r, rand).pvalue, rel=1e-9)
    assert "two-sample" in ds["video_vs_random_p"].attrs["test"] and "paired" in ds["video_vs_random_paired_p"].attrs["test"]
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
    assert list(ds["variation"].values) == ["standard", "predicted", "unsmoothed", "train-mask=1", "train-mask=none"]
    table = ds["variation_subject_video_correlation"].values  # (mice, variations)
    assert ds.attrs["variation_subjects"] == "mice" and table.shape == (2, 5)
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
    write_dataset(ScreenMask(mask.level, mask.method, 0.5, 0.7).to_dataset(dnemkit_kind="mask"), path)
    fresh = run(config.replace(mice=(one,), mask=str(path), variations=()), progress=False)
    mine = ds["mouse_of_clip"].values == one
    rescored = ds["threshold_clip_video_correlation"].sel(training_mask="standard", eval_threshold=0.7).values
    assert fresh.attrs["units_computed"] == int(mine.sum())
    np.testing.assert_allclose(rescored[mine], fresh["video_correlation"].values, atol=1e-6)
    at_one = ds["threshold_clip_video_correlation"].sel(training_mask="standard", eval_threshold=1.0).values
    np.testing.assert_allclose(at_one, ds["video_correlation"].values, atol=1e-12)
    diam = ds["eval_mask_diameter_deg"]
    assert (diam.sel(eval_threshold=0.5) > diam.sel(eval_threshold=1.0)).all()
    np.testing.assert_allclose(diam.sel(eval_threshold=0.0).values, 121.4, atol=0.05)  # level >= 0: full screen


def test_each_training_mask_arm_sweeps_from_its_own_threshold_to_one(study):
    """The reference's sweep: the standard arm (training mask >= 0.5) at 0.5, 0.6, ..., 1.0; no training mask
    at 0.0 ... 1.0; an arm trained at >= 1 at 1.0 only; NaN elsewhere. The no-mask arm optimised every pixel."""
    _, _, ds = study
    sweep = ds["threshold_video_correlation"]
    grid = [round(float(t), 2) for t in ds["eval_threshold"].values]
    assert grid == [round(0.1 * k, 2) for k in range(11)]
    finite = {str(arm): [grid[j] for j in np.flatnonzero(np.isfinite(sweep.sel(training_mask=arm).values))]
              for arm in ds["training_mask"].values}
    assert finite == {"standard": grid[5:], "train-mask=1": [1.0], "train-mask=none": grid}
    assert list(ds["training_threshold"].values) == [0.5, 1.0, 0.0]
    assert ds.attrs["mask_scale"] == "sensitivity" and "not alpha" in ds.attrs["mask_scale_note"]


def test_rerun_recomputes_nothing_and_dask_gives_the_same_numbers(two_mice, study):
    config, out, ds = study
    again = run(config, out=out, progress=False)
    assert again.attrs["units_computed"] == 0
    # standard, predicted, train-mask=1 and train-mask=none reconstruct; unsmoothed re-scores the standard videos
    assert again.attrs["units_reused"] == ds.attrs["n_units"] == 4 * ds.attrs["n_clips"]
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
    fresh = [natural_movie(seed=7100 + k, n_frames=FRAMES).values for k in range(3)]
    # test tier: a copy of training movie 0, the near miss, a new movie, a repeat of it (the same movie shown
    # twice, as an oracle movie is), two more new movies
    tests = [movies[0].copy(), near, fresh[0], fresh[0].copy(), fresh[1], fresh[2]]
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


def test_duplicates_are_replaced_by_the_next_unused_clips_and_the_near_miss_is_not(tmp_path):
    """The reference keeps n: trial 6 (a copy of training trial 0) is replaced by the next unused trial of the
    tier, 9 (a repeat of 8, found inside the selection) is skipped as well, so the 3 clips are 7, 8 and 10; the
    replacement is printed and stored."""
    _write_planted(tmp_path / "data")
    lines = []
    ds = run(StudyConfig(data=str(tmp_path / "data"), encoder="synthetic", tiers=("live_test_main",), trials=3,
                         recipe=StudyConfig.recipe_named("fast", 2), mask="none"), progress=False,
             log=lines.append)
    assert list(ds["trial"].values) == [7, 8, 10] and ds.attrs["n_clips"] == ds.attrs["n_included"] == 3
    assert not ds["duplicate"].values.any() and ds["included"].values.all()
    assert ds.attrs["duplicates"] == "replace" and ds.attrs["n_duplicates_replaced"] == 1
    said = "\n".join(lines)
    assert "trial 6 shows the movie of training trial 0 (first-frame r 1.000): replaced by trial 10" in said
    assert "trial(s) 9 passed over as replacements (duplicates too)" in said  # a repeat of 8
    assert int(ds["duplicate_trial"].values[0]) == 1 and 0.5 < float(ds["duplicate_correlation"].values[0]) < 0.95


def test_drop_duplicates_is_the_old_selection_and_same_movie_pairs_are_never_random(tmp_path):
    """--drop-duplicates: the first 4 clips as they are; 6 (a training movie) and 9 (a repeat of 8) are
    duplicates left out of the statistics. 8 and 9 show one movie: neither is the other's random video (2 ordered
    pairs left out), and each clip's random r is the mean over the others by hand."""
    from dnemkit.analysis.metrics import video_correlation

    _write_planted(tmp_path / "data")
    common = dict(data=str(tmp_path / "data"), encoder="synthetic", tiers=("live_test_main",), trials=4,
                  recipe=StudyConfig.recipe_named("fast", 2), mask="none")
    ds = run(StudyConfig(**common, drop_duplicates=True), progress=False)
    assert list(ds["trial"].values) == [6, 7, 8, 9]
    assert list(ds["duplicate"].values) == [True, False, False, True]
    assert list(ds["included"].values) == [False, True, True, False]
    assert float(ds["mean_video_correlation"]) == pytest.approx(ds["video_correlation"].values[1:3].mean())
    assert ds.attrs["random_pairs_excluded"] == 2
    from dnemkit.data import open_mouse

    mouse = open_mouse(tmp_path / "data" / mouse_folder_name(0))
    gts = {t: mouse.trial(t).video for t in (6, 7, 8, 9)}
    recon = ds["ethogram_reconstruction_video"]  # only the ethogram's clips keep their video in study.nc
    t_eth = int(ds["ethogram_trial"].values[0])
    others = [t for t in gts if t != t_eth and {t, t_eth} != {8, 9}]
    want = np.mean([video_correlation(gts[t], recon.values[0], first_frame=30) for t in others])
    got = ds["random_video_correlation"].values[list(ds["trial"].values).index(t_eth)]
    assert got == pytest.approx(want, abs=1e-6)
    kept = run(StudyConfig(**common, keep_duplicates=True), progress=False)
    assert kept["included"].values.all() and list(kept["trial"].values) == [6, 7, 8, 9]
    assert float(kept["mean_video_correlation"]) == pytest.approx(kept["video_correlation"].values.mean())
    with pytest.raises(Exception, match="at most one"):
        StudyConfig(**common, keep_duplicates=True, drop_duplicates=True)


# ---------------------------------------------------------------------------------------------------- ensembles
@pytest.fixture(scope="module")
def three_models(tmp_path_factory, perturbed_dwiseneuro):
    """A 37-neuron simulated mouse and a folder of three small DwiseNeuros (readout 0: 37 neurons) written as
    argus checkpoints."""
    from dnemkit.encoders.dwiseneuro.checkpoint import save_checkpoint

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


def test_fig_1_s2d_inputs_are_the_references(study):
    """The stored predictions of Fig. 1-s2D are made as predict_response_from_recon.py makes them: the true movie
    and the unsmoothed mean of the models' reconstructions in the training mask (level >= 0.5) with grey 127
    outside, and that mean contrast/luminance-matched over the mask x all frames."""
    from dnemkit.analysis.metrics import match_contrast
    from dnemkit.encoders.ref import EncoderRef
    from dnemkit.experiments.targets import predicted_targets
    from dnemkit.masks import resolve_mask
    from dnemkit.data import open_mouse

    config, out, ds = study
    one = mouse_folder_name(0)
    clip = read_dataset(next(p for p in sorted((out / "study.store").glob("*.nc"))
                             if read_dataset(p).attrs.get("mouse") == one and "predicted_unsmoothed" in read_dataset(p)))
    ref = EncoderRef("synthetic:0")
    mask, _ = resolve_mask("sensitivity", ref)
    trial = open_mouse(config.data + "/" + one).trial(int(clip.attrs["trial"]))
    mean = clip["model_reconstruction"].values.mean(0)
    behavior = trial.behavior4[None]
    encoder = ref.encoder
    masked_gt = np.where(mask.train, trial.video, 127.0)[None]
    masked_mean = np.where(mask.train, mean, 127.0)[None]
    matched = match_contrast(trial.video, mean, mask=mask.train, first_frame=0)[None]
    for name, video in (("predicted_masked", masked_gt), ("predicted_unsmoothed", masked_mean),
                        ("predicted_matched", matched)):
        np.testing.assert_allclose(clip[name].values, predicted_targets(encoder, video, behavior)[0], rtol=1e-4,
                                   atol=1e-5)
    assert float(ds["input_loss_change_percent"].sel(input="masked")) > 0  # the masked movie raises the loss


def test_reference_format_is_read_back_by_from_reference_with_the_same_numbers(study):
    """`study --reference-format` writes every clip as the reference's summary files (nothing reconstructed on a
    rerun); `study --from-reference` on them gives back the study's per-clip video and frame r, its mean and CI
    and its test against random videos (to 1e-6)."""
    from dnemkit.reference.study import reference_study

    config, out, ds = study
    again = run(config.replace(reference_format=True, variations=()), out=out, progress=False)
    assert again.attrs["units_computed"] == 0
    files = sorted(out.glob("modelfold[[]0[]]_datafold_0_pop100_hpc_round5/reconstruction_summary_m*_t*.npy"))
    assert len(files) == ds.sizes["clip"]
    back, ablation = reference_study(out, progress=False)
    assert ablation is None
    assert list(back.mouse_of_clip.values) == list(ds.mouse_of_clip.values)
    assert list(back.trial.values) == list(ds.trial.values)
    for name in ("video_correlation", "frame_correlation", "random_video_correlation"):
        np.testing.assert_allclose(back[name].values, ds[name].values, atol=1e-6)
    assert float(back.mean_video_correlation) == pytest.approx(float(ds.mean_video_correlation), abs=1e-6)
    assert back.mean_video_correlation.attrs["ci95_low"] == pytest.approx(ds.mean_video_correlation.attrs["ci95_low"],
                                                                          abs=1e-6)
    assert float(back.video_vs_random_p) == pytest.approx(float(ds.video_vs_random_p), rel=1e-4)
