"""`--executor slurm` on a real single-node SLURM (Debian's slurm-wlm: munged, slurmctld and slurmd started here):
a grating sweep that outlives a pre-empted job, and a study stopped by pre-emption then resumed on two jobs of one
(stand-in) GPU each, store exactly the numbers of `--executor local`; reruns compute only what is not stored;
jobs SLURM refuses are one line. (Mistakes that need no SLURM: test_executor.py.)

Without root or without slurm-wlm the module is skipped with one line (`.ci/run` installs slurm-wlm and sets
DNEMKIT_REQUIRE_SLURM=1, which turns that skip into a failure).
"""

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time

import dask
import numpy as np
import pytest

from dnemkit.io.results import read_dataset

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel", "scontrol")
GPUS = 2  # GPUs of the test node as SLURM books them (no device is behind them)
SWEEP = ["gratings", "--encoder", "synthetic", "--sf", "0.143,0.036", "--tf", "1.875,3.75",
         "--directions", "0", "--iterations", "6", "--frames", "40", "--batch", "1", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def mask(tmp_path_factory):
    """An alpha mask file over the synthetic mouse's RF region (what --mask FILE reads)."""
    alpha = np.zeros((36, 64), np.float32)
    alpha[6:30, 16:48] = 0.7
    alpha[9:27, 20:44] = 1.5  # above the largest default evaluation threshold (1.25)
    path = tmp_path_factory.mktemp("mask") / "alpha.npy"
    np.save(path, alpha)
    return path


def _free_ports(n):
    """``n`` distinct TCP ports free now (held open together, so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def _unavailable(reason, module=False):
    """Skip (the whole module with ``module``) with one line, or fail where SLURM is required (CI installed it)."""
    if os.environ.get("DNEMKIT_REQUIRE_SLURM") == "1":
        pytest.fail(f"DNEMKIT_REQUIRE_SLURM=1 but no single-node SLURM: {reason}", pytrace=False)
    pytest.skip(f"no single-node SLURM: {reason}", allow_module_level=module)


def _why_not():
    """Why this machine cannot start SLURM's daemons, or None."""
    if os.geteuid() != 0:
        return "not root (slurmd starts jobs as their user; run as root, as CI does)"
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        return f"{', '.join(missing)} not on PATH (apt-get install slurm-wlm munge)"
    return None


if _why_not() and os.environ.get("DNEMKIT_REQUIRE_SLURM") != "1":  # required: each test fails (the fixture)
    _unavailable(_why_not(), module=True)


def _last_line(path):
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()] if path.exists() else []
    return lines[-1] if lines else f"{path.name} is empty"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A one-node SLURM cluster (munge authentication, partition 'test', 2 stand-in GPUs) whose daemons run
    from a configuration in a temporary folder; SLURM_CONF points the client commands at it. Yields the folder."""
    if _why_not():
        _unavailable(_why_not())
    root = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir(mode=0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = root / "munge" / "munge.socket"
    # the node as slurmd sees it (CPUs, sockets, memory): a configured node larger than the machine is drained
    node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True).stdout.partition("\n")[0]
    if not node.startswith("NodeName="):
        _unavailable(f"slurmd -C printed {node!r}, not this machine's NodeName=... line")
    name = node.split()[0].partition("=")[2]
    ctld_port, slurmd_port = _free_ports(2)
    conf = root / "slurm.conf"
    conf.write_text(f"""ClusterName=dnemkit-test
SlurmctldHost={name}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
{node} NodeAddr=127.0.0.1 Gres=gpu:{GPUS} State=UNKNOWN
PartitionName=test Nodes={name} Default=YES MaxTime=INFINITE State=UP
""")
    # slurmd reads gres.conf beside slurm.conf and drops a GPU without a device file: /dev/null and /dev/zero
    # stand in for /dev/nvidia0 and /dev/nvidia1 (SLURM books them; nothing opens them)
    (root / "gres.conf").write_text("".join(f"NodeName={name} Name=gpu File={device}\n"
                                            for device in ("/dev/null", "/dev/zero")[:GPUS]))
    with pytest.MonkeyPatch.context() as mp:
        # a test run inside a real SLURM job must not send our jobs to that cluster's partition or account
        for var in [v for v in os.environ if v.startswith(("SLURM_", "SBATCH_", "SALLOC_"))]:
            mp.delenv(var)
        mp.setenv("SLURM_CONF", str(conf))
        daemons = []
        try:
            with open(root / "daemons.log", "ab") as log:
                def start(*command):
                    daemons.append(subprocess.Popen(command, stdout=log, stderr=log))

                start("munged", "--foreground", "--force", f"--socket={sock}", f"--key-file={key}",
                      f"--log-file={root}/munge/munged.log", f"--pid-file={root}/munge/munged.pid",
                      f"--seed-file={root}/munge/munged.seed")
                _wait(lambda: sock.exists(), 10,
                      lambda: f"munged did not start: {_last_line(root / 'munge' / 'munged.log')}")
                start("slurmctld", "-D", "-f", str(conf))
                start("slurmd", "-D", "-f", str(conf))
                _wait(lambda: _sinfo() == "idle", 30, lambda: f"the node is {_sinfo() or 'absent'}: slurmctld says "
                      f"{_last_line(root / 'slurmctld.log')!r}, slurmd {_last_line(root / 'slurmd.log')!r}")
            yield root
        finally:
            if daemons:
                subprocess.run(["scancel", "--full", "--partition=test"], capture_output=True)
            for proc in reversed(daemons):
                proc.terminate()
            for proc in reversed(daemons):
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _sinfo():
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _wait(ready, seconds, why):
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            _unavailable(why())
        time.sleep(0.2)


@contextlib.contextmanager
def one_thread():
    """torch on one thread, as in a Dask worker (distributed sets OMP_NUM_THREADS=1 for the workers it starts):
    float32 sums over another number of threads may round differently."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _jobs(logs):
    """The ids of the SLURM jobs whose worker wrote into ``logs`` (dask-jobqueue names them JOBNAME-ID.err)."""
    return sorted({p.stem.rpartition("-")[2] for p in logs.glob("dnemkit-*.err")})


def _assert_same_numbers(a, b):
    """Every data variable and coordinate of two result datasets equal, bit for bit (NaN where NaN), but the
    wall-clock durations (units 's'); returns how many variables were compared."""
    assert sorted(a.data_vars) == sorted(b.data_vars) and sorted(a.coords) == sorted(b.coords)
    compared = 0
    for name in list(a.data_vars) + list(a.coords):
        assert a[name].dims == b[name].dims, name
        if a[name].attrs.get("units") != "s":
            np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
            compared += 1
    return compared


def _preempt_once(store, preempted):
    """scancel the running dnemkit jobs once a result is in ``store`` (as SLURM pre-empts them); their ids go to
    ``preempted``."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not preempted:
        running = subprocess.run(["squeue", "-h", "-n", "dnemkit", "-t", "RUNNING", "-o", "%i"],
                                 capture_output=True, text=True).stdout.split()
        if running and any(store.glob("*.nc")):
            subprocess.run(["scancel", *running], check=True)
            preempted.extend(running)
        time.sleep(0.1)


def _pre_empting(store):
    """A started thread that pre-empts the jobs once (:func:`_preempt_once`) and the list of their ids."""
    preempted = []
    thread = threading.Thread(target=_preempt_once, args=(store, preempted), daemon=True)
    thread.start()
    return thread, preempted


def _squeue(seconds=10):
    """The jobs SLURM still holds, once those cancelled a moment ago have left (completing takes a second)."""
    deadline = time.monotonic() + seconds
    while True:
        jobs = subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip()
        if not jobs or time.monotonic() > deadline:
            return jobs
        time.sleep(0.2)


def test_sweep_outlives_a_preempted_job_equals_local_and_a_rerun_computes_nothing(slurm, mask, tmp_path, run_cli):
    """The job is cancelled while the sweep runs; the cluster submits another, which computes the rest."""
    with one_thread():
        assert run_cli(*SWEEP, "--mask", mask, "--out", tmp_path / "local").exit_code == 0
    out, logs = tmp_path / "slurm", tmp_path / "logs"
    slurm_args = ["--mask", mask, "--executor", "slurm", "--workers", "1", "--slurm",
                  f"memory=1GB,gres=gpu:1,walltime=00:15:00,log-directory={logs}", "--out", out]
    thread, preempted = _pre_empting(out / "gratings.store")
    # the cluster forgets a lost job after distributed.deploy.lost-worker-timeout (15 s), then submits another
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1s"}):
        result = run_cli(*SWEEP, *slurm_args)
    thread.join(5)
    assert result.exit_code == 0, result.output
    assert preempted and len(_jobs(logs)) >= 2, (preempted, _jobs(logs))  # the sweep outlived its first job
    assert "computed 4 condition(s), reused 0" in result.output and _squeue() == ""
    local, remote = read_dataset(tmp_path / "local" / "gratings.nc"), read_dataset(out / "gratings.nc")
    assert _assert_same_numbers(remote, local) >= 30
    assert sorted(p.name for p in (out / "gratings.store").glob("*.nc")) == \
        sorted(p.name for p in (tmp_path / "local" / "gratings.store").glob("*.nc"))
    # everything is stored: the rerun submits no job at all
    before = _jobs(logs)
    again = run_cli(*SWEEP, *slurm_args)
    assert again.exit_code == 0 and "computed 0 condition(s), reused 4" in again.output
    assert _jobs(logs) == before


def test_study_stopped_by_preemption_resumes_on_two_gpu_jobs_and_equals_local(slurm, mask, tmp_path, run_cli,
                                                                             assert_one_line_error):
    """With no retries allowed, pre-empting the jobs stops the study with one line; the rerun, on two jobs of one
    GPU each, computes only the clips not stored and the study equals a local run's."""
    from click.testing import CliRunner

    from dnemkit.cli import main
    from dnemkit.experiments.simulate import simulate

    data = tmp_path / "data"
    simulate(data, seed=0, trials=24, frames=100, oracle=False)
    args = ["study", "--data", data, "--encoder", "synthetic", "--iterations", "5", "--mask", mask, "--device",
            "cpu", "--quiet"]
    with one_thread():
        assert run_cli(*args, "--out", tmp_path / "local").exit_code == 0
    local = read_dataset(tmp_path / "local" / "study.nc", kind="study")
    n_clips = local.sizes["clip"]
    out, logs = tmp_path / "slurm", tmp_path / "logs"
    slurm_args = ["--executor", "slurm", "--workers", str(GPUS), "--slurm", "memory=1GB", "--slurm",
                  f"gres=gpu:1,log-directory={logs}", "--out", out]
    thread, preempted = _pre_empting(out / "study.store")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        stopped = CliRunner().invoke(main, [str(a) for a in args + slurm_args])
    thread.join(5)
    assert preempted
    assert_one_line_error(stopped, "died too often", "run the same command again")
    kept = len(list((out / "study.store").glob("*.nc")))
    assert 1 <= kept < n_clips and _squeue() == ""  # the replacement jobs were cancelled with the cluster
    resumed = run_cli(*args, *slurm_args)
    assert resumed.exit_code == 0, resumed.output
    remote = read_dataset(out / "study.nc", kind="study")
    assert (remote.attrs["units_computed"], remote.attrs["units_reused"]) == (n_clips - kept, kept)
    assert n_clips >= 4 and _assert_same_numbers(remote, local) >= 60
    assert sorted(p.name for p in (out / "study.store").glob("*.nc")) == \
        sorted(p.name for p in (tmp_path / "local" / "study.store").glob("*.nc"))
    # SLURM booked one of the node's GPUs for each job
    for job in _jobs(logs):
        shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
        assert "TresPerNode=gres:gpu:1" in shown, shown


@pytest.mark.parametrize("setting, needle", [("partition=nowhere", "Invalid partition name"),
                                             (f"gres=gpu:{GPUS + 1}", "SLURM refused the worker job"),
                                             ("interface=nic-x", "'nic-x' is not a valid network interface")])
def test_a_job_slurm_refuses_is_one_line(slurm, mask, tmp_path, assert_one_line_error, setting, needle):
    from click.testing import CliRunner

    from dnemkit.cli import main

    args = [str(a) for a in SWEEP + ["--mask", mask, "--executor", "slurm", "--slurm", f"memory=1GB,{setting}",
                                     "--out", tmp_path]]
    assert_one_line_error(CliRunner().invoke(main, args), needle)
    assert _squeue() == ""
