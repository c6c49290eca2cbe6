"""A folder of finished conditions: one small netCDF per condition, keyed by a stable condition id.

``DIR/<kind>.store/<id>.nc`` is written with :func:`dnemkit.io.results.write_dataset` (a temporary name in the same
folder, then ``os.replace``), so a file with a final name is always complete: a sweep killed at any moment
(Ctrl-C, ``kill -9``, a cluster pre-emption) loses at most the conditions in flight. Leftover temporaries
(hidden: ``.<id>.*.tmp.nc``) are never read; :meth:`ConditionStore.clean` removes stale ones.

The id hashes everything a result depends on (stimulus params, the baseline condition, the encoder's weights,
the reconstruction config, the masks, the analysis version), so a changed encoder or config never silently reuses
a stored condition: it simply has a new id. Files of other ids stay in the folder untouched (another sweep in the
same folder may need them) and are ignored.
"""

import hashlib
import json
import time
import warnings
from pathlib import Path

import xarray as xr

from ...io.results import write_dataset


def _canonical(value):
    """JSON-ready value with floats rounded to 12 significant digits (0.143 cpd -> 0.5 cyc/px either way)."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def stable_hash(obj, size=20):
    """Hex digest of a JSON-able object, independent of dict order and float round-off beyond 12 digits."""
    text = json.dumps(_canonical(obj), sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=size // 2).hexdigest()


def condition_id(kind, params, other, context):
    """The stable id of a condition (see the module docstring)."""
    return stable_hash({"kind": kind, "params": params, "baseline": other, "context": context})


class ConditionStore:
    """``folder/<id>.nc`` per finished condition."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, cid):
        return self.folder / f"{cid}.nc"

    def ids(self):
        """Ids of the complete files in the folder."""
        if not self.folder.is_dir():
            return set()
        return {p.stem for p in self.folder.glob("*.nc") if not p.name.startswith(".")}

    def get(self, cid):
        """The stored Dataset of ``cid`` or None (missing or unreadable: it will be recomputed)."""
        path = self.path(cid)
        try:
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                return ds.load()
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged file (e.g. a disk filled up before a crash): recompute it
            warnings.warn(f"ignoring unreadable stored condition {path} ({type(exc).__name__}); recomputing it",
                          stacklevel=2)
            return None

    def put(self, ds):
        """Store one condition Dataset (attrs['condition_id'] names it), atomically."""
        return write_dataset(ds, self.path(ds.attrs["condition_id"]))

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
