"""`characterize encoders info`: an encoder's summary, and one-line errors for bad specs and checkpoints."""

import json

import torch

from dnemkit.encoders import save_checkpoint


def test_encoders_info_cli(run_cli, assert_one_line_error):
    result = run_cli("encoders", "info", "synthetic:1", "--json")
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["neurons"] == 2000 and info["first_valid_frame"] == 30 and info["seed"] == 1
    assert_one_line_error(run_cli("encoders", "info", "bogus"), "unknown encoder spec")
    assert_one_line_error(run_cli("encoders", "info", "missing.pth"), "does not exist")


def test_cli_checkpoint_errors(tmp_path, small_model, run_cli, assert_one_line_error):
    bad = tmp_path / "notargus.pth"
    torch.save({"state_dict": {}}, bad)
    assert_one_line_error(run_cli("encoders", "info", bad), "not an argus DwiseNeuro checkpoint")
    good = save_checkpoint(tmp_path / "m.pth", small_model)
    assert_one_line_error(run_cli("encoders", "info", good, "--mouse", "5"), "mouse index 5 is out of range")
    result = run_cli("encoders", "info", good, "--mouse", "1")
    assert result.exit_code == 0 and "neurons: 20" in result.output
