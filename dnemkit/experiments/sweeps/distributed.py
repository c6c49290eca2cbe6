"""Run condition batches on a Dask cluster (``executor='dask'``).

Each task is one batch of conditions: a few small dicts of stimulus parameters, the reconstruction config and the
two (36, 64) masks. The worker loads the encoder itself from the spec string (cached per worker process, so a
worker loads it once), regenerates the stimuli, reconstructs and returns the measures (a few numbers per
condition). The client stores each result as it arrives, so a lost worker or an interrupted client loses only the
batches in flight. An Encoder object (Python API) instead of a spec is scattered to the workers once.

HPC (SLURM) with dask-jobqueue::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, memory="32GB", walltime="04:00:00", job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=4)
    print(cluster.scheduler_address)   # e.g. tcp://10.0.0.5:8786

then, from a shell that can reach it (the same results folder must be visible to the client only)::

    characterize gratings --executor dask --scheduler tcp://10.0.0.5:8786 --out results/

or in Python: ``run_gratings(..., executor="dask", scheduler=cluster.scheduler_address)``. Without
``scheduler`` a ``distributed.LocalCluster`` is started (``workers`` processes, one thread each).
"""

import functools

from ...errors import DnemkitError
from .compute import compute_batch


@functools.lru_cache(maxsize=2)
def _load(spec, mouse, models):
    from ...encoders import load_encoder
    from ...encoders import select_models

    return select_models(load_encoder(spec, mouse), models)


def batch_task(encoder, mouse, models, items, config, train_mask, eval_mask):
    """What a worker runs: one batch -> list of per-condition records (see compute.compute_batch)."""
    enc = _load(encoder, mouse, models) if isinstance(encoder, str) else encoder
    return compute_batch(enc, items, config, train_mask, eval_mask, progress=False)


def run_batches(batches, encoder, mouse, models, config, train_mask, eval_mask, on_result, scheduler=None,
                workers=1):
    """Submit every batch, call ``on_result(batch, records)`` as each finishes (in completion order)."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise DnemkitError(f"cannot reach the Dask scheduler {scheduler!r} ({type(exc).__name__}: {exc}); "
                           "expected the address of a running scheduler, e.g. tcp://host:8786") from None
    futures = {}
    try:
        ref = encoder if isinstance(encoder, str) else client.scatter(encoder, broadcast=True)
        for k, b in enumerate(batches):
            fut = client.submit(batch_task, ref, mouse, models, b, config, train_mask, eval_mask, pure=False,
                                key=f"dnemkit-batch-{b[0]['id']}-{k}")
            futures[fut.key] = (fut, b)
        for fut in as_completed([f for f, _ in futures.values()]):
            on_result(futures[fut.key][1], fut.result())
    finally:
        try:
            client.cancel([f for f, _ in futures.values()])
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
