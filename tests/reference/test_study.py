"""The paper's reconstructions through dnemkit's study (`characterize study --from-reference`): every statistic
checked against a computation by hand from the known arrays of fabricated summary files (the mean of the models,
clipped, smoothed sigma 0.5, eval mask >= 1, frames from 30, as the analysis notebooks score them)."""

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.ndimage import gaussian_filter

from dnemkit.reference import read_summaries
from dnemkit.reference.study import paper_lines, reference_study


def _by_hand(arrays, mouse, trial, models=(0, 1), level=1.0, key="video_pred"):
    """(video r, frame r, smoothed ensemble) of one clip from the known arrays, the notebooks' way."""
    a0 = arrays[models[0], mouse, trial]
    ens = gaussian_filter(np.mean([np.clip(arrays[k, mouse, trial][key].astype(np.float64), 0, 255) for k in models],
                                  axis=0), 0.5)
    mask = a0["mask"][14:50] >= level
    sel = np.zeros(a0["video_gt"].shape, bool)
    sel[30:] = mask
    video_r = np.corrcoef(a0["video_gt"][sel], ens[sel])[0, 1]
    frame_r = np.mean([np.corrcoef(a0["video_gt"][t][mask], ens[t][mask])[0, 1] for t in range(30, len(ens))])
    return video_r, frame_r, ens


@pytest.fixture
def study(reference_set, tmp_path):
    root, arrays = reference_set
    lines = []
    ds, ablation = reference_study(root, out=tmp_path / "out", progress=False, log=lines.append)
    return ds, ablation, arrays, lines, tmp_path / "out"


def test_scores_follow_the_notebooks(study):
    ds, ablation, arrays, lines, out = study
    assert ablation is None and ds.attrs["first_eval_frame"] == 30 and ds.attrs["n_models"] == 2
    hand = np.array([_by_hand(arrays, m, t)[:2] for m, t in zip(ds.mouse_of_clip.values, ds.trial.values)
                     for m in [["dynamic29515-10-12", "dynamic29623-4-9"].index(m)]])
    np.testing.assert_allclose(ds.video_correlation.values, hand[:, 0], rtol=1e-5)
    np.testing.assert_allclose(ds.frame_correlation.values, hand[:, 1], rtol=1e-5)
    half = stats.t.ppf(0.975, 5) * np.std(hand[:, 0], ddof=1) / np.sqrt(6)
    mean = ds.mean_video_correlation
    assert float(mean) == pytest.approx(hand[:, 0].mean(), rel=1e-6)
    assert mean.attrs["ci95_low"] == pytest.approx(hand[:, 0].mean() - half, rel=1e-5)
    assert list(ds.trial.values) == [0, 1, 10, 10, 1, 2]  # the reference's trial order: t10 replaced t3 in mouse 0
    assert {p.name for p in out.iterdir()} >= {"study.nc", "study.png", "study_ethogram.png", "study_predictors.png",
                                               "study_variations.png"}
    assert lines[0].startswith("the paper's reconstructions: 6 clips of 2 mice, 2 models each")
    printed = paper_lines(ds)
    assert f"ours {hand[:, 0].mean():.3f} (" in printed[1] and "paper 0.569 (0.542-0.596)" in printed[1]


def test_study_from_reference_on_the_command_line(reference_set, tmp_path, run_cli, assert_one_line_error):
    from dnemkit.io.results import read_dataset

    root, _ = reference_set
    result = run_cli("study", "--from-reference", root, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    ds = read_dataset(tmp_path / "out" / "study.nc")
    assert ds.sizes["clip"] == 6 and "video correlation" in result.output
    assert "the paper (eLife 105081) beside these files' numbers:" in result.output
    assert f"ours {float(ds.mean_video_correlation):.3f}" in result.output
    assert "duplicates: not searched: the authors' selection" in result.output  # never "none": nothing was searched
    assert "read from reference summaries" in result.output and "reconstruction(s) made now" not in result.output
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_cli("study", "--from-reference", tmp_path / "empty", "--out", tmp_path / "o2"),
                          "holds no reconstruction_summary_m*_t*.npy files")
    assert not (tmp_path / "o2" / "study.nc").exists()
    assert_one_line_error(run_cli("study", "--from-reference", root, "--out", tmp_path / "o3", "--encoder", "demo"),
                          "--from-reference")


def test_random_video_test_and_sweep_by_hand(study):
    """Each clip's ensemble against the other clips' movies of its mouse (by hand), the paper's two-sample test
    and the paired one against scipy, and the sweep at t = 1 equal to the video r."""
    from dnemkit.analysis.metrics import video_correlation

    ds, _, arrays, _, _ = study
    keys = [(0, 0), (0, 1), (0, 10), (1, 10), (1, 1), (1, 2)]
    ens = {k: _by_hand(arrays, *k)[2] for k in keys}
    for c, (m, t) in enumerate(keys):
        others = [k for k in keys if k[0] == m and k != (m, t)]
        want = np.mean([video_correlation(arrays[0, m, o]["video_gt"], ens[m, t],
                                          mask=arrays[0, m, t]["mask"][14:50] >= 1, first_frame=30)
                        for _, o in others])
        assert ds.random_video_correlation.values[c] == pytest.approx(want, abs=1e-6)
    own, rand = ds.video_correlation.values, ds.random_video_correlation.values
    assert float(ds.video_vs_random_p) == pytest.approx(stats.ttest_ind(own, rand).pvalue, rel=1e-6)
    assert float(ds.video_vs_random_paired_p) == pytest.approx(stats.ttest_rel(own, rand).pvalue, rel=1e-6)
    sweep = ds.threshold_clip_video_correlation.sel(training_mask="standard")
    np.testing.assert_allclose(sweep.sel(eval_threshold=1.0).values, own, atol=1e-12)
    assert list(ds.eval_threshold.values) == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    at_half = [_by_hand(arrays, *k, level=0.5)[0] for k in keys]
    np.testing.assert_allclose(sweep.sel(eval_threshold=0.5).values, at_half, rtol=1e-5)


def test_unsmoothed_variation_by_hand(study):
    """No smoothing (the paper's -6.28 %): the unsmoothed mean of the models scored, % change of the mice's means
    and the paired t-test over mice, by hand."""
    ds, _, arrays, _, _ = study
    keys = [(0, 0), (0, 1), (0, 10), (1, 10), (1, 1), (1, 2)]
    raw = []
    for m, t in keys:
        a0 = arrays[0, m, t]
        mean = np.mean([np.clip(arrays[k, m, t]["video_pred"].astype(np.float64), 0, 255) for k in (0, 1)], axis=0)
        sel = np.zeros(mean.shape, bool)
        sel[30:] = a0["mask"][14:50] >= 1
        raw.append(np.corrcoef(a0["video_gt"][sel], mean[sel])[0, 1])
    raw = np.array(raw)
    own = ds.video_correlation.values
    mice_std = np.array([own[:3].mean(), own[3:].mean()])
    mice_raw = np.array([raw[:3].mean(), raw[3:].mean()])
    v = ds.sel(variation="unsmoothed")
    assert float(v.variation_change_percent) == pytest.approx(100 * (mice_raw.mean() - mice_std.mean())
                                                              / mice_std.mean(), rel=1e-5)
    assert float(v.variation_p) == pytest.approx(stats.ttest_rel(mice_std, mice_raw).pvalue, rel=1e-5)


def test_reference_scores_equal_characterize_evaluate(study, tmp_path, run_cli):
    """Each clip's video and frame r from the summary files equal `characterize evaluate` on the same arrays (the
    ground truth, the smoothed mean of the models, the eval mask level >= 1 as a (36, 64) .npy) to 1e-6."""
    import json

    ds, _, arrays, _, _ = study
    for c, (m, t) in enumerate([(0, 0), (0, 1), (0, 10), (1, 10), (1, 1), (1, 2)]):
        np.save(tmp_path / "gt.npy", arrays[0, m, t]["video_gt"])
        np.save(tmp_path / "recon.npy", _by_hand(arrays, m, t)[2].astype(np.float32))
        np.save(tmp_path / "mask.npy", arrays[0, m, t]["mask"][14:50] >= 1)
        result = run_cli("evaluate", tmp_path / "gt.npy", tmp_path / "recon.npy", "--mask", tmp_path / "mask.npy",
                         "--json")
        assert result.exit_code == 0, result.output
        got = json.loads(result.output)
        assert got["first_frame"] == 30
        assert got["video_correlation"] == pytest.approx(ds.video_correlation.values[c], abs=1e-6)
        assert got["frame_correlation"] == pytest.approx(ds.frame_correlation.values[c], abs=1e-6)


def test_ensemble_anova_predictors_and_ethogram_by_hand(study):
    """The ensemble-size RM-ANOVA over the mice's mean curves equals statsmodels' AnovaRM on the table by hand; a
    predictor's r equals np.corrcoef of the clip property and the frame r; the ethogram's rasters are the chosen
    clip's recorded responses and the mean over the models' files of their predictions, neurons sorted alike."""
    import pandas as pd
    from statsmodels.stats.anova import AnovaRM

    from dnemkit.analysis.study import clip_descriptors

    ds, _, arrays, _, _ = study
    keys = [(0, 0), (0, 1), (0, 10), (1, 10), (1, 1), (1, 2)]
    curves = np.array([[_by_hand(arrays, *k, models=models)[0] for models in ((0,), (0, 1))] for k in keys])
    table = np.stack([curves[:3].mean(0), curves[3:].mean(0)])
    long = pd.DataFrame([(i, str(j), table[i, j]) for i in range(2) for j in range(2)],
                        columns=["subject", "level", "r"])
    want = AnovaRM(long, "r", "subject", within=["level"]).fit().anova_table["Pr > F"].iloc[0]
    assert float(ds.ensemble_anova_p) == pytest.approx(want, rel=1e-5)  # float32 videos vs float64 by hand
    contrast = [clip_descriptors(arrays[0, m, t]["video_gt"], np.concatenate([arrays[0, m, t]["behavior"],
                                 arrays[0, m, t]["pupil_center"]]), mask=arrays[0, m, t]["mask"][14:50] >= 1,
                                 first_frame=30)["contrast"] for m, t in keys]
    assert float(ds.predictor_r.sel(predictor="contrast")) == pytest.approx(
        np.corrcoef(contrast, ds.frame_correlation.values)[0, 1], rel=1e-6)
    m, t = ["dynamic29515-10-12", "dynamic29623-4-9"].index(str(ds.ethogram_mouse.values[0])), \
        int(ds.ethogram_trial.values[0])
    n = arrays[0, m, t]["responses"].shape[0]
    recorded = ds.ethogram_recorded.values[0][:n]
    true = ds.ethogram_true.values[0][:n]
    order = [int(np.flatnonzero((arrays[0, m, t]["responses"] == row).all(1))[0]) for row in recorded]
    assert sorted(order) == list(range(n))  # every recorded neuron once
    np.testing.assert_allclose(true, np.mean([arrays[k, m, t]["predicted"] for k in (0, 1)], axis=0)[order],
                               rtol=1e-6)


def test_ablation_set_by_hand(reference_set, fabricate, tmp_path, run_cli):
    """With the ablation folders beside the natural set: every level's clips scored the notebooks' way, the
    RM-ANOVA over mice (levels 1, 0.5, 0.25, 0.125) against AnovaRM by hand, ablation.nc and its figure written."""
    import pandas as pd
    from statsmodels.stats.anova import AnovaRM

    from dnemkit.io.results import read_dataset

    root, arrays = reference_set
    trials = {0: (0, 1, 10), 1: (10, 1, 2)}
    levels = {0.5: 50, 0.25: 25, 0.125: 12}
    for fraction, pop in levels.items():
        for model in (0, 1):
            folder = root / f"modelfold[{model}]_datafold_0_pop{pop}_hpc_round4_popreduc"
            folder.mkdir()
            for mouse, ts in trials.items():
                for t in ts:
                    a = dict(arrays[model, mouse, t])
                    noise = np.random.default_rng(int(100 * fraction) + 7 * t + mouse).normal(0, 90 * (1 - fraction),
                                                                                             a["video_gt"].shape)
                    a["video_pred"] = (a["video_pred"] + noise).astype(np.float32)
                    arrays[(fraction, model), mouse, t] = a
                    d = fabricate.reference_dict(mouse, t, model=model, **a)
                    d["population_reduction"] = 1 - fraction
                    d["population_mask"] = torch.rand((a["responses"].shape[0], 1)) > 1 - fraction
                    fabricate.save(folder / f"reconstruction_summary_m{mouse}_t{t}.npy", d)
    result = run_cli("study", "--from-reference", root, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    ds = read_dataset(tmp_path / "out" / "ablation.nc")
    assert (tmp_path / "out" / "ablation.png").exists()
    assert list(ds.keep_fraction.values) == [1.0, 0.5, 0.25, 0.125]
    keys = [(0, 0), (0, 1), (0, 10), (1, 10), (1, 1), (1, 2)]
    for i, fraction in enumerate(ds.keep_fraction.values):
        models = (0, 1) if fraction == 1 else ((fraction, 0), (fraction, 1))
        want = [_by_hand(arrays, m, t, models=models)[0] for m, t in keys]
        np.testing.assert_allclose(ds.video_correlation.values[i, :, 0], want, rtol=1e-5)
    per_mouse = ds.video_correlation.values[:, :, 0]
    table = np.stack([per_mouse[:, :3].mean(1), per_mouse[:, 3:].mean(1)])
    long = pd.DataFrame([(i, str(j), table[i, j]) for i in range(2) for j in range(4)],
                        columns=["subject", "level", "r"])
    want = AnovaRM(long, "r", "subject", within=["level"]).fit().anova_table["Pr > F"].iloc[0]
    assert float(ds.anova_p) == pytest.approx(want, rel=1e-5)
    assert "population ablation (RM-ANOVA over mice)" in result.output and "paper p = 5.7e-13" in result.output


def test_natural_reference_format_is_read_and_scored_like_natural_nc(tmp_path, run_cli):
    """`characterize natural --reference-format` writes one reference summary per model, in the folder the
    notebooks read; reading it back and scoring it as the notebooks do gives natural.nc's own video r."""
    from dnemkit.io.results import read_dataset

    out = tmp_path / "out"
    result = run_cli("natural", "--encoder", "synthetic", "--iterations", "3", "--mask", "sensitivity",
                     "--no-video", "--reference-format", "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("modelfold[[]0[]]_datafold_0_pop100_hpc_round5/reconstruction_summary_m0_t0.npy"))
    assert len(files) == 1
    as_the_notebooks_read_it = np.load(files[0], allow_pickle=True).item()  # our own file: safe to unpickle
    assert as_the_notebooks_read_it["video_pred"].shape == (300, 36, 64) and as_the_notebooks_read_it["trial"] == 0
    summary = read_summaries(out)
    natural = read_dataset(out / "natural.nc")
    np.testing.assert_array_equal(summary.video_gt.values[0], natural["ground_truth"].values)
    np.testing.assert_allclose(summary.video_pred.values[0, 0], natural["model_reconstruction"].values[0])
    study, _ = reference_study(out, progress=False)
    assert study.video_correlation.values[0] == pytest.approx(float(natural["video_correlation"]), abs=1e-5)
