"""The options of a gratings or noise sweep, checked once: :class:`SweepConfig`."""

import dataclasses
import math
from dataclasses import dataclass

from ...errors import DnemkitError, check_int
from ...reconstruction.config import ReconstructionConfig
from .defaults import DEFAULT_BATCH, DEFAULT_ITERATIONS

EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class SweepConfig:
    """How every condition of a grid is reconstructed and measured (the grid itself is a GratingGrid/NoiseGrid).

    encoder: spec string ('demo', 'synthetic[:seed]', a .pth, a folder, 'file.py:factory') or an Encoder.
    mouse: the readout (mouse index) of a multi-mouse encoder; None = the encoder's default.
    models: use the first K members of an ensemble (None = all).
    reconstruction: the ReconstructionConfig of every condition (default: the paper's recipe at
        ``DEFAULT_ITERATIONS['paper']`` iterations).
    batch: conditions per ``reconstruct`` call (and per Dask task), >= 1.
    executor: 'local' (batches in this process) or 'dask' (batches as tasks on a Dask cluster).
    scheduler: address of a running Dask scheduler (executor 'dask' only); None = a LocalCluster of ``workers``.
    threshold: correlation threshold of the resolution cut-offs, in (-1, 1).
    seed: choice of each condition's random-stimulus baseline (and the noise seeds of a NoiseGrid), >= 0.
    mask: 'auto' | 'alpha' | 'sensitivity' | 'none' | a mask file | an AlphaMask | a (36, 64) array.
    """

    encoder: object = "demo"
    mouse: int | None = None
    models: int | None = None
    reconstruction: ReconstructionConfig | None = None
    batch: int = DEFAULT_BATCH
    executor: str = "local"
    scheduler: str | None = None
    workers: int = 1
    threshold: float = 0.2
    seed: int = 0
    mask: object = "auto"

    def __post_init__(self):
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
        reconstruction = self.reconstruction
        if reconstruction is None:
            reconstruction = ReconstructionConfig(iterations=DEFAULT_ITERATIONS["paper"])
        if not isinstance(reconstruction, ReconstructionConfig):
            raise DnemkitError(f"config is a {type(reconstruction).__name__}; expected a ReconstructionConfig")
        object.__setattr__(self, "reconstruction", reconstruction)
        if self.mask is None or (isinstance(self.mask, str) and self.mask == "quick"):
            object.__setattr__(self, "mask", "auto")

    def replace(self, **changes):
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)
