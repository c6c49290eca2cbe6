"""`characterize mei` on the command line: user mistakes are one 'Error:' line (exit != 0, nothing written), the
--help defaults are MeiConfig's, and a tiny run writes mei.nc, mei.png and the headline lines."""

import click
import pytest

from dnemkit.experiments.contract import field_defaults
from dnemkit.experiments.mei import MeiConfig


@pytest.mark.parametrize("args, fragment", [
    (["--neurons", "3,12"], "neurons holds 12, out of range; expected indices 0..11"),
    (["--neurons", ","], "empty selection"),
    (["--neurons", "2-x"], "neurons holds '2-x'"),
    (["--contrast", "0"], "contrast is 0.0; expected an RMS contrast budget in (0, 1]"),
    (["--contrast", "-0.2"], "contrast is -0.2"),
    (["--blur", "-1"], "blur is -1.0"),
    (["--tuning", "{tmp}/none.nc"], "does not exist"),
])
def test_bad_input_is_one_line(args, fragment, tmp_path, factories_file, run_cli, assert_one_line_error):
    out = tmp_path / "out"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run_cli("mei", "--encoder", f"{factories_file}:tiny", "--out", out, "--quiet", *args)
    assert_one_line_error(result, fragment)
    assert not out.exists()


def test_help_defaults_are_the_dataclass(run_cli):
    """Every option named as a MeiConfig field defaults to the field's default (read with field_defaults, never
    copied); tests/experiments/test_contract.py checks the shown --help texts."""
    from dnemkit.cli import main

    fields = field_defaults(MeiConfig)
    options = {p.name: p for p in main.commands["mei"].params if isinstance(p, click.Option)}
    shared = sorted(set(fields) & set(options))
    assert len(shared) >= 12, shared
    for name in shared:
        assert options[name].default == fields[name], name
    assert "minutes" in run_cli("mei", "--help").output


def test_a_tiny_run_writes_its_results(tmp_path, factories_file, run_cli):
    result = run_cli("mei", "--encoder", f"{factories_file}:tiny", "--neurons", "0-2", "--iterations", "3",
                     "--out", tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mei.nc").exists() and (tmp_path / "mei.png").exists()
    assert "MEI >= best grating: " in result.output and "contrast budget: " in result.output
