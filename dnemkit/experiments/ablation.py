"""Population ablation runs (`characterize ablation`): reconstruct movies from nested neuron subsets, then the
statistics of :mod:`dnemkit.analysis.ablation`.

The movies are the synthetic mouse's held-out natural movies (its Poisson responses as the recording: the embedded
default) or recorded trials of Sensorium-layout mouse folders (``data``; :func:`recorded_mice`, shared with
`characterize errormap`): the first ``trials`` labelled trials of the chosen tiers, or the named trial ids, of
every mouse, each mouse with its own encoder readout (:func:`mouse_encoders`).
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

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

#: tiers the recorded clips are drawn from by default: the held-out ones (as `characterize natural` picks)
DEFAULT_TIERS = ("oracle", "live_test_main", "final_test_main")


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


@dataclass(frozen=True)
class RecordedClips:
    """The recorded clips of one mouse, cut to a common length T.

    mouse: folder name; folder: its path; trials: trial ids (K,); tiers: their tiers (K,); videos: float32
    (K, T, 36, 64) grey levels; responses: float32 (K, N, T) counts/frame, or None where unlabelled trials were
    allowed (predicted targets); behavior: float32 (K, 4, T) (pupil dilation, running speed, pupil x, y).
    """

    mouse: str
    folder: str
    trials: tuple
    tiers: tuple
    videos: np.ndarray = field(repr=False)
    responses: np.ndarray | None = field(repr=False)
    behavior: np.ndarray = field(repr=False)

    @property
    def frames(self):
        return int(self.videos.shape[1])


def check_data_options(data, tiers, trials, trial_ids, default_trials=None):
    """Normalised (tiers, trials, trial_ids) of a recorded-data run; DnemkitError for options without ``data`` or
    malformed ones. tiers: str or strings (comma-separated allowed); trials: int >= 1 or None (with ``data`` and no
    ids: ``default_trials``); trial_ids: ints."""
    ids = tuple(int(check_int(t, "trial id", 0)) for t in (trial_ids or ()))
    if len(set(ids)) != len(ids):
        raise DnemkitError(f"trial ids {list(ids)} repeat; expected distinct trial ids")
    if trials is not None:
        trials = check_int(trials, "trials", 1)
    if isinstance(tiers, str):
        tiers = tiers.split(",")
    tiers = tuple(t.strip() for t in (tiers or ()) if str(t).strip())
    if data is None:
        if ids or trials is not None:
            raise DnemkitError("--trial/--trials were given without --data; expected --data ROOT (a Sensorium "
                               "mouse folder or a folder of them) with them")
        return tiers, trials, ids
    if ids and trials is not None:
        raise DnemkitError("--trials and --trial were both given; expected one: the first N labelled trials of the "
                           "tiers, or the trial ids")
    if not tiers and not ids:
        raise DnemkitError("--tier is empty; expected tier names such as oracle,train")
    if trials is None and not ids:
        trials = default_trials
    return tiers, trials, ids


def open_mice(data):
    """The Sensorium mice of ``data``: a mouse folder (one mouse) or a folder of mouse folders (sorted by name)."""
    from ..data import find_mouse, open_dataset
    from ..data.sensorium import _is_mouse_folder

    path = Path(data)
    return [find_mouse(path)] if path.is_dir() and _is_mouse_folder(path) else open_dataset(path)


def select_trials(mouse, tiers, trials, trial_ids, labelled=True):
    """Trial ids of ``mouse``: ``trial_ids`` as given (each must exist and, with ``labelled``, hold responses), or
    the first ``trials`` labelled trials (by id) of ``tiers``. DnemkitError naming the mouse otherwise."""
    if trial_ids:
        for tid in trial_ids:
            trial = mouse.trial(tid)
            if labelled and trial.responses is None:
                raise DnemkitError(f"trial {tid} of {mouse.name} has no recorded responses ({trial.tier}); "
                                   "expected a labelled trial (or use --predicted)")
        return list(trial_ids)
    candidates = mouse.trials(list(tiers))
    picked = []
    for tid in candidates:
        if len(picked) == trials:
            break
        if not labelled or mouse.trial(tid).responses is not None:
            picked.append(tid)
    if len(picked) < trials:
        raise DnemkitError(f"mouse {mouse.name} has {len(picked)} labelled trial(s) in tier(s) {', '.join(tiers)}; "
                           f"expected at least {trials} (--trials), or pick other tiers with --tier or ids with "
                           "--trial")
    return picked


def load_clips(mouse, trial_ids, frames, min_frames, labelled=True):
    """:class:`RecordedClips` of ``trial_ids``, each cut to T = min(frames, the shortest trial) frames (>=
    ``min_frames``); DnemkitError for NaN inside a used response or a too short trial."""
    trials = [mouse.trial(t) for t in trial_ids]
    t = min([int(frames)] + [tr.length for tr in trials])
    if t < min_frames:
        short = min(trials, key=lambda tr: tr.length)
        raise DnemkitError(f"trial {short.id} of {mouse.name} has {short.length} frames; expected at least "
                           f"{min_frames} (one sub-batch)")
    responses = None
    if labelled:
        responses = np.stack([tr.responses[:, :t] for tr in trials])
        bad = ~np.isfinite(responses)
        if bad.any():
            k, n, f = np.argwhere(bad)[0]
            raise DnemkitError(f"{mouse.name} trial {trials[k].id}: data/responses/{trials[k].id}.npy has NaN/inf "
                               f"inside the trial (neuron {n}, frame {f}); expected finite responses")
    return RecordedClips(mouse.name, str(mouse.path), tuple(int(tr.id) for tr in trials),
                         tuple(tr.tier for tr in trials), np.stack([tr.video[:t] for tr in trials]), responses,
                         np.stack([tr.behavior4[:, :t] for tr in trials]))


def mouse_encoders(encoder, mouse_arg, models, mice):
    """[(EncoderRef, description)] of the encoder that predicts each mouse of ``mice`` (SensoriumMouse objects),
    mapped as `characterize study` maps them (:func:`dnemkit.experiments.study.plan.readout_refs`).

    ``encoder == 'synthetic'``: each folder `characterize simulate` wrote (its name gives the seed) uses its own
    ground truth, synthetic:SEED with the folder's neuron count (as simulate drew it). Another spec: one mouse
    folder uses the ``mouse_arg`` readout; several mice use the readouts their names have in the encoder's
    ``encoder.json`` ("mice", in readout order). An Encoder object predicts every mouse.
    """
    if not isinstance(encoder, (str, Path)):
        ref = EncoderRef(encoder, mouse_arg, models)
        return [(ref, ref.name)] * len(mice)
    spec = str(encoder).strip()
    if len(mice) > 1 and mouse_arg is not None:
        raise DnemkitError(f"--mouse {mouse_arg} picks one readout but --data holds {len(mice)} mice; expected one "
                           "mouse folder (--data ROOT/NAME) with --mouse, or no --mouse")
    from types import SimpleNamespace

    from .study.plan import readout_refs

    try:
        refs = readout_refs(mice, SimpleNamespace(encoder=spec, models=models, mouse=mouse_arg, mouse_map=()))
    except DnemkitError:
        if len(mice) == 1 or spec.startswith("synthetic"):
            raise
        raise DnemkitError(f"--data holds {len(mice)} mice but encoder {spec!r} does not name them (an encoder "
                           "folder's encoder.json 'mice' gives each mouse folder its readout); expected one mouse "
                           "folder (--data ROOT/NAME, --mouse K for its readout), or such an encoder") from None
    return [(refs[m.name][0], f"{spec}: {refs[m.name][1]}") for m in mice]


def recorded_mice(data, encoder, mouse_arg, models, tiers, trials, trial_ids, frames, min_frames, labelled=True):
    """[(EncoderRef, RecordedClips, encoder description)] for every mouse of ``data``, all checked before any
    reconstruction: the clips exist and are labelled (unless not ``labelled``), and each mouse's encoder predicts
    as many neurons as the mouse has (one DnemkitError naming the mouse otherwise)."""
    mice = open_mice(data)
    out = []
    for mouse, (ref, described) in zip(mice, mouse_encoders(encoder, mouse_arg, models, mice)):
        ids = select_trials(mouse, tiers, trials, trial_ids, labelled)
        n = int(ref.encoder.n_neurons)
        if n != mouse.n_neurons:
            raise DnemkitError(f"the encoder {described} predicts {n} neurons but mouse {mouse.name} has "
                               f"{mouse.n_neurons}; expected the same neurons (another --encoder or --mouse readout)")
        out.append((ref, ids, described, mouse))
    return [(ref, load_clips(mouse, ids, frames, min_frames, labelled), described)
            for ref, ids, described, mouse in out]


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
    or a mask file (dnemkit.masks). subjects: the repeated-measures subjects, 'movie' (movies or clips),
    'movie_seed' or 'mouse'; None: mice when the data hold several, else movies (clips).

    data: a Sensorium mouse folder or a folder of them: recorded trials replace the natural movies and the ground
    truth (``movies``, ``movie_seed`` and ``ground_truth`` are then unused). Each mouse uses the first ``trials``
    (default 3) labelled trials of ``tiers`` (by id) or the ``trial_ids``, cut to min(``frames``, the shortest
    one); its encoder: :func:`mouse_encoders`.
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
    subjects: str | None = None
    movie_seed: int = MOVIE_SEED_OFFSET
    data: str | None = None
    tiers: tuple = DEFAULT_TIERS
    trials: int | None = None
    trial_ids: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "keep_fractions", check_keep_fractions(self.keep_fractions))
        for name in ("movies", "seeds", "iterations", "frames"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        if self.subjects is not None and self.subjects not in SUBJECTS:
            raise DnemkitError(f"subjects is {self.subjects!r}; expected one of {SUBJECTS}")
        if self.subjects == "mouse" and self.data is None:
            raise DnemkitError("subjects is 'mouse' without --data; expected recorded mice (--data ROOT) for it")
        data = None if self.data is None else str(self.data)
        tiers, trials, ids = check_data_options(data, self.tiers, self.trials, self.trial_ids, default_trials=3)
        for name, value in (("data", data), ("tiers", tiers), ("trials", trials), ("trial_ids", ids)):
            object.__setattr__(self, name, value)
        paper_recipe(self.iterations, self.frames)

    @property
    def reconstruction(self):
        """The ReconstructionConfig of every reconstruction: the paper's recipe at ``iterations``."""
        return paper_recipe(self.iterations, self.frames)


def run_ablation(config=None, progress=True, log=None):
    """The `characterize ablation` pipeline; returns the dataset with statistics and provenance (kind 'ablation').

    config: an :class:`AblationConfig` (default: the demo encoder). log: called with one line saying where the
    mask came from (per mouse with recorded data).
    """
    from ..encoders.base import probe_encoder
    from ..io.results import provenance
    from ..stimuli.natural import natural_movie

    config = config if config is not None else AblationConfig()
    if not isinstance(config, AblationConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected an AblationConfig")
    if config.data is not None:
        return _run_on_data(config, progress, log)
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
    ds = ablation_statistics(ds, config.subjects or "movie")
    alpha.attach_to(ds)
    ds["movie"].attrs["long_name"] = "natural_movie seed"
    run_config = dict(recon.to_dict(), keep_fractions=list(config.keep_fractions), movies=config.movies,
                      seeds=config.seeds, frames=config.frames, ground_truth=truth_name,
                      predicted=bool(config.predicted), models=config.models, mask=str(config.mask),
                      subjects=config.subjects or "movie", movie_seed=int(config.movie_seed))
    ds.attrs.update(provenance("ablation", run_config, ref.name, None,
                               mouse="" if config.mouse is None else int(config.mouse), targets=source,
                               encoder_description=str(getattr(enc, "description", "")), mask_source=line))
    return ds


def _run_on_data(config, progress, log):
    """run_ablation on recorded clips: one population ablation per mouse (its encoder, mask and clips), the
    movie dims concatenated (coordinates mouse and trial), statistics over mice (or clips of one mouse)."""
    from ..encoders.base import probe_encoder
    from ..io.results import provenance

    recon = config.reconstruction
    mice = recorded_mice(config.data, config.encoder, config.mouse, config.models, config.tiers, config.trials,
                         config.trial_ids, config.frames, recon.subbatch_frames, labelled=not config.predicted)
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
        alpha, line = resolve_mask(config.mask, ref, clips.folder, progress=progress)
        line = f"{clips.mouse}: {line}" if len(mice) > 1 else line
        if log is not None:
            log(line)
        part = population_ablation(enc, clips.videos, responses, clips.behavior, config.keep_fractions,
                                   list(range(config.seeds)), recon, alpha.train, alpha.eval,
                                   movie_ids=np.arange(len(clips.trials)), progress=progress)
        part = part.assign_coords(mouse=("movie", [clips.mouse] * len(clips.trials)),
                                  trial=("movie", list(clips.trials)))
        parts.append((clips, alpha, part))
        lines.append(line)
        described.append(f"{clips.mouse} -> {description}")
    ds = _combine_mice(parts)
    ds = ablation_statistics(ds, subjects)
    ds["movie"].attrs["long_name"] = "clip (recorded trial; see the mouse and trial coordinates)"
    kind = "the encoder's predicted activity for the recorded trials" if config.predicted else "recorded responses"
    source = (f"{kind} of {config.data} (tiers {', '.join(sorted(set(t for _, c, _ in mice for t in c.tiers)))}; "
              f"{ds.attrs['frames']} frames each)")
    run_config = dict(recon.to_dict(), keep_fractions=list(config.keep_fractions), seeds=config.seeds,
                      frames=config.frames, predicted=bool(config.predicted), models=config.models,
                      mask=str(config.mask), subjects=subjects, data=config.data, tiers=list(config.tiers),
                      trials=config.trials, trial_ids=list(config.trial_ids))
    ds.attrs.update(provenance("ablation", run_config, mice[0][0].name, None,
                               mouse="" if config.mouse is None else int(config.mouse), targets=source,
                               data=config.data, mice=len(mice), encoders="; ".join(described),
                               encoder_description=str(getattr(mice[0][0].encoder, "description", "")),
                               mask_source=" | ".join(lines)))
    return ds


def _combine_mice(parts):
    """One dataset of the per-mouse ablations [(clips, AlphaMask, ds)]: the first's layout for one mouse; for
    several, correlations concatenated along movie (its ``mouse`` coordinate names each clip's mouse), n_kept
    (mouse_folder, keep_fraction), kept (mouse_folder, keep_fraction, seed, neuron) (False beyond a mouse's
    neurons), masks (mouse_folder, y, x) and their sizes in degrees per mouse (variables ``<mask>_<size>``)."""
    if len(parts) == 1:
        clips, alpha, ds = parts[0]
        alpha.attach_to(ds)
        return ds
    from ..masks.alpha import size_attrs

    names = [clips.mouse for clips, _, _ in parts]
    scores = xr.concat([ds[["video_correlation", "frame_correlation"]] for _, _, ds in parts], dim="movie")
    scores = scores.assign_coords(movie=np.arange(scores.sizes["movie"]))
    n = max(ds.sizes["neuron"] for _, _, ds in parts)
    kept = np.zeros((len(parts), *parts[0][2]["kept"].shape[:2], n), bool)
    for i, (_, _, ds) in enumerate(parts):
        kept[i, ..., :ds.sizes["neuron"]] = ds["kept"].values
    out = scores.assign(
        n_kept=(("mouse_folder", "keep_fraction"), np.stack([ds["n_kept"].values for _, _, ds in parts])),
        kept=(("mouse_folder", "keep_fraction", "seed", "neuron"), kept))
    out = out.assign_coords(mouse_folder=names, neuron=np.arange(n))
    for name, pick in (("alpha", lambda a: a.alpha), ("train_mask", lambda a: a.train.astype(np.uint8)),
                       ("eval_mask", lambda a: a.eval.astype(np.uint8))):
        out[name] = (("mouse_folder", "y", "x"), np.stack([pick(alpha) for _, alpha, _ in parts]))
    for name in ("train_mask", "eval_mask"):
        for key in ("equivalent_diameter_deg", "horizontal_extent_deg", "vertical_extent_deg"):
            values = [size_attrs(getattr(alpha, name.split("_")[0]))[key] for _, alpha, _ in parts]
            out[f"{name}_{key}"] = ("mouse_folder", np.array(values, float), {"units": "degree"})
    for var in ("video_correlation", "frame_correlation", "n_kept", "kept"):
        out[var].attrs.update(parts[0][2][var].attrs)
    first = parts[0][2].attrs
    out.attrs.update({k: v for k, v in first.items() if k not in ("seconds", "reconstruction_calls", "n_neurons")})
    out.attrs.update(seconds=round(sum(ds.attrs["seconds"] for _, _, ds in parts), 2),
                     reconstruction_calls=sum(ds.attrs["reconstruction_calls"] for _, _, ds in parts),
                     n_neurons=", ".join(str(ds.attrs["n_neurons"]) for _, _, ds in parts),
                     frames=", ".join(dict.fromkeys(str(ds.attrs["frames"]) for _, _, ds in parts)))
    return out
