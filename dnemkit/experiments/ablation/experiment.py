"""Population ablation runs (`characterize ablation`): reconstruct movies from nested neuron subsets, then the
statistics of :mod:`dnemkit.analysis.ablation`.

The movies are the synthetic mouse's held-out natural movies (its Poisson responses as the recording: the embedded
default) or recorded trials of Sensorium-layout mouse folders (``data``; :func:`recorded_mice`, shared with
`characterize errormap`): the first ``trials`` labelled trials of the chosen tiers, or the named trial ids, of
every mouse, each mouse with its own encoder readout (:func:`mouse_encoders`).
"""

import time

import numpy as np
import xarray as xr

from ...analysis.ablation import (DEFAULT_KEEP_FRACTIONS, MOVIE_SEED_OFFSET, SUBJECTS,  # noqa: F401
                                 ablation_statistics, check_keep_fractions, nested_subsets)
from ...analysis.metrics import frame_correlation, video_correlation
from ...encoders.base import members_of
from ...errors import DnemkitError
from ...masks import resolve_mask
from ...reconstruction import reconstruct
from ...reconstruction.config import Execution, Recipe
from ...video import EVAL_FIRST_FRAME
from ...stimuli.geometry import HEIGHT, WIDTH
from ...errors import say
from ..contract import check_config, write_outputs
from ..recorded import load_truth, recorded_mice, skipped_attrs
from ..targets import predicted_targets, recorded_targets
from .config import AblationConfig
from ...units import DEGREE, DIMENSIONLESS

def population_ablation(encoder, movies, responses, behavior=None, *, keep_fractions=DEFAULT_KEEP_FRACTIONS,
                        seeds=(0, 1), recipe=Recipe(iterations=20), execution=Execution(), train_mask=None,
                        eval_mask=None, movie_ids=None, progress=True):
    """Reconstruct every movie from every keep-fraction x seed subset of neurons.

    encoder: an Encoder (an Ensemble reconstructs with every member; videos are averaged and smoothed).
    movies: (K, T, 36, 64) ground-truth videos; responses: (K, N, T) targets (recorded or predicted);
    behavior: (K, 4, T) or None (the encoder's defaults). keep_fractions: values in (0, 1]; seeds: subset seeds.
    recipe, execution: the reconstruction's Recipe and Execution; train_mask / eval_mask: bool (36, 64) or None. movie_ids: labels of the
    ``movie`` dim (default 0..K-1).

    Returns an xr.Dataset with video_correlation and frame_correlation (keep_fraction, movie, seed) (of the
    smoothed ensemble reconstruction inside eval_mask, frames >= 30), n_kept
    (keep_fraction), kept (keep_fraction, seed, neuron) bool, and timing attrs. No statistics
    (see :func:`ablation_statistics`).
    """
    fractions = check_keep_fractions(keep_fractions)
    seeds, movies, responses = _checked_inputs(encoder, seeds, movies, responses)
    k, t = movies.shape[:2]
    n = int(encoder.n_neurons)
    movie_ids = np.arange(k) if movie_ids is None else np.asarray(movie_ids)
    first = min(EVAL_FIRST_FRAME, t - 1)
    subsets, kept, runs = _plan_subsets(n, fractions, seeds)

    vcorr = np.full((len(fractions), k, len(seeds)), np.nan)
    fcorr = np.full_like(vcorr, np.nan)
    scored = np.zeros((len(fractions), len(seeds)), np.int64)  # the iteration whose videos were scored
    started = time.perf_counter()
    for number, (key, cells) in enumerate(runs.items()):
        fi, si = cells[0]
        idx = None if key == "all" else subsets[seeds[si]][fractions[fi]]
        label = "100 %" if key == "all" else f"{fractions[fi]:.4g} seed {seeds[si]}"
        result = reconstruct(encoder, responses, behavior, recipe, execution=execution, train_mask=train_mask,
                             neurons=idx, progress=progress, description=f"ablation {number + 1}/{len(runs)} ({label})")
        for fi2, si2 in cells:
            scored[fi2, si2] = result.iterations_run if result.stopped_at is None else result.stopped_at
        for j in range(k):
            r = video_correlation(movies[j], result.ensemble[j], mask=eval_mask, first_frame=first)
            fr = frame_correlation(movies[j], result.ensemble[j], mask=eval_mask, first_frame=first)
            for fi2, si2 in cells:  # the full population's one run fills every seed's cell
                vcorr[fi2, j, si2] = r
                fcorr[fi2, j, si2] = fr
    seconds = time.perf_counter() - started

    ds = _ablation_dataset(vcorr, fcorr, kept, fractions, movie_ids, seeds, first, scored)
    ds.attrs.update(reconstruction_calls=len(runs), frames=int(t),
                    subbatches_per_pass=execution.subbatches_per_pass or "auto", first_eval_frame=int(first),
                    n_neurons=n, n_models=len(members_of(encoder)), seconds=round(seconds, 2),
                    subsets="nested per seed; ablated neurons leave the loss (reconstruct(neurons=...))",
                    batching="one reconstruct call per distinct (fraction, seed) subset, all movies batched; "
                             "the full population is reconstructed once for all seeds")
    return ds


def _checked_inputs(encoder, seeds, movies, responses):
    """(seeds [int], movies (K, T, 36, 64) float32, responses (K, N, T) float32); DnemkitError for repeated or no
    seeds and for shapes that do not fit (N: the encoder's neurons)."""
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
    return seeds, movies, responses


def _plan_subsets(n, fractions, seeds):
    """The neuron subsets of every (fraction, seed) and the reconstructions they need.

    Returns (subsets {seed: {fraction: neuron indices}}, kept (fraction, seed, n) bool, runs {key: [(fraction
    index, seed index)]}): one run per distinct subset, keyed "all" for the full population (the same for every
    seed, so reconstructed once) and (fraction, seed) otherwise.
    """
    kept = np.zeros((len(fractions), len(seeds), n), bool)
    subsets = {s: nested_subsets(n, fractions=fractions, rng=np.random.default_rng(int(s))) for s in seeds}
    runs = {}  # subset key -> (fraction index, seed index) cells it fills
    for fi, f in enumerate(fractions):
        for si, s in enumerate(seeds):
            idx = subsets[s][f]
            kept[fi, si, idx] = True
            key = "all" if len(idx) == n else (f, s)
            runs.setdefault(key, []).append((fi, si))
    return subsets, kept, runs


def _ablation_dataset(vcorr, fcorr, kept, fractions, movie_ids, seeds, first, scored):
    """The Dataset of the correlations (keep_fraction, movie, seed), the subsets (``kept``: (keep_fraction,
    seed, neuron) bool) and the iteration each subset's scored videos come from (``scored``: (keep_fraction,
    seed)), scored over frames >= ``first``."""
    dims = ("keep_fraction", "movie", "seed")
    ds = xr.Dataset(
        {"video_correlation": (dims, vcorr), "frame_correlation": (dims, fcorr),
         "n_kept": ("keep_fraction", kept[:, 0].sum(1).astype(np.int64)),
         "kept": (("keep_fraction", "seed", "neuron"), kept),
         "iteration_scored": (("keep_fraction", "seed"), scored)},
        coords={"keep_fraction": list(fractions), "movie": movie_ids, "seed": seeds,
                "neuron": np.arange(kept.shape[2])})
    ds["video_correlation"].attrs.update(units=DIMENSIONLESS, long_name="video correlation (Pearson r over masked pixels x "
                                         f"frames >= {first}) of the smoothed ensemble reconstruction")
    ds["frame_correlation"].attrs.update(units=DIMENSIONLESS, long_name="mean frame correlation")
    ds["n_kept"].attrs["long_name"] = "neurons in the loss"
    ds["iteration_scored"].attrs.update(units=DIMENSIONLESS, long_name="iteration whose videos were scored (a "
                                        "stopper's choice; without one, the recipe's iterations)")
    ds["kept"].attrs["long_name"] = "True where the neuron enters the loss (nested subsets per seed)"
    ds["keep_fraction"].attrs.update(long_name="fraction of the population in the loss", units=DIMENSIONLESS)
    return ds


def run(config=None, *, out=None, progress=True, log=None):
    """The `characterize ablation` pipeline; returns the dataset with statistics and provenance (kind 'ablation').

    config: an :class:`AblationConfig` (None: the demo encoder). out: folder for ablation.nc and its figure
    (None: nothing written). log: receives one line saying where the mask came from (per mouse with recorded
    data).
    """
    config = check_config(config, AblationConfig)
    ds = _run_on_data(config, progress, log) if config.data is not None else _run_on_movies(config, progress, log)
    if out is not None:
        write_outputs(ds, out)
    return ds


def _run_on_movies(config, progress, log):
    """run on the ground-truth mouse's responses to held-out natural movies (or the encoder's predictions)."""
    from ...encoders.base import probe_encoder
    from ...io.results import provenance
    from ...stimuli.natural import natural_movie

    recipe = config.recipe
    ref = config.encoder
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
    mask, line = resolve_mask(config.mask, ref, progress=progress)
    say(log, line)
    ds = population_ablation(enc, videos, responses, behavior, keep_fractions=config.keep_fractions,
                             seeds=seeds_list, recipe=recipe, execution=config.execution, train_mask=mask.train,
                             eval_mask=mask.eval, movie_ids=movie_seeds, progress=progress)
    ds = ablation_statistics(ds, subjects=config.subjects or "movie")
    mask.attach_to(ds)
    ds["movie"].attrs["long_name"] = "natural_movie seed"
    run_config = dict(config.to_dict(), ground_truth=truth_name, subjects=config.subjects or "movie")
    ds.attrs.update(provenance("ablation", run_config, ref.name, None,
                               mouse="" if ref.mouse is None else int(ref.mouse), targets=source,
                               encoder_description=str(getattr(enc, "description", "")), mask_source=line))
    return ds


def _run_on_data(config, progress, log):
    """run on recorded clips: one population ablation per mouse (its encoder, mask and clips), the movie dims
    concatenated (coordinates mouse and trial), statistics over mice (or clips of one mouse)."""
    from ...encoders.base import probe_encoder
    from ...io.results import provenance

    recipe = config.recipe
    mice = recorded_mice(config.data, config.encoder, config.tiers, config.trials, config.trial_ids, config.frames,
                         recipe.subbatch_frames, labelled=not config.predicted, log=log)
    subjects = config.subjects or ("mouse" if len(mice) > 1 else "movie")
    if subjects == "mouse" and len(mice) < 2:
        raise DnemkitError(f"subjects is 'mouse' but --data holds 1 mouse ({mice[0][1].mouse}); expected a folder "
                           "of several mice, or subjects movie (its clips)")
    parts, lines, described = [], [], []
    for ref, clips, description in mice:
        enc = ref.encoder
        probe_encoder(enc, need_grad=True)
        responses = (predicted_targets(enc, clips.videos, clips.behavior) if config.predicted
                     else clips.responses)
        mask, line = resolve_mask(config.mask, ref, clips.folder, progress=progress)
        line = f"{clips.mouse}: {line}" if len(mice) > 1 else line
        say(log, line)
        part = population_ablation(enc, clips.videos, responses, clips.behavior,
                                   keep_fractions=config.keep_fractions, seeds=list(range(config.seeds)),
                                   recipe=recipe, execution=config.execution, train_mask=mask.train,
                                   eval_mask=mask.eval, movie_ids=np.arange(len(clips.trials)), progress=progress)
        part = part.assign_coords(mouse=("movie", [clips.mouse] * len(clips.trials)),
                                  trial=("movie", list(clips.trials)))
        parts.append((clips, mask, part))
        lines.append(line)
        described.append(f"{clips.mouse} -> {description}")
    ds = _combine_mice(parts)
    ds = ablation_statistics(ds, subjects=subjects)
    ds["movie"].attrs["long_name"] = "clip (recorded trial; see the mouse and trial coordinates)"
    kind = "the encoder's predicted activity for the recorded trials" if config.predicted else "recorded responses"
    source = (f"{kind} of {config.data} (tiers {', '.join(sorted(set(t for _, c, _ in mice for t in c.tiers)))}; "
              f"{ds.attrs['frames']} frames each)")
    run_config = dict(config.to_dict(), subjects=subjects)
    ds.attrs.update(provenance("ablation", run_config, mice[0][0].name, None,
                               mouse="" if config.encoder.mouse is None else int(config.encoder.mouse),
                               targets=source, data=config.data, mice=len(mice), encoders="; ".join(described),
                               encoder_description=str(getattr(mice[0][0].encoder, "description", "")),
                               mask_source=" | ".join(lines), **skipped_attrs([c for _, c, _ in mice])))
    return ds


def _combine_mice(parts):
    """One dataset of the per-mouse ablations [(clips, ScreenMask, ds)]: the first's layout for one mouse; for
    several, correlations concatenated along movie (its ``mouse`` coordinate names each clip's mouse), n_kept
    (mouse_folder, keep_fraction), kept (mouse_folder, keep_fraction, seed, neuron) (False beyond a mouse's
    neurons), masks (mouse_folder, y, x) and their sizes in degrees per mouse (variables ``<mask>_<size>``)."""
    if len(parts) == 1:
        clips, mask, ds = parts[0]
        mask.attach_to(ds)
        return ds
    from ...masks.screen import size_attrs

    names = [clips.mouse for clips, _, _ in parts]
    scores = xr.concat([ds[["video_correlation", "frame_correlation"]] for _, _, ds in parts], dim="movie")
    scores = scores.assign_coords(movie=np.arange(scores.sizes["movie"]))
    n = max(ds.sizes["neuron"] for _, _, ds in parts)
    kept = np.zeros((len(parts), *parts[0][2]["kept"].shape[:2], n), bool)
    for i, (_, _, ds) in enumerate(parts):
        kept[i, ..., :ds.sizes["neuron"]] = ds["kept"].values
    out = scores.assign(
        n_kept=(("mouse_folder", "keep_fraction"), np.stack([ds["n_kept"].values for _, _, ds in parts])),
        kept=(("mouse_folder", "keep_fraction", "seed", "neuron"), kept),
        iteration_scored=(("mouse_folder", "keep_fraction", "seed"),
                          np.stack([ds["iteration_scored"].values for _, _, ds in parts])))
    out = out.assign_coords(mouse_folder=names, neuron=np.arange(n))
    for name, pick in (("mask_level", lambda a: a.level), ("train_mask", lambda a: a.train),
                       ("eval_mask", lambda a: a.eval)):
        out[name] = (("mouse_folder", "y", "x"), np.stack([pick(mask) for _, mask, _ in parts]))
    for name in ("train_mask", "eval_mask"):
        for key in ("diameter_deg", "equivalent_diameter_deg", "horizontal_extent_deg", "vertical_extent_deg"):
            values = [size_attrs(getattr(mask, name.split("_")[0]))[key] for _, mask, _ in parts]
            out[f"{name}_{key}"] = ("mouse_folder", np.array(values, float), {"units": DEGREE})
    for var in ("video_correlation", "frame_correlation", "n_kept", "kept", "iteration_scored"):
        out[var].attrs.update(parts[0][2][var].attrs)
    first = parts[0][2].attrs
    out.attrs.update({k: v for k, v in first.items() if k not in ("seconds", "reconstruction_calls", "n_neurons")})
    out.attrs.update(seconds=round(sum(ds.attrs["seconds"] for _, _, ds in parts), 2),
                     reconstruction_calls=sum(ds.attrs["reconstruction_calls"] for _, _, ds in parts),
                     n_neurons=", ".join(str(ds.attrs["n_neurons"]) for _, _, ds in parts),
                     frames=", ".join(dict.fromkeys(str(ds.attrs["frames"]) for _, _, ds in parts)))
    return out
