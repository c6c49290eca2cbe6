"""Synthetic-stimulus characterisation: grids of conditions -> batched reconstructions -> one resumable store.

Python API (the experiment contract, :mod:`dnemkit.experiments.contract`)::

    from dnemkit.experiments.sweeps import GratingGrid, SweepConfig, run
    grid = GratingGrid(sf=[0.143, 0.036], tf=[3.75, 1.875], directions=[0], repeats=1)
    config = SweepConfig(grid=grid, encoder="synthetic", recipe=SweepConfig.recipe_named("fast", 50))
    ds = run(config, out="results")
    ds["resolution"]            # (sf, tf) ensemble video correlation, mean over direction, repeat, phase
    float(ds["cutoff_sf_best"]) # cycles/degree

Each condition's stimulus (60 frames) and its phase-inverted twin are generated, the encoder's predicted activity
for them is the target, and batches of conditions are reconstructed together in one ``reconstruct`` call; the
measures are listed in :mod:`dnemkit.experiments.sweeps.compute`. Evaluation uses frames >= 30 and the encoder's evaluation
mask (level >= 1); the training mask (level >= 0.5) gates the gradients.

Results (``out`` folder):

- ``gratings.nc`` / ``noise.nc``: one Dataset, dims ``sf, tf, direction, repeat`` (or ``sigma_space,
  sigma_time, repeat``) plus ``phase`` ('original', 'inverted') and ``model`` where they apply. Per-model
  correlations are ``video_correlation`` (model dim); the ensemble's is ``video_correlation_ensemble``.
  Coordinates carry units: sf in cycles/degree with ``sf_cyc_per_px``; tf in Hz; sigma_space in pixels with
  ``sigma_space_deg`` (pixels x DEG_PER_PIXEL); sigma_time in frames with ``sigma_time_ms``. ``resolution`` is
  the heatmap; ``cutoff_*`` the cut-offs (threshold in the attrs); ``computed`` flags finished conditions (NaN
  elsewhere) so the file is valid at every moment of a sweep.
- ``gratings.png`` / ``noise.png``: the resolution heatmap with the threshold and cut-offs.
- ``gratings.store/<id>.nc``: one file per finished condition, written atomically; the id hashes the stimulus,
  the baseline condition, the encoder's weights, the config and the masks. Re-running a command computes only the
  conditions whose id is not stored; ``gratings.nc`` is rebuilt (atomically) after every batch, so Ctrl-C or
  ``kill -9`` loses at most the batches in flight.

Execution: ``executor='local'`` (batches in this process) or ``'dask'`` (batches as tasks on a Dask cluster: an
existing one via ``scheduler='tcp://host:8786'``, else a LocalCluster). For SLURM, start a
``dask_jobqueue.SLURMCluster`` and pass its ``scheduler_address`` (example in
:mod:`dnemkit.experiments.runs.cluster`). The store, the dispatch and the interruption
(:class:`~dnemkit.experiments.runs.Interrupted`) are the run engine's, :mod:`dnemkit.experiments.runs`.
"""

from ...lazy import lazy_exports

#: public name -> the submodule defining it; imported on first use, so that the CLI (which reads only
#: .defaults) starts without torch
_EXPORTS = {
    **dict.fromkeys(["PHASES", "VARIABLE_DIMS", "compute_batch"], ".compute"),
    "synthetic_sf_sensitivity": ".expectations",
    **dict.fromkeys(["GratingGrid", "NoiseGrid", "stimulus"], ".grids"),
    **dict.fromkeys(["PAPER_DIRECTIONS", "PAPER_SF_CPD", "PAPER_SIGMAS", "PAPER_TF_HZ", "QUICK_GRATINGS",
                     "QUICK_NOISE", "DEFAULT_BATCH", "DEFAULT_ITERATIONS", "QUICK_ITERATIONS"], ".defaults"),
    **dict.fromkeys(["assemble", "plan", "run", "summary"], ".experiment"),
    "SweepConfig": ".config",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
