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
