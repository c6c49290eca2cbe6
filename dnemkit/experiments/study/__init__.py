"""The paper's experiments over a whole dataset (`characterize study`): every selected clip of every mouse,
reconstructed by every model, kept in a resumable store, and the statistics over them (docs/method.md,
"The study").

- :mod:`.config`: :class:`StudyConfig`, the options (importable without torch: the CLI reads its defaults).
- :mod:`.plan`: mouse folders -> readouts, the clips of a fold or tier, content ids (all checks before work).
- :mod:`.compute`: one unit of work (clips of one mouse in one ``reconstruct`` call), local or on a Dask worker.
- :mod:`.assemble`: study.nc from the stored clips (the arithmetic is :mod:`dnemkit.analysis.study`).
- :mod:`.embedded`: the embedded dataset of `characterize study` with no arguments.
- :mod:`.experiment`: :func:`run`, the experiment.
"""

from ...lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"StudyConfig": ".config", "run": ".experiment"})
__all__ = ["StudyConfig", "run"]
