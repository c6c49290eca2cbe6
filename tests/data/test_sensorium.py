"""The Sensorium 2023 layout: reader against hand-built trees, writer checked with plain np.load, errors, atomicity.

The trees here are written with plain numpy straight from the layout (docs/method.md, "Data layout"), independently of the writer.
"""

import os
import shutil

import numpy as np
import pytest

import dnemkit.data.sensorium as sensorium
from dnemkit.data import Trial, SensoriumMouse, find_mouse, open_dataset, open_mouse, write_mouse
from dnemkit.errors import DnemkitError

H, W, N = 36, 64, 5
MOUSE = "dynamic29515-10-12-Video-9b4f6a1a067fe51e15306b9628efea20"
# trial id -> (tier, real length, stored length, labeled)
LAYOUT = {
    0: ("train", 40, 40, True),
    1: ("oracle", 50, 60, True),  # NaN-padded from frame 50 to 60
    2: ("final_test_main", 45, 60, False),  # unlabeled: responses all NaN, length from behaviour
    3: ("train", 310, 310, True),  # longer than 300 frames
}


def video_disk(T, stored, trial=0):
    """(36, 64, stored) with value[r, c, t] = r*1e5 + c*1e3 + t (+ trial*1e7 would overflow float32 exactness)."""
    r = np.arange(H)[:, None, None]
    c = np.arange(W)[None, :, None]
    t = np.arange(stored)[None, None, :]
    v = (r * 100000 + c * 1000 + t).astype(np.float32)
    v[:, :, T:] = np.nan
    return v


def responses_disk(T, stored, trial):
    n = np.arange(N)[:, None]
    t = np.arange(stored)[None, :]
    v = (trial * 100 + n + t / 1000.0).astype(np.float32)
    v[:, T:] = np.nan
    return v


def chans_disk(T, stored, base):
    t = np.arange(stored)[None, :]
    v = (np.array([[base], [base + 1000]]) + t).astype(np.float32)
    v[:, T:] = np.nan
    return v


def build_tree(root, name=MOUSE, layout=LAYOUT):
    """Write a mouse folder with plain numpy; return its path."""
    m = root / name
    for sub in ("data/videos", "data/responses", "data/behavior", "data/pupil_center", "meta/trials", "meta/neurons"):
        os.makedirs(m / sub)
    for i, (tier, T, stored, labeled) in layout.items():
        np.save(m / "data/videos" / f"{i}.npy", video_disk(T, stored, i))
        resp = responses_disk(T, stored, i) if labeled else np.full((N, stored), np.nan, np.float32)
        np.save(m / "data/responses" / f"{i}.npy", resp)
        np.save(m / "data/behavior" / f"{i}.npy", chans_disk(T, stored, 1000))  # dilation 1000+t, running 2000+t
        np.save(m / "data/pupil_center" / f"{i}.npy", chans_disk(T, stored, 3000))  # x 3000+t, y 4000+t
    np.save(m / "meta/trials/tiers.npy", np.array([layout[i][0] for i in sorted(layout)]))
    np.save(m / "meta/neurons/unit_ids.npy", np.arange(100, 100 + N))
    np.save(m / "meta/neurons/cell_motor_coordinates.npy", np.arange(N * 3, dtype=np.float32).reshape(N, 3))
    for kind, shape in (("videos", ()), ("responses", (N,)), ("behavior", (2,)), ("pupil_center", (2,))):
        os.makedirs(m / "meta/statistics" / kind / "all")
        for k, stat in enumerate(("mean", "std", "min", "max", "median")):
            np.save(m / "meta/statistics" / kind / "all" / f"{stat}.npy", np.full(shape, k + 0.5, np.float32))
    return m


@pytest.fixture
def tree(tmp_path):
    return build_tree(tmp_path)


# ------------------------------------------------------------------------------------------------------ reader


def test_open_mouse_meta(tree):
    m = open_mouse(tree)
    assert isinstance(m, SensoriumMouse)
    assert m.name == MOUSE and m.path == tree
    assert m.trial_ids == [0, 1, 2, 3]
    assert m.tiers == {0: "train", 1: "oracle", 2: "final_test_main", 3: "train"}
    assert m.n_neurons == N and list(m.unit_ids) == list(range(100, 105))
    assert m.cell_motor_coordinates.shape == (N, 3)
    assert m.trials() == [0, 1, 2, 3]
    assert m.trials("train") == [0, 3]
    assert m.trials(["oracle", "final_test_main"]) == [1, 2]
    assert m.trials("live_test_main") == []
    assert set(m.statistics) == {"videos", "responses", "behavior", "pupil_center"}
    assert m.statistics["videos"]["mean"].shape == ()
    assert float(m.statistics["videos"]["std"]) == 1.5
    assert m.statistics["responses"]["median"].shape == (N,)
    np.testing.assert_array_equal(m.statistics["responses"]["median"], np.full(N, 4.5, np.float32))
    assert m.statistics["behavior"]["max"].shape == (2,)
    assert m.statistics["pupil_center"]["min"].shape == (2,)


@pytest.mark.parametrize("tid", [0, 1, 2, 3])
def test_trial_lengths_shapes_orientation(tree, tid):
    tier, T, stored, labeled = LAYOUT[tid]
    tr = open_mouse(tree).trial(tid)
    assert isinstance(tr, Trial)
    assert tr.id == tid and tr.tier == tier and tr.length == T
    assert tr.video.shape == (T, H, W) and tr.video.dtype == np.float32
    # value[t, r, c] must be r*1e5 + c*1e3 + t: any transpose mistake breaks this
    t, r, c = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    np.testing.assert_array_equal(tr.video, (r * 100000 + c * 1000 + t).astype(np.float32))
    assert tr.video[7, 3, 11] == 3 * 100000 + 11 * 1000 + 7
    assert np.isfinite(tr.video).all()
    if labeled:
        assert tr.labeled and tr.responses.shape == (N, T) and tr.responses.dtype == np.float32
        np.testing.assert_allclose(tr.responses[2, 9], tid * 100 + 2 + 0.009, rtol=1e-6)
        assert np.isfinite(tr.responses).all()
    else:
        assert tr.responses is None and not tr.labeled
    assert tr.behavior.shape == (2, T) and tr.pupil_center.shape == (2, T)
    b4 = tr.behavior4
    assert b4.shape == (4, T) and b4.dtype == np.float32
    # order: pupil dilation, running speed, pupil centre x, y
    np.testing.assert_array_equal(b4[:, 5], [1005, 2005, 3005, 4005])


def test_trial_is_frozen_and_lazy(tree, monkeypatch):
    m = open_mouse(tree)
    loaded = []
    real = np.load
    monkeypatch.setattr(np, "load", lambda p, *a, **k: (loaded.append(str(p)), real(p, *a, **k))[1])
    tr = m.trial(1)
    assert len(loaded) == 4 and all(p.endswith("/1.npy") for p in loaded)
    with pytest.raises(AttributeError):
        tr.length = 3


def test_iteration_and_repr(tree):
    m = open_mouse(tree)
    assert [t.length for t in m] == [40, 50, 45, 310]
    assert len(m) == 4 and "4 trials" in repr(m)


def test_open_dataset_and_find_mouse(tmp_path):
    a = build_tree(tmp_path, "dynamic1-1-1-Video-aaa", {0: ("train", 10, 10, True)})
    build_tree(tmp_path, "dynamic2-2-2-Video-bbb", {0: ("train", 12, 12, True)})
    (tmp_path / "not-a-mouse").mkdir()
    mice = open_dataset(tmp_path)
    assert [m.name for m in mice] == ["dynamic1-1-1-Video-aaa", "dynamic2-2-2-Video-bbb"]
    assert find_mouse(a).name == a.name
    assert find_mouse(tmp_path, mouse="dynamic2").name == "dynamic2-2-2-Video-bbb"
    assert find_mouse(tmp_path, mouse="dynamic1-1-1-Video-aaa").path == a
    with pytest.raises(DnemkitError, match=r"2 mice \(dynamic1-1-1-Video-aaa, dynamic2-2-2-Video-bbb\).*mouse="):
        find_mouse(tmp_path)
    with pytest.raises(DnemkitError, match=r"mouse='dynamic' matches 2"):
        find_mouse(tmp_path, mouse="dynamic")
    with pytest.raises(DnemkitError, match=r"mouse='zzz' matches none.*expected one of: dynamic1"):
        find_mouse(tmp_path, mouse="zzz")
    with pytest.raises(DnemkitError, match="does not match the mouse folder"):
        find_mouse(a, mouse="dynamic2")
    only = tmp_path / "single"
    build_tree(only, "dynamic3-3-3-Video-ccc", {0: ("train", 10, 10, True)})
    assert find_mouse(only).name == "dynamic3-3-3-Video-ccc"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DnemkitError, match="neither a mouse folder nor a dataset root"):
        find_mouse(empty)
    with pytest.raises(DnemkitError, match="holds no mouse folders"):
        open_dataset(empty)
    with pytest.raises(DnemkitError, match="does not exist"):
        open_dataset(tmp_path / "nope")


# ------------------------------------------------------------------------------------------------ reader errors


def test_error_folder_missing(tmp_path):
    with pytest.raises(DnemkitError, match=r"nope does not exist; expected a folder with data/ and meta/"):
        open_mouse(tmp_path / "nope")
    with pytest.raises(DnemkitError, match="does not exist"):
        find_mouse(tmp_path / "nope")


def test_error_not_a_directory(tmp_path):
    f = tmp_path / "file.npy"
    f.write_bytes(b"x")
    with pytest.raises(DnemkitError, match="is not a directory"):
        open_mouse(f)


@pytest.mark.parametrize(
    "sub",
    ["data/videos", "data/responses", "data/behavior", "data/pupil_center", "meta/trials/tiers.npy",
     "meta/neurons/unit_ids.npy"],
)
def test_error_missing_subpath(tree, sub):
    p = tree / sub
    shutil.rmtree(p) if p.is_dir() else p.unlink()
    with pytest.raises(DnemkitError) as e:
        open_mouse(tree)
    assert sub in str(e.value) and "\n" not in str(e.value)


def test_error_no_trials(tree):
    for f in (tree / "data/videos").iterdir():
        f.unlink()
    with pytest.raises(DnemkitError, match="no trials"):
        open_mouse(tree)


def test_error_missing_trial_file(tree):
    """Found when the mouse is opened (every trial id of tiers.npy needs its four files), not at trial(1)."""
    (tree / "data/behavior/1.npy").unlink()
    with pytest.raises(DnemkitError, match=r"missing file data/behavior/1.npy.*one file per trial id 0\.\.3"):
        open_mouse(tree)


def test_error_trial_id_does_not_exist(tree):
    m = open_mouse(tree)
    with pytest.raises(DnemkitError, match=r"trial 7 does not exist.*0\.\.3 \(4 trials\)"):
        m.trial(7)
    with pytest.raises(DnemkitError, match=r"trial -1 does not exist"):
        m.trial(-1)
    with pytest.raises(DnemkitError, match="not an integer"):
        m.trial("1")


def test_error_unknown_tier(tree):
    with pytest.raises(DnemkitError, match=r"tier 'test' is unknown; expected one of train, oracle"):
        open_mouse(tree).trials("test")


def test_error_tiers_too_short(tree):
    np.save(tree / "meta/trials/tiers.npy", np.array(["train", "oracle"]))
    with pytest.raises(DnemkitError, match=r"tiers.npy has 2 entries.*trial id 3"):
        open_mouse(tree)


@pytest.mark.parametrize("bad", [(64, 36, 40), (40, 36, 64), (36, 64)])
def test_error_video_wrong_shape(tree, bad):
    np.save(tree / "data/videos/0.npy", np.zeros(bad, np.float32))
    with pytest.raises(DnemkitError) as e:
        open_mouse(tree).trial(0)
    msg = str(e.value)
    assert "data/videos/0.npy" in msg and str(bad) in msg and "(36, 64, T)" in msg


def test_error_neuron_count(tree):
    np.save(tree / "data/responses/0.npy", np.zeros((N + 2, 40), np.float32))
    with pytest.raises(DnemkitError) as e:
        open_mouse(tree).trial(0)
    msg = str(e.value)
    assert "data/responses/0.npy" in msg and f"({N + 2}, 40)" in msg and f"{N} neurons" in msg and "unit_ids" in msg


@pytest.mark.parametrize(
    "kind,arr",
    [
        ("videos", video_disk(30, 60)),  # video shorter than responses (50)
        ("behavior", chans_disk(55, 60, 1000)),  # behaviour longer than responses, both padded
        ("pupil_center", chans_disk(20, 60, 3000)),
        ("responses", np.zeros((N, 40), np.float32)),  # no padding but shorter than the others
    ],
)
def test_error_mismatched_lengths(tree, kind, arr):
    np.save(tree / "data" / kind / "1.npy", arr)
    with pytest.raises(DnemkitError) as e:
        open_mouse(tree).trial(1)
    msg = str(e.value)
    assert "expected the same length" in msg and "trial 1" in msg


def test_unpadded_video_longer_than_responses_is_cut(tree):
    np.save(tree / "data/videos/1.npy", video_disk(60, 60))  # no NaN padding in the video
    tr = open_mouse(tree).trial(1)
    assert tr.length == 50 and tr.video.shape == (50, H, W)


def test_error_unlabeled_mismatch(tree):
    np.save(tree / "data/videos/2.npy", video_disk(30, 60))  # behaviour says 45
    with pytest.raises(DnemkitError, match=r"data/videos/2.npy has 30 frames.*data/behavior/2.npy has 45"):
        open_mouse(tree).trial(2)


# ------------------------------------------------------------------------------------------------------ writer


def synth_trials(seed=0):
    rng = np.random.default_rng(seed)

    def trial(T, tier, labeled=True):
        return dict(
            video=rng.uniform(0, 255, (T, H, W)).astype(np.float32),
            responses=rng.gamma(2.0, 1.0, (N, T)).astype(np.float32) if labeled else None,
            behavior=rng.normal(size=(2, T)).astype(np.float32),
            pupil_center=rng.normal(size=(2, T)).astype(np.float32),
            tier=tier,
        )

    return [trial(40, "train"), trial(50, "oracle"), trial(45, "final_test_bonus", labeled=False), trial(30, "train")]


def test_write_layout_on_disk(tmp_path):
    trials = synth_trials()
    ids = np.arange(7, 7 + N)
    coords = np.ones((N, 3))
    out = write_mouse(tmp_path, "dynamic-synth-1", trials, unit_ids=ids, coordinates=coords, pad_to=60)
    assert out == tmp_path / "dynamic-synth-1"
    assert sorted(os.listdir(tmp_path)) == ["dynamic-synth-1"]  # no temp folder left
    assert sorted(os.listdir(out)) == ["data", "meta"]
    for i, t in enumerate(trials):
        T = t["video"].shape[0]
        v = np.load(out / f"data/videos/{i}.npy", allow_pickle=False)
        r = np.load(out / f"data/responses/{i}.npy", allow_pickle=False)
        b = np.load(out / f"data/behavior/{i}.npy", allow_pickle=False)
        p = np.load(out / f"data/pupil_center/{i}.npy", allow_pickle=False)
        assert v.shape == (H, W, 60) and r.shape == (N, 60) and b.shape == (2, 60) and p.shape == (2, 60)
        assert v.dtype == r.dtype == b.dtype == p.dtype == np.float32
        np.testing.assert_array_equal(v[:, :, :T], np.transpose(t["video"], (1, 2, 0)))
        assert v[3, 11, 7] == t["video"][7, 3, 11]
        for a in (v, r, b, p):
            assert np.isnan(a[..., T:]).all()
        for a in (v, b, p):
            assert not np.isnan(a[..., :T]).any()
        if t["responses"] is None:
            assert np.isnan(r).all()
        else:
            np.testing.assert_array_equal(r[:, :T], t["responses"])
            np.testing.assert_array_equal(b[:, :T], t["behavior"])
    tiers = np.load(out / "meta/trials/tiers.npy", allow_pickle=False)
    assert tiers.dtype.kind == "U" and list(tiers) == ["train", "oracle", "final_test_bonus", "train"]
    np.testing.assert_array_equal(np.load(out / "meta/neurons/unit_ids.npy"), ids)
    c = np.load(out / "meta/neurons/cell_motor_coordinates.npy")
    assert c.shape == (N, 3) and c.dtype == np.float32
    # statistics over the real frames of the train trials (0 and 3) only
    train = [trials[0], trials[3]]
    st = out / "meta/statistics"
    resp = np.concatenate([t["responses"] for t in train], axis=1).astype(np.float64)
    np.testing.assert_allclose(np.load(st / "responses/all/mean.npy"), resp.mean(1), rtol=1e-5)
    np.testing.assert_allclose(np.load(st / "responses/all/median.npy"), np.median(resp, 1), rtol=1e-5)
    vid = np.concatenate([t["video"].ravel() for t in train]).astype(np.float64)
    vmean = np.load(st / "videos/all/mean.npy")
    assert vmean.shape == () and np.isclose(vmean, vid.mean(), rtol=1e-5)
    assert np.isclose(np.load(st / "videos/all/max.npy"), vid.max())
    beh = np.concatenate([t["behavior"] for t in train], axis=1)
    np.testing.assert_allclose(np.load(st / "behavior/all/std.npy"), beh.std(1), rtol=1e-4)
    pup = np.concatenate([t["pupil_center"] for t in train], axis=1)
    np.testing.assert_allclose(np.load(st / "pupil_center/all/min.npy"), pup.min(1), rtol=1e-6)
    for kind, shape in (("videos", ()), ("responses", (N,)), ("behavior", (2,)), ("pupil_center", (2,))):
        for s in ("mean", "std", "min", "max", "median"):
            a = np.load(st / kind / "all" / f"{s}.npy", allow_pickle=False)
            assert a.shape == shape and np.isfinite(a).all()


def test_write_then_read_round_trip(tmp_path):
    trials = synth_trials(1)
    m = open_mouse(write_mouse(tmp_path, "m", trials, pad_to=64))
    assert m.trial_ids == [0, 1, 2, 3] and m.n_neurons == N
    assert list(m.unit_ids) == list(range(N))
    for i, t in enumerate(trials):
        tr = m.trial(i)
        assert tr.length == t["video"].shape[0] and tr.tier == t["tier"]
        np.testing.assert_array_equal(tr.video, t["video"])
        np.testing.assert_array_equal(tr.behavior4, np.concatenate([t["behavior"], t["pupil_center"]]))
        if t["responses"] is None:
            assert tr.responses is None
        else:
            np.testing.assert_array_equal(tr.responses, t["responses"])


def test_write_without_padding_and_stats_fallback(tmp_path):
    trials = [dict(t, tier="oracle") for t in synth_trials(2)]  # no train trial: stats over labelled trials
    out = write_mouse(tmp_path, "m", trials)
    assert np.load(out / "data/videos/0.npy").shape == (H, W, 40)
    assert np.load(out / "data/videos/1.npy").shape == (H, W, 50)
    labelled = [t for t in trials if t["responses"] is not None]
    resp = np.concatenate([t["responses"] for t in labelled], axis=1)
    np.testing.assert_allclose(np.load(out / "meta/statistics/responses/all/max.npy"), resp.max(1))


def test_write_overwrite(tmp_path):
    write_mouse(tmp_path, "m", synth_trials(0))
    with pytest.raises(DnemkitError, match=r"already exists; expected a new folder, or --overwrite \(overwrite=True in Python\)"):
        write_mouse(tmp_path, "m", synth_trials(1))
    trials = synth_trials(1)[:2]
    write_mouse(tmp_path, "m", trials, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["m"]
    m = open_mouse(tmp_path / "m")
    assert m.trial_ids == [0, 1]
    np.testing.assert_array_equal(m.trial(0).video, trials[0]["video"])


def _bad(**kw):
    t = synth_trials()[0]
    t.update(kw)
    return [t]


@pytest.mark.parametrize(
    "trials,kwargs,pattern",
    [
        ([], {}, "non-empty list"),
        (_bad(video=np.zeros((40, 64, 36))), {}, r"trials\[0\]\['video'\] has shape \(40, 64, 36\); expected \(T, 36, 64\)"),
        (_bad(video=np.full((40, H, W), np.nan)), {}, r"trials\[0\]\['video'\] contains NaN"),
        (_bad(responses=np.zeros((N, 39))), {}, r"trials\[0\]\['responses'\] has shape \(5, 39\); expected \(N, 40\)"),
        (_bad(behavior=np.zeros((4, 40))), {}, r"trials\[0\]\['behavior'\] has shape \(4, 40\); expected \(2, 40\)"),
        (_bad(pupil_center=np.zeros((2, 41))), {}, r"'pupil_center'\] has shape"),
        (_bad(tier="test"), {}, r"tier'\] is 'test'; expected one of train"),
        (_bad(responses=None), {}, "no trial has responses and unit_ids is None"),
        (synth_trials(), {"pad_to": 45}, r"pad_to is 45; expected an integer >= the longest trial \(50 frames\)"),
        (synth_trials(), {"unit_ids": np.arange(3)}, r"'responses'\] has shape \(5, 40\); expected \(3, 40\) \(one row per entry of unit_ids\)"),
        (synth_trials(), {"unit_ids": np.zeros((5, 1))}, r"unit_ids has shape \(5, 1\); expected \(N,\)"),
        ([synth_trials()[0], _bad(responses=np.zeros((4, 40)))[0]], {}, r"trials\[1\]\['responses'\] has shape \(4, 40\); expected \(5, 40\) \(as trial 0's responses\)"),
        (synth_trials(), {"coordinates": np.zeros((N, 2))}, r"coordinates has shape \(5, 2\); expected \(5, 3\)"),
        (synth_trials(), {"name": "a/b"}, "not a plain folder name"),
    ],
)
def test_write_errors(tmp_path, trials, kwargs, pattern):
    kwargs = dict(kwargs)
    name = kwargs.pop("name", "m")
    with pytest.raises(DnemkitError, match=pattern):
        write_mouse(tmp_path, name, trials, **kwargs)
    assert os.listdir(tmp_path) == []


def test_write_unlabeled_only_with_unit_ids(tmp_path):
    out = write_mouse(tmp_path, "m", _bad(responses=None), unit_ids=np.arange(N))
    assert np.isnan(np.load(out / "data/responses/0.npy")).all()
    assert np.isnan(np.load(out / "meta/statistics/responses/all/mean.npy")).all()
    assert open_mouse(out).trial(0).responses is None


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_write_is_atomic(tmp_path, monkeypatch, exc):
    calls = []
    real = sensorium._save

    def failing(path, arr):
        calls.append(path)
        if len(calls) == 6:  # mid-way: after the first trial's files, during the second trial
            raise exc
        real(path, arr)

    monkeypatch.setattr(sensorium, "_save", failing)
    with pytest.raises(type(exc)):
        write_mouse(tmp_path, "m", synth_trials(), pad_to=60)
    assert len(calls) == 6
    assert os.listdir(tmp_path) == []  # neither the mouse folder nor a .m.tmp-* folder


def test_failed_overwrite_keeps_old_mouse(tmp_path, monkeypatch):
    trials = synth_trials(0)
    write_mouse(tmp_path, "m", trials)

    def failing(path, arr):
        raise OSError("disk full")

    monkeypatch.setattr(sensorium, "_save", failing)
    with pytest.raises(OSError):
        write_mouse(tmp_path, "m", synth_trials(1), overwrite=True)
    assert os.listdir(tmp_path) == ["m"]
    np.testing.assert_array_equal(open_mouse(tmp_path / "m").trial(0).video, trials[0]["video"])
