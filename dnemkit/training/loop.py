"""The training loop: train DwiseNeuro on one Sensorium-layout mouse, with the reference recipe (docs/method.md, "Training").

One run trains one fold of one mouse::

    summary = train("data/", "runs/fold0", TrainingConfig(model="small", fold=0))

- **Data**: the mouse's labelled trials of the tiers ``config.tiers`` (train, oracle) are loaded into memory once
  (videos float32 (T, 36, 64), behaviour (4, T), responses (N, T): about 12 MB per 300-frame trial with 8000
  neurons, so a real mouse's few hundred labelled trials take a few GB of RAM; the synthetic test sets are tiny).
- **Folds**: each trial's movie gets a 64-bit difference hash of its mean frame (:func:`video_hash`); the sorted
  distinct hashes are dealt round-robin to ``folds`` folds (:func:`assign_folds`), so repeats of one movie (the
  oracle tier) always share a fold. Fold ``fold`` is the validation set, the others train.
- **Samples**: a training window is a uniformly drawn trial and a uniformly drawn last frame i >= 30; its input
  is frames [i-30, i-28, ..., i] stacked like :meth:`DwiseNeuroEncoder.stack_inputs` (B, 5, 16, 64, 64), its
  target relu(responses) at those frames (B, N, 16). With probability ``cutmix_prob`` a box of the 64 x 64 plane
  (all channels and frames) is replaced by the same box of another random window, targets mixed by area.
- **Optimisation**: AdamW, Poisson loss ``pred - t log(pred + 1e-8)`` summed over neurons and frames, averaged
  over the batch; per-step learning rate: linear warm-up then cosine to lr/100 (:func:`learning_rate`); an EMA
  of the whole state dict (parameters and BatchNorm buffers, :func:`ema_update`) is what is validated and saved.
- **Score**: single-trial Pearson r per neuron over frames 50..T-2 of every validation trial (frames of all
  trials concatenated per neuron), averaged over neurons; predictions come from full-trial inference
  (:class:`DwiseNeuroEncoder`, the reference Predictor).
- **Output folder**: the best epoch's argus checkpoint ``model-{epoch:03d}-{val_corr:.6f}.pth`` (EMA weights;
  epochs count from 1; every epoch's with ``keep_all_checkpoints``), ``encoder.json`` (behaviour means, for
  :func:`load_encoder`) and ``training_state.pt`` (raw model, EMA, optimizer, step, RNG states, history), from
  which re-running the same call resumes after the last completed epoch.
"""

import copy
import json
import math
import re
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..analysis.metrics import pearson_along
from ..data.sensorium import find_mouse
from ..device import resolve_device
from ..encoders.dwiseneuro.checkpoint import default_params, save_checkpoint
from ..encoders.dwiseneuro.network import DwiseNeuro
from ..encoders.dwiseneuro.encoder import DwiseNeuroEncoder
from ..errors import DnemkitError
from ..io.atomic import atomic_path
from .augment import _training_batch
from .config import REFERENCE_EPOCHS, SCORE_FIRST_FRAME, TrainingConfig, model_config
from .folds import _behavior_mean, split_folds, load_trials


STATE_FILE = "training_state.pt"
SIDECAR_FILE = "encoder.json"
CHECKPOINT_RE = re.compile(r"model-\d{3,}-[-+0-9.enaif]+\.pth")


def init_readout_bias(model, trials):
    """Set readout 0's bias so that a zero input to it predicts each neuron's mean (relu'd) training response.

    softplus_b(x) = log(1 + exp(b x)) / b, so x = log(expm1(b y)) / b for the mean response y (floored at 1e-3).
    """
    readout = model.readouts[0]
    beta = readout.gate.beta
    mean = torch.cat([t.responses.clamp(min=0) for t in trials], dim=1).mean(1).double().clamp(min=1e-3)
    with torch.no_grad():
        bias = readout.layer[1].bias
        bias[:len(mean)] = (torch.log(torch.expm1(beta * mean)) / beta).to(bias)


def poisson_loss(pred, target):
    """:func:`dnemkit.losses.poisson_nll` summed over neurons and frames, averaged over the batch.

    pred, target: (B, N, 16) rates / counts per frame. Returns a scalar tensor.
    """
    from ..losses import poisson_nll

    return poisson_nll(pred, target).sum() / pred.shape[0]


@torch.no_grad()
def ema_update(ema, model, decay):
    """ema <- decay * ema + (1 - decay) * model over the whole state dict (parameters and float buffers);
    integer buffers (BatchNorm's num_batches_tracked) are copied. Exact for entries that do not change."""
    ema_state = ema.state_dict()
    for name, value in model.state_dict().items():
        target = ema_state[name]
        if target.is_floating_point():
            target.lerp_(value.to(target.dtype), 1.0 - decay)
        else:
            target.copy_(value)


def learning_rate(step, config):
    """Learning rate of optimiser step ``step`` (0-based, over the whole run).

    Linear warm-up from lr / warm-up steps to lr over the warm-up, then a cosine from lr to lr * min_lr_ratio over
    the remaining steps of ``config.epochs`` epochs.
    """
    per_epoch = config.steps_per_epoch
    total = config.epochs * per_epoch
    warm = int(round(config.warmup_epochs * min(1.0, config.epochs / REFERENCE_EPOCHS) * per_epoch))
    if step < warm:
        return config.lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    low = config.lr * config.min_lr_ratio
    return low + (config.lr - low) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


# ---------------------------------------------------------------------------------------------------- score


@torch.no_grad()
def validation_correlation(encoder, trials, first_frame=SCORE_FIRST_FRAME):
    """Single-trial correlation: Pearson r per neuron over frames first_frame..T-2 of every trial (frames of all
    trials concatenated per neuron), averaged over neurons.

    encoder: video (1, T, 36, 64), behavior (1, 4, T) -> rates (1, N, T); trials: objects with ``video`` (T, 36,
    64), ``behavior`` (4, T) and ``responses`` (N, T) tensors (the recorded responses). Returns a float.
    """
    device = next(encoder.parameters()).device
    preds, targets = [], []
    for t in trials:
        if t.length <= first_frame + 1:
            continue
        rates = encoder(t.video[None].to(device), t.behavior[None].to(device))[0]
        preds.append(rates[:, first_frame:t.length - 1].double().cpu().numpy())
        targets.append(t.responses[:, first_frame:t.length - 1].double().numpy())
    r = pearson_along(np.concatenate(preds, axis=1), np.concatenate(targets, axis=1), axis=1)  # float64
    return float(np.nan_to_num(r, nan=0.0).mean())  # a neuron predicted (or recorded) constant scores 0


# ---------------------------------------------------------------------------------------------------- output folder


def _short(value, width=40):
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _describe_difference(old, new):
    keys = sorted(set(old) | set(new))
    diff = [f"{k} {_short(old.get(k))} there vs {_short(new.get(k))} now" for k in keys if old.get(k) != new.get(k)]
    return ", ".join(diff)


def _read_state(out_dir, identity):
    """The saved training state of out_dir (None for a fresh folder); error if it belongs to another run."""
    path = out_dir / STATE_FILE
    if not path.exists():
        if any(CHECKPOINT_RE.fullmatch(p.name) for p in out_dir.glob("*.pth")):
            raise DnemkitError(f"output folder {out_dir} holds checkpoints of another config (no {STATE_FILE}: "
                               "not a dnemkit training run); expected an empty or new folder")
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DnemkitError(f"{path} is not a readable training state ({type(exc).__name__}); "
                           "expected the file a previous dnemkit training run wrote") from None
    if state.get("identity") != identity:
        raise DnemkitError(f"output folder {out_dir} holds checkpoints of another config "
                           f"({_describe_difference(state.get('identity') or {}, identity)}); "
                           "expected the same options, or a new folder")
    return state


def _rng_state(rng):
    return {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def _set_rng_state(rng, state):
    rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tidy_checkpoints(out_dir, keep):
    """Delete our model-*.pth files that the history does not keep (left over by an interrupted epoch)."""
    for p in out_dir.glob("*.pth"):
        if CHECKPOINT_RE.fullmatch(p.name) and p.name not in keep:
            p.unlink()


def _kept(history, keep_all):
    done = [h for h in history if h.get("checkpoint")]
    if keep_all or not done:
        return {h["checkpoint"] for h in done}
    best = max(done, key=lambda h: (h["val_corr"], -h["epoch"]))  # the earliest of equal scores
    return {best["checkpoint"]}


def _summary(out_dir, history, config, n_train, n_val, epochs_run):
    epochs = [h for h in history if h["epoch"] >= 1]
    best = max(epochs, key=lambda h: (h["val_corr"], -h["epoch"])) if epochs else None
    kept = sorted(out_dir / name for name in _kept(history, config.keep_all_checkpoints))
    return {
        "best_val_corr": best["val_corr"] if best else None,
        "best_epoch": best["epoch"] if best else None,
        "best_checkpoint": out_dir / best["checkpoint"] if best else None,
        "initial_val_corr": history[0]["val_corr"] if history and history[0]["epoch"] == 0 else None,
        "epochs": epochs[-1]["epoch"] if epochs else 0,
        "epochs_run": epochs_run,
        "checkpoints": kept,
        "history": list(history),
        "train_trials": n_train,
        "val_trials": n_val,
        "fold": config.fold,
        "folds": config.folds,
        "out_dir": out_dir,
    }


# ---------------------------------------------------------------------------------------------------- the loop


def _params(model, config):
    params = default_params(model.config, lr=config.lr)
    params["optimizer"] = ("AdamW", {"lr": config.lr, "weight_decay": config.weight_decay})
    return params


def _train_epoch(model, ema, optimizer, trials, config, rng, stacker, step, device, bar):
    """One epoch of optimiser steps; returns (mean loss per window, next global step)."""
    model.train()
    total = 0.0
    for _ in range(config.steps_per_epoch):
        x, y = _training_batch(trials, config, rng, stacker, device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        loss = poisson_loss(model(x, 0), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        ema_update(ema, model, config.ema_decay)
        step += 1
        total += loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4g}", refresh=False)
    return total / config.steps_per_epoch, step


def _prepare(data_dir, out_dir, config, mouse):
    """Load and split the data, check the output folder. Returns (mouse, trials, train, val, identity, state)."""
    if not isinstance(config, TrainingConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected a TrainingConfig")
    data = find_mouse(data_dir, mouse)
    trials = load_trials(data, config.tiers)
    train_trials, val_trials = split_folds(trials, config)
    if out_dir.exists() and not out_dir.is_dir():
        raise DnemkitError(f"output folder {out_dir} is a file; expected a folder for the checkpoints")
    identity = dict(config.identity(), mouse=data.name, neurons=data.n_neurons,
                    train_trials=[t.id for t in train_trials], val_trials=[t.id for t in val_trials])
    state = _read_state(out_dir, identity) if out_dir.is_dir() else None
    return data, trials, train_trials, val_trials, identity, state


def _write_sidecar(out_dir, encoder, data, config):
    sidecar = {"behavior_mean": [float(v) for v in encoder.default_behavior().tolist()],
               "description": f"DwiseNeuro ({config.model} config) trained on {data.name}, fold {config.fold} "
                              f"of {config.folds}, seed {config.seed}"}
    with atomic_path(out_dir / SIDECAR_FILE) as tmp:
        tmp.write_text(json.dumps(sidecar, indent=2) + "\n")


def train(data_dir, out_dir, config=TrainingConfig(), mouse=None, progress=True, log=None):
    """Train DwiseNeuro on one mouse's labelled trials; write checkpoints to ``out_dir``; return a summary.

    data_dir: a Sensorium-layout mouse folder, or a dataset root (``mouse``: folder name or prefix when it holds
    several). out_dir: created if needed; re-running the same call resumes after its last completed epoch (a
    folder of another config is refused). progress: tqdm bars. log: callable receiving one line per epoch
    (default: tqdm.write when progress is on, else silent).

    Returns a dict: best_val_corr, best_epoch, best_checkpoint (Path), initial_val_corr (the untrained EMA model's
    score, epoch 0), epochs (completed in total), epochs_run (in this call), checkpoints (kept files), history
    (per epoch: epoch, train_loss, val_corr, lr, seconds, samples_per_s, checkpoint), train_trials, val_trials,
    fold, folds, out_dir.
    """
    out_dir = Path(out_dir)
    data, trials, train_trials, val_trials, identity, state = _prepare(data_dir, out_dir, config, mouse)
    if log is None:
        log = tqdm.write if progress else (lambda line: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        # initialisation and dropout draw from torch's global generator: seeded inside a fork, so that the run
        # repeats exactly and the caller's generator state is left as it was
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(config.seed)
            run = _TrainingRun(data, trials, train_trials, config, device, state)
            _write_sidecar(out_dir, run.encoder, data, config)
            history, start = run.fit(out_dir, val_trials, identity, progress, log)
    finally:
        torch.set_num_threads(threads)
    return _summary(out_dir, history, config, len(train_trials), len(val_trials), max(0, config.epochs - start))


class _TrainingRun:
    """The model, its EMA, the optimiser, the step and the history of one training run (resumed from ``state``)."""

    def __init__(self, data, trials, train_trials, config, device, state):
        self.config, self.device, self.train_trials = config, device, train_trials
        self.rng = np.random.default_rng(config.seed)
        self.model = DwiseNeuro(**model_config(config.model, data.n_neurons)).to(device)
        if config.init_readout_bias:
            init_readout_bias(self.model, train_trials)
        self.ema = copy.deepcopy(self.model)
        # the encoder around the EMA model validates it and stacks the training inputs (it freezes ema: eval
        # mode); on a CPU small window batches run faster (cache), on a GPU large ones
        self.encoder = DwiseNeuroEncoder(self.ema, fill=0.0, behavior_mean=_behavior_mean(data, trials),
                                         window_batch=16 if device.type == "cpu" else 256)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.step, self.history = 0, []
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.ema.load_state_dict(state["ema"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.step, self.history = state["step"], list(state["history"])
            _set_rng_state(self.rng, state["rng"])

    def fit(self, out_dir, val_trials, identity, progress, log):
        """Train the remaining epochs, saving a checkpoint and the resumable state after each; returns
        (history, the epoch this call started after)."""
        config = self.config
        _tidy_checkpoints(out_dir, _kept(self.history, config.keep_all_checkpoints))
        if not self.history:
            self.history.append({"epoch": 0, "val_corr": validation_correlation(self.encoder, val_trials)})
            log(f"epoch 0 (untrained): val_corr {self.history[0]['val_corr']:.4f}")
        start = max(h["epoch"] for h in self.history)
        if start >= config.epochs:
            log(f"{out_dir} already holds {start} trained epoch(s); nothing to do")
        for epoch in range(start + 1, config.epochs + 1):
            with tqdm(total=config.steps_per_epoch, desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                      disable=not progress, leave=False) as bar:
                t0 = time.perf_counter()
                loss, self.step = _train_epoch(self.model, self.ema, self.optimizer, self.train_trials, config,
                                               self.rng, self.encoder, self.step, self.device, bar)
                seconds = time.perf_counter() - t0
            val = validation_correlation(self.encoder, val_trials)
            self._save(out_dir, identity, epoch, loss, val, seconds)
            log(f"epoch {epoch}/{config.epochs}: train_loss {loss:.4f}  val_corr {val:.4f}  "
                f"({self.history[-1]['samples_per_s']:.1f} samples/s)")
        return self.history, start

    def _save(self, out_dir, identity, epoch, loss, val, seconds):
        """The epoch's EMA checkpoint, its history entry and the resumable state (written atomically)."""
        config = self.config
        name = f"model-{epoch:03d}-{val:.6f}.pth"
        save_checkpoint(out_dir / name, self.ema, _params(self.ema, config))
        self.history.append({"epoch": epoch, "train_loss": loss, "val_corr": val,
                             "lr": learning_rate(self.step - 1, config), "seconds": seconds,
                             "samples_per_s": config.steps_per_epoch * config.batch_size / seconds,
                             "checkpoint": name})
        payload = {"identity": identity, "config": asdict(config), "model": self.model.state_dict(),
                   "ema": self.ema.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                   "epoch": epoch, "history": self.history, "rng": _rng_state(self.rng)}
        with atomic_path(out_dir / STATE_FILE) as tmp:
            torch.save(payload, tmp)
        _tidy_checkpoints(out_dir, _kept(self.history, config.keep_all_checkpoints))
