"""Alpha (transparency) masks: where on the screen the encoder looks (docs/method.md, "Masks").

A mask alpha (36 x 64, unbounded) is learned so that showing ``video * a + other_video * (1 - a)``
(a = clip(alpha, 0, 1)) still gives the responses to ``video``: pixels the neurons see must stay, the rest may
be replaced. Training mask = alpha >= 0.5 (gradients outside are zeroed during reconstruction); evaluation
mask = alpha >= 1 (metrics are computed inside it). Every mask, however it was made (the paper's training here,
the input-gradient sensitivity of :mod:`dnemkit.masks.sensitivity`), is a :class:`dnemkit.masks.screen.ScreenMask`.

The reference trains the 64 x 64 input plane; rows outside the movie (padding) never carry a stimulus, so
dnemkit learns the 36 x 64 movie region only.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from tqdm.auto import tqdm

from ..errors import DnemkitError
from ..stimuli.geometry import HEIGHT, WIDTH
from .screen import ScreenMask


@dataclass(frozen=True)
class MaskConfig:
    """Alpha-mask training options (the paper's recipe). Lengths in frames / pixels."""

    iterations: int = 1000
    lr: float = 10.0
    init_high: float = 0.05
    first_frame: int = 50
    frames: int = 32
    blur_sigma: float = 5.0
    train_threshold: float = 0.5
    eval_threshold: float = 1.0
    n_movies: int = 8  #: built-in natural movies used when the encoder has no dataset
    seed: int = 0

    def __post_init__(self):
        if self.iterations < 1:
            raise DnemkitError(f"iterations is {self.iterations}; expected at least 1")

    def to_dict(self):
        return asdict(self)


def train_alpha_mask(encoder, clips, targets, behaviors=None, config=MaskConfig(), progress=True):
    """Learn the paper's alpha mask (a :class:`ScreenMask` with method 'alpha').

    clips: (K, F, 36, 64) movies (frames 50..81 of K trials); targets: (K, N, F) responses to them (recorded, or
    the encoder's predictions); behaviors: (K, 4, F) or None. Each iteration draws one clip and a second one
    as the background, predicts the blend, takes the MSE to the clip's targets, normalises the gradient w.r.t.
    the (per-frame) mask by its L2 norm, clips it to +-1, averages over frames, blurs it (sigma 5 px) and steps.
    """
    rng = np.random.default_rng(config.seed)
    k = clips.shape[0]
    if k < 2:
        raise DnemkitError("mask training needs at least 2 movies (one is shown, another is the background)")
    alpha = torch.tensor(rng.uniform(0, config.init_high, (HEIGHT, WIDTH)), dtype=torch.float32)
    device = next((b.device for b in encoder.buffers()), torch.device("cpu"))
    clips, targets = torch.as_tensor(clips).to(device), torch.as_tensor(targets).to(device)
    for _ in tqdm(range(config.iterations), desc="alpha mask", disable=not progress, leave=False):
        i, j = rng.choice(k, 2, replace=False)
        a = alpha.to(device).expand(clips.shape[1], HEIGHT, WIDTH).clone().requires_grad_(True)
        shown = a.clamp(0, 1)
        blend = clips[i] * shown + clips[j] * (1 - shown)
        beh = None if behaviors is None else torch.as_tensor(behaviors[i:i + 1]).to(device)
        pred = encoder(blend[None], beh)[0]
        loss = torch.mean((pred - targets[i]) ** 2)
        (g,) = torch.autograd.grad(loss, a)
        g = (g / (g.norm() + 1e-12)).clamp(-1, 1).mean(0).cpu().numpy()
        alpha -= config.lr * torch.from_numpy(gaussian_filter(g, config.blur_sigma)).float()
    return ScreenMask(alpha.numpy(), "alpha", config.train_threshold, config.eval_threshold)


def builtin_clips(encoder, config=MaskConfig()):
    """(clips, targets) from built-in natural movies and the encoder's own predictions (no dataset needed)."""
    from ..stimuli.natural import natural_movie

    last = config.first_frame + config.frames
    movies = np.stack([natural_movie(seed=10_000 + s, n_frames=last).values for s in range(config.n_movies)])
    clips = torch.from_numpy(movies[:, config.first_frame:last].astype(np.float32))
    with torch.no_grad():
        targets = encoder(clips.to(next((b.device for b in encoder.buffers()), "cpu"))).cpu()
    return clips, targets, None


def dataset_clips(mouse, config=MaskConfig()):
    """(clips, targets, behaviors) from the labelled trials of a Sensorium mouse: frames 50..81 of each."""
    last = config.first_frame + config.frames
    clips, targets, behaviors = [], [], []
    for tid in mouse.trial_ids:
        trial = mouse.trial(tid)
        if trial.responses is None or trial.length < last:
            continue
        clips.append(trial.video[config.first_frame:last])
        targets.append(trial.responses[:, config.first_frame:last])
        behaviors.append(trial.behavior4[:, config.first_frame:last])
    if len(clips) < 2:
        raise DnemkitError(f"mouse {mouse.name} has fewer than 2 labelled trials of >= {last} frames; "
                           "expected at least 2 to train a mask")
    return (torch.from_numpy(np.stack(clips)), torch.from_numpy(np.stack(targets)),
            torch.from_numpy(np.stack(behaviors)))


