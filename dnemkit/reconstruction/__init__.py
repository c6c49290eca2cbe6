"""Reconstruction: the paper's loop (recipe, execution, schedule, optimisers, objectives).

Names are imported on first use, so that the command line can read :class:`Recipe` and :class:`Execution`
defaults without loading torch."""

from ..lazy import lazy_exports

_EXPORTS = {"Execution": ".config", "Recipe": ".config", "ReconstructionResult": ".loop",
            "input_gradient": ".passes", "reconstruct": ".loop", "PaperAdam": ".optimizers", "PixelAdam": ".optimizers",
            "subbatch_starts": ".schedule"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
