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
from ...encoders.ref import EncoderRef
from .compute import compute_batch


@functools.lru_cache(maxsize=2)
def _load(ref):
    return ref.encoder  # one load per worker process and encoder, however many batches it runs


def batch_task(encoder, items, config, train_mask, eval_mask):
    """What a worker runs: one batch -> list of per-condition records (see compute.compute_batch).

    encoder: an EncoderRef naming the encoder by spec (loaded on the worker), or an Encoder (scattered)."""
    enc = _load(encoder) if isinstance(encoder, EncoderRef) else encoder
    return compute_batch(enc, items, config, train_mask, eval_mask, progress=False)


def run_batches(batches, ref, config, train_mask, eval_mask, on_result, scheduler=None, workers=1):
    """Submit every batch, call ``on_result(batch, records)`` as each finishes (in completion order).

    ref: the EncoderRef; named by a spec, workers load it themselves, given as an object it is scattered once."""
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
        task_encoder = ref if ref.has_spec else client.scatter(ref.encoder, broadcast=True)
        for k, b in enumerate(batches):
            fut = client.submit(batch_task, task_encoder, b, config, train_mask, eval_mask, pure=False,
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
