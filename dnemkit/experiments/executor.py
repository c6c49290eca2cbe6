"""Run independent tasks on a Dask cluster (``executor='dask'``): the one executor of sweeps and studies.

Each task is a module-level function and its arguments; results come back to ``on_result`` in completion order,
so the caller stores each as it arrives and a lost worker or an interrupted client loses only the tasks in
flight. An encoder named by a spec travels as its :class:`dnemkit.encoders.ref.EncoderRef` (a worker loads it
once, :func:`loaded`); an encoder given as an object is scattered to the workers once.

HPC (SLURM) with dask-jobqueue, one GPU per job::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=1, memory="64GB", walltime="04:00:00",
                           job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=4)
    print(cluster.scheduler_address)   # e.g. tcp://10.0.0.5:8786

then, from a shell that can reach it (the results folder must be visible to the client only)::

    characterize study --data ROOT --encoder models/ --executor dask --scheduler tcp://10.0.0.5:8786
    characterize gratings --executor dask --scheduler tcp://10.0.0.5:8786 --out results/

A pre-empted job loses its task in flight; rerunning the command recomputes only what is not stored. Without a
scheduler a ``distributed.LocalCluster`` is started (``workers`` processes, one thread each).
"""

import functools

from ..errors import DnemkitError


@functools.lru_cache(maxsize=4)
def loaded(ref):
    """The encoder of ``ref`` (an EncoderRef), loaded once per worker process."""
    return ref.encoder


def encoder_argument(ref, client):
    """What a task receives for the encoder ``ref``: the ref itself when it names a spec (workers load it), else
    the encoder object, scattered to every worker once."""
    return ref if ref.has_spec else client.scatter(ref.encoder, broadcast=True)


def connect(scheduler=None, workers=1):
    """(client, cluster or None): a client of the scheduler at ``scheduler``, else of a new LocalCluster."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            return Client(scheduler, timeout="20s"), None
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise DnemkitError(f"cannot reach the Dask scheduler {scheduler!r} ({type(exc).__name__}: {exc}); "
                           "expected the address of a running scheduler, e.g. tcp://host:8786") from None


def run_tasks(function, tasks, on_result, *, scheduler=None, workers=1, name="dnemkit"):
    """Submit ``function(encoder, *args)`` for every ``(key, ref, args)`` of ``tasks`` on one cluster; call
    ``on_result(key, result)`` as each finishes (completion order). ``ref``: the EncoderRef of the task's
    encoder (see :func:`encoder_argument`; an object is scattered once, however many tasks use it)."""
    from distributed import as_completed

    client, cluster = connect(scheduler, workers)
    futures, scattered = {}, {}
    try:
        for k, (key, ref, args) in enumerate(tasks):
            if id(ref) not in scattered:
                scattered[id(ref)] = encoder_argument(ref, client)
            fut = client.submit(function, scattered[id(ref)], *args, pure=False, key=f"{name}-{key}-{k}")
            futures[fut.key] = (fut, key)
        for fut in as_completed([f for f, _ in futures.values()]):
            on_result(futures[fut.key][1], fut.result())
    finally:
        try:
            client.cancel([f for f, _ in futures.values()])
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
