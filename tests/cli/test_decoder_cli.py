"""`characterize natural --start/--stopper` and `characterize decoder fit`: user mistakes are one line."""

import pytest


@pytest.mark.parametrize("fraction", ["0", "1", "-0.2", "1.5"])
def test_heldout_fraction_outside_0_1_is_one_line(run_cli, assert_one_line_error, fraction, tmp_path):
    result = run_cli("natural", "--stopper", "heldout", "--heldout-fraction", fraction, "--out", tmp_path / "o")
    assert_one_line_error(result, "--heldout-fraction", "(0, 1)")
    assert not (tmp_path / "o").exists()


def test_heldout_fraction_without_the_stopper_is_one_line(run_cli, assert_one_line_error, tmp_path):
    result = run_cli("natural", "--heldout-fraction", "0.2", "--out", tmp_path / "o")
    assert_one_line_error(result, "--stopper heldout")


def test_agreement_stopper_with_the_decoder_start_is_one_line(run_cli, assert_one_line_error, tmp_path):
    result = run_cli("natural", "--start", "decoder", "--stopper", "agreement", "--out", tmp_path / "o")
    assert_one_line_error(result, "agreement stopper", "start 'grey'")
    assert not (tmp_path / "o").exists()


def test_decoder_start_with_too_few_training_trials_is_one_line(run_cli, assert_one_line_error, tmp_path,
                                                               monkeypatch):
    from dnemkit.experiments.simulate import simulate

    monkeypatch.setenv("DNEMKIT_CACHE", str(tmp_path / "cache"))
    simulate(tmp_path / "data", seed=0, trials=3, frames=82)
    result = run_cli("natural", "--data", tmp_path / "data", "--start", "decoder", "--iterations", "1",
                     "--quiet", "--no-video", "--out", tmp_path / "o")
    assert_one_line_error(result, "at least 4 training clips")
    assert not (tmp_path / "o").exists()
    result = run_cli("decoder", "fit", "--data", tmp_path / "data", "--out", tmp_path / "d")
    assert_one_line_error(result, "at least 4 training clips")


def test_deviance_stopper_with_predicted_targets_is_one_line(run_cli, assert_one_line_error, tmp_path):
    result = run_cli("natural", "--predicted", "--stopper", "deviance", "--out", tmp_path / "o")
    assert_one_line_error(result, "--stopper deviance", "--predicted")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, words", [
    (("gratings", "--quick", "--stopper", "deviance"), ("--stopper deviance", "predicted activity")),
    (("noise", "--quick", "--stopper", "heldout"), ("--stopper heldout", "expected --stopper none")),
    (("errormap", "--stopper", "deviance"), ("--stopper deviance", "same iteration")),
    (("ablation", "--start", "decoder"), ("--start decoder", "removes neurons")),
    (("ablation", "--stopper", "agreement"), ("--stopper agreement", "removes neurons")),
    (("ablation", "--predicted", "--stopper", "deviance"), ("--stopper deviance", "--predicted")),
])
def test_start_and_stopper_where_they_cannot_apply_are_one_line(args, words, run_cli, assert_one_line_error,
                                                                  tmp_path):
    result = run_cli(*args, "--out", tmp_path / "o")
    assert_one_line_error(result, *words)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, words", [
    (("--stopper-excess", "0.03"), ("--stopper-excess", "--stopper deviance")),
    (("--stopper", "deviance", "--stopper-excess", "0"), ("--stopper-excess", "> 0")),
    (("--stopper", "deviance", "--stopper-excess", "nan"), ("--stopper-excess",)),
])
def test_stopper_excess_mistakes_are_one_line(args, words, run_cli, assert_one_line_error, tmp_path):
    assert_one_line_error(run_cli("natural", *args, "--out", tmp_path / "o"), *words)
    assert not (tmp_path / "o").exists()
