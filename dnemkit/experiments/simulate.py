"""Record the synthetic mouse: its Poisson responses to natural movies, in the Sensorium 2023 layout.

Tiers: most trials are 'train'; every 5th trial is an 'oracle' repeat of one movie (so repeat reliability can be
measured); the last trial (when there are at least 5) is an unlabeled 'final_test_main' trial whose responses
are all NaN, as in the real data. Every 4th trial is 20 frames longer than the rest, so NaN padding matters.
The ground-truth neuron properties are written beside the mouse folder as ``<mouse>.truth.nc``.
"""

from pathlib import Path

import numpy as np
import torch

from ..encoders.synthetic import SyntheticMouse, SyntheticMouseConfig, sample_responses, simulate_behavior
from ..errors import DnemkitError
from ..io.results import provenance, write_dataset
from ..stimuli.natural import natural_movie
from ..data.sensorium import write_mouse

ORACLE_MOVIE_SEED = 77_777


def mouse_folder_name(seed):
    return f"dynamic{10000 + seed}-0-0-Video-synthetic{seed:04d}"


def movie_seed(mouse_seed, trial):
    """Natural-movie seed of a simulated trial; disjoint from the held-out demo movies (seeds < 10000)."""
    return 1_000_000 + 1000 * mouse_seed + trial


def noise_ceiling(rates, counts, first_frame=50):
    """Mean over neurons of r(true rate, one Poisson sample), frames >= first_frame: the best single-trial r.

    rates, counts: (K, N, T) arrays; r per neuron over all trials' frames.
    """
    r = rates[..., first_frame:].transpose(1, 0, 2).reshape(rates.shape[1], -1)
    c = counts[..., first_frame:].transpose(1, 0, 2).reshape(counts.shape[1], -1)
    r, c = r - r.mean(1, keepdims=True), c - c.mean(1, keepdims=True)
    den = np.sqrt((r ** 2).sum(1) * (c ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.nanmean((r * c).sum(1) / den))


def simulate(out, seed=0, trials=20, n_neurons=None, frames=300, overwrite=False, progress=None, movie_base=None,
             oracle=True):
    """Write ``trials`` trials of the synthetic mouse ``seed`` under ``out``; returns a summary dict.

    movie_base: None = the movies of :func:`movie_seed` (those the shipped demo encoder was trained on, for
    seed 0); an integer = trial k shows movie ``movie_base + k`` and the oracle movie ``movie_base + 999_999``,
    movies no shipped model has seen (the embedded study's held-out data). oracle: False = no oracle repeats
    (every labelled trial its own movie)."""
    if trials < 2:
        raise DnemkitError(f"trials is {trials}; expected at least 2")
    if frames < 82:
        raise DnemkitError(f"frames is {frames}; expected at least 82 (windows end at >= 30, scores from 50)")
    oracle_repeats = oracle
    config = SyntheticMouseConfig() if n_neurons is None else SyntheticMouseConfig(n_neurons=n_neurons)
    mouse = SyntheticMouse(seed, config)
    rng = np.random.default_rng(seed)
    records, all_rates, all_counts = [], [], []
    for k in range(trials):
        oracle = oracle_repeats and k % 5 == 4
        unlabeled = trials >= 5 and k == trials - 1
        length = frames + (20 if k % 4 == 3 else 0)
        if movie_base is None:
            mseed = ORACLE_MOVIE_SEED + seed if oracle else movie_seed(seed, k)
        else:
            mseed = movie_base + 999_999 if oracle else movie_base + k
        video = natural_movie(seed=mseed, n_frames=length).values.astype(np.float32)
        behavior = simulate_behavior(length, rng, config)
        with torch.no_grad():
            rates = mouse(torch.from_numpy(video)[None], torch.from_numpy(behavior)[None])[0].numpy()
        counts = sample_responses(rates, np.random.default_rng(seed * 100_003 + k))
        if not unlabeled:
            all_rates.append(rates[:, :frames])
            all_counts.append(counts[:, :frames])
        records.append(dict(video=video, responses=None if unlabeled else counts, behavior=behavior[:2],
                            pupil_center=behavior[2:], tier="final_test_main" if unlabeled else
                            ("oracle" if oracle else "train")))
        if progress:
            progress(k + 1, trials)
    out = Path(out)
    name = mouse_folder_name(seed)
    coords = np.stack([mouse.properties_["center_x"], mouse.properties_["center_y"],
                       np.zeros(mouse.n_neurons)], axis=1).astype(np.float32)
    folder = write_mouse(out, name, records, unit_ids=np.arange(1, mouse.n_neurons + 1), coordinates=coords,
                         pad_to=frames + 20, overwrite=overwrite)
    truth = mouse.properties()
    ceiling = noise_ceiling(np.stack(all_rates), np.stack(all_counts))
    truth.attrs.update(provenance("synthetic_truth", config=dict(seed=seed, trials=trials, frames=frames,
                                                                 n_neurons=mouse.n_neurons),
                                  encoder=f"synthetic:{seed}", seed=seed, noise_ceiling=ceiling,
                                  mouse_folder=name))
    write_dataset(truth, out / f"{name}.truth.nc")
    return {"mouse": str(folder), "truth": str(out / f"{name}.truth.nc"), "trials": trials,
            "neurons": mouse.n_neurons, "noise_ceiling": ceiling}
