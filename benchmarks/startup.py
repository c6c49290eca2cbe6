"""How long `characterize --help` takes, beside the bare interpreter and an `import numpy`, in one run.

The goal is `characterize --help` <= 0.3 s. On a shared machine absolute seconds wander, so the figures that
matter are the ratios to the bare interpreter and to `python -c "import numpy"` (what --help would at least cost if
it imported numpy). Usage: python benchmarks/startup.py [--rounds N]
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _seconds(cmd):
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    help_cmd = [shutil.which("characterize") or "", "--help"]
    if not help_cmd[0]:
        help_cmd = [sys.executable, "-c", "import sys; from dnemkit.cli import main; sys.argv[0] = 'characterize'; "
                    "main()", "--help"]
    cases = {"python -c pass": [sys.executable, "-c", "pass"],
             "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
             "characterize --help": help_cmd,
             "characterize gratings --help": help_cmd[:-1] + ["gratings", "--help"]}
    figures = {name: [] for name in cases}
    for _ in range(args.rounds):  # interleaved rounds: a change of load hits every case alike
        for name, cmd in cases.items():
            figures[name].append(_seconds(cmd))
    bare = statistics.median(figures["python -c pass"])
    numpy_s = statistics.median(figures["python -c 'import numpy'"])
    print(f"median of {args.rounds} interleaved rounds")
    for name, values in figures.items():
        med = statistics.median(values)
        print(f"{name:>30}: {med:.3f} s  ({med / bare:.1f} x bare python, {med / numpy_s:.2f} x import numpy)")


if __name__ == "__main__":
    main()
