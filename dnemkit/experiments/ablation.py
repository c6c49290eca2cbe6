"""Population ablation runs (`characterize ablation`): reconstruct movies from nested neuron subsets, then the
statistics of :mod:`dnemkit.analysis.ablation`."""

import time

import numpy as np
import xarray as xr

from ..analysis.ablation import (DEFAULT_KEEP_FRACTIONS, MOVIE_SEED_OFFSET, SUBJECTS,  # noqa: F401
                                 ablation_statistics, check_keep_fractions, nested_subsets)
from ..analysis.metrics import frame_correlation, video_correlation
from ..encoders.base import members_of, select_models  # noqa: F401
from ..errors import DnemkitError
from ..reconstruction import ReconstructionConfig, reconstruct
from ..stimuli.geometry import HEIGHT, WIDTH
from .targets import predicted_targets, recorded_targets


def population_ablation(encoder, movies, responses, behavior=None, keep_fractions=DEFAULT_KEEP_FRACTIONS,
                        seeds=(0, 1), config=ReconstructionConfig(iterations=20), train_mask=None, eval_mask=None,
                        movie_ids=None, progress=True):
    """Reconstruct every movie from every keep-fraction x seed subset of neurons.

    encoder: an Encoder (an Ensemble reconstructs with every member; videos are averaged and smoothed).
    movies: (K, T, 36, 64) ground-truth videos; responses: (K, N, T) targets (recorded or predicted);
    behavior: (K, 4, T) or None (the encoder's defaults). keep_fractions: values in (0, 1]; seeds: subset seeds.
    config: ReconstructionConfig; train_mask / eval_mask: bool (36, 64) or None. movie_ids: labels of the
    ``movie`` dim (default 0..K-1).

    Returns an xr.Dataset with video_correlation and frame_correlation (keep_fraction, movie, seed) (of the
    smoothed ensemble reconstruction inside eval_mask, frames >= config.eval_first_frame), n_kept
    (keep_fraction), kept (keep_fraction, seed, neuron) bool, and timing attrs. No statistics
    (see :func:`ablation_statistics`).
    """
    fractions = check_keep_fractions(keep_fractions)
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    if not seeds or len(set(seeds)) != len(seeds):
        raise DnemkitError(f"seeds are {seeds}; expected one or more distinct integers")
    movies = np.asarray(movies, dtype=np.float32)
    if movies.ndim != 4 or movies.shape[2:] != (HEIGHT, WIDTH):
        raise DnemkitError(f"movies have shape {movies.shape}; expected (K, T, {HEIGHT}, {WIDTH})")
    responses = np.asarray(responses, dtype=np.float32)
    k, t = movies.shape[:2]
    n = int(encoder.n_neurons)
    if responses.shape != (k, n, t):
        raise DnemkitError(f"responses have shape {responses.shape}; expected ({k}, {n}, {t}) "
                           "(movies, the encoder's neurons, frames)")
    movie_ids = np.arange(k) if movie_ids is None else np.asarray(movie_ids)
    first = min(config.eval_first_frame, t - 1)

    vcorr = np.full((len(fractions), k, len(seeds)), np.nan)
    fcorr = np.full_like(vcorr, np.nan)
    kept = np.zeros((len(fractions), len(seeds), n), bool)
    subsets = {s: nested_subsets(n, fractions, s) for s in seeds}
    runs = {}  # subset key -> (fraction index, seed index) cells it fills
    for fi, f in enumerate(fractions):
        for si, s in enumerate(seeds):
            idx = subsets[s][f]
            kept[fi, si, idx] = True
            key = "all" if len(idx) == n else (f, s)
            runs.setdefault(key, []).append((fi, si))

    started = time.perf_counter()
    for number, (key, cells) in enumerate(runs.items()):
        fi, si = cells[0]
        idx = None if key == "all" else subsets[seeds[si]][fractions[fi]]
        label = "100 %" if key == "all" else f"{fractions[fi]:.4g} seed {seeds[si]}"
        result = reconstruct(encoder, responses, behavior, config, train_mask=train_mask, neurons=idx,
                             progress=progress, description=f"ablation {number + 1}/{len(runs)} ({label})")
        for j in range(k):
            r = video_correlation(movies[j], result.ensemble[j], eval_mask, first)
            fr = frame_correlation(movies[j], result.ensemble[j], eval_mask, first)
            for fi2, si2 in cells:
                vcorr[fi2, j, si2] = r
                fcorr[fi2, j, si2] = fr
    seconds = time.perf_counter() - started

    dims = ("keep_fraction", "movie", "seed")
    ds = xr.Dataset(
        {"video_correlation": (dims, vcorr), "frame_correlation": (dims, fcorr),
         "n_kept": ("keep_fraction", kept[:, 0].sum(1).astype(np.int64)),
         "kept": (("keep_fraction", "seed", "neuron"), kept)},
        coords={"keep_fraction": list(fractions), "movie": movie_ids, "seed": seeds, "neuron": np.arange(n)})
    ds["video_correlation"].attrs.update(units="1", long_name="video correlation (Pearson r over masked pixels x "
                                         f"frames >= {first}) of the smoothed ensemble reconstruction")
    ds["frame_correlation"].attrs.update(units="1", long_name="mean frame correlation")
    ds["n_kept"].attrs["long_name"] = "neurons in the loss"
    ds["kept"].attrs["long_name"] = "1 where the neuron enters the loss (nested subsets per seed)"
    ds["keep_fraction"].attrs["long_name"] = "fraction of the population in the loss"
    ds.attrs.update(reconstruction_calls=len(runs), frames=int(t),
                    subbatches_per_pass=config.subbatches_per_pass or "auto", first_eval_frame=int(first),
                    n_neurons=n, n_models=len(members_of(encoder)), seconds=round(seconds, 2),
                    subsets="nested per seed; ablated neurons leave the loss (reconstruct(neurons=...))",
                    batching="one reconstruct call per distinct (fraction, seed) subset, all movies batched; "
                             "the full population is reconstructed once for all seeds")
    return ds


def load_truth(ground_truth, encoder):
    """The ground-truth mouse (spec string or Encoder) whose Poisson responses are the recorded activity; it must
    predict the encoder's neurons. Returns (truth encoder, its name)."""
    from ..encoders import load_encoder

    truth = load_encoder(ground_truth)
    name = ground_truth if isinstance(ground_truth, str) else getattr(truth, "description", type(truth).__name__)
    if truth.n_neurons != encoder.n_neurons:
        raise DnemkitError(
            f"the encoder predicts {encoder.n_neurons} neurons but the ground truth '{name}' has "
            f"{truth.n_neurons}; expected the same neurons (or use --predicted)")
    return truth, name


def run_ablation(encoder="demo", mouse=None, keep_fractions=DEFAULT_KEEP_FRACTIONS, movies=3, seeds=2,
                 iterations=20, frames=150, ground_truth="synthetic", predicted=False, models=1, mask="auto",
                 subjects="movie", movie_seed=MOVIE_SEED_OFFSET, progress=True):
    """The `characterize ablation` pipeline; returns the dataset with statistics and provenance (kind 'ablation').

    encoder: spec or Encoder; movies: number of natural movies (seeds movie_seed, movie_seed + 1, ...); seeds:
    number of subset seeds (0..seeds-1); frames: movie length; ground_truth: spec of the mouse whose Poisson
    responses are the targets (must have the encoder's neurons) unless ``predicted`` (the encoder's own
    prediction); models: first K ensemble members (None = all); mask: 'auto' (the encoder's alpha mask), 'none',
    or a mask file (.nc / .npy).
    """
    from ..encoders import load_encoder
    from ..encoders.base import probe_encoder
    from ..io.results import provenance
    from ..stimuli.natural import natural_movie

    fractions = check_keep_fractions(keep_fractions)
    for value, name in ((movies, "movies"), (seeds, "seeds"), (iterations, "iterations"), (frames, "frames")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise DnemkitError(f"{name} is {value!r}; expected an integer >= 1")
    if subjects not in SUBJECTS:
        raise DnemkitError(f"subjects is {subjects!r}; expected one of {SUBJECTS}")
    spec = encoder if isinstance(encoder, str) else getattr(encoder, "description", type(encoder).__name__)
    config = ReconstructionConfig(iterations=int(iterations))
    if frames < config.subbatch_frames:
        raise DnemkitError(f"frames is {frames}; expected at least {config.subbatch_frames} (one sub-batch)")
    enc = select_models(load_encoder(encoder, mouse), models)
    truth, truth_name = (None, None) if predicted else load_truth(ground_truth, enc)
    probe_encoder(enc, need_grad=True)
    seeds_list = list(range(int(seeds)))
    movie_seeds = [int(movie_seed) + j for j in range(int(movies))]
    videos = np.stack([natural_movie(seed=s, n_frames=int(frames)).values for s in movie_seeds]).astype(np.float32)
    if predicted:
        responses, behavior = predicted_targets(enc, videos), None
        source = "the encoder's predicted activity"
    else:
        responses, behavior = recorded_targets(truth, videos, movie_seeds)
        source = f"Poisson responses of {truth_name} (simulated behaviour, seeded by the movie seed)"
    alpha = resolve_mask(mask, enc, encoder if isinstance(encoder, str) else None, mouse, progress)
    ds = population_ablation(enc, videos, responses, behavior, fractions, seeds_list, config,
                             None if alpha is None else alpha.train, None if alpha is None else alpha.eval,
                             movie_ids=movie_seeds, progress=progress)
    ds = ablation_statistics(ds, subjects)
    if alpha is not None:
        ds["train_mask"] = (("y", "x"), alpha.train.astype(np.uint8))
        ds["eval_mask"] = (("y", "x"), alpha.eval.astype(np.uint8))
    ds["movie"].attrs["long_name"] = "natural_movie seed"
    run_config = dict(config.to_dict(), keep_fractions=list(fractions), movies=int(movies), seeds=int(seeds),
                      frames=int(frames), ground_truth=truth_name, predicted=bool(predicted),
                      models=models, mask=str(mask), subjects=subjects, movie_seed=int(movie_seed))
    ds.attrs.update(provenance("ablation", run_config, spec, None, mouse="" if mouse is None else int(mouse),
                               targets=source, encoder_description=str(getattr(enc, "description", ""))))
    return ds


def resolve_mask(mask, encoder, spec, mouse=None, progress=True):
    """The mask service's answer (dnemkit.masks.resolve_mask: 'auto', 'alpha', 'sensitivity' or a file), or None
    for 'none' (every pixel). An encoder object without a spec gets an uncached sensitivity mask."""
    from ..masks import resolve_mask as resolve
    from ..masks import sensitivity_mask

    if mask is None or str(mask).lower() == "none":
        return None
    if spec is None and str(mask).lower() in ("auto", "sensitivity"):
        return sensitivity_mask(encoder)
    am, line = resolve(mask, encoder, spec if spec is not None else f"object-{type(encoder).__name__}", mouse,
                       progress=progress)
    if progress:
        print(line, flush=True)
    return am
