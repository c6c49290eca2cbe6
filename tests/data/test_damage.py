"""Damaged mouse folders: every file kind of the Sensorium layout x every kind of damage (issue 31).

Two tables:

* ``FILES x DAMAGES`` (27 files x 7 damages = 189 cases) on a tiny hand-made mouse, through the library readers
  that every command starts with: ``open_mouse`` (then ``trial``, ``is_labeled`` and ``video`` of every trial) and
  the study's planning (``plan_mice`` and ``load_clip`` of each selected clip: all a study reads before it
  reconstructs). Each case is one clean DnemkitError line naming the file and what was expected, or a stated
  skip (a trial whose responses are NaN in every frame), or, for two documented cases, accepted as it is (the
  optional ``cell_motor_coordinates.npy`` absent; response statistics NaN throughout, which ``write_mouse``
  writes for a mouse without labelled trials).
* ``CLI_CASES``: a representative subset through the real commands (``natural --data``, ``ablation --data``,
  ``errormap --data``, ``train``, ``study``) on a small simulated mouse: a cut, a NaN frame inside a trial, a
  wrong dtype, an emptied tiers file and a deleted statistics file give one ``Error:`` line naming the file, exit
  status 2, and nothing written; a trial without responses is a printed skip counted in ``skipped_trials``.
"""

import shutil

import numpy as np
import pytest

from dnemkit.data import open_mouse, write_mouse
from dnemkit.errors import DnemkitError
from dnemkit.io.results import read_dataset

# ------------------------------------------------------------------------------------------------ the tiny mouse
MOUSE = "dynamic-damage-synthetic0000"  # a name `--encoder synthetic` maps to its ground truth (seed 0)
N, T, PAD = 3, 12, 16
TIERS = ("train", "live_test_main", "live_test_main", "oracle")
DAMAGED = 1  # the trial whose data files are damaged: the first selected clip of --tier live_test_main

DATA_FILES = [f"data/{kind}/{DAMAGED}.npy" for kind in ("videos", "responses", "behavior", "pupil_center")]
META_FILES = ["meta/trials/tiers.npy", "meta/neurons/unit_ids.npy", "meta/neurons/cell_motor_coordinates.npy"]
STAT_FILES = [f"meta/statistics/{kind}/all/{stat}.npy" for kind in ("videos", "responses", "behavior", "pupil_center")
              for stat in ("mean", "std", "min", "max", "median")]
FILES = DATA_FILES + META_FILES + STAT_FILES
DAMAGES = ("cut", "emptied", "deleted", "dtype", "shape", "all_nan", "nan_middle")


def _trials(rng):
    out = []
    for tier in TIERS:
        out.append(dict(video=rng.uniform(0, 255, (T, 36, 64)), responses=rng.uniform(0.1, 3, (N, T)),
                        behavior=rng.uniform(1, 5, (2, T)), pupil_center=rng.uniform(-1, 1, (2, T)), tier=tier))
    return out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
    write_mouse(root, MOUSE, _trials(np.random.default_rng(0)), pad_to=PAD)
    return root / MOUSE


def damage(path, how):
    """Damage the .npy file ``path`` in place the way ``how`` says (see DAMAGES)."""
    if how in ("cut", "emptied"):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if how == "cut" else b"")
        return
    if how == "deleted":
        path.unlink()
        return
    a = np.load(path)
    if how == "dtype":  # numbers become text, text becomes numbers
        bad = np.zeros(a.shape, np.float32) if a.dtype.kind in "US" else np.full(a.shape, "x")
    elif how == "shape":
        bad = np.stack([a, a])  # one axis more (a scalar statistic becomes (2,))
    else:  # NaN: all of it, or one time step of every row in the middle of the trial (one element for meta)
        bad = np.zeros(a.shape, np.float32) if a.dtype.kind in "US" else np.array(a, dtype=np.float32)
        if how == "all_nan":
            bad[...] = np.nan
        elif path.parts[-3] == "data":
            bad[..., T // 2] = np.nan
        else:
            bad.reshape(-1)[bad.size // 2] = np.nan
    np.save(path, bad)


def outcome(file, how):
    """The expected answer of a case: 'skip', 'accepted' or 'error'."""
    if file == f"data/responses/{DAMAGED}.npy" and how == "all_nan":
        return "skip"
    if (file == "meta/neurons/cell_motor_coordinates.npy" and how == "deleted") or (
            file.startswith("meta/statistics/responses/") and how == "all_nan"):
        return "accepted"
    return "error"


CASES = [(f, d) for f in FILES for d in DAMAGES]


def _read_everything(folder):
    """open_mouse, then each trial as every reader of trials asks for it."""
    m = open_mouse(folder)
    for t in m.trial_ids:
        m.trial(t), m.is_labeled(t), m.video(t)
    return m


def _plan_study(root):
    """What `characterize study --tier live_test_main --encoder synthetic` reads before reconstructing."""
    from dnemkit.experiments.study import StudyConfig
    from dnemkit.experiments.study.plan import load_clip, plan_mice, skipped_attrs

    lines = []
    plans = plan_mice(StudyConfig(data=str(root), encoder="synthetic", tiers=("live_test_main",)), lines.append)
    for mp in plans:
        for t in mp.selected:
            load_clip(mp.mouse, t)
    return plans, lines, skipped_attrs(plans)


def _assert_names(exc, file):
    message = str(exc.value)
    assert "\n" not in message and file in message and "expected" in message, message


@pytest.mark.parametrize("file,how", CASES, ids=[f"{f}-{d}" for f, d in CASES])
def test_fault_table(pristine, tmp_path, file, how):
    root = tmp_path / "root"
    folder = root / MOUSE
    shutil.copytree(pristine, folder)
    damage(folder / file, how)
    expected = outcome(file, how)
    if expected == "error":
        with pytest.raises(DnemkitError) as exc:
            _read_everything(folder)
        _assert_names(exc, file)
        with pytest.raises(DnemkitError) as exc:
            _plan_study(root)
        _assert_names(exc, file)
        return
    m = _read_everything(folder)
    plans, lines, attrs = _plan_study(root)
    if expected == "skip":  # the reader sees an unlabelled trial; the study says it passes it over, and why
        assert not m.trial(DAMAGED).labeled
        assert lines == [f"{MOUSE}: skipped trial {DAMAGED} (live_test_main): data/responses/{DAMAGED}.npy is "
                         "NaN in every frame (no recorded responses)"]
        assert plans[0].selected == [2] and "1 labelled (1 trial(s) skipped)" in plans[0].how
        assert attrs["skipped_trials"] == 1 and f"trial {DAMAGED}" in attrs["skipped_trial_list"]
    else:  # documented: an optional file absent, or the statistics of a mouse without labelled trials
        assert lines == [] and plans[0].selected == [1, 2] and attrs["skipped_trials"] == 0
        if how == "deleted":
            assert m.cell_motor_coordinates is None
        else:
            assert np.isnan(m.statistics["responses"][file.split("/")[-1][:-4]]).all()


def test_the_default_fold_selection_states_a_skipped_training_trial(pristine, tmp_path):
    """Without --tier the clips are fold 0 of the labelled train/oracle trials: a train trial without responses
    leaves that split (and moves the folds), so it is stated as well."""
    from dnemkit.experiments.study import StudyConfig
    from dnemkit.experiments.study.plan import plan_mice

    root = tmp_path / "root"
    shutil.copytree(pristine, root / MOUSE)
    damage(root / MOUSE / "data/responses/0.npy", "all_nan")
    lines = []
    plans = plan_mice(StudyConfig(data=str(root), encoder="synthetic"), lines.append)
    assert lines == [f"{MOUSE}: skipped trial 0 (train): data/responses/0.npy is NaN in every frame (no recorded "
                     "responses); left out of the train/oracle split and its folds"]
    assert plans[0].selected == [3] and plans[0].how.startswith("fold 0 of 7, 1 labelled (1 trial(s) skipped)")


def test_the_table_covers_every_file_of_a_mouse_folder(pristine):
    """A file kind added to the layout (or the writer) without a row here fails this test."""
    on_disk = sorted(str(p.relative_to(pristine)) for p in pristine.rglob("*.npy"))
    kinds = {f if f.startswith("meta/") else f.rsplit("/", 1)[0] for f in FILES}
    assert {f if f.startswith("meta/") else f.rsplit("/", 1)[0] for f in on_disk} == kinds
    counts = {o: sum(outcome(f, d) == o for f, d in CASES) for o in ("error", "skip", "accepted")}
    assert len(CASES) == 189 and counts == {"error": 182, "skip": 1, "accepted": 6}


def test_size_is_checked_against_the_header_before_mapping(pristine, tmp_path):
    """A responses file cut short fails with the header's numbers, not numpy's 'mmap length is greater than file
    size' (is_labeled memory-maps it); one longer than its header is refused too."""
    folder = tmp_path / MOUSE
    shutil.copytree(pristine, folder)
    path = folder / "data/responses/2.npy"
    whole = path.read_bytes()
    path.write_bytes(whole[:-4])
    m = open_mouse(folder)
    with pytest.raises(DnemkitError, match=rf"data/responses/2.npy in .* is cut short: {len(whole) - 4} bytes, "
                                           rf"but its header \(shape \({N}, {PAD}\), dtype float32\) needs "
                                           rf"{len(whole)}"):
        m.is_labeled(2)
    path.write_bytes(whole + b"\0" * 8)
    with pytest.raises(DnemkitError, match="is longer than its header says"):
        m.trial(2)


def test_nan_at_the_start_is_damage_not_an_unlabelled_trial(pristine, tmp_path):
    """Frame 0 NaN in every row but values later: is_labeled (which reads frame 0) does not call it unlabelled."""
    folder = tmp_path / MOUSE
    shutil.copytree(pristine, folder)
    path = folder / "data/responses/2.npy"
    a = np.load(path)
    a[:, 0] = np.nan
    np.save(path, a)
    with pytest.raises(DnemkitError, match=r"data/responses/2.npy is NaN in every row at frame 0 but holds values "
                                           r"again at frame 1; expected NaN only as end padding"):
        open_mouse(folder).is_labeled(2)


# ------------------------------------------------------------------------------------------------ the commands
CLI_TRIAL = 2  # a live_test_main trial of the simulated mouse below (train reads trial 0, a train trial)
CLI_DAMAGES = [("data/responses/{t}.npy", "cut"), ("data/videos/{t}.npy", "nan_middle"),
               ("data/pupil_center/{t}.npy", "dtype"), ("meta/trials/tiers.npy", "emptied"),
               ("meta/statistics/behavior/all/mean.npy", "deleted")]
COMMANDS = {
    "natural": ["natural", "--encoder", "synthetic", "--data", "{mouse}", "--trial", CLI_TRIAL, "--iterations", 1,
                "--out", "{out}", "--quiet"],
    "ablation": ["ablation", "--encoder", "synthetic", "--data", "{root}", "--tier", "live_test_main", "--trials", 2,
                 "--keep-fraction", "1,0.5", "--seeds", 1, "--iterations", 1, "--frames", 40, "--mask", "none",
                 "--out", "{out}", "--quiet"],
    "errormap": ["errormap", "--encoder", "synthetic", "--data", "{root}", "--tier", "live_test_main", "--trials",
                 2, "--frames", 40, "--iterations", 1, "--mask", "none", "--out", "{out}", "--quiet", "--no-video"],
    "train": ["train", "--data", "{mouse}", "--out", "{out}", "--config", "small", "--folds", 2, "--epochs", 1,
              "--samples-per-epoch", 4, "--batch-size", 4, "--quiet"],
    "study": ["study", "--data", "{root}", "--tier", "live_test_main", "--encoder", "synthetic", "--out", "{out}",
              "--quiet"],
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A simulated 30-neuron mouse, 8 trials of 82 frames: 0, 5, 6 train, 1-3 live_test_main, 4 oracle,
    7 final_test_main (unlabelled)."""
    from dnemkit.experiments.simulate import mouse_folder_name, simulate

    root = tmp_path_factory.mktemp("sim-damage")
    simulate(root, seed=0, trials=8, n_neurons=30, frames=82)
    folder = root / mouse_folder_name(0)
    tiers = np.load(folder / "meta/trials/tiers.npy")
    tiers[[1, 2, 3]] = "live_test_main"
    np.save(folder / "meta/trials/tiers.npy", tiers)
    return folder


def _damaged_copy(simulated, tmp_path, file, how):
    root = tmp_path / "data"
    folder = root / simulated.name
    shutil.copytree(simulated, folder)
    if file is not None:
        damage(folder / file, how)
    return root, folder


def _args(command, root, folder, out):
    fill = {"{root}": str(root), "{mouse}": str(folder), "{out}": str(out)}
    return [fill.get(a, a) if isinstance(a, str) else a for a in COMMANDS[command]]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("file,how", CLI_DAMAGES, ids=[f"{f.format(t='K')}-{h}" for f, h in CLI_DAMAGES])
def test_commands_name_the_damaged_file(simulated, tmp_path, run_cli, assert_one_line_error, command, file, how):
    file = file.format(t=0 if command == "train" else CLI_TRIAL)
    root, folder = _damaged_copy(simulated, tmp_path, file, how)
    out = tmp_path / "out"
    result = run_cli(*_args(command, root, folder, out))
    assert_one_line_error(result, file, "expected")
    assert result.exit_code == 2
    assert not out.exists() or not any(out.rglob("*")), sorted(out.rglob("*"))  # nothing half-written


@pytest.mark.parametrize("command", ["study", "ablation", "errormap"])
def test_commands_state_a_skipped_trial(simulated, tmp_path, run_cli, command):
    """Trial 2's responses NaN in every frame: one line names it and why, the result counts it."""
    root, folder = _damaged_copy(simulated, tmp_path, f"data/responses/{CLI_TRIAL}.npy", "all_nan")
    out = tmp_path / "out"
    result = run_cli(*_args(command, root, folder, out))
    assert result.exit_code == 0, result.output
    line = (f"{folder.name}: skipped trial {CLI_TRIAL} (live_test_main): data/responses/{CLI_TRIAL}.npy is NaN in "
            "every frame (no recorded responses)")
    assert result.output.count(line) == 1, result.output
    ds = read_dataset(out / f"{command}.nc", kind=command)
    assert ds.attrs["skipped_trials"] == 1 and f"trial {CLI_TRIAL}:" in ds.attrs["skipped_trial_list"]
    assert list(np.unique(ds["trial"].values)) == [1, 3]  # the next labelled trial takes its place, said above
    if command == "study":  # the case: n = 2 of the 3 labelled trials, and the summary says why
        assert "2 clip(s), tier(s) live_test_main, first 2 of 2 (1 trial(s) skipped)" in result.output
        assert "1 trial(s) skipped (skipped_trial_list in study.nc)" in result.output


def test_train_states_a_skipped_trial(simulated, tmp_path, run_cli):
    root, folder = _damaged_copy(simulated, tmp_path, "data/responses/0.npy", "all_nan")
    result = run_cli(*_args("train", root, folder, tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.output.count(f"Warning: mouse {folder.name}: skipped trial 0 (train): data/responses/0.npy is "
                               "NaN in every frame (no recorded responses); not trained on") == 1, result.output


def test_natural_refuses_a_picked_trial_without_responses(simulated, tmp_path, run_cli, assert_one_line_error):
    """--trial names the trial: no other takes its place; the line says why it cannot be used."""
    root, folder = _damaged_copy(simulated, tmp_path, f"data/responses/{CLI_TRIAL}.npy", "all_nan")
    out = tmp_path / "out"
    assert_one_line_error(run_cli(*_args("natural", root, folder, out)), f"trial {CLI_TRIAL}",
                          "no recorded responses")
    assert not out.exists()


def test_a_broken_encoder_json_names_the_declaration_keys(simulated, tmp_path, run_cli, assert_one_line_error):
    root, folder = _damaged_copy(simulated, tmp_path, None, None)
    models = tmp_path / "models"
    models.mkdir()
    (models / "encoder.json").write_text('{"factory": "model.py:make",')  # cut short
    result = run_cli("study", "--data", root, "--tier", "live_test_main", "--encoder", models, "--out",
                     tmp_path / "out", "--quiet")
    assert_one_line_error(result, "encoder.json is not valid JSON", '"factory" or "module"', "input_layout",
                          "behavior_mean", "docs/method.md")
    assert "[4 numbers]" not in result.output
