"""Content ids of units of work: a hash of everything a unit's result depends on.

A unit's id is computed from plain values (stimulus parameters, fingerprints of the encoder's weights and of
arrays, the recipe's arithmetic), never from where or when it runs, so a store filled locally, on Dask or on SLURM
is one store, and a changed input simply gives a new id (the old file is ignored, never reused by mistake).

The hashed text is part of every store on disk: changing :func:`stable_hash`, :func:`unit_id` or
:func:`fingerprint_array` orphans every stored unit (tests/experiments/test_runs.py pins their values).
"""

import hashlib
import json

import numpy as np


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
    """Hex digest (``size`` characters) of a JSON-able object, independent of dict order and of float round-off
    beyond 12 significant digits."""
    text = json.dumps(_canonical(obj), sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=size // 2).hexdigest()


def unit_id(kind, params, other, context):
    """The id of a unit described by its ``kind`` (e.g. 'gratings'), its ``params`` (a dict of plain values),
    an ``other`` unit's params it depends on (a sweep's baseline condition; None for none) and a ``context``
    (fingerprints of the encoder, recipe, masks, analysis version)."""
    return stable_hash({"kind": kind, "params": params, "baseline": other, "context": context})


def fingerprint_array(*arrays):
    """Hex digest (32 characters) of the dtypes, shapes and bytes of ``arrays``."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()
