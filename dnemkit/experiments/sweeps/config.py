"""The options of a gratings or noise sweep, checked once: :class:`SweepConfig` (no torch import)."""

import math
from dataclasses import dataclass
from typing import ClassVar

from ...errors import DnemkitError, check_int
from ..contract import DEFAULT_ENCODER, ExperimentConfig
from .defaults import DEFAULT_BATCH, DEFAULT_ITERATIONS

EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class SweepConfig(ExperimentConfig):
    """A grid of synthetic stimuli and how every condition of it is reconstructed and measured.

    grid: a GratingGrid or NoiseGrid (None: the paper's grating grid).
    encoder: an EncoderRef (spec, mouse, models; a spec string is wrapped).
    recipe: the Recipe of every condition (None: the fast recipe at ``ITERATIONS['fast']`` iterations);
    execution: device, precision, compile, ... (an Execution; None: the defaults).
    batch: conditions per ``reconstruct`` call (and per Dask task), >= 1.
    executor: 'local' (batches in this process) or 'dask' (batches as tasks on a Dask cluster).
    scheduler: address of a running Dask scheduler (executor 'dask' only); None = a LocalCluster of ``workers``.
    threshold: correlation threshold of the resolution cut-offs, in (-1, 1).
    seed: choice of each condition's random-stimulus baseline, >= 0 (a NoiseGrid has its own noise seed).
    mask: 'auto' | 'alpha' | 'sensitivity' | 'none' | a mask file | a ScreenMask | a (36, 64) array.
    """

    RECIPE: ClassVar = "fast"
    ITERATIONS: ClassVar = DEFAULT_ITERATIONS

    grid: object = None
    encoder: object = DEFAULT_ENCODER
    recipe: object = None
    execution: object = None
    batch: int = DEFAULT_BATCH
    executor: str = "local"
    scheduler: str | None = None
    workers: int = 1
    threshold: float = 0.2
    seed: int = 0
    mask: object = "auto"

    def __post_init__(self):
        from .grids import GratingGrid, NoiseGrid

        self._check_common()
        grid = GratingGrid() if self.grid is None else self.grid
        if not isinstance(grid, (GratingGrid, NoiseGrid)):
            raise DnemkitError(f"grid is a {type(grid).__name__}; expected a GratingGrid or a NoiseGrid")
        object.__setattr__(self, "grid", grid)
        if self.executor not in EXECUTORS:
            raise DnemkitError(f"executor is {self.executor!r}; expected 'local' or 'dask'")
        if self.scheduler is not None and self.executor != "dask":
            raise DnemkitError("scheduler is set but executor is 'local'; expected executor='dask' with a scheduler")
        check_int(self.batch, "batch", 1, "conditions per reconstruct call")
        check_int(self.workers, "workers", 1)
        try:
            threshold = float(self.threshold)
        except (TypeError, ValueError):
            raise DnemkitError(f"threshold is {self.threshold!r}; expected a number") from None
        if not math.isfinite(threshold) or not -1 < threshold < 1:
            raise DnemkitError(f"threshold is {self.threshold!r}; expected a correlation between -1 and 1")
        object.__setattr__(self, "threshold", threshold)
        check_int(self.seed, "seed", 0)
        first = self.grid.n_frames
        from ...video import EVAL_FIRST_FRAME

        if first <= EVAL_FIRST_FRAME + 1:
            raise DnemkitError(f"n_frames is {first}; expected more than {EVAL_FIRST_FRAME + 1} "
                               f"(frames >= {EVAL_FIRST_FRAME} are evaluated)")
        if self.mask is None:
            object.__setattr__(self, "mask", "auto")
        if self.recipe.stopper != "none":
            raise DnemkitError(f"--stopper {self.recipe.stopper} watches for the point where a reconstruction "
                               "starts to fit the responses' noise; a sweep's targets are the encoder's predicted "
                               "activity, which has none; expected --stopper none (and --iterations)")

    def to_dict(self):
        out = super().to_dict()
        out["grid"] = dict(kind=self.grid.kind, **self.grid.options())
        return out
