"""A folder of finished units: one small netCDF per unit, named by its content id (:mod:`.ids`).

``OUT/<name>.store/<id>.nc`` is written with :func:`dnemkit.io.results.write_dataset` (a temporary name in the
same folder, then ``os.replace``), so a file with a final name is always complete: a run killed at any moment
(Ctrl-C, ``kill -9``, a cluster pre-emption) loses at most the units in flight. Leftover temporaries (hidden:
``.<id>.*.tmp.nc``) are never read; :meth:`UnitStore.open` removes stale ones, and those of the run's own
result file (``OUT/.<name>.*.tmp*``).

Files of other ids stay in the folder untouched (another run in the same folder may need them) and are ignored.
The layout is the one sweeps, studies and tuning runs wrote before they shared this store: their stores are read
as they are.
"""

import time
import warnings
from pathlib import Path

import xarray as xr

from ...io.results import write_dataset


class UnitStore:
    """``folder/<id>.nc`` per finished unit.

    Parameters
    ----------
    folder : path-like
        The store's folder (made on the first :meth:`put`).
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    @classmethod
    def open(cls, out, name, older_than_s=3600.0):
        """The store ``OUT/<name>.store`` of a run writing into the folder ``out``, its stale temporaries and those
        of ``OUT/<name>.*`` removed; None when ``out`` is None (nothing stored, nothing resumed)."""
        if out is None:
            return None
        store = cls(Path(out) / f"{name}.store")
        store.clean(older_than_s)
        remove_stale_temporaries(Path(out), f".{name}.*.tmp*", older_than_s)
        return store

    def path(self, uid):
        """The file of unit ``uid``."""
        return self.folder / f"{uid}.nc"

    def ids(self):
        """Ids of the complete files in the folder."""
        if not self.folder.is_dir():
            return set()
        return {p.stem for p in self.folder.glob("*.nc") if not p.name.startswith(".")}

    def get(self, uid):
        """The stored Dataset of ``uid``, or None (missing or unreadable: it will be recomputed)."""
        path = self.path(uid)
        try:
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                return ds.load()
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged file (e.g. a disk filled up before a crash): recompute it
            warnings.warn(f"ignoring unreadable stored unit {path} ({type(exc).__name__}); recomputing it",
                          stacklevel=2)
            return None

    def load(self, ids, accept=None):
        """{id: Dataset} of the ``ids`` this store holds readable (and, with ``accept``, for which
        ``accept(dataset)`` is true: e.g. the neuron count a run expects)."""
        have = self.ids()
        found = {}
        for uid in ids:
            if uid in have:
                ds = self.get(uid)
                if ds is not None and (accept is None or accept(ds)):
                    found[uid] = ds
        return found

    def put(self, ds, uid):
        """Store the Dataset of unit ``uid``, atomically; returns its path."""
        return write_dataset(ds, self.path(uid))

    def clean(self, older_than_s=3600.0):
        """Remove temporaries left by killed writers that are older than ``older_than_s`` seconds."""
        return remove_stale_temporaries(self.folder, ".*.tmp*", older_than_s)


def remove_stale_temporaries(folder, pattern=".*.tmp*", older_than_s=3600.0):
    """Delete files matching ``pattern`` in ``folder`` older than ``older_than_s`` s (a live writer's are young)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now, n = time.time(), 0
    for p in folder.glob(pattern):
        try:
            if now - p.stat().st_mtime > older_than_s:
                p.unlink()
                n += 1
        except OSError:
            pass
    return n
