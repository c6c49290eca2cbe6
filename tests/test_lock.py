"""requirements.lock (the versions the suite last passed with) and .ci/lock_drift.py (what CI prints when a test
fails: the installed versions that differ from the lock)."""

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
DRIFT = ROOT / ".ci" / "lock_drift.py"


def _locked():
    sys.path.insert(0, str(DRIFT.parent))
    try:
        import lock_drift
    finally:
        sys.path.pop(0)
    return lock_drift, lock_drift.locked_versions(LOCK)


def test_the_lock_pins_every_dependency_within_pyproject_ranges():
    """Each requirement of pyproject.toml (and its test extra) is pinned, at a version its range admits: the lock
    installs what the project asks for."""
    lock_drift, pins = _locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        req = Requirement(line)
        name = lock_drift._normal(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), (line, pins[name])
        for extra in req.extras:  # dask[distributed] needs distributed pinned too
            assert extra in pins


def test_drift_names_exactly_the_packages_that_differ(tmp_path):
    """A lock that pins click and numpy at other versions than the installed ones, and a package that is not
    installed, gives one line each; a pin that matches (torch without its +cpu label) gives none."""
    from importlib import metadata

    torch_version = metadata.version("torch")
    lock = tmp_path / "lock.txt"
    lock.write_text("# comment\nclick==0.1\nnumpy==1.0.0  # old\n"
                    f"torch=={torch_version.split('+')[0]}\nno-such-package-xyz==1.0\n")
    out = subprocess.run([sys.executable, str(DRIFT), str(lock)], capture_output=True, text=True, check=True).stdout
    lines = [line.strip() for line in out.splitlines()[1:]]
    assert lines == [f"click: locked 0.1, installed {metadata.version('click')}",
                     "no-such-package-xyz: locked 1.0, not installed",
                     f"numpy: locked 1.0.0, installed {metadata.version('numpy')}"]


def test_no_drift_when_the_lock_is_what_is_installed(tmp_path):
    from importlib import metadata

    lock = tmp_path / "lock.txt"
    lock.write_text(f"click=={metadata.version('click')}\n")
    out = subprocess.run([sys.executable, str(DRIFT), str(lock)], capture_output=True, text=True, check=True).stdout
    assert out.startswith("every installed version is the one in")
