"""Most exciting inputs (`characterize mei`): ``run(MeiConfig(...), out=...)``.

- :mod:`.config`: :class:`MeiConfig`, the options (importable without torch: the CLI reads its defaults).
- :mod:`.experiment`: :func:`run`, the comparison stimuli, the optimisation (assembled from the named parts of
  :mod:`dnemkit.reconstruction`: :class:`~dnemkit.reconstruction.transforms.MeiTransform`,
  :class:`~dnemkit.reconstruction.stoppers.PlateauStopper`,
  :func:`~dnemkit.reconstruction.constraints.project_to_budget`) and the dataset.
"""

from ...lazy import lazy_exports

_EXPORTS = {**dict.fromkeys(["MeiConfig", "parse_neurons", "KINDS", "TOP_BY", "INITIALS"], ".config"),
            **dict.fromkeys(["run", "select_neurons", "KIND"], ".experiment")}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
