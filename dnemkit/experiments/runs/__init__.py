"""The one run engine of the resumable commands (sweeps, study, tuning): content ids, the store, the dispatcher
(here, Dask, SLURM), progress and interruption.

- :mod:`.ids`: :func:`unit_id`, :func:`stable_hash`, :func:`fingerprint_array` (what a unit's id hashes).
- :mod:`.store`: :class:`UnitStore`, one atomically written netCDF per finished unit.
- :mod:`.engine`: :class:`Run` (reuse, compute, keep, progress), :func:`dispatch`, :func:`batches`,
  :class:`Interrupted`.
- :mod:`.cluster`: Dask / SLURM (dask-jobqueue) clusters and their tasks.

A command package plans its units, computes one batch and assembles; it imports this package and no other
command's.
"""

from ...lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["fingerprint_array", "stable_hash", "unit_id"], ".ids"),
    **dict.fromkeys(["UnitStore", "remove_stale_temporaries"], ".store"),
    **dict.fromkeys(["EXECUTORS", "Interrupted", "Run", "batches", "dispatch"], ".engine"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
