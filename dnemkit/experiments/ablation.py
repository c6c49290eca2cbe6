"""Population ablation runs (`characterize ablation`): reconstruct movies from nested neuron subsets, then the
statistics of :mod:`dnemkit.analysis.ablation`."""

import time
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..analysis.ablation import (DEFAULT_KEEP_FRACTIONS, MOVIE_SEED_OFFSET, SUBJECTS,  # noqa: F401
                                 ablation_statistics, check_keep_fractions, nested_subsets)
from ..analysis.metrics import frame_correlation, video_correlation
from ..encoders.base import members_of
from ..encoders.ref import EncoderRef
from ..errors import DnemkitError, check_int
from ..masks import resolve_mask
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


def paper_recipe(iterations, frames):
    """The paper's ReconstructionConfig at ``iterations``; DnemkitError unless ``frames`` hold one sub-batch."""
    config = ReconstructionConfig(iterations=iterations)
    if frames < config.subbatch_frames:
        raise DnemkitError(f"frames is {frames}; expected at least {config.subbatch_frames} (one sub-batch)")
    return config


@dataclass(frozen=True)
class AblationConfig:
    """Options of one population ablation (`characterize ablation`), checked once here.

    encoder, mouse, models: the encoder (spec or Encoder), its readout and the first K ensemble members (None =
    all). keep_fractions: fractions of the population kept, in (0, 1] (sorted large to small). movies: number of
    natural movies (seeds movie_seed, movie_seed + 1, ...), seeds: number of subset seeds (0..seeds-1), each
    >= 1; frames: movie length (>= one sub-batch); iterations: reconstruction iterations (the paper's recipe).
    ground_truth: spec of the mouse whose Poisson responses are the targets (it must predict the encoder's
    neurons) unless ``predicted`` (the encoder's own prediction). mask: 'auto', 'alpha', 'sensitivity', 'none'
    or a mask file (dnemkit.masks). subjects: the repeated-measures subjects, 'movie' or 'movie_seed'.
    """

    encoder: object = "demo"
    mouse: int | None = None
    models: int | None = 1
    keep_fractions: tuple = DEFAULT_KEEP_FRACTIONS
    movies: int = 3
    seeds: int = 2
    iterations: int = 20
    frames: int = 150
    ground_truth: object = "synthetic"
    predicted: bool = False
    mask: object = "auto"
    subjects: str = "movie"
    movie_seed: int = MOVIE_SEED_OFFSET

    def __post_init__(self):
        object.__setattr__(self, "keep_fractions", check_keep_fractions(self.keep_fractions))
        for name in ("movies", "seeds", "iterations", "frames"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        if self.subjects not in SUBJECTS:
            raise DnemkitError(f"subjects is {self.subjects!r}; expected one of {SUBJECTS}")
        paper_recipe(self.iterations, self.frames)

    @property
    def reconstruction(self):
        """The ReconstructionConfig of every reconstruction: the paper's recipe at ``iterations``."""
        return paper_recipe(self.iterations, self.frames)


def run_ablation(config=None, progress=True, log=None):
    """The `characterize ablation` pipeline; returns the dataset with statistics and provenance (kind 'ablation').

    config: an :class:`AblationConfig` (default: the demo encoder). log: called with one line saying where the
    mask came from.
    """
    from ..encoders.base import probe_encoder
    from ..io.results import provenance
    from ..stimuli.natural import natural_movie

    config = config if config is not None else AblationConfig()
    if not isinstance(config, AblationConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected an AblationConfig")
    recon = config.reconstruction
    ref = EncoderRef(config.encoder, config.mouse, config.models)
    enc = ref.encoder
    truth, truth_name = (None, None) if config.predicted else load_truth(config.ground_truth, enc)
    probe_encoder(enc, need_grad=True)
    seeds_list = list(range(config.seeds))
    movie_seeds = [int(config.movie_seed) + j for j in range(config.movies)]
    videos = np.stack([natural_movie(seed=s, n_frames=config.frames).values for s in movie_seeds]).astype(np.float32)
    if config.predicted:
        responses, behavior = predicted_targets(enc, videos), None
        source = "the encoder's predicted activity"
    else:
        responses, behavior = recorded_targets(truth, videos, movie_seeds)
        source = f"Poisson responses of {truth_name} (simulated behaviour, seeded by the movie seed)"
    alpha, line = resolve_mask(config.mask, ref, progress=progress)
    if log is not None:
        log(line)
    ds = population_ablation(enc, videos, responses, behavior, config.keep_fractions, seeds_list, recon,
                             alpha.train, alpha.eval, movie_ids=movie_seeds, progress=progress)
    ds = ablation_statistics(ds, config.subjects)
    alpha.attach_to(ds)
    ds["movie"].attrs["long_name"] = "natural_movie seed"
    run_config = dict(recon.to_dict(), keep_fractions=list(config.keep_fractions), movies=config.movies,
                      seeds=config.seeds, frames=config.frames, ground_truth=truth_name,
                      predicted=bool(config.predicted), models=config.models, mask=str(config.mask),
                      subjects=config.subjects, movie_seed=int(config.movie_seed))
    ds.attrs.update(provenance("ablation", run_config, ref.name, None,
                               mouse="" if config.mouse is None else int(config.mouse), targets=source,
                               encoder_description=str(getattr(enc, "description", "")), mask_source=line))
    return ds
