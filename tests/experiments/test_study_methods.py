"""`characterize study --methods`: each method a unit per clip in the store (``fast`` = the standard run's), its
scores against independent computations, and one-line errors."""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from dnemkit.experiments.simulate import simulate
from dnemkit.experiments.study import StudyConfig, run

METHODS = ("paper", "fast+heldout", "fast+agreement", "fast+deviance", "decoder", "decoder+fast")


@pytest.fixture(scope="module")
def one_mouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("methods-data")
    simulate(root, seed=0, trials=36, frames=100, oracle=False)
    return root


@pytest.fixture(scope="module")
def methods_study(one_mouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("methods-out")
    config = StudyConfig(data=str(one_mouse), encoder="synthetic", recipe=StudyConfig.recipe_named("fast", 3),
                         mask="sensitivity", trials=3, input_predictions=False, methods=METHODS)
    return config, out, run(config, out=out, progress=False)


def test_methods_are_units_of_the_store_reused_on_rerun_and_fast_is_the_standard_run(methods_study):
    config, out, ds = methods_study
    assert list(ds["method"].values) == ["fast", *METHODS]
    n = ds.sizes["clip"]
    # the standard run + 6 methods per clip; fast reconstructed once (it is the standard run)
    units = (1 + len(METHODS)) * n
    assert ds.attrs["n_units"] == units and ds.attrs["units_computed"] == units
    assert len(list((Path(out) / "study.store").glob("*.nc"))) == units
    fast = ds.sel({"method": "fast"})
    np.testing.assert_array_equal(fast["method_video_correlation"].values, ds["video_correlation"].values)
    np.testing.assert_array_equal(fast["method_frame_correlation"].values, ds["frame_correlation"].values)
    assert ds["method_seconds"].attrs["units"] == "s" and (ds["method_seconds"].values > 0).all()
    assert (ds.sel({"method": "decoder"})["method_iterations"].values == 0).all()
    assert (ds.sel({"method": "paper"})["method_iterations"].values == 3).all()  # --iterations given: every method's
    for name in ("fast+heldout", "fast+agreement", "fast+deviance"):
        chosen = ds.sel({"method": name})["method_iterations"].values
        assert ((chosen >= 0) & (chosen <= 3)).all()
    assert (Path(out) / "study_methods.png").exists()
    again = run(config, out=out, progress=False)
    assert again.attrs["units_computed"] == 0 and again.attrs["units_reused"] == units
    np.testing.assert_array_equal(again["method_video_correlation"].values, ds["method_video_correlation"].values)


def test_decoder_r_and_paired_p_equal_independent_computations(methods_study):
    from dnemkit.analysis.metrics import video_correlation
    from dnemkit.experiments.study.experiment import prepare
    from dnemkit.experiments.study.methods import decoder_identity, decoder_trials, study_decoder
    from dnemkit.video import EVAL_FIRST_FRAME

    config, _, ds = methods_study
    plans, masks, _, clips, *_ = prepare(config, progress=False)
    mouse = plans[0].mouse
    trials = decoder_trials(mouse, plans[0].selected)
    assert not set(trials) & {c.trial for c in clips}  # never fitted on a scored clip
    decoder, _ = study_decoder(mouse, trials, decoder_identity(mouse, trials))
    direct = [video_correlation(c.video, decoder.decode(c.responses), mask=masks[c.mouse].eval,
                                first_frame=EVAL_FIRST_FRAME) for c in clips]
    np.testing.assert_allclose(ds.sel({"method": "decoder"})["method_video_correlation"].values, direct, rtol=1e-5)
    r = ds["method_video_correlation"].values
    for j, name in enumerate(ds["method"].values[1:], start=1):
        # NaN where a method equals fast on every clip (fast+agreement over a budget of 3 returns iteration 3)
        assert float(ds["method_p"].values[j]) == pytest.approx(stats.ttest_rel(r[j], r[0]).pvalue, rel=1e-9,
                                                                nan_ok=True)
        assert float(ds["method_change_percent"].values[j]) == pytest.approx(100 * (r[j].mean() / r[0].mean() - 1))
    assert np.isnan(ds["method_p"].values[0])


def test_an_unknown_method_is_one_line(one_mouse, tmp_path, run_cli, assert_one_line_error):
    result = run_cli("study", "--data", one_mouse, "--encoder", "synthetic", "--methods", "fast,slow", "--quiet",
                     "--out", tmp_path / "o")
    assert_one_line_error(result, "method 'slow' is unknown")
    assert not (tmp_path / "o" / "study.nc").exists()
