"""Reconstruction: the paper's loop (config, schedule, optimiser, alpha masks)."""

from .config import ReconstructionConfig
from .loop import ReconstructionResult, input_gradient, reconstruct, smooth
from .schedule import PaperAdam, subbatch_starts

__all__ = ["PaperAdam", "ReconstructionConfig", "ReconstructionResult", "input_gradient", "reconstruct", "smooth",
           "subbatch_starts"]
