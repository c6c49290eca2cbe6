#!/usr/bin/env python
"""Which installed distributions differ from the lock file (requirements.lock).

CI installs the newest releases that pyproject.toml admits; when the tests then fail, this names every package
whose installed version is not the one the suite last passed with, so a release that broke something is found at
once. Usage: ``python .ci/lock_drift.py [LOCK]``; prints one line per difference (or that there is none) and
always exits 0: it explains a failure, it is not one.
"""

import re
import sys
from importlib import metadata
from pathlib import Path


def locked_versions(path):
    """{normalised name: version} of the ``name==version`` lines of a pip requirements file."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        found = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        if found:
            pins[_normal(found.group(1))] = found.group(3)
    return pins


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _public(version):
    """A version without its local label (torch's '2.13.0+cpu' is the lock's '2.13.0')."""
    return version.split("+", 1)[0]


def drift(pins):
    """Lines 'name: locked A, installed B' (or 'not installed') for every pin the environment does not match."""
    installed = {_normal(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    lines = []
    for name, version in sorted(pins.items()):
        have = installed.get(name)
        if have is None:
            lines.append(f"{name}: locked {version}, not installed")
        elif _public(have) != _public(version):
            lines.append(f"{name}: locked {version}, installed {have}")
    return lines


def main(argv):
    lock = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "requirements.lock"
    lines = drift(locked_versions(lock))
    if lines:
        print(f"installed versions that differ from {lock.name} (the versions the suite last passed with):")
        print("\n".join(f"  {line}" for line in lines))
    else:
        print(f"every installed version is the one in {lock.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
