"""The embedded study's data: the demo's mouse (the synthetic mouse, seed 0) recording movies that no shipped
model has seen, in the Sensorium 2023 layout, made once (about 15 s) and cached.

42 trials of 150 frames (5 s), each its own movie (no oracle repeats), the last unlabeled as in the real data:
with the video-hash split of `characterize train` (7 folds), fold 0 holds 6 labelled clips. Shorter clips than
the paper's 10 s keep `characterize study` with no arguments within a few minutes on a 2-core CPU; the numbers
are the method's, not the paper's (see the README for the paper-sized run).
"""

import shutil
from pathlib import Path

from ...errors import say
from ...masks.resolve import cache_dir
from ..simulate import mouse_folder_name, simulate

MOUSE_SEED = 0              #: the demo encoder's mouse
TRIALS, FRAMES = 42, 150
MOVIE_BASE = 5_000_000      #: movie seeds 5,000,000 + k: disjoint from every shipped model's training movies
VERSION = 1                 #: bump when the recipe above changes (a new folder is made)


def embedded_root():
    """Where the embedded dataset lives: $DNEMKIT_CACHE/study-data/v<VERSION> (else ~/.cache/dnemkit/...)."""
    return cache_dir().parent / "study-data" / f"v{VERSION}"


def embedded_dataset(log=None):
    """The embedded dataset's root (made now when missing; ``log`` is told so, with the time it took)."""
    import time

    root = embedded_root()
    folder = root / mouse_folder_name(MOUSE_SEED)
    if folder.is_dir() and (root / f"{folder.name}.truth.nc").is_file():
        return root
    started = time.perf_counter()
    if folder.exists():  # a truth file is written last: without it the folder is from an interrupted run
        shutil.rmtree(folder)
    simulate(root, MOUSE_SEED, TRIALS, frames=FRAMES, overwrite=True, movie_base=MOVIE_BASE, oracle=False)
    say(log, f"data: the embedded dataset (synthetic mouse {MOUSE_SEED}, {TRIALS} trials of {FRAMES} frames of "
             f"movies no shipped model saw), made in {time.perf_counter() - started:.0f} s and cached in {root}")
    return Path(root)
