"""Run independent tasks on a Dask cluster (``executor='dask'``): the cluster side of the run engine's dispatcher
(:func:`dnemkit.experiments.runs.engine.dispatch`), for sweeps and studies alike.

Each task is a module-level function ``function(encoder, *args, **kwargs)`` and its arguments; results come back
to ``on_result`` in completion order, so the caller stores each as it arrives and a lost worker or an interrupted
client loses only the tasks in flight. An encoder named by a spec travels as its :class:`dnemkit.encoders.ref.EncoderRef` (a worker loads it
once, :func:`loaded`); an encoder given as an object is scattered to the workers once.

Where the tasks run is the ``scheduler`` string:

- None: a ``distributed.LocalCluster`` of ``workers`` processes (one thread each) on this machine;
- an address, ``tcp://host:8786``: a running Dask scheduler (any cluster the user started);
- ``slurm`` or ``slurm:KEY=VALUE,...``: a dask-jobqueue ``SLURMCluster`` of ``workers`` SLURM jobs, started here and
  cancelled at the end (what ``characterize ... --executor slurm --slurm KEY=VALUE`` builds; keys in
  :data:`SLURM_KEYS`). Each job runs one worker with one thread, so a job holds one task at a time: with
  ``gres=gpu:1`` that is one task per GPU. A job that ends early (pre-empted, cancelled, past its walltime) is
  replaced by a new one, and Dask runs its task in flight again; a task whose workers die
  ``distributed.scheduler.allowed-failures`` + 1 times stops the run with one line. What finished is stored
  either way, so rerunning the command computes only the rest. For example, 8 jobs of one GPU each::

    characterize study --data ROOT --encoder models/ --executor slurm --workers 8 \\
        --slurm gres=gpu:1,memory=32GB,walltime=04:00:00,partition=gpu

Settings not given come from dask-jobqueue's configuration (``jobqueue.slurm`` in ``~/.config/dask/``, where a
site often keeps its partition, account and interface) and then from SLURM's defaults.
"""

import functools

from ...errors import DnemkitError

#: the settings of a SLURM cluster (``slurm:KEY=VALUE,...``; ``--slurm KEY=VALUE`` on the command line): what each sets
SLURM_KEYS = {
    "memory": "memory per job, e.g. 32GB (also the worker's memory limit); needed unless dask's jobqueue.slurm "
              "config gives it",
    "gres": "generic resources per job, e.g. gpu:1 (sbatch --gres)",
    "partition": "the partition (sbatch --partition)",
    "walltime": "time limit per job, e.g. 04:00:00 (sbatch --time); longer than one task",
    "cpus": "CPUs per job (sbatch --cpus-per-task); the worker still runs one task at a time",
    "account": "sbatch --account",
    "qos": "sbatch --qos",
    "interface": "the network interface of the scheduler and the workers, e.g. ib0",
    "log-directory": "folder of the jobs' output (default: SLURM's, slurm-JOBID.out in the current folder)",
    "python": "the workers' Python (default: this one, which compute nodes must see at the same path)",
    "prologue": "a shell line run before the worker, e.g. prologue=module load cuda (repeatable)",
    "extra": "any other sbatch option, e.g. extra=--constraint=a100 (repeatable)",
}
#: keys that may be given more than once (each adds a line)
SLURM_REPEATABLE = ("prologue", "extra")


@functools.lru_cache(maxsize=4)
def loaded(ref):
    """The encoder of ``ref`` (an EncoderRef), loaded once per worker process."""
    return ref.encoder


def on_worker(function, encoder, *args, **kwargs):
    """What a worker runs: ``function(encoder, *args, **kwargs)``, with ``encoder`` loaded here (once per worker
    process, :func:`loaded`) when it arrives as an EncoderRef naming a spec, or used as it is (scattered)."""
    from ...encoders.ref import EncoderRef

    return function(loaded(encoder) if isinstance(encoder, EncoderRef) else encoder, *args, **kwargs)


def encoder_argument(ref, client):
    """What a task receives for the encoder ``ref``: the ref itself when it names a spec (workers load it), else
    the encoder object, scattered to every worker once."""
    return ref if ref.has_spec else client.scatter(ref.encoder, broadcast=True)


def is_slurm(scheduler):
    """Whether the scheduler string asks for a SLURM cluster (``slurm`` or ``slurm:KEY=VALUE,...``)."""
    return isinstance(scheduler, str) and (scheduler == "slurm" or scheduler.startswith("slurm:"))


def parse_slurm(text):
    """The settings of ``KEY=VALUE,KEY=VALUE`` (the text after ``slurm:``) as a dict; repeatable keys give lists.

    A comma-separated piece that does not start with a name and ``=`` continues the previous value, so values may
    hold commas (``gres=gpu:1,nvme:1``, ``extra=--exclude=node1,node2``). Unknown keys, empty values and repeated
    keys are refused.
    """
    import re

    settings = {key: [] for key in SLURM_REPEATABLE}
    last = None
    for piece in (text or "").split(","):
        key, sep, value = piece.partition("=")
        key, value = key.strip(), value.strip()
        if sep and re.fullmatch(r"[A-Za-z][\w-]*", key):
            if key not in SLURM_KEYS:
                raise DnemkitError(f"SLURM setting {key!r} is unknown; expected KEY=VALUE with KEY one of "
                                   f"{', '.join(SLURM_KEYS)}")
            if not value:
                raise DnemkitError(f"SLURM setting {key} is empty; expected {key}=VALUE ({SLURM_KEYS[key]})")
            if key in SLURM_REPEATABLE:
                settings[key].append(value)
            elif key in settings:
                raise DnemkitError(f"SLURM setting {key} is given twice ({settings[key]!r}, {value!r}); expected "
                                   "it once")
            else:
                settings[key] = value
            last = key
        elif last is not None and piece.strip():
            if last in SLURM_REPEATABLE:
                settings[last][-1] += "," + piece.strip()
            else:
                settings[last] += "," + piece.strip()
        elif piece.strip():
            raise DnemkitError(f"SLURM setting {piece.strip()!r} is not KEY=VALUE; expected KEY one of "
                               f"{', '.join(SLURM_KEYS)}")
    return settings


def slurm_scheduler(*settings):
    """The scheduler string ``slurm:KEY=VALUE,...`` of the ``KEY=VALUE[,KEY=VALUE]`` texts ``settings``, checked
    (:func:`check_slurm`) so that a mistake is reported before any work starts."""
    text = ",".join(s for s in settings if s and s.strip())
    scheduler = f"slurm:{text}" if text else "slurm"
    check_slurm(scheduler)
    return scheduler


def check_slurm(scheduler):
    """The settings of the SLURM scheduler string ``scheduler``, or DnemkitError when a setting is wrong (unknown
    key, a memory that is no size, no memory at all) or this machine cannot submit jobs (no ``sbatch`` on PATH)."""
    import shutil

    import dask.config
    from dask.utils import parse_bytes

    settings = parse_slurm(scheduler.partition(":")[2])
    memory = settings.get("memory") or dask.config.get("jobqueue.slurm.memory", None)
    if not memory:
        raise DnemkitError("SLURM jobs need a memory size; expected --slurm memory=SIZE (e.g. memory=32GB) or "
                           "jobqueue.slurm.memory in dask's configuration")
    try:
        parse_bytes(memory)
    except (TypeError, ValueError):
        raise DnemkitError(f"SLURM setting memory is {memory!r}; expected a size such as 32GB") from None
    if "cpus" in settings and not (settings["cpus"].isdigit() and int(settings["cpus"]) >= 1):
        raise DnemkitError(f"SLURM setting cpus is {settings['cpus']!r}; expected an integer >= 1")
    if shutil.which("sbatch") is None:
        raise DnemkitError("--executor slurm submits jobs with sbatch, which is not on PATH; expected a SLURM login "
                           "node (or --executor dask --scheduler ADDRESS of a Dask cluster started elsewhere)")
    return settings


def _slurm_cluster(settings, jobs):
    """A dask-jobqueue SLURMCluster of ``jobs`` jobs (one single-threaded worker each) as ``settings`` say, kept at
    ``jobs`` jobs (a job that ends is replaced); its job is first checked by ``sbatch --test-only``."""
    import subprocess
    import sys
    import tempfile

    import dask.config

    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise DnemkitError("--executor slurm needs dask-jobqueue; expected it installed (pip install "
                           "dask-jobqueue)") from None

    def configured(key):
        return list(dask.config.get(f"jobqueue.slurm.{key}", None) or [])

    # the site's own directives and prologue (dask's config) stay; ours come after them
    directives = configured("job-extra-directives")
    directives += [f"--{key}={settings[key]}" for key in ("gres", "qos") if key in settings]
    directives += settings["extra"]
    options = {"queue": settings.get("partition"), "walltime": settings.get("walltime"),
               "account": settings.get("account"), "interface": settings.get("interface"),
               "log_directory": settings.get("log-directory"),
               "job_cpu": int(settings["cpus"]) if "cpus" in settings else None}
    try:
        # one process of one thread per job: one task at a time, which with gres=gpu:1 is one task per GPU
        cluster = SLURMCluster(cores=1, processes=1, memory=settings.get("memory"),
                               python=settings.get("python", sys.executable), job_name="dnemkit",
                               job_extra_directives=directives,
                               job_script_prologue=configured("job-script-prologue") + settings["prologue"],
                               **{k: v for k, v in options.items() if v is not None})
    except (ValueError, RuntimeError) as exc:  # "Cluster failed to start": e.g. an interface this machine lacks
        raise DnemkitError(f"cannot start the SLURM cluster's scheduler ({exc}); check --slurm interface") from None
    try:
        # sbatch refuses a bad partition, gres, account or walltime at once; asked later, by the cluster's
        # background submissions, the refusal would only be logged and the client would wait for ever
        with tempfile.NamedTemporaryFile("w", suffix=".sh") as script:
            script.write(cluster.job_script())
            script.flush()
            try:
                test = subprocess.run(["sbatch", "--test-only", script.name], capture_output=True, text=True,
                                      timeout=120)
            except subprocess.TimeoutExpired:
                raise DnemkitError("sbatch --test-only did not answer in 120 s; expected a SLURM controller that "
                                   "answers (squeue works?)") from None
        if test.returncode != 0:
            said = [line.strip() for line in (test.stderr + test.stdout).splitlines() if line.strip()]
            raise DnemkitError(f"SLURM refused the worker job: {said[-1] if said else f'exit {test.returncode}'}; "
                               "check --slurm (partition, gres, memory, walltime, account)")
        # adapt, not scale: scale submits the jobs once, adapt also replaces a job that ends (pre-empted)
        cluster.adapt(minimum_jobs=jobs, maximum_jobs=jobs)
    except BaseException:
        cluster.close()
        raise
    return cluster


def connect(scheduler=None, workers=1):
    """(client, cluster or None): a client of the scheduler at ``scheduler`` (an address), of a new SLURMCluster
    of ``workers`` jobs (``scheduler`` = ``slurm[:KEY=VALUE,...]``), else of a new LocalCluster of ``workers``
    processes. The cluster is returned when started here (close it after the client)."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if is_slurm(scheduler):
            cluster = _slurm_cluster(check_slurm(scheduler), int(workers))
            return Client(cluster), cluster
        if scheduler:
            return Client(scheduler, timeout="20s"), None
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        if is_slurm(scheduler):
            raise DnemkitError(f"cannot start the SLURM cluster ({type(exc).__name__}: {exc})") from None
        raise DnemkitError(f"cannot reach the Dask scheduler {scheduler!r} ({type(exc).__name__}: {exc}); "
                           "expected the address of a running scheduler, e.g. tcp://host:8786") from None


def run_tasks(function, tasks, on_result, *, scheduler=None, workers=1, name="dnemkit"):
    """Submit ``function(encoder, *args, **kwargs)`` for every ``(key, ref, args, kwargs)`` of ``tasks`` on one
    cluster (:func:`on_worker` loads the encoder there); call
    ``on_result(key, result)`` as each finishes (completion order). ``ref``: the EncoderRef of the task's
    encoder (see :func:`encoder_argument`; an object is scattered once, however many tasks use it; on SLURM an
    encoder must be named by a spec, since a replaced job would not hold a scattered object).

    A task whose workers kept dying (``distributed.KilledWorker``: pre-empted, out of memory, past the walltime)
    stops the run with a DnemkitError once the results that arrived were handed to ``on_result``."""
    from distributed import KilledWorker, as_completed

    if is_slurm(scheduler):
        for _, ref, _, _ in tasks:
            if not ref.has_spec:
                raise DnemkitError("the encoder is a Python object, which a replaced SLURM job would not hold; "
                                   "expected an encoder spec (a .pth, a folder, file.py:factory) that jobs load")
    client, cluster = connect(scheduler, workers)
    futures, scattered = {}, {}
    done = 0
    try:
        for k, (key, ref, args, kwargs) in enumerate(tasks):
            if id(ref) not in scattered:
                scattered[id(ref)] = encoder_argument(ref, client)
            fut = client.submit(on_worker, function, scattered[id(ref)], *args, **kwargs, pure=False,
                                key=f"{name}-{key}-{k}")
            futures[fut.key] = (fut, key)
        for fut in as_completed([f for f, _ in futures.values()]):
            try:
                result = fut.result()
            except KilledWorker:
                raise DnemkitError(
                    f"the workers running task {futures[fut.key][1]} died too often (pre-empted, out of memory or "
                    f"past the walltime?); {done} of {len(futures)} tasks finished and are kept: run the same "
                    "command again to compute the rest") from None
            on_result(futures[fut.key][1], result)
            done += 1
    finally:
        try:
            client.cancel([f for f, _ in futures.values()])
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
