"""Train DwiseNeuro on one Sensorium-layout mouse, with the reference recipe (docs/method.md, "Training").

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

from __future__ import annotations

import copy
import json
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .analysis.metrics import pearson_along
from .io.atomic import atomic_path
from .data.sensorium import TIERS, find_mouse
from .device import resolve_device
from .encoders.checkpoint import default_params, save_checkpoint
from .encoders.dwiseneuro import MAIN_CONFIG, DwiseNeuro
from .encoders.dwiseneuro_encoder import SPAN, STEP, WINDOW, DwiseNeuroEncoder
from .errors import DnemkitError, warn

__all__ = ["TrainingConfig", "MODEL_CONFIGS", "model_config", "video_hash", "assign_folds", "cutmix_box",
           "cutmix", "poisson_loss", "ema_update", "learning_rate", "validation_correlation", "load_trials",
           "split_folds", "train"]

REFERENCE_EPOCHS = 21  #: the recipe's 3 warm-up + 18 cosine epochs
SCORE_FIRST_FRAME = 50  #: the score uses frames 50 .. T-2
STATE_FILE = "training_state.pt"
SIDECAR_FILE = "encoder.json"
CHECKPOINT_RE = re.compile(r"model-\d{3,}-[-+0-9.enaif]+\.pth")

#: named DwiseNeuro configurations (``readout_outputs`` is set from the data: one readout, N neurons).
#: "small" trains on a CPU (0.6 M parameters for 2000 neurons); everything not listed is MAIN_CONFIG's. Its readout
#: dropout is 0.4 as in the main config. Its softplus beta is 1 instead of 0.07: with beta 0.07 a rate change of
#: 0.5 around typical rates needs a readout swing of ~14, which AdamW reaches only after tens of thousands of
#: steps (the full recipe's ~47 k); with beta 1 a CPU run of a few thousand steps learns the stimulus.
MODEL_CONFIGS = {
    "full": dict(MAIN_CONFIG),
    "small": dict(MAIN_CONFIG, core_features=(8, 16, 32, 64), spatial_strides=(2, 2, 2, 1), expansion_ratio=2,
                  se_reduce_ratio=4, cortex_features=(256, 512), softplus_beta=1.0),
    # the shipped demo: small's early layers (which set the CPU cost, ~+15 %) with a 4x wider last stage and
    # cortex, so that 256 pooled features (as in the full model) rather than 64 carry the neurons' RF positions
    "demo": dict(MAIN_CONFIG, core_features=(8, 16, 64, 256), spatial_strides=(2, 2, 2, 1), expansion_ratio=2,
                 se_reduce_ratio=4, cortex_features=(512, 1024), softplus_beta=1.0),
}


def model_config(name, n_neurons):
    """DwiseNeuro constructor kwargs of the named config with one readout of ``n_neurons`` neurons."""
    if name not in MODEL_CONFIGS:
        raise DnemkitError(f"model config {name!r} is unknown; expected one of {', '.join(MODEL_CONFIGS)}")
    return dict(MODEL_CONFIGS[name], readout_outputs=(int(n_neurons),))


@dataclass(frozen=True)
class TrainingConfig:
    """Options of one training run; the defaults are the reference recipe (docs/method.md, "Training").

    model: "full" (MAIN_CONFIG) or "small" (CPU-sized, see MODEL_CONFIGS).
    epochs: epochs to train in total (a re-run with more epochs resumes; the cosine schedule always ends at
    ``epochs``). warmup_epochs: linear warm-up of the recipe's 21 epochs; shorter runs shrink it in proportion
    (warm-up = warmup_epochs * min(1, epochs / 21)). samples_per_epoch: windows per epoch (steps =
    samples_per_epoch // batch_size, at least 1). lr: peak AdamW learning rate (the recipe: 3e-4 * batch / 4);
    min_lr_ratio: the cosine ends at lr * min_lr_ratio. ema_decay: per step (0.999 needs thousands of steps; short
    runs want ~0.9). cutmix_alpha / cutmix_prob: Beta(alpha, alpha) box area, probability per window.
    folds / fold: k-fold split by movie hash; fold is validated. tiers: trial tiers used (labelled trials only).
    seed: seeds model initialisation, window sampling, dropout. num_threads: torch CPU threads (None: unchanged).
    device: "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:1", ...
    keep_all_checkpoints: keep every epoch's checkpoint instead of only the best one (a folder of checkpoints is
    loaded as an ensemble by load_encoder, so the default keeps one).
    """

    model: str = "full"
    epochs: int = 21
    warmup_epochs: float = 3.0
    samples_per_epoch: int = 72_000
    batch_size: int = 32
    lr: float = 2.4e-3
    min_lr_ratio: float = 0.01
    weight_decay: float = 0.05
    ema_decay: float = 0.999
    cutmix_alpha: float = 1.0
    cutmix_prob: float = 0.5
    folds: int = 7
    fold: int = 0
    tiers: tuple = ("train", "oracle")
    seed: int = 0
    num_threads: int | None = None
    device: str = "auto"
    keep_all_checkpoints: bool = False
    #: start each readout bias at the softplus inverse of the neuron's mean training response (a dnemkit addition:
    #: with softplus beta 0.07 a default bias predicts ~10 per frame, and reaching typical rates of ~0.5 takes
    #: tens of thousands of AdamW steps; short CPU runs cannot afford them)
    init_readout_bias: bool = True

    #: fields that may differ between a run and its resumption
    RESUMABLE_CHANGES = ("epochs", "num_threads", "device", "keep_all_checkpoints")

    def __post_init__(self):
        def need(ok, name, expected):
            if not ok:
                raise DnemkitError(f"{name} is {getattr(self, name)!r}; expected {expected}")

        def is_int(v):
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        need(self.model in MODEL_CONFIGS, "model", f"one of {', '.join(MODEL_CONFIGS)}")
        need(is_int(self.epochs) and self.epochs >= 1, "epochs", "an integer >= 1")
        need(self.warmup_epochs >= 0, "warmup_epochs", "a number >= 0")
        need(is_int(self.batch_size) and self.batch_size >= 1, "batch_size", "an integer >= 1")
        need(is_int(self.samples_per_epoch) and self.samples_per_epoch >= 1, "samples_per_epoch", "an integer >= 1")
        need(self.lr > 0, "lr", "a learning rate > 0")
        need(0 < self.min_lr_ratio <= 1, "min_lr_ratio", "a ratio in (0, 1]")
        need(self.weight_decay >= 0, "weight_decay", "a number >= 0")
        need(0 <= self.ema_decay < 1, "ema_decay", "a decay in [0, 1)")
        need(self.cutmix_alpha > 0, "cutmix_alpha", "a Beta parameter > 0")
        need(0 <= self.cutmix_prob <= 1, "cutmix_prob", "a probability in [0, 1]")
        need(is_int(self.folds) and self.folds >= 2, "folds", "an integer >= 2")
        need(is_int(self.fold) and 0 <= self.fold < self.folds, "fold",
             f"a fold index 0..{self.folds - 1} (folds={self.folds})")
        need(is_int(self.seed) and self.seed >= 0, "seed", "an integer >= 0")
        need(self.num_threads is None or (is_int(self.num_threads) and self.num_threads >= 1), "num_threads",
             "None or an integer >= 1")
        object.__setattr__(self, "tiers", (self.tiers,) if isinstance(self.tiers, str) else tuple(self.tiers))
        need(self.tiers and all(t in TIERS for t in self.tiers), "tiers", f"tier names out of {', '.join(TIERS)}")

    @property
    def steps_per_epoch(self):
        return max(1, self.samples_per_epoch // self.batch_size)

    def identity(self):
        """The options a resumed run must share with the run that wrote the output folder."""
        return {k: v for k, v in asdict(self).items() if k not in self.RESUMABLE_CHANGES}


# ---------------------------------------------------------------------------------------------------- folds


def _block_means(image, rows, cols):
    """(H, W) -> (rows, cols) means over near-equal blocks."""
    r = np.linspace(0, image.shape[0], rows + 1).astype(int)
    c = np.linspace(0, image.shape[1], cols + 1).astype(int)
    sums = np.add.reduceat(np.add.reduceat(image, r[:-1], axis=0), c[:-1], axis=1)
    return sums / np.outer(np.diff(r), np.diff(c))


def video_hash(video):
    """64-bit difference hash of a movie, as 16 hex digits.

    video: (T, 36, 64) grey levels. The mean frame is reduced to 8 x 9 block means; bit k says whether a block is
    brighter than its left neighbour (8 rows x 8 comparisons). Identical movies give identical hashes; a constant
    movie hashes to '0000000000000000'.
    """
    mean = np.asarray(video, dtype=np.float64).mean(axis=0)
    small = _block_means(mean, 8, 9)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def assign_folds(hashes, folds):
    """Fold of every trial: the sorted distinct hashes dealt round-robin to ``folds`` folds. (n,) int array."""
    rank = {h: i for i, h in enumerate(sorted(set(hashes)))}
    return np.array([rank[h] % folds for h in hashes], dtype=int)


# ---------------------------------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class _Trial:
    """In-memory labelled trial: video (T, 36, 64), behavior (4, T), responses (N, T); float32 CPU tensors."""

    id: int
    video: torch.Tensor
    behavior: torch.Tensor
    responses: torch.Tensor

    @property
    def length(self):
        return self.video.shape[0]


def load_trials(mouse, tiers):
    """Every labelled trial of ``mouse`` (a SensoriumMouse) in ``tiers`` as tensors for training.

    NaN/inf inside a trial's responses (a damaged recording, not the end padding, which is already cut) are set
    to 0 with one warning naming the trials. Raises DnemkitError when no labelled trial is left.
    """
    trials, holes = [], []
    for tid in mouse.trials([t for t in tiers if t in mouse.tiers.values()]):
        t = mouse.trial(tid)
        if t.labeled:
            responses = t.responses
            bad = ~np.isfinite(responses)
            if bad.any():  # NaN inside the trial (not the end padding, already cut): a damaged recording
                holes.append((t.id, int(bad.sum())))
                responses = np.where(bad, 0.0, responses).astype(np.float32)
            trials.append(_Trial(t.id, torch.from_numpy(t.video), torch.from_numpy(t.behavior4),
                                 torch.from_numpy(responses)))
    if holes:
        listed = ", ".join(f"trial {tid} ({n} value{'s' if n > 1 else ''})" for tid, n in holes[:5])
        more = f" and {len(holes) - 5} more trial(s)" if len(holes) > 5 else ""
        warn(f"mouse {mouse.name}: NaN/inf responses inside {listed}{more} (data/responses/<trial>.npy, not end "
             "padding); they are treated as 0 for training")
    if not trials:
        raise DnemkitError(f"mouse {mouse.name} in {mouse.path.parent} has no labelled trials of the tiers "
                           f"{', '.join(tiers)}; expected trials with recorded responses to train on")
    return trials


def _behavior_mean(mouse, trials):
    """(4,) pupil dilation, running speed, pupil x, y means: the dataset statistics, else the loaded trials'."""
    stats = mouse.statistics
    try:
        mean = np.concatenate([stats["behavior"]["mean"], stats["pupil_center"]["mean"]]).astype(float)
        if mean.shape == (4,) and np.isfinite(mean).all():
            return mean.tolist()
    except KeyError:
        pass
    return torch.cat([t.behavior for t in trials], dim=1).double().mean(dim=1).tolist()


def split_folds(trials, config):
    """(training trials, validation trials) of ``config.fold`` of ``config.folds``; a movie's trials share a fold
    (folds by video hash). Raises DnemkitError when either side is empty or no validation trial is long enough
    to score."""
    folds = assign_folds([video_hash(t.video.numpy()) for t in trials], config.folds)
    train = [t for t, f in zip(trials, folds) if f != config.fold and t.length > SPAN]
    val = [t for t, f in zip(trials, folds) if f == config.fold]
    n_movies = len(set(folds.tolist()))
    if not val or not train:
        which = "validation" if not val else "training"
        raise DnemkitError(f"fold {config.fold} of {config.folds} leaves no {which} trials ({len(trials)} labelled "
                           f"trials, {n_movies} fold(s) in use); expected folds <= the number of distinct movies")
    if not any(t.length > SCORE_FIRST_FRAME + 1 for t in val):
        raise DnemkitError(f"the validation trials of fold {config.fold} are all shorter than "
                           f"{SCORE_FIRST_FRAME + 2} frames; expected trials long enough to score frames 50..T-2")
    return train, val


def _draw_windows(trials, n, rng):
    """n random windows: (trial index, last frame >= 30) pairs."""
    which = rng.integers(0, len(trials), size=n)
    ends = [int(rng.integers(SPAN, trials[i].length)) for i in which]
    return list(zip(which.tolist(), ends))


def _gather(trials, windows, stacker, device):
    """Stacked inputs (B, 5, 16, 64, 64) and targets relu(responses) (B, N, 16) of the given windows, on device.

    Only the 16 frames of each window are gathered on the CPU; the 64 x 64 planes are built on ``device``."""
    frames = [end - SPAN + STEP * np.arange(WINDOW) for _, end in windows]
    video = torch.stack([trials[i].video[f] for (i, _), f in zip(windows, frames)]).to(device)
    behavior = torch.stack([trials[i].behavior[:, f] for (i, _), f in zip(windows, frames)]).to(device)
    targets = torch.stack([trials[i].responses[:, f] for (i, _), f in zip(windows, frames)]).to(device)
    with torch.no_grad():
        return stacker.stack_inputs(video, behavior), targets.clamp(min=0)


def cutmix_box(rng, alpha=1.0, size=64):
    """A CutMix box (y0, y1, x0, x1) on a size x size plane: area fraction about 1 - lam, lam ~ Beta(alpha, alpha),
    centre uniform, clipped at the borders (so the real area fraction is (y1 - y0)(x1 - x0) / size**2)."""
    lam = rng.beta(alpha, alpha)
    cut = int(size * math.sqrt(1.0 - lam))
    cy, cx = rng.integers(0, size, size=2)
    y0, y1 = np.clip([cy - cut // 2, cy + cut // 2], 0, size)
    x0, x1 = np.clip([cx - cut // 2, cx + cut // 2], 0, size)
    return int(y0), int(y1), int(x0), int(x1)


def cutmix(x, target, x_other, target_other, box):
    """Paste ``box`` of another window into one window (all channels and frames), mix targets by the box area.

    x, x_other: (5, 16, H, W); target, target_other: (N, 16). Returns new (mixed x, mixed target) tensors with
    target = (1 - a) * target + a * target_other, a = box area / (H * W).
    """
    y0, y1, x0, x1 = box
    mixed = x.clone()
    mixed[..., y0:y1, x0:x1] = x_other[..., y0:y1, x0:x1]
    area = (y1 - y0) * (x1 - x0) / (x.shape[-2] * x.shape[-1])
    return mixed, (1.0 - area) * target + area * target_other


def _training_batch(trials, config, rng, stacker, device="cpu"):
    """One batch: inputs (B, 5, 16, 64, 64), targets (B, N, 16), with CutMix applied per window."""
    b = config.batch_size
    x, y = _gather(trials, _draw_windows(trials, b, rng), stacker, device)
    mix = np.flatnonzero(rng.random(b) < config.cutmix_prob)
    if mix.size:
        x2, y2 = _gather(trials, _draw_windows(trials, mix.size, rng), stacker, device)
        for k, i in enumerate(mix):
            x[i], y[i] = cutmix(x[i], y[i], x2[k], y2[k], cutmix_box(rng, config.cutmix_alpha, x.shape[-1]))
    return x, y


# ---------------------------------------------------------------------------------------------------- optimisation


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
    from .losses import poisson_nll

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
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        model = DwiseNeuro(**model_config(config.model, data.n_neurons)).to(device)
        if config.init_readout_bias:
            init_readout_bias(model, train_trials)
        ema = copy.deepcopy(model)
        # the encoder around the EMA model validates it and stacks the training inputs (it freezes ema: eval mode);
        # on a CPU small window batches run faster (cache), on a GPU large ones
        encoder = DwiseNeuroEncoder(ema, fill=0.0, behavior_mean=_behavior_mean(data, trials),
                                    window_batch=16 if device.type == "cpu" else 256)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        step, history = 0, []
        if state is not None:
            model.load_state_dict(state["model"])
            ema.load_state_dict(state["ema"])
            optimizer.load_state_dict(state["optimizer"])
            step, history = state["step"], list(state["history"])
            _set_rng_state(rng, state["rng"])
        _tidy_checkpoints(out_dir, _kept(history, config.keep_all_checkpoints))
        _write_sidecar(out_dir, encoder, data, config)
        if not history:
            history.append({"epoch": 0, "val_corr": validation_correlation(encoder, val_trials)})
            log(f"epoch 0 (untrained): val_corr {history[0]['val_corr']:.4f}")

        start = max(h["epoch"] for h in history)
        if start >= config.epochs:
            log(f"{out_dir} already holds {start} trained epoch(s); nothing to do")
        for epoch in range(start + 1, config.epochs + 1):
            with tqdm(total=config.steps_per_epoch, desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                      disable=not progress, leave=False) as bar:
                t0 = time.perf_counter()
                loss, step = _train_epoch(model, ema, optimizer, train_trials, config, rng, encoder, step, device,
                                          bar)
                seconds = time.perf_counter() - t0
            val = validation_correlation(encoder, val_trials)
            name = f"model-{epoch:03d}-{val:.6f}.pth"
            save_checkpoint(out_dir / name, ema, _params(ema, config))
            history.append({"epoch": epoch, "train_loss": loss, "val_corr": val, "lr": learning_rate(step - 1, config),
                            "seconds": seconds, "samples_per_s": config.steps_per_epoch * config.batch_size / seconds,
                            "checkpoint": name})
            payload = {"identity": identity, "config": asdict(config), "model": model.state_dict(),
                       "ema": ema.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "epoch": epoch,
                       "history": history, "rng": _rng_state(rng)}
            with atomic_path(out_dir / STATE_FILE) as tmp:
                torch.save(payload, tmp)
            _tidy_checkpoints(out_dir, _kept(history, config.keep_all_checkpoints))
            log(f"epoch {epoch}/{config.epochs}: train_loss {loss:.4f}  val_corr {val:.4f}  "
                f"({history[-1]['samples_per_s']:.1f} samples/s)")
    finally:
        torch.set_num_threads(threads)
    return _summary(out_dir, history, config, len(train_trials), len(val_trials), max(0, config.epochs - start))
