"""Receptive-field mapping with on/off flashes (`characterize rf`): ``run(RFConfig(...), out=...)``."""

from ...lazy import lazy_exports

_EXPORTS = {"RFConfig": ".config",
            **dict.fromkeys(["run", "map_receptive_fields", "sparse_noise_responses", "auto_chunk", "truth_for",
                             "DEFAULT_CHUNK"], ".experiment")}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
