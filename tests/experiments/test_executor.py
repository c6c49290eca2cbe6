"""The executor options of `characterize gratings/noise/study` where no SLURM is needed: every mistake of
`--executor slurm` / `--slurm` is one line, and `--slurm` values may hold commas. (On a real SLURM: test_slurm.py.)"""

import pytest
from click.testing import CliRunner

from dnemkit.cli import main
from dnemkit.errors import DnemkitError
from dnemkit.experiments.runs.cluster import parse_slurm

SWEEP = ["gratings", "--encoder", "synthetic", "--sf", "0.143", "--tf", "1.875", "--directions", "0",
         "--iterations", "2", "--frames", "40", "--mask", "none", "--quiet"]


@pytest.mark.parametrize("args, needle", [
    (["--slurm", "gres=gpu:1"], "--executor slurm"),
    (["--executor", "slurm", "--slurm", "memory=1GB,bogus=1"], "'bogus' is unknown"),
    (["--executor", "slurm", "--slurm", "gres="], "gres is empty"),
    (["--executor", "slurm", "--slurm", "memory=1GB", "--slurm", "memory=2GB"], "memory is given twice"),
    (["--executor", "slurm", "--slurm", "memory=lots"], "memory is 'lots'"),
    (["--executor", "slurm", "--slurm", "memory=1GB,cpus=0"], "cpus is '0'"),
    (["--executor", "slurm", "--slurm", "memory=1GB", "--scheduler", "tcp://host:8786"], "--scheduler"),
])
def test_executor_mistakes_are_one_line(args, needle, tmp_path, assert_one_line_error):
    result = CliRunner().invoke(main, [str(a) for a in SWEEP + args + ["--out", tmp_path]])
    assert_one_line_error(result, needle)
    assert not (tmp_path / "gratings.nc").exists()


@pytest.mark.parametrize("command", [SWEEP, ["study", "--encoder", "synthetic", "--quiet"]])
def test_no_sbatch_on_path_is_one_line(command, tmp_path, monkeypatch, assert_one_line_error):
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without sbatch
    result = CliRunner().invoke(main, [str(a) for a in command + ["--executor", "slurm", "--slurm", "memory=1GB",
                                                                  "--out", tmp_path / "out"]])
    assert_one_line_error(result, "sbatch, which is not on PATH")
    assert not (tmp_path / "out").exists()


def test_slurm_settings_hold_commas_and_repeat():
    settings = parse_slurm("memory=32GB,extra=--exclude=node1,node2,gres=gpu:1,extra=--constraint=a100")
    assert settings == {"memory": "32GB", "gres": "gpu:1", "extra": ["--exclude=node1,node2", "--constraint=a100"],
                        "prologue": []}
    with pytest.raises(DnemkitError, match="'node1' is not KEY=VALUE"):
        parse_slurm("node1,memory=1GB")
