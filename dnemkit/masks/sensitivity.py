"""Sensitivity masks: where the encoder's responses depend on the pixels, from input gradients, in seconds.

For K built-in natural movies and random sign vectors w (w_n = +-1 over neurons), the gradient of
sum_n w_n r_n(t) / mean(r_n) with respect to the movie has, in expectation over w, the squared magnitude
sum_n |d r_n / d pixel|^2 / mean(r_n)^2 at every pixel and frame: one backward pass estimates the whole
population's gradient energy without one pass per neuron (the cross terms cancel in expectation). Its square
root, averaged over frames and movies and blurred (``blur_sigma`` px), is the sensitivity map s (36, 64).

Thresholds follow the alpha masks' coverage rules by mass. A CNN encoder has a low, diffuse sensitivity floor
over the whole screen (pooling, padding, strides) that would otherwise take most of the mass, so the screen's
median level is subtracted first (a population whose RFs cover less than half the screen has a median of ~0).
The training mask is the smallest set of pixels holding ``train_mass`` of the total sensitivity above that
floor, the evaluation mask the one holding ``eval_mass``. The map is
returned as a :class:`ScreenMask` (method 'sensitivity') whose level is 0.5 at the training threshold and 1 at the evaluation
threshold (linear in s), so it is used exactly like a trained alpha mask.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from ..errors import DnemkitError, check_generator
from .screen import ScreenMask


@dataclass(frozen=True)
class SensitivityConfig:
    """Options of :func:`sensitivity_mask`. Frames at 30 Hz, lengths in pixels, masses as fractions."""

    n_movies: int = 4
    frames: int = 64
    blur_sigma: float = 1.5
    train_mass: float = 0.95
    eval_mass: float = 0.75
    seed: int = 0

    def __post_init__(self):
        if self.n_movies < 1 or self.frames < 32:
            raise DnemkitError("a sensitivity mask needs at least 1 movie of at least 32 frames")
        if not 0 < self.eval_mass < self.train_mass <= 1:
            raise DnemkitError(f"masses are eval {self.eval_mass}, train {self.train_mass}; expected "
                               "0 < eval_mass < train_mass <= 1")

    def to_dict(self):
        return asdict(self)


def sensitivity_map(encoder, movies, rng, first_frame=0):
    """Population input sensitivity (36, 64) float64 of ``encoder`` around ``movies`` (K, T, 36, 64) 0..255.

    rng: the numpy Generator of the random neuron signs. Frames before ``first_frame`` (no full input history)
    leave the objective.
    """
    check_generator(rng)
    device = next((b.device for b in encoder.buffers()), torch.device("cpu"))
    energy = torch.zeros(movies.shape[-2:], dtype=torch.float64, device=device)
    for movie in movies:
        video = torch.as_tensor(np.asarray(movie, np.float32), device=device)[None].requires_grad_(True)
        rates = encoder(video)[0][:, first_frame:]  # (N, T')
        scale = rates.detach().mean(1, keepdim=True).clamp(min=1e-3)
        signs = torch.as_tensor(rng.choice([-1.0, 1.0], size=(rates.shape[0], 1)), dtype=rates.dtype,
                                device=device)
        (grad,) = torch.autograd.grad((signs * rates / scale).sum(), video)
        energy += grad[0].double().pow(2).sum(0)
    return (energy / len(movies)).sqrt().cpu().numpy()


def _mass_threshold(values, mass):
    """The value v such that pixels >= v hold ``mass`` of the total (the smallest such set)."""
    order = np.sort(values.ravel())[::-1]
    cumulative = np.cumsum(order) / order.sum()
    return order[min(np.searchsorted(cumulative, mass), len(order) - 1)]


def sensitivity_mask(encoder, config=SensitivityConfig()):
    """A :class:`ScreenMask` from the encoder's input sensitivity to built-in natural movies (see module doc)."""
    from ..stimuli.natural import natural_movie

    first = int(getattr(encoder, "first_valid_frame", 0))
    frames = max(config.frames, first + 32)
    movies = np.stack([natural_movie(seed=20_000 + config.seed * 100 + k, n_frames=frames).values
                       for k in range(config.n_movies)])
    s = gaussian_filter(sensitivity_map(encoder, movies, np.random.default_rng(config.seed), first), config.blur_sigma)
    s = np.clip(s - np.median(s), 0, None) if np.isfinite(s).all() else s
    if not np.isfinite(s).all() or s.max() <= 0:
        raise DnemkitError(f"{getattr(encoder, 'description', 'the encoder')}: its responses do not depend on "
                           "the movie (input gradient zero or not finite); expected an encoder that sees the video")
    s_train, s_eval = _mass_threshold(s, config.train_mass), _mass_threshold(s, config.eval_mass)
    level = 0.5 + 0.5 * (s - s_train) / max(s_eval - s_train, 1e-12 * s.max())
    return ScreenMask(level.astype(np.float32), "sensitivity", 0.5, 1.0)
