"""Run condition batches on a Dask cluster (``executor='dask'``), through :mod:`dnemkit.experiments.executor`.

Each task is one batch of conditions: a few small dicts of stimulus parameters, the recipe, the execution and the
two (36, 64) masks. The worker loads the encoder itself from the spec (once per worker process), regenerates the
stimuli, reconstructs and returns the measures (a few numbers per condition). The executor's docstring shows the
SLURM (dask-jobqueue) setup.
"""

from ...encoders.ref import EncoderRef
from ..executor import loaded, run_tasks
from .compute import compute_batch


def batch_task(encoder, items, recipe, execution, train_mask, eval_mask):
    """What a worker runs: one batch -> list of per-condition records (see compute.compute_batch).

    encoder: an EncoderRef naming the encoder by spec (loaded on the worker), or an Encoder (scattered)."""
    enc = loaded(encoder) if isinstance(encoder, EncoderRef) else encoder
    return compute_batch(enc, items, recipe, execution, train_mask, eval_mask, progress=False)


def run_batches(batches, ref, recipe, execution, train_mask, eval_mask, on_result, scheduler=None, workers=1):
    """Submit every batch, call ``on_result(batch, records)`` as each finishes (in completion order)."""
    tasks = [(b[0]["id"], ref, (b, recipe, execution, train_mask, eval_mask)) for b in batches]
    by_key = {b[0]["id"]: b for b in batches}
    run_tasks(batch_task, tasks, lambda key, records: on_result(by_key[key], records), scheduler=scheduler,
              workers=workers, name="dnemkit-batch")
