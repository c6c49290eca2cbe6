"""Population ablation (`characterize ablation`): ``run(AblationConfig(...), out=...)``."""

from ...lazy import lazy_exports

_EXPORTS = {"AblationConfig": ".config", "run": ".experiment", "population_ablation": ".experiment"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
