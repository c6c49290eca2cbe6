"""characterize fetch against a local server holding the paper's layout: every entry fetched and usable as it
lands, downloads resumed after a kill and a dropped connection, and each failure one line with nothing
half-written left under a final name."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dnemkit.data.sensorium import open_dataset
from dnemkit.fetch import catalogue

ROOT = Path(__file__).resolve().parents[2]


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _hidden(folder):
    return sorted(p.name for p in Path(folder).rglob(".*"))


def test_catalogue_holds_the_reference_names():
    natural = catalogue.reconstruction_files("natural")
    assert len(natural) == 350 and len({f.path for f in natural}) == 350
    names = {f.path.rsplit("/", 1)[1] for f in natural}
    assert {"reconstruction_summary_m2_t14.npy", "reconstruction_summary_m2_t16.npy",
            "reconstruction_summary_m0_t11.npy"} <= names and "reconstruction_summary_m0_t3.npy" not in names
    assert [len(catalogue.reconstruction_files(s)) for s in ("ablation", "gratings", "noise")] == [1050, 784, 10290]
    assert natural[0].url("http://m").endswith(
        "/Joel-Bauer/Movie_reconstruction/raw/master/reconstructions/modelfold%5B0%5D_datafold_0_pop100_hpc_round5/"
        "reconstruction_summary_m0_t0.npy")
    models = catalogue.model_files()
    assert sorted(f.dest for f in models) == [f.dest for f in models]  # sorted names = fold order
    assert catalogue.choose_mice(["29623", "dynamic29514-2-9"]) == ("dynamic29623-4-9", "dynamic29514-2-9")
    with pytest.raises(ValueError, match="--mice 'dynamic2' matches 10"):
        catalogue.choose_mice(["dynamic2"])


def test_list_needs_no_server(run_cli):
    result = run_cli("fetch", "--list", "paper-masks", "paper-reconstructions", "--set", "gratings")
    assert result.exit_code == 0, result.output
    assert "reconstructions/masks/mask_m4.npy  (16.5 kB)" in result.output
    assert "784 file(s)" in result.output and "modelfold6_round4_Drifting_gratings" in result.output


def test_every_entry_fetched_and_ready_to_use(tmp_path, run_cli, gin_server):
    out = tmp_path / "paper"
    result = run_cli("fetch", "sensorium2023", "paper-models", "paper-masks", "paper-reconstructions", "--out", out,
                     "--mirror", gin_server.url, "--quiet")
    assert result.exit_code == 0, result.output
    mice = open_dataset(out / "sensorium2023")
    assert [m.name for m in mice] == sorted(catalogue.MOUSE_FOLDERS[:5])
    assert all(len(m) == 3 and m.n_neurons == 6 for m in mice)
    assert list((out / "sensorium2023").iterdir()) == [out / "sensorium2023" / m.name for m in mice] or \
        sorted(p.name for p in (out / "sensorium2023").iterdir()) == [m.name for m in mice]  # no zip, no __MACOSX
    for f in catalogue.model_files() + catalogue.mask_files():
        folder = out / ("paper-models" if f.dest.endswith(".pth") else "paper-masks")
        assert _sha((folder / f.dest).read_bytes()) == _sha(gin_server.files[f"{f.owner}/{f.repo}/raw/master/{f.path}"])
    sidecar = json.loads((out / "paper-models" / "encoder.json").read_text())
    assert sidecar["mice"][:5] == list(catalogue.MOUSE_FOLDERS[:5]) and len(sidecar["mice"]) == 10
    summaries = sorted((out / "paper-reconstructions").rglob("*.npy"))
    assert len(summaries) == 350 and _hidden(out) == []
    f = catalogue.reconstruction_files()[-1]
    assert (out / "paper-reconstructions" / f.dest).read_bytes() == gin_server.files[
        f"{f.owner}/{f.repo}/raw/master/{f.path}"]
    # a second run finds everything there and asks the server for nothing
    requests = len(gin_server.log)
    again = run_cli("fetch", "sensorium2023", "paper-models", "--out", out, "--mirror", gin_server.url, "--quiet")
    assert again.exit_code == 0 and "0 fetched, 5 already there" in again.output
    assert len(gin_server.log) == requests


def test_paper_models_and_masks_need_no_mouse_map(tmp_path, gin_server):
    from dnemkit.encoders.ref import EncoderRef
    from dnemkit.experiments.readouts import readout_refs
    from dnemkit.fetch import fetch
    from dnemkit.masks.resolve import resolve_mask

    fetch(["sensorium2023", "paper-models", "paper-masks"], tmp_path, mirror=gin_server.url, progress=False,
          log=lambda line: None)
    models = str(tmp_path / "paper-models")
    refs = readout_refs(open_dataset(tmp_path / "sensorium2023"), EncoderRef(models))
    assert [refs[name][0].mouse for name in sorted(refs)] == [0, 1, 2, 3, 4]
    assert all("encoder.json 'mice'" in how for _, how in refs.values())
    ref = refs[catalogue.MOUSE_FOLDERS[3]][0]
    assert len(ref.full.members) == 7
    mask, line = resolve_mask(str(tmp_path / "paper-masks"), ref)
    level = np.load(tmp_path / "paper-masks" / "mask_m3.npy")[14:50]
    np.testing.assert_array_equal(mask.level, level)
    assert (mask.method, mask.train_threshold, mask.eval_threshold) == ("alpha", 0.5, 1.0)
    assert "mask_m3.npy" in line and mask.train.sum() > mask.eval.sum() > 0


def _part(out, f, entry):
    return out / entry / Path(f.dest).parent / f".{Path(f.dest).name}.part"


def test_a_killed_download_resumes(tmp_path, gin_server):
    f = catalogue.model_files()[2]
    key = f"{f.owner}/{f.repo}/raw/master/{f.path}"
    size = len(gin_server.files[key])
    gin_server.slow.add(key)
    out = tmp_path / "o"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", "from dnemkit.cli import main; main()", "fetch", "paper-models",
                             "--out", str(out), "--mirror", gin_server.url, "--quiet"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    part = _part(out, f, "paper-models")
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not (part.exists() and part.stat().st_size > size // 3):
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate()
    assert part.exists(), err.decode()[-2000:]
    kept = part.stat().st_size
    assert 0 < kept < size and not (out / "paper-models" / f.dest).exists()
    gin_server.slow.clear()
    from dnemkit.fetch import fetch

    deadline = time.time() + 10  # the server notes the killed transfer once its next write fails
    while time.time() < deadline and not any(entry[0] == key for entry in gin_server.log):
        time.sleep(0.02)
    before = len(gin_server.log)
    fetch(["paper-models"], out, mirror=gin_server.url, progress=False, log=lambda line: None)
    second = [entry for entry in gin_server.log[before:] if entry[0] == key]
    assert second[0][1] == f"bytes={kept}-" and second[0][2] == 206
    assert second[0][3] == size - kept < size  # only the missing bytes travelled
    assert (out / "paper-models" / f.dest).read_bytes() == gin_server.files[key] and _hidden(out) == []


def test_a_dropped_connection_is_one_line_and_resumes(tmp_path, run_cli, assert_one_line_error, gin_server):
    f = catalogue.sensorium_files()[1]
    key = f"{f.owner}/{f.repo}/raw/master/{f.path}"
    size = len(gin_server.files[key])
    gin_server.cut[key] = size // 2
    out = tmp_path / "o"
    args = ("fetch", "sensorium2023", "--mice", "29623", "--out", out, "--mirror", gin_server.url, "--quiet")
    result = run_cli(*args)
    assert_one_line_error(result, "cut off after", "run the same command again to resume")
    assert _part(out, f, "sensorium2023").stat().st_size == size // 2
    assert not (out / "sensorium2023" / f.done_name).exists()
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert gin_server.log[-1][1:] == (f"bytes={size // 2}-", 206, size - size // 2)
    assert open_dataset(out / "sensorium2023")[0].name == f.done_name and _hidden(out) == []


def test_refusals_are_one_line_and_leave_nothing_behind(tmp_path, run_cli, assert_one_line_error, gin_server):
    out = tmp_path / "o"
    zips = catalogue.sensorium_files()
    key = f"{zips[0].owner}/{zips[0].repo}/raw/master/{zips[0].path}"
    gin_server.files[key] = gin_server.files[key][: len(gin_server.files[key]) // 2]  # a truncated zip, served whole
    result = run_cli("fetch", "sensorium2023", "--mice", "29515", "--out", out, "--mirror", gin_server.url, "--quiet")
    assert_one_line_error(result, zips[0].path, "is not a complete zip", "run the same command again")
    assert list((out / "sensorium2023").iterdir()) == []

    result = run_cli("fetch", "paper-masks", "--out", out, "--mirror", gin_server.url + "/elsewhere", "--quiet")
    assert_one_line_error(result, "was not found (HTTP 404)", "/elsewhere/Joel-Bauer/Movie_reconstruction")
    assert not (out / "paper-masks").exists() or list((out / "paper-masks").iterdir()) == []

    result = run_cli("fetch", "paper-masks", "--out", out, "--mirror", "http://127.0.0.1:9", "--quiet")
    assert_one_line_error(result, "cannot reach 127.0.0.1", "--mirror")
    os.environ["DNEMKIT_FETCH_MIRROR"] = "http://127.0.0.1:9"  # the same through the environment
    try:
        assert_one_line_error(run_cli("fetch", "paper-masks", "--out", out, "--quiet"), "cannot reach 127.0.0.1")
    finally:
        del os.environ["DNEMKIT_FETCH_MIRROR"]
    assert_one_line_error(run_cli("fetch", "paper-masks", "--out", out, "--mirror", "ftp://x"), "expected an http")

    mask = catalogue.mask_files()[0]
    mkey = f"{mask.owner}/{mask.repo}/raw/master/{mask.path}"
    gin_server.bad_digest.add(mkey)
    result = run_cli("fetch", "paper-masks", "--out", out, "--mirror", gin_server.url, "--quiet")
    assert_one_line_error(result, "mask_m0.npy does not match the sha256 checksum")
    assert list((out / "paper-masks").iterdir()) == []
    gin_server.bad_digest.clear()

    gin_server.files[mkey] = gin_server.files[mkey] + b"extra"
    result = run_cli("fetch", "paper-masks", "--out", out, "--mirror", gin_server.url, "--quiet")
    assert_one_line_error(result, "mask_m0.npy has 16,517 bytes; expected 16,512")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to fill a disk")
def test_a_full_disk_is_one_line(tmp_path, run_cli, assert_one_line_error, gin_server):
    out = tmp_path / "o"
    f = catalogue.mask_files()[0]
    part = _part(out, f, "paper-masks")
    part.parent.mkdir(parents=True)
    part.symlink_to("/dev/full")  # every write to it fails with ENOSPC, as on a full disk
    result = run_cli("fetch", "paper-masks", "--out", out, "--mirror", gin_server.url, "--quiet")
    assert_one_line_error(result, "is full", "run the same command again to resume")
    assert not (out / "paper-masks" / f.dest).exists()


@pytest.mark.slow
def test_study_runs_on_the_fetched_files_without_a_mouse_map(tmp_path, run_cli, gin_server):
    """characterize study --data sensorium2023/ --encoder paper-models/ --mask paper-masks/ as fetched (25 s)."""
    from dnemkit.fetch import fetch

    fetch(["sensorium2023", "paper-models", "paper-masks"], tmp_path, mirror=gin_server.url, progress=False,
          log=lambda line: None)
    result = run_cli("study", "--data", tmp_path / "sensorium2023", "--encoder", tmp_path / "paper-models", "--mask",
                     tmp_path / "paper-masks", "--tier", "oracle", "--trials", "1", "--iterations", "2", "--models",
                     "2", "--out", tmp_path / "study", "--quiet")
    assert result.exit_code == 0, result.output
    for i, name in enumerate(catalogue.MOUSE_FOLDERS[:5]):
        assert f"{name}: 1 clip(s), tier(s) oracle, first 1 of 1; encoder readout {i} (encoder.json 'mice')" \
            in result.output
        assert f"{name}: mask: the paper's alpha mask mask_m{i}.npy" in result.output
    assert (tmp_path / "study" / "study.nc").exists()
