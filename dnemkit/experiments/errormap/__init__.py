"""Error maps of recorded vs predicted activity (`characterize errormap`): ``run(ErrormapConfig(...), out=...)``."""

from ...lazy import lazy_exports

_EXPORTS = {"ErrormapConfig": ".config", "run": ".experiment", "error_map_analysis": ".experiment",
            "errormaps_of_clips": ".experiment"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
