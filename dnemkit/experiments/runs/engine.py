"""The run engine: a command's units, what its store already holds, one dispatcher (here, Dask or SLURM), one
progress bar and one interruption.

A resumable command only *plans* its units (each with a content id, :mod:`.ids`), *computes one batch* of them
(a pure function of their descriptions) and *assembles* the stored units into its dataset; :class:`Run` does the
rest::

    run = Run(units, store=UnitStore.open(out, "gratings"))        # reuses what is stored
    run.execute(batches(run.todo), compute, keep=to_dataset, ...)  # here or on a cluster; stores each unit
    assemble(run.stored)

Every unit finished is stored at once (atomically), so an interrupted run loses only the batches in flight and a
rerun computes only the units not stored.
"""

from operator import attrgetter

from tqdm.auto import tqdm

EXECUTORS = ("local", "dask")


class Interrupted(KeyboardInterrupt):
    """A resumable run stopped by Ctrl-C: ``done`` of ``total`` units are stored; ``path`` is the run's result
    (its folder or file, None when nothing is written). A KeyboardInterrupt, so that code not expecting it still
    stops."""

    def __init__(self, done, total, path, noun="units"):
        super().__init__(f"interrupted: {done} of {total} {noun} stored")
        self.done, self.total, self.path = done, total, path


def dispatch(batches, compute, finish, *, task=None, key=None, executor="local", scheduler=None, workers=1,
             name="dnemkit"):
    """Compute every batch and call ``finish(batch, records)`` as each one finishes.

    Parameters
    ----------
    batches : list of lists
        The units to compute, grouped as they are computed together.
    compute : callable
        ``compute(k, batch) -> records`` (one per unit, in order): how batch ``k`` is computed in this process.
    finish : callable
        ``finish(batch, records)``: called in this process, in completion order.
    task : tuple, optional
        ``(function, arguments)`` for a cluster: ``arguments(batch) -> (encoder ref, args, kwargs)`` and a worker
        runs ``function(encoder, *args, **kwargs)`` (:func:`dnemkit.experiments.runs.cluster.run_tasks`). Every
        batch's arguments are built before the first task is submitted, so a mistake stops the run before work.
    key : callable, optional
        ``key(batch)``: a name of the batch unique in the run (a cluster task's name).
    executor : {'local', 'dask'}
        'dask' runs the batches on the cluster that ``scheduler`` names (None: a LocalCluster of ``workers``
        processes; an address; ``slurm[:KEY=VALUE,...]``).
    """
    if executor == "local" or not batches:
        for k, batch in enumerate(batches):
            finish(batch, compute(k, batch))
        return
    from .cluster import run_tasks

    function, arguments = task
    tasks, by_key = [], {}
    for k, batch in enumerate(batches):
        name_k = key(batch) if key is not None else k
        by_key[name_k] = batch
        ref, args, kwargs = arguments(batch)
        tasks.append((name_k, ref, args, kwargs))
    run_tasks(function, tasks, lambda k, records: finish(by_key[k], records), scheduler=scheduler,
              workers=workers, name=name)


def batches(units, size, group=None):
    """``units`` in lists of at most ``size``, in order; with ``group`` (``group(unit) -> key``), a batch holds
    units of one key only (those computed together: one mouse, one clip length, one model)."""
    groups = {}
    for u in units:
        groups.setdefault(None if group is None else group(u), []).append(u)
    return [g[k:k + size] for g in groups.values() for k in range(0, len(g), size)]


class Run:
    """One resumable run of a command's units: what is stored, what is left, and the loop that computes it.

    Parameters
    ----------
    units : list
        Every unit of the run, each with a content id.
    store : UnitStore, optional
        Where finished units are kept (None: in memory only, nothing resumed).
    unit_id : callable
        ``unit_id(unit) -> str`` (default: the unit's ``id`` attribute).
    accept : callable, optional
        ``accept(dataset) -> bool``: whether a stored unit is usable (default: every readable one).

    Attributes
    ----------
    stored : dict
        {unit id: Dataset} of every finished unit, the reused and the computed.
    reused, computed : int
        Units found in the store, and units computed and kept by this run.
    todo : list
        The units not stored yet, in the order of ``units``.
    """

    def __init__(self, units, *, store=None, unit_id=attrgetter("id"), accept=None):
        self.units, self.store, self.unit_id = list(units), store, unit_id
        ids = [unit_id(u) for u in self.units]
        self.stored = store.load(ids, accept) if store is not None else {}
        self.reused, self.computed = len(self.stored), 0
        self.todo = [u for u, uid in zip(self.units, ids) if uid not in self.stored]

    def reuse_line(self, verb="compute"):
        """'N already stored (reused), M to <verb>': the line every command says before its work."""
        return f"{self.reused} already stored (reused), {len(self.todo)} to {verb}"

    def execute(self, batches, compute, *, keep, task=None, executor="local", scheduler=None, workers=1,
                after=None, progress=True, desc=None, unit="unit", leave=True, path=None, noun="units",
                name="dnemkit"):
        """Compute ``batches`` (of :attr:`todo`) with :func:`dispatch`, keeping each unit as it finishes.

        Parameters
        ----------
        batches, compute, task, executor, scheduler, workers, name
            As :func:`dispatch`.
        keep : callable
            ``keep(unit, record) -> Dataset`` to store, or None for a record that must not count as done (it
            stays in :attr:`todo` of the next run); it may raise to stop the run.
        after : callable, optional
            ``after(batch, records, n_kept)``, after each batch is kept (e.g. rewrite the run's result file).
        progress, desc, unit, leave
            The progress bar (tqdm): shown, its label, its unit name, kept on screen when done.
        path, noun
            What :class:`Interrupted` reports: the run's result and the name of its units.

        Raises
        ------
        Interrupted
            On KeyboardInterrupt; every unit finished before it is stored.
        """
        bar = tqdm(total=len(self.units), initial=self.reused, desc=desc, unit=unit, disable=not progress,
                   leave=leave)

        def finish(batch, records):
            kept = 0
            for u, record in zip(batch, records):
                ds = keep(u, record)
                if ds is None:
                    continue
                uid = self.unit_id(u)
                if self.store is not None:
                    self.store.put(ds, uid)
                self.stored[uid] = ds
                kept += 1
            self.computed += kept
            bar.update(len(batch))
            if after is not None:
                after(batch, records, kept)

        try:
            dispatch(batches, compute, finish, task=task, key=lambda b: self.unit_id(b[0]), executor=executor,
                     scheduler=scheduler, workers=workers, name=name)
        except KeyboardInterrupt:
            raise Interrupted(len(self.stored), len(self.units), path, noun) from None
        finally:
            bar.close()
