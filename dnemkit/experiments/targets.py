"""Reconstruction targets: recorded responses, Poisson samples of a ground-truth mouse, predicted activity; and
the one neuron-subset rule every command uses (so `natural --keep-fraction` and `ablation` drop the same
neurons for the same seed)."""

import numpy as np

from ..analysis.ablation import nested_subsets
from ..encoders.responses import predict_responses
from ..encoders.synthetic import SyntheticMouse, sample_responses, simulate_behavior
from ..errors import DnemkitError


def neuron_subset(n_neurons, keep_fraction, rng):
    """Sorted int64 indices of the first round(keep_fraction * n) (at least 1) neurons of one permutation drawn from
    the numpy Generator ``rng``, or None for keep_fraction 1 (every neuron). Subsets drawn from equal generators are
    nested: smaller ones lie inside larger."""
    if keep_fraction == 1:  # nested_subsets checks the fraction
        return None
    return nested_subsets(n_neurons, fractions=[keep_fraction], rng=rng)[keep_fraction]


def predicted_targets(encoder, videos, behavior=None, device=None):
    """The encoder's predicted activity (K, N, T) float32 numpy for movies (K, T, 36, 64), one movie per pass
    (:func:`dnemkit.encoders.responses.predict_responses`).

    behavior: (K, 4, T) or None (the encoder's defaults). An ensemble predicts its members' mean. device: where
    the movies go (None: the encoder's).
    """
    return predict_responses(encoder, videos, behavior, batch=1, device=device)


def synthetic_recording(video, seed, n_neurons, mouse_seed=0):
    """Poisson responses (N, T) of the synthetic mouse ``mouse_seed`` to ``video`` (T, 36, 64), with simulated
    behaviour (4, T): what the embedded demo treats as a recording. Returns (responses, behavior, description).

    seed: the recording's identity (an int): the behaviour and the Poisson draw each come from a Generator of it."""
    truth = SyntheticMouse(mouse_seed)
    if truth.n_neurons != n_neurons:
        raise DnemkitError(
            f"the encoder predicts {n_neurons} neurons but the synthetic mouse (the default source of "
            f"recorded responses) has {truth.n_neurons}; use --predicted, or --data DIR --trial ID")
    behavior = simulate_behavior(len(video), np.random.default_rng(seed))
    rates = predicted_targets(truth, np.asarray(video)[None], behavior[None])[0]
    return sample_responses(rates, np.random.default_rng(seed)), behavior, f"synthetic:{mouse_seed} Poisson responses"


def recorded_targets(truth, movies, movie_seeds):
    """Poisson responses (K, N, T) of the ground-truth mouse ``truth`` (an Encoder) to ``movies`` (K, T, 36, 64),
    with simulated behaviour (K, 4, T); both seeded by each movie's seed."""
    behavior = np.stack([simulate_behavior(movies.shape[1], np.random.default_rng(int(s))) for s in movie_seeds])
    rates = predict_responses(truth, movies, behavior)  # every movie in one pass
    responses = np.stack([sample_responses(rates[j], np.random.default_rng(int(s))) for j, s in enumerate(movie_seeds)])
    return responses, behavior
