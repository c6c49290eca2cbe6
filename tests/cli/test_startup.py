"""`characterize --help` and every command's --help start without the heavy libraries: they read the configs'
defaults only, so numpy, torch, xarray, scipy and matplotlib stay unimported (the start-up time is measured in
benchmarks/, this checks what makes it)."""

import subprocess
import sys

HEAVY = ("numpy", "torch", "xarray", "scipy", "matplotlib")

PROBE = """
import sys
from click.testing import CliRunner
from dnemkit.cli import main
runner = CliRunner()
for args in [["--help"]] + [[name, "--help"] for name in sorted(main.commands)]:
    result = runner.invoke(main, args)
    assert result.exit_code == 0, (args, result.output)
print(",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def test_help_imports_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"--help imported {out.stdout.strip()}"
