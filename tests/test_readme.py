"""The README's Python example runs as written (its API names are the package's) and prints a video correlation
that the tracker and a direct call agree on."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_python_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "the README has one Python example; this test runs it"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "DNEMKIT_CACHE": str(tmp_path / "cache"),
                              "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    tracked, direct = re.findall(r"[-\d.]+", out.stdout.splitlines()[0].replace("[", " ").replace("]", " "))
    assert abs(float(tracked) - float(direct)) < 1e-5 and float(direct) > 0.5
    assert (tmp_path / "gratings-out" / "gratings.nc").exists()
