"""Natural-movie reconstruction, end to end: pick the movie and targets, reconstruct, measure, package.

The embedded default (no arguments): the synthetic mouse (seed 0) gives Poisson "recorded" responses to a
held-out natural movie, and the ``demo`` encoder (trained on that mouse's simulated recordings) reconstructs it
with the ``fast`` recipe; ``paper=True`` (``--paper``) runs the paper's exact recipe, 7 models and its alpha mask.
"""

from dataclasses import dataclass, field, replace

import numpy as np
import xarray as xr

from ..analysis.metrics import ensembling_gain, evaluate, pixel_correlation_map
from ..encoders import members_of
from ..encoders.base import probe_encoder
from ..encoders.ref import EncoderRef
from ..errors import DnemkitError
from ..masks import resolve_mask
from ..reconstruction import ReconstructionConfig, reconstruct
from ..io.results import provenance
from ..stimuli.geometry import FPS, HEIGHT, WIDTH
from ..stimuli.natural import natural_movie
from ..video import check_video
from ..analysis.tracking import VideoCorrelationTracker
from .targets import neuron_subset, predicted_targets, synthetic_recording

HELD_OUT_MOVIE_SEED = 900  #: + --seed; simulated training trials use seeds >= 1,000,000, masks 10,000+
PAPER_MODELS, PAPER_ITERATIONS = 7, 1000
BEHAVIOR_NAMES = ["pupil_dilation", "running_speed", "pupil_x", "pupil_y"]


@dataclass(frozen=True)
class NaturalConfig:
    """Options of one natural-movie reconstruction (`characterize natural`), checked once here.

    encoder, mouse: the encoder spec and readout. data, trial: a Sensorium mouse folder and trial (recorded
    responses); movie: a movie file (targets: the synthetic mouse's Poisson responses, or the encoder's
    predictions with ``predicted``); neither: the held-out natural movie (seed 900 + ``seed``). models: the first
    K models of an ensemble (None: all, at most 7). keep_fraction: neurons in the loss (seeded subset). mask:
    'auto', 'alpha', 'sensitivity', 'none' or a mask file (see dnemkit.masks). reconstruction: the recipe.
    """

    encoder: str = "demo"
    mouse: int | None = None
    data: str | None = None
    trial: int | None = None
    movie: str | None = None
    predicted: bool = False
    models: int | None = None
    keep_fraction: float = 1.0
    seed: int = 0
    mask: str = "auto"
    reconstruction: ReconstructionConfig = field(default_factory=lambda: natural_recipe("fast"))

    def __post_init__(self):
        if self.data is not None and self.movie is not None:
            raise DnemkitError("--data and --movie were both given; expected one source of the movie (--data DIR "
                               "--trial ID for a recorded trial, or --movie FILE)")
        if self.trial is not None and self.data is None:
            raise DnemkitError("--trial was given without --data; expected --data DIR with it")
        if not 0 < self.keep_fraction <= 1:
            raise DnemkitError(f"keep fraction is {self.keep_fraction}; expected a value in (0, 1]")
        if not isinstance(self.reconstruction, ReconstructionConfig):
            raise DnemkitError("reconstruction must be a ReconstructionConfig")


def natural_recipe(recipe="fast", iterations=None, gradient_ensembling=False, **overrides):
    """The ReconstructionConfig of a natural reconstruction: the named recipe, its iteration count (1000 for
    'paper') unless ``iterations`` is given, and evaluation traces at about 10 points."""
    config = ReconstructionConfig.from_recipe(recipe, **overrides)
    if iterations is not None:
        config = replace(config, iterations=iterations)
    return replace(config, eval_every=max(1, config.iterations // 10),
                   ensembling="gradient" if gradient_ensembling else "reconstruction")


def paper_config(**options):
    """The paper's exact recipe: 1000 iterations, up to 7 models, the trained alpha mask (``options`` on top)."""
    options.setdefault("mask", "alpha")
    options.setdefault("reconstruction", natural_recipe("paper"))
    return NaturalConfig(**options)


def natural_inputs(encoder, config):
    """(video (T,36,64), responses (N,T) or None, behavior (4,T) or None, source description)."""
    if config.data is not None:
        from ..data import find_mouse

        mouse = find_mouse(config.data)
        trial = config.trial
        if trial is None:
            trial = next((t for t in mouse.trials(["oracle", "live_test_main", "final_test_main"])
                          if mouse.trial(t).responses is not None), mouse.trial_ids[-1])
        tr = mouse.trial(int(trial))
        if tr.responses is None and not config.predicted:
            raise DnemkitError(f"trial {tr.id} of {mouse.name} has no recorded responses ({tr.tier}); "
                               "use --predicted or pick a labelled trial")
        if tr.responses is not None and not config.predicted and not np.isfinite(tr.responses).all():
            bad = np.argwhere(~np.isfinite(tr.responses))
            raise DnemkitError(
                f"{mouse.name} trial {tr.id}: data/responses/{tr.id}.npy has {len(bad)} NaN/inf value(s) inside "
                f"the trial (first: neuron {bad[0][0]}, frame {bad[0][1]}), not only end padding; expected finite "
                "responses (or use --predicted)")
        return tr.video, tr.responses, tr.behavior4, f"{mouse.name} trial {tr.id} ({tr.tier})"
    if config.movie is not None:
        from ..io.movies import read_movie

        video = read_movie(config.movie, min_frames=config.reconstruction.subbatch_frames)
        source = f"movie {config.movie}"
    else:
        video = natural_movie(seed=HELD_OUT_MOVIE_SEED + config.seed).values.astype(np.float32)
        source = f"held-out natural movie (seed {HELD_OUT_MOVIE_SEED + config.seed})"
    if config.predicted:
        return video, None, None, source
    responses, behavior, how = synthetic_recording(video, config.seed, encoder.n_neurons)
    return video, responses, behavior, f"{source}; {how}"


def run_natural(config=None, progress=True, log=None):
    """Reconstruct one natural movie; returns the result Dataset (see `characterize natural --help`).

    config: a :class:`NaturalConfig` (default: the embedded demo). log: called with one line saying where the
    mask came from (and how long it took).
    """
    config = config or NaturalConfig()
    if not isinstance(config, NaturalConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected a NaturalConfig")
    ref = EncoderRef(config.encoder, config.mouse)
    ref = ref.with_models(config.models if config.models is not None
                          else min(PAPER_MODELS, len(members_of(ref.full))))
    encoder = ref.encoder
    n_models = len(members_of(encoder))
    recon = config.reconstruction
    video, responses, behavior, source = natural_inputs(encoder, config)
    check_video(video, "movie", min_frames=recon.subbatch_frames, batched=False)
    probe_encoder(encoder, need_grad=True)
    if config.predicted:
        responses = predicted_targets(encoder, video[None], None if behavior is None else behavior[None])[0]
        source += "; targets: the encoder's predicted activity"
    alpha, mask_line = resolve_mask(config.mask, ref, config.data, progress=progress)
    if log is not None:
        log(mask_line)
    keep = neuron_subset(encoder.n_neurons, config.keep_fraction, config.seed)
    result = reconstruct(encoder, responses, behavior, recon, train_mask=alpha.train, neurons=keep,
                         evaluate=VideoCorrelationTracker(video, alpha.eval), progress=progress)
    return package(result, video, responses, behavior, alpha, keep, encoder, dict(
        encoder_spec=config.encoder, mouse=config.mouse, source=source, predicted=config.predicted,
        seed=config.seed, keep_fraction=config.keep_fraction, models=n_models, mask_source=mask_line,
        recipe=f"{recon.recipe}: {n_models} model(s) x {recon.iterations} iterations "
        f"(the paper: {PAPER_MODELS} x {PAPER_ITERATIONS})"))


def package(result, video, responses, behavior, alpha, keep, encoder, meta):
    """The natural.nc Dataset: videos, masks, targets, traces, metrics, provenance."""
    cfg = result.config
    first = cfg.eval_first_frame
    ev_mask = alpha.eval
    ens = result.ensemble[0]
    per_model = result.videos[:, 0]
    metrics = evaluate(video, ens, ev_mask, first)
    model_metrics = [evaluate(video, v, ev_mask, first) for v in per_model]
    gain = ensembling_gain(video, per_model, ens, ev_mask, first) if len(per_model) > 1 else None
    n_models = per_model.shape[0]
    model_names = [f"model {k}" for k in range(n_models)] if cfg.ensembling == "reconstruction" \
        else ["gradient ensemble"]
    t = video.shape[0]
    coords = {"frame": np.arange(t), "y": np.arange(HEIGHT), "x": np.arange(WIDTH), "model": model_names,
              "neuron": np.arange(responses.shape[0]), "iteration": np.arange(1, cfg.iterations + 1),
              "behavior_channel": BEHAVIOR_NAMES}
    grey = {"units": "grey level"}
    data = {
        "ground_truth": (("frame", "y", "x"), video.astype(np.float32), grey),
        "reconstruction": (("frame", "y", "x"), ens, {**grey, "long_name": "ensemble reconstruction (mean over "
                           f"models, Gaussian-smoothed sigma={cfg.smoothing_sigma})"}),
        "reconstruction_unsmoothed": (("frame", "y", "x"), result.ensemble_raw[0], grey),
        "model_reconstruction": (("model", "frame", "y", "x"), per_model, grey),
        "responses": (("neuron", "frame"), np.asarray(responses, np.float32),
                      {"long_name": "reconstruction targets", "units": "counts/frame"}),
        "loss_neuron": (("neuron",), np.isin(np.arange(responses.shape[0]), keep if keep is not None
                                             else np.arange(responses.shape[0])).astype(np.uint8),
                        {"long_name": "1 where the neuron enters the loss (ablation)"}),
        "loss": (("iteration", "model"), result.traces["loss"][:, :, 0], {"long_name": "Poisson loss"}),
        "response_correlation": (("iteration", "model"), result.traces["response_correlation"][:, :, 0],
                                 {"long_name": f"r(predicted, target responses), frames >= {cfg.eval_first_frame}"}),
        "pixel_correlation": (("y", "x"), pixel_correlation_map(video, ens, ev_mask, first).astype(np.float32),
                              {"long_name": "per-pixel temporal correlation"}),
        "model_video_correlation": (("model",), np.array([m["video_correlation"] for m in model_metrics]), {}),
        "model_frame_correlation": (("model",), np.array([m["frame_correlation"] for m in model_metrics]), {}),
    }
    if behavior is not None:
        data["behavior"] = (("behavior_channel", "frame"), np.asarray(behavior, np.float32), {})
    if "video_correlation" in result.traces:
        vc = result.traces["video_correlation"][:, :, 0]
        data["video_correlation_trace"] = (("eval_iteration", "member"), vc, {"long_name": "video correlation"})
        coords["eval_iteration"] = result.eval_iterations
        coords["member"] = model_names + ["ensemble"] if cfg.ensembling == "reconstruction" \
            else model_names + ["ensemble"]
    ds = xr.Dataset({k: xr.Variable(d, v, a) for k, (d, v, a) in data.items()}, coords=coords)
    alpha.attach_to(ds)
    for name, value in metrics.items():
        ds[name] = float(value)
    ds["ensembling_gain"] = np.nan if gain is None else float(gain["gain"])
    ds["ensembling_gain"].attrs["long_name"] = "r(smoothed mean of models) - mean r(model)"
    ds["frame"].attrs.update(units="frame", long_name=f"frame index ({FPS:g} Hz)")
    ds.attrs.update(provenance("natural", cfg, meta["encoder_spec"], meta["seed"],
                               **{k: ("" if v is None else v) for k, v in meta.items()
                                  if k not in ("encoder_spec", "seed")},
                               encoder_description=encoder.description, seconds=round(result.seconds, 2),
                               first_eval_frame=first))
    return ds
