"""Training DwiseNeuro on Sensorium-layout data: learning, checkpoints, folds, resuming, EMA, CutMix, errors, CLI.

The datasets are synthetic mice written with ``write_mouse`` (see ``make_mouse``). A 30-step run cannot learn the
synthetic mouse's receptive fields; its validation score rises above the untrained model's through the running
modulation, which ``make_mouse`` makes strong and frequent. With Poisson counts and the default behaviour the
score of such a short run is too noisy to compare reliably with the untrained model's.
"""

import copy
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from dnemkit.cli import main
from dnemkit.data.sensorium import find_mouse, write_mouse
from dnemkit.encoders import load_encoder, read_checkpoint
from dnemkit.encoders.dwiseneuro.network import DwiseNeuro
from dnemkit.encoders.dwiseneuro.encoder import DwiseNeuroEncoder
from dnemkit.encoders.synthetic import SyntheticMouse, SyntheticMouseConfig
from dnemkit.errors import DnemkitError
from dnemkit.stimuli.natural import natural_movie
from dnemkit.training import (TrainingConfig, assign_folds, cutmix, cutmix_box, ema_update, learning_rate, load_trials,
                              model_config, poisson_loss, split_folds, train, validation_correlation, video_hash)

NEURONS = 40
# one epoch of 20 steps of 8 windows; a high learning rate and a short EMA for such a short run
TINY = TrainingConfig(model="small", epochs=1, samples_per_epoch=160, batch_size=8, lr=1e-2, ema_decay=0.9, folds=5,
                      fold=0, seed=0, num_threads=2)
# 2 epochs x 2 steps on 6 short trials (3 folds): for the tests that only need some training
QUICK = replace(TINY, epochs=2, samples_per_epoch=16, folds=3, keep_all_checkpoints=True)


def running_behavior(frames, rng):
    """(4, T) behaviour with a running bout every second (square wave, random phase); pupil follows running."""
    t = np.arange(frames)
    speed = np.where(np.sin(2 * np.pi * (t / 30 + rng.random())) > 0, 20.0, 0.0) + rng.random(frames)
    return np.vstack([15 + 0.2 * speed, speed, rng.normal(0, 0.2, (2, frames))]).astype(np.float32)


def make_mouse(root, movies, frames=90, seed=0, tier="train", name="mouse"):
    """A synthetic mouse folder: one trial per entry of ``movies`` (natural_movie seeds; repeats = same movie).

    Responses are noise-free, 10 x the synthetic mouse's rates, and strongly modulated by running (coupling 1-2):
    learnable within a few dozen steps, so a tiny run's score clearly beats the untrained model's.
    """
    mouse = SyntheticMouse(seed, SyntheticMouseConfig(n_neurons=NEURONS, run_coupling=(1.0, 2.0)))
    rng = np.random.default_rng(seed)
    trials = []
    for movie in movies:
        video = natural_movie(seed=int(movie), n_frames=frames).values
        behavior = running_behavior(frames, rng)
        with torch.no_grad():
            rates = mouse(torch.from_numpy(video)[None], torch.from_numpy(behavior)[None])[0]
        trials.append(dict(video=video, responses=10 * rates.numpy() if tier == "train" else None,
                           behavior=behavior[:2], pupil_center=behavior[2:], tier=tier))
    return write_mouse(root, name, trials, unit_ids=np.arange(NEURONS))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_mouse(tmp_path_factory.mktemp("data"), movies=range(10))


@pytest.fixture(scope="module")
def short_dataset(tmp_path_factory):
    """6 trials of 52 frames (the shortest with a score): cheap to validate."""
    return make_mouse(tmp_path_factory.mktemp("short"), movies=range(6), frames=52)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    lines = []
    summary = train(dataset, out, TINY, progress=False, log=lines.append)
    return summary, lines


def val_trials(dataset, config=TINY):
    return split_folds(load_trials(find_mouse(dataset), config.tiers), config)[1]


# ------------------------------------------------------------------------------------------------ training


def test_training_beats_the_untrained_model(trained):
    summary, lines = trained
    assert [h["epoch"] for h in summary["history"]] == [0, 1]
    assert summary["epochs"] == 1 and summary["epochs_run"] == 1
    assert (summary["train_trials"], summary["val_trials"]) == (8, 2)
    assert summary["best_val_corr"] > summary["initial_val_corr"] + 0.03, summary["history"]
    assert len(lines) == 2 and lines[-1].startswith("epoch 1/1: train_loss")
    name = f"model-001-{summary['best_val_corr']:.6f}.pth"
    assert [p.name for p in summary["out_dir"].glob("*.pth")] == [name] == [summary["best_checkpoint"].name]
    assert sorted(p.name for p in summary["out_dir"].iterdir()) == ["encoder.json", name, "training_state.pt"]


def test_checkpoint_round_trip(trained, dataset):
    summary, _ = trained
    path = summary["best_checkpoint"]
    ckpt = read_checkpoint(path)
    assert set(ckpt) == {"model_name", "params", "nn_state_dict"}
    assert ckpt["params"]["optimizer"] == ("AdamW", {"lr": TINY.lr, "weight_decay": TINY.weight_decay})
    assert ckpt["params"]["nn_module"][1]["readout_outputs"] == (NEURONS,)

    # the checkpoint holds the EMA weights of its epoch: for the last epoch those are in training_state.pt
    state = torch.load(summary["out_dir"] / "training_state.pt", weights_only=True)
    last = summary["out_dir"] / summary["history"][-1]["checkpoint"]
    assert all(torch.equal(v, state["ema"][k]) for k, v in read_checkpoint(last)["nn_state_dict"].items())

    stats = find_mouse(dataset).statistics
    mean = np.concatenate([stats["behavior"]["mean"], stats["pupil_center"]["mean"]])
    encoder = load_encoder(str(last))
    np.testing.assert_allclose(encoder.default_behavior().numpy(), mean, rtol=1e-6)
    ema = DwiseNeuro(**model_config("small", NEURONS))
    ema.load_state_dict(state["ema"])
    reference = DwiseNeuroEncoder(ema.eval(), behavior_mean=mean)
    video = torch.from_numpy(natural_movie(seed=99, n_frames=40).values)[None]
    with torch.no_grad():
        assert torch.equal(encoder(video), reference(video))
    # the score in the file name is what the loaded model scores on the validation fold
    assert validation_correlation(load_encoder(str(path)), val_trials(dataset)) == pytest.approx(
        summary["best_val_corr"], abs=1e-6)


def test_resume_continues_from_the_saved_epoch(short_dataset, tmp_path):
    class Stop(Exception):
        pass

    def stop_after_epoch_1(line):
        if line.startswith("epoch 1/"):
            raise Stop

    with pytest.raises(Stop):  # interrupted after epoch 1 was saved
        train(short_dataset, tmp_path / "resumed", QUICK, progress=False, log=stop_after_epoch_1)
    first = next((tmp_path / "resumed").glob("model-001-*.pth"))
    before = (first.stat().st_mtime_ns, first.read_bytes())

    lines = []
    resumed = train(short_dataset, tmp_path / "resumed", QUICK, progress=False, log=lines.append)
    assert resumed["epochs_run"] == 1 and [line[:9] for line in lines] == ["epoch 2/2"]
    assert (first.stat().st_mtime_ns, first.read_bytes()) == before

    # identical to an uninterrupted run: same RNG streams, optimizer state and schedule
    straight = train(short_dataset, tmp_path / "straight", QUICK, progress=False)
    assert [h["val_corr"] for h in resumed["history"]] == [h["val_corr"] for h in straight["history"]]
    a, b = (torch.load(r["out_dir"] / "training_state.pt", weights_only=True) for r in (resumed, straight))
    assert a["step"] == b["step"] == 4
    for key in ("model", "ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in b[key])

    # keep_all_checkpoints kept both epochs; without it, the folder keeps only the best (the resumed call tidies)
    kept = [h["checkpoint"] for h in straight["history"][1:]]
    assert sorted(p.name for p in straight["out_dir"].glob("*.pth")) == kept
    again = train(short_dataset, straight["out_dir"], replace(QUICK, keep_all_checkpoints=False), progress=False)
    assert again["epochs_run"] == 0
    assert [p.name for p in straight["out_dir"].glob("*.pth")] == [again["best_checkpoint"].name]
    assert again["checkpoints"] == [again["best_checkpoint"]] and again["best_val_corr"] == max(
        h["val_corr"] for h in straight["history"][1:])


def test_a_finished_run_is_not_trained_again(trained, dataset):
    summary, _ = trained
    lines = []
    again = train(dataset, summary["out_dir"], replace(TINY, epochs=1, num_threads=1), progress=False,
                  log=lines.append)
    assert again["epochs_run"] == 0 and again["epochs"] == 1 and lines == [f"{summary['out_dir']} already holds 1 "
                                                                            "trained epoch(s); nothing to do"]
    assert again["best_checkpoint"] == summary["best_checkpoint"]


# ------------------------------------------------------------------------------------------------ folds


def test_video_hash_and_folds():
    a = natural_movie(seed=1, n_frames=20).values
    b = natural_movie(seed=2, n_frames=20).values
    assert video_hash(a) == video_hash(a.copy()) and video_hash(a) != video_hash(b)
    assert re.fullmatch(r"[0-9a-f]{16}", video_hash(a))
    assert video_hash(np.full((5, 36, 64), 127.5)) == "0" * 16
    hashes = ["c", "a", "b", "a", "d", "c"]
    folds = assign_folds(hashes, 3)
    assert folds.tolist() == [2, 0, 1, 0, 0, 2]  # sorted distinct hashes a, b, c, d dealt round-robin


def test_folds_never_share_a_movie(tmp_path):
    movies = [0, 1, 2, 0, 3, 1, 4, 0, 5, 2, 6]  # repeats, like the oracle tier
    root = make_mouse(tmp_path, movies, frames=52)
    trials = load_trials(find_mouse(root), ("train",))
    for fold in range(3):
        train_trials, val = split_folds(trials, TrainingConfig(model="small", folds=3, fold=fold))
        train_movies = {movies[t.id] for t in train_trials}
        val_movies = {movies[t.id] for t in val}
        assert train_movies.isdisjoint(val_movies) and train_movies | val_movies == set(movies)
    folds = assign_folds([video_hash(t.video.numpy()) for t in trials], 7)
    for movie in set(movies):
        assert len({f for f, m in zip(folds, movies) if m == movie}) == 1
    assert sorted(set(folds.tolist())) == list(range(7))  # 7 movies, 7 folds: one movie each


# ------------------------------------------------------------------------------------------------ pieces


def test_ema_update_matches_the_formula():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ema = copy.deepcopy(model)
    model.train()
    model(torch.randn(8, 3)).sum().backward()  # moves the BatchNorm buffers
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    old = {k: v.clone() for k, v in ema.state_dict().items()}
    ema_update(ema, model, 0.9)
    new = model.state_dict()
    for k, v in ema.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, 0.9 * old[k] + 0.1 * new[k])
        else:
            assert torch.equal(v, new[k])  # num_batches_tracked is copied
    assert not torch.equal(ema.state_dict()["1.running_mean"], old["1.running_mean"])


def test_cutmix_mixes_targets_by_box_area():
    rng = np.random.default_rng(3)
    x, other = torch.zeros(5, 16, 64, 64), torch.ones(5, 16, 64, 64)
    t, t_other = torch.rand(7, 16), torch.rand(7, 16)
    for _ in range(20):
        box = cutmix_box(rng, alpha=1.0)
        y0, y1, x0, x1 = box
        assert 0 <= y0 <= y1 <= 64 and 0 <= x0 <= x1 <= 64
        mixed, target = cutmix(x, t, other, t_other, box)
        area = (y1 - y0) * (x1 - x0) / 64 ** 2
        assert mixed[:, :, y0:y1, x0:x1].eq(1).all() and mixed.sum() == 5 * 16 * (y1 - y0) * (x1 - x0)
        torch.testing.assert_close(target, (1 - area) * t + area * t_other)
        assert x.eq(0).all()  # inputs untouched


def test_poisson_loss_and_schedule():
    pred, target = torch.rand(2, 3, 16) + 0.1, torch.rand(2, 3, 16) * 4
    expected = (pred - target * torch.log(pred + 1e-8)).sum() / 2
    torch.testing.assert_close(poisson_loss(pred, target), expected)

    config = TrainingConfig(samples_per_epoch=3200, batch_size=32)  # 100 steps per epoch, 3 warm-up epochs
    lrs = [learning_rate(s, config) for s in range(21 * 100)]
    assert lrs[0] == pytest.approx(2.4e-3 / 300) and lrs[299] == pytest.approx(2.4e-3)
    assert np.all(np.diff(lrs[:300]) > 0) and np.all(np.diff(lrs[300:]) < 0)
    assert lrs[-1] == pytest.approx(2.4e-5, rel=1e-3)


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("kwargs, message", [
    (dict(fold=7), r"fold is 7; expected a fold index 0\.\.6 \(folds=7\)"),
    (dict(folds=3, fold=3), r"fold is 3; expected a fold index 0\.\.2 \(folds=3\)"),
    (dict(epochs=0), r"epochs is 0; expected an integer >= 1"),
    (dict(model="huge"), r"model is 'huge'; expected one of full, small"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(DnemkitError, match=message):
        TrainingConfig(**kwargs)


def test_data_errors(tmp_path):
    empty = make_mouse(tmp_path, [0, 1], frames=35, name="empty")
    for f in (empty / "data/videos").glob("*.npy"):
        f.unlink()
    with pytest.raises(DnemkitError, match=r"no trials"):
        train(empty, tmp_path / "out", TINY, progress=False)

    unlabelled = make_mouse(tmp_path, [0, 1], frames=35, tier="final_test_main", name="unlabelled")
    with pytest.raises(DnemkitError, match=r"mouse unlabelled .* has no labelled trials of the tiers train, oracle"):
        train(unlabelled, tmp_path / "out", TINY, progress=False)

    two_movies = make_mouse(tmp_path, [0, 1, 0], frames=60, name="two")
    with pytest.raises(DnemkitError, match=r"fold 3 of 5 leaves no validation trials \(3 labelled trials, 2 fold"):
        train(two_movies, tmp_path / "out", replace(TINY, folds=5, fold=3), progress=False)
    assert not (tmp_path / "out").exists()


def test_output_folder_of_another_config_is_refused(trained, dataset, tmp_path):
    summary, _ = trained
    other = replace(TINY, batch_size=4)
    with pytest.raises(DnemkitError, match=r"output folder .* holds checkpoints of another config "
                                           r"\(batch_size 8 there vs 4 now\)"):
        train(dataset, summary["out_dir"], other, progress=False)
    (tmp_path / "model-003-0.250000.pth").write_bytes(b"not ours")
    with pytest.raises(DnemkitError, match=r"holds checkpoints of another config \(no training_state.pt"):
        train(dataset, tmp_path, TINY, progress=False)


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_bad_fold(dataset, tmp_path):
    result = CliRunner().invoke(main, ["train", "--data", str(dataset), "--out", str(tmp_path / "out"),
                                       "--config", "small", "--folds", "5", "--fold", "5"])
    assert result.exit_code == 2
    assert "fold is 5; expected a fold index 0..4 (folds=5)" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_cli_trains_one_epoch(short_dataset, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["train", "--data", str(short_dataset), "--out", str(out), "--config", "small",
                                       "--folds", "3", "--epochs", "1", "--samples-per-epoch", "4",
                                       "--batch-size", "4", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "epoch 1/1: train_loss" in result.output and "held-out correlation (fold 0 of 3, epoch 1)" in result.output
    assert len(list(out.glob("model-001-*.pth"))) == 1 and (out / "encoder.json").exists()
