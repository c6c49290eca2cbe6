"""The run engine (dnemkit.experiments.runs): content ids that stores written before stay keyed by, the unit
store, one dispatcher, one progress/finish loop and one Interrupted exception."""

import time

import numpy as np
import pytest
import xarray as xr

from dnemkit.experiments.runs import Interrupted, Run, UnitStore, batches, dispatch
from dnemkit.experiments.runs.ids import fingerprint_array, stable_hash, unit_id


def test_ids_are_those_stores_were_written_with():
    """Pinned values, computed with the code before the engine (sweeps/store.py, sweeps/compute.py): changing the
    hashed text would orphan every stored sweep, study and tuning unit."""
    params = {"sf": 0.143, "tf": 1.0, "direction": 0.0, "repeat": 0}
    assert unit_id("gratings", params, {"sf": 0.036}, {"encoder": "abc", "analysis_version": 1}) == \
        "eb62c14a54bcc71d94d6"
    assert stable_hash({"kind": "study-clip", "x": [1.5, 2]}) == "6eb610f69ab87e12731f"
    assert fingerprint_array(np.arange(12, dtype=np.float32).reshape(3, 4), np.ones(2, np.uint8)) == \
        "8d143ef54a282f87216721005cff1e54"
    # dict order and float round-off beyond 12 digits do not change an id
    assert unit_id("k", {"a": 1, "b": 0.1 + 0.2}, None, {}) == unit_id("k", {"b": 0.3, "a": 1}, None, {})


def _unit_ds(uid, value):
    ds = xr.Dataset({"value": ("neuron", np.full(3, float(value)))})
    ds.attrs["condition_id"] = uid
    return ds


class _U:
    def __init__(self, id, group=0):
        self.id, self.group = id, group


def test_a_run_reuses_what_is_stored_and_stores_what_it_computes(tmp_path):
    units = [_U(f"u{k}", group=k % 2) for k in range(5)]
    store = UnitStore.open(tmp_path, "demo")
    store.put(_unit_ds("u1", 1), "u1")
    store.put(_unit_ds("u3", 99), "u3")
    (store.folder / ".u4.abc.tmp.nc").write_bytes(b"half")  # a killed writer's: never read
    run = Run(units, store=UnitStore.open(tmp_path, "demo"), accept=lambda ds: float(ds["value"][0]) < 50)
    assert run.reused == 1 and [u.id for u in run.todo] == ["u0", "u2", "u3", "u4"]
    assert run.reuse_line("reconstruct") == "1 already stored (reused), 4 to reconstruct"
    seen = []
    todo = batches(run.todo, 2, group=lambda u: u.group)
    assert [[u.id for u in b] for b in todo] == [["u0", "u2"], ["u4"], ["u3"]]
    run.execute(todo, lambda k, b: [int(u.id[1:]) for u in b],
                keep=lambda u, value: None if value == 4 else _unit_ds(u.id, value),
                after=lambda b, records, kept: seen.append(kept), progress=False)
    assert seen == [2, 0, 1] and run.computed == 3
    assert sorted(run.stored) == ["u0", "u1", "u2", "u3"]  # u4 was not kept: the next run computes it
    again = Run(units, store=UnitStore(tmp_path / "demo.store"))
    assert again.reused == 4 and [u.id for u in again.todo] == ["u4"]


def test_stale_temporaries_are_removed_and_young_ones_kept(tmp_path):
    folder = tmp_path / "demo.store"
    folder.mkdir()
    old, young, result = folder / ".a.1.tmp.nc", folder / ".b.2.tmp.nc", tmp_path / ".demo.3.tmp.nc"
    for p in (old, young, result):
        p.write_bytes(b"x")
    past = time.time() - 7200
    import os

    os.utime(old, (past, past))
    os.utime(result, (past, past))
    UnitStore.open(tmp_path, "demo")
    assert not old.exists() and young.exists() and not result.exists()
    assert UnitStore.open(None, "demo") is None


def test_ctrl_c_is_one_interrupted_with_what_is_stored(tmp_path):
    units = [_U(f"u{k}") for k in range(4)]
    run = Run(units, store=UnitStore.open(tmp_path, "demo"))

    def compute(k, b):
        if k == 1:
            raise KeyboardInterrupt
        return [0] * len(b)

    with pytest.raises(Interrupted) as info:
        run.execute(batches(run.todo, 2), compute, keep=lambda u, r: _unit_ds(u.id, r), progress=False,
                    path=tmp_path, noun="conditions")
    assert (info.value.done, info.value.total, info.value.path) == (2, 4, tmp_path)
    assert str(info.value) == "interrupted: 2 of 4 conditions stored"
    assert isinstance(info.value, KeyboardInterrupt)
    assert Run(units, store=UnitStore(tmp_path / "demo.store")).reused == 2


def test_dispatch_builds_every_task_before_submitting_any():
    """A mistake in one batch's arguments stops a cluster run before any work (and before a cluster starts)."""
    def arguments(batch):
        if batch == [2]:
            raise ValueError("bad batch")
        return None, (), {}

    with pytest.raises(ValueError, match="bad batch"):
        dispatch([[1], [2]], None, None, task=(print, arguments), executor="dask")
    finished = []
    dispatch([[1], [2]], lambda k, b: [k], lambda b, r: finished.append((b, r)))
    assert finished == [([1], [0]), ([2], [1])]
