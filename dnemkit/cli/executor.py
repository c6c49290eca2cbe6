"""--executor, --scheduler, --workers and --slurm: where the tasks of `characterize gratings/noise/study` run.

``--executor slurm`` is a Dask cluster of SLURM jobs (dask-jobqueue, started and stopped by the command); it
reaches the experiments' configs as ``executor='dask'`` with the scheduler string ``slurm:KEY=VALUE,...`` that
:func:`dnemkit.experiments.runs.cluster.connect` understands, so the configs know only two executors.
"""

import functools

import click

from .common import UserError

SLURM_HELP = ("Resources of each SLURM job of --executor slurm, KEY=VALUE (comma-separated or repeated): "
              "memory=32GB (needed unless dask's jobqueue.slurm config gives it), gres=gpu:1, partition=NAME, "
              "walltime=HH:MM:SS, cpus=N, account=NAME, qos=NAME, interface=ib0, log-directory=DIR, python=PATH, "
              "prologue='module load cuda', extra=--any-sbatch-option.")


def _check_slurm_settings(ctx, param, values):
    """click callback of --slurm: unknown keys and empty values are reported before the command runs."""
    from ..errors import DnemkitError
    from ..experiments.runs.cluster import parse_slurm

    try:
        parse_slurm(",".join(values))
    except DnemkitError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return values


def executor_options(executors=("local", "dask"), executor="local", scheduler=None, workers=1):
    """Decorator adding the executor options to a command: ``executors`` (the config's, 'slurm' added) and the
    defaults of the others. The command receives ``executor`` (one of ``executors``), ``scheduler`` (an address,
    ``slurm:...`` or None) and ``workers``, as the experiments' configs take them."""
    options = [
        click.option("--executor", type=click.Choice([*executors, "slurm"]), default=executor,
                     show_default=True,
                     help="local: here. dask: Dask tasks on a LocalCluster of --workers processes, or on the running "
                          "scheduler at --scheduler. slurm: Dask tasks on --workers SLURM jobs started (and "
                          "cancelled at the end) by this command, one task at a time per job; --slurm sets their "
                          "resources. A job that ends early is replaced; a rerun computes only what is not stored."),
        click.option("--scheduler", default=scheduler, metavar="ADDRESS",
                     help="Address of a running Dask scheduler (with --executor dask), e.g. tcp://host:8786."),
        click.option("--workers", type=click.IntRange(min=1), default=workers, show_default=True,
                     help="--executor dask without --scheduler: LocalCluster worker processes; --executor slurm: "
                          "SLURM jobs (one GPU each with --slurm gres=gpu:1)."),
        click.option("--slurm", "slurm", multiple=True, metavar="KEY=VALUE", callback=_check_slurm_settings,
                     help=SLURM_HELP),
    ]

    def decorate(f):
        @functools.wraps(f)
        def command(*args, **kwargs):
            settings = kwargs.pop("slurm")
            if kwargs["executor"] == "slurm":
                from ..errors import DnemkitError
                from ..experiments.runs.cluster import slurm_scheduler

                if kwargs["scheduler"] is not None:
                    raise UserError("--scheduler is given with --executor slurm, which starts a scheduler of its "
                                    "own; expected one of them (--executor dask --scheduler ADDRESS for a running "
                                    "cluster)")
                try:
                    kwargs.update(executor="dask", scheduler=slurm_scheduler(*settings))
                except DnemkitError as exc:
                    raise UserError(str(exc)) from None
            elif settings:
                raise UserError(f"--slurm is given but --executor is {kwargs['executor']!r}; expected --executor "
                                "slurm")
            return f(*args, **kwargs)

        for option in reversed(options):
            command = option(command)
        return command

    return decorate
