"""The paper's reconstructions scored as the analysis notebooks score them (mean of the models, clipped, smoothed
sigma 0.5, eval mask >= 1, frames from 30), checked against a by-hand computation."""

import numpy as np
import pytest
from scipy import stats
from scipy.ndimage import gaussian_filter

from dnemkit.reference import read_summaries
from dnemkit.reference.score import from_reference, score_summaries


def test_scores_follow_the_notebooks(reference_set, tmp_path):
    root, arrays = reference_set
    scores = score_summaries(read_summaries(root))
    by_hand = []
    for mouse, trial in zip(scores.mouse.values, scores.trial.values):
        a0, a1 = arrays[0, mouse, trial], arrays[1, mouse, trial]
        ens = gaussian_filter(np.clip((a0["video_pred"].astype(np.float64) + a1["video_pred"]) / 2, 0, 255), 0.5)
        sel = np.zeros((40, 36, 64), bool)
        sel[30:] = a0["mask"][14:50] >= 1
        by_hand.append(np.corrcoef(a0["video_gt"][sel], ens[sel])[0, 1])
    np.testing.assert_allclose(scores.video_r.values, by_hand, rtol=1e-5)
    assert scores.video_r_ensemble.sel(models_used=2).values == pytest.approx(scores.video_r.values, rel=1e-5)
    half = stats.t.ppf(0.975, 5) * np.std(by_hand, ddof=1) / np.sqrt(6)
    assert scores.attrs["video_r_ci_low"] == pytest.approx(np.mean(by_hand) - half, rel=1e-5)
    assert scores.attrs["first_frame"] == 30 and np.isfinite(scores.frame_r.values).all()
    lines = []
    written = from_reference(root, out=tmp_path / "out", log=lines.append)
    assert (tmp_path / "out" / "reference_scores.nc").exists() and written.sizes["clip"] == 6
    assert lines[0].startswith(f"video r {np.mean(by_hand):.3f} (95 % CI") and "n = 6 clips" in lines[0]


def test_study_from_reference_on_the_command_line(reference_set, tmp_path, run_cli, assert_one_line_error):
    root, _ = reference_set
    result = run_cli("study", "--from-reference", root, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "n = 6 clips, ensemble of 2 models" in result.output and (tmp_path / "out" / "reference_scores.nc").exists()
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_cli("study", "--from-reference", tmp_path / "empty", "--out", tmp_path / "o2"),
                          "holds no reconstruction_summary_m*_t*.npy files")


def test_random_video_test_and_sweep_by_hand(reference_set):
    """Each clip's ensemble against the other clips' movies of its mouse (by hand), the paper's two-sample test
    and the paired one against scipy, and the sweep at t = 1 equal to video_r."""
    from dnemkit.analysis.metrics import video_correlation
    from dnemkit.video import smooth_video

    root, _ = reference_set
    ds = read_summaries(root)
    scores = score_summaries(ds)
    ens = [smooth_video(np.clip(ds.video_pred.values[:, c], 0, 255).mean(0), 0.5) for c in range(ds.sizes["clip"])]
    for c in range(ds.sizes["clip"]):
        others = [j for j in range(ds.sizes["clip"]) if j != c and ds.mouse.values[j] == ds.mouse.values[c]]
        want = np.mean([video_correlation(ds.video_gt.values[j], ens[c], mask=ds.mask_level.values[c] >= 1,
                                          first_frame=30) for j in others])
        assert scores.random_video_r.values[c] == pytest.approx(want, abs=1e-6)
    own, rand = scores.video_r.values, scores.random_video_r.values
    assert scores.attrs["video_vs_random_p"] == pytest.approx(stats.ttest_ind(own, rand).pvalue, rel=1e-6)
    assert scores.attrs["video_vs_random_paired_p"] == pytest.approx(stats.ttest_rel(own, rand).pvalue, rel=1e-6)
    np.testing.assert_allclose(scores.threshold_video_r.sel(eval_threshold=1.0).values, own, atol=1e-12)


def test_reference_scores_equal_characterize_evaluate(reference_set, tmp_path, run_cli):
    """Each clip's video and frame r from the summary files equal `characterize evaluate` on the same arrays (the
    ground truth, the smoothed mean of the models, the eval mask level >= 1 as a (36, 64) .npy) to 1e-6."""
    import json

    from dnemkit.video import smooth_video

    root, _ = reference_set
    ds = read_summaries(root)
    scores = score_summaries(ds)
    for c in range(ds.sizes["clip"]):
        ens = smooth_video(np.clip(np.clip(ds.video_pred.values[:, c], 0, 255).mean(0), 0, 255), 0.5)
        np.save(tmp_path / "gt.npy", ds.video_gt.values[c])
        np.save(tmp_path / "recon.npy", ens)
        np.save(tmp_path / "mask.npy", ds.mask_level.values[c] >= 1)
        result = run_cli("evaluate", tmp_path / "gt.npy", tmp_path / "recon.npy", "--mask", tmp_path / "mask.npy",
                         "--json")
        assert result.exit_code == 0, result.output
        got = json.loads(result.output)
        assert got["first_frame"] == 30
        assert got["video_correlation"] == pytest.approx(scores.video_r.values[c], abs=1e-6)
        assert got["frame_correlation"] == pytest.approx(scores.frame_r.values[c], abs=1e-6)


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
    scores = score_summaries(summary)
    assert scores.video_r.values[0] == pytest.approx(float(natural["video_correlation"]), abs=1e-5)
    assert int(summary.attrs.get("n_models", summary.sizes["model"])) == 1


def test_ensemble_anova_and_predictors_by_hand(reference_set):
    """The ensemble-size RM-ANOVA over the mice's mean curves equals statsmodels' AnovaRM on the table by hand;
    each predictor's r equals np.corrcoef of the clip property and the frame r."""
    import pandas as pd
    from statsmodels.stats.anova import AnovaRM

    from dnemkit.analysis.study import clip_descriptors

    root, _ = reference_set
    ds = read_summaries(root)
    scores = score_summaries(ds)
    mice = scores.mouse.values
    table = np.stack([scores.video_r_ensemble.values[mice == m].mean(0) for m in dict.fromkeys(mice.tolist())])
    long = pd.DataFrame([(i, str(j), table[i, j]) for i in range(table.shape[0]) for j in range(table.shape[1])],
                        columns=["subject", "level", "r"])
    want = AnovaRM(long, "r", "subject", within=["level"]).fit().anova_table["Pr > F"].iloc[0]
    assert scores.attrs["ensemble_anova_p"] == pytest.approx(want, rel=1e-9)
    contrast = [clip_descriptors(ds.video_gt.values[c], ds.behavior.values[c], mask=ds.mask_level.values[c] >= 1,
                                 first_frame=30)["contrast"] for c in range(ds.sizes["clip"])]
    assert float(scores.predictor_r.sel(predictor="contrast")) == pytest.approx(
        np.corrcoef(contrast, scores.frame_r.values)[0, 1], rel=1e-9)
