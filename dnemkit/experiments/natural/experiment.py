"""Natural-movie reconstruction, end to end: pick the movie and targets, reconstruct, measure, package, write.

The embedded default (no arguments): the synthetic mouse (seed 0) gives Poisson "recorded" responses to a
held-out natural movie, and the ``demo`` encoder (trained on that mouse's simulated recordings) reconstructs it
with the ``fast`` recipe; :meth:`NaturalConfig.paper` (``--paper``) runs the paper's exact recipe, 7 models and
its alpha mask.
"""

from pathlib import Path

import numpy as np
import xarray as xr

from ...analysis.metrics import QUALITY_UNITS, ensembling_gain, pixel_correlation_map, quality_metrics
from ...analysis.tracking import VideoCorrelationTracker
from ...encoders import members_of
from ...encoders.base import probe_encoder
from ...errors import DnemkitError
from ...io.results import provenance
from ...masks import resolve_mask
from ...reconstruction import reconstruct
from ...reconstruction.stoppers import EXCESS_NEURONS, make_stopper, scaled_excess
from ...stimuli.geometry import FPS, HEIGHT, WIDTH
from ...stimuli.natural import natural_movie
from ...video import EVAL_FIRST_FRAME, check_video
from ...errors import say
from ..contract import check_config, write_outputs
from ..targets import neuron_subset, predicted_targets, synthetic_recording
from .config import HELD_OUT_MOVIE_SEED, PAPER_MODELS, NaturalConfig
from ...units import ARBITRARY, COUNTS_PER_FRAME, DIMENSIONLESS, FRAME, GREY_LEVEL

PAPER_ITERATIONS = NaturalConfig.ITERATIONS["paper"]
BEHAVIOR_NAMES = ["pupil_dilation", "running_speed", "pupil_x", "pupil_y"]
#: the video correlation is scored at about this many points of a run
TRACKED_POINTS = 10


def chosen_trial(mouse, config):
    """The trial id a recorded run reconstructs: ``config.trial``, else the first held-out trial with responses
    (else the last trial)."""
    if config.trial is not None:
        return int(config.trial)
    return next((t for t in mouse.trials(["oracle", "live_test_main", "final_test_main"])
                 if mouse.trial(t).responses is not None), mouse.trial_ids[-1])


def natural_inputs(encoder, config):
    """(video (T,36,64), responses (N,T) or None, behavior (4,T) or None, source description)."""
    if config.data is not None:
        from ...data import find_mouse

        mouse = find_mouse(config.data)
        tr = mouse.trial(chosen_trial(mouse, config))
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
        from ...io.movies import read_movie

        video = read_movie(config.movie, min_frames=config.recipe.subbatch_frames)
        source = f"movie {config.movie}"
    else:
        video = natural_movie(seed=HELD_OUT_MOVIE_SEED + config.seed).values.astype(np.float32)
        source = f"held-out natural movie (seed {HELD_OUT_MOVIE_SEED + config.seed})"
    if config.predicted:
        return video, None, None, source
    responses, behavior, how = synthetic_recording(video, config.seed, encoder.n_neurons)
    return video, responses, behavior, f"{source}; {how}"


def run(config=None, *, out=None, progress=True, log=None):
    """Reconstruct one natural movie (see `characterize natural --help`); returns the result Dataset.

    config: a :class:`NaturalConfig` (None: the embedded demo). out: folder for natural.nc, natural.png and (with
    ``config.video``) natural.mp4; None writes nothing. log: receives one line saying where the mask came from.
    """
    config = check_config(config, NaturalConfig)
    ref = config.encoder
    ref = ref.with_models(ref.models if ref.models is not None else min(PAPER_MODELS, len(members_of(ref.full))))
    encoder = ref.encoder
    n_models = len(members_of(encoder))
    recipe = config.recipe
    video, responses, behavior, source = natural_inputs(encoder, config)
    check_video(video, "movie", min_frames=recipe.subbatch_frames, batched=False)
    probe_encoder(encoder, need_grad=True)
    if config.predicted:
        responses = predicted_targets(encoder, video[None], None if behavior is None else behavior[None])[0]
        source += "; targets: the encoder's predicted activity"
    masks, mask_line = resolve_mask(config.mask, ref, config.data, progress=progress)
    say(log, mask_line)
    keep = neuron_subset(encoder.n_neurons, config.keep_fraction, np.random.default_rng(config.seed))
    # a stopper ends the run long before its budget: score the truth as often as the stopper looks
    every = recipe.stopper_every if recipe.stopper != "none" else max(1, recipe.iterations // TRACKED_POINTS)
    tracker = VideoCorrelationTracker(video, eval_mask=masks.eval, every=every)
    start, start_line, decoded = None, "grey", None
    if recipe.start == "decoder" or recipe.stopper == "agreement":
        from ...decoders import decoder_start

        decoded, decoder_line = decoder_start(ref, responses, config.data, progress=progress)
        say(log, decoder_line)
        if recipe.start == "decoder":
            start, start_line = decoded, decoder_line
    # the agreement stopper compares inside the evaluation mask: the pixels the result is judged on
    stopper = make_stopper(recipe, decoded=decoded, mask=masks.eval) if recipe.stopper == "agreement" else None
    result = reconstruct(encoder, responses, behavior, recipe, execution=config.execution, train_mask=masks.train,
                         neurons=keep, trackers=[tracker], progress=progress, start=start, stopper=stopper)
    stopper_line = stopper_summary(result, encoder.n_neurons if keep is None else len(keep))
    if stopper_line:
        say(log, stopper_line)
    ds = package(result, video, responses, behavior, masks, keep, encoder, config, dict(
        source=source, models=n_models, mask_source=mask_line,
        recipe=f"{recipe.name}: {n_models} model(s) x {result.iterations_run} iterations"
        + ("" if result.stopped_at is None else f" run, the videos of iteration {result.stopped_at} returned")
        + f" (the paper: {PAPER_MODELS} x {PAPER_ITERATIONS})",
        start=start_line, stopper=stopper_line,
        fold_batchnorm=bool(result.execution.fold_batchnorm)))  # what ran: the config may say "as the recipe"
    if decoded is not None:
        first = min(EVAL_FIRST_FRAME, video.shape[0] - 1)
        for name, value in quality_metrics(video, decoded[0], mask=masks.eval, first_frame=first).items():
            if name in ("video_correlation", "frame_correlation"):
                ds[f"decoder_{name}"] = xr.Variable((), float(value), {
                    "units": QUALITY_UNITS[name], "long_name": f"{name.replace('_', ' ')} of the decoder's movie "
                    f"({'the start' if start is not None else 'the stopper watches the agreement with it'})"})
    if out is not None:
        write_outputs(ds, out)
        if config.video:
            from ...io.movies import side_by_side, write_movie

            path = write_movie(Path(out) / "natural.mp4",
                               side_by_side(ds["ground_truth"].values, ds["reconstruction"].values))
            ds.encoding["files"].append(path)
        if config.reference_format:
            from ...data import find_mouse
            from ...reference.export import write_natural_summaries

            trial = 0 if config.data is None else chosen_trial(find_mouse(config.data), config)
            beh = behavior if behavior is not None else \
                encoder.default_behavior().view(4, 1).expand(4, video.shape[0]).numpy()
            ds.encoding["files"].extend(write_natural_summaries(
                out, video_gt=video, model_videos=result.videos[:, 0], responses=responses, behavior=beh,
                mask_level=masks.level, eval_mask=masks.eval, members=members_of(encoder),
                mouse_index=ref.mouse or 0, trial=trial, iterations=recipe.iterations))
    return ds


def stopper_summary(result, n_neurons):
    """One line on the stopper's choice ('' without one); ``n_neurons``: the neurons in the loss."""
    if result.stopped_at is None:
        return ""
    r = result.recipe
    if r.stopper == "agreement":
        return (f"stopper: agreement chose iteration {result.stopped_at} (ran {result.iterations_run} of a budget "
                f"of {r.iterations}; video r with the decoder's movie watched every {r.stopper_every}, patience "
                f"{r.stopper_patience})")
    if r.stopper == "deviance":
        excess = scaled_excess(r.stopper_excess, n_neurons)
        return (f"stopper: deviance chose iteration {result.stopped_at} (ran {result.iterations_run} of a budget "
                f"of {r.iterations}; deviance ratio {_ratio_at(result, result.stopped_at):.3f}, lowest "
                f"{min(result.traces['deviance_ratio']):.3f}, watched every {r.stopper_every}; levelled off: a "
                f"fall below {r.stopper_plateau:g} over {r.stopper_patience} iterations; returned: the first look "
                f"within {excess:.3g} of the lowest, {r.stopper_excess:g} x sqrt({EXCESS_NEURONS} / {n_neurons} "
                "neurons in the loss))")
    rerun = "; rerun with every neuron to it" if r.stopper_rerun and result.stopped_at > 0 else ""
    rerun = (f"; a decrease counts beyond {r.stopper_min_z:g} standard errors" if r.stopper_min_z else "") + rerun
    return (f"stopper: heldout chose iteration {result.stopped_at} (ran {result.iterations_run} of a budget of "
            f"{r.iterations}; {r.heldout_fraction:.0%} of the neurons held out, watched every {r.stopper_every}, "
            f"patience {r.stopper_patience}{rerun})")


#: each watching stopper's trace in natural.nc (dims stopper_iteration), and what it is
STOPPER_TRACES = {
    "heldout_loss": "held-out neurons' Poisson loss on the videos (the stopper's criterion)",
    "decoder_agreement": "video r of the result with the decoder's movie (the stopper's criterion)",
    "deviance_ratio": "Poisson deviance of the targets over its noise level (the stopper's criterion)",
}


def _ratio_at(result, iteration):
    """The deviance ratio the deviance stopper saw at ``iteration``."""
    its = list(result.tracked_iterations["deviance_ratio"])
    return float(result.traces["deviance_ratio"][its.index(iteration)])


def package(result, video, responses, behavior, masks, keep, encoder, config, meta):
    """The natural.nc Dataset: videos, masks, targets, traces, metrics, provenance."""
    recipe = result.recipe
    first = min(EVAL_FIRST_FRAME, video.shape[0] - 1)
    ens, per_model = result.ensemble[0], result.videos[:, 0]
    names = list(result.model_names)
    labels = [f"model {k}" for k in range(per_model.shape[0])] if recipe.ensembling == "reconstruction" else names
    coords = {"frame": np.arange(video.shape[0]), "y": np.arange(HEIGHT), "x": np.arange(WIDTH), "model": labels,
              "model_name": ("model", names), "neuron": np.arange(responses.shape[0]),
              "iteration": np.arange(1, len(result.traces["loss"]) + 1), "behavior_channel": BEHAVIOR_NAMES}
    grey = {"units": GREY_LEVEL}
    data = {
        "ground_truth": (("frame", "y", "x"), video.astype(np.float32), grey),
        "reconstruction": (("frame", "y", "x"), ens, {**grey, "long_name": "ensemble reconstruction (mean over "
                           f"models, Gaussian-smoothed sigma={recipe.smoothing_sigma})"}),
        "reconstruction_unsmoothed": (("frame", "y", "x"), result.ensemble_raw[0], grey),
        "model_reconstruction": (("model", "frame", "y", "x"), per_model, grey),
        "responses": (("neuron", "frame"), np.asarray(responses, np.float32),
                      {"long_name": "reconstruction targets", "units": COUNTS_PER_FRAME}),
        "loss_neuron": (("neuron",), np.isin(np.arange(responses.shape[0]), keep if keep is not None
                                             else np.arange(responses.shape[0])),
                        {"long_name": "1 where the neuron enters the loss (ablation)"}),
        "loss": (("iteration", "model"), result.traces["loss"][:, :, 0],
                 {"long_name": "Poisson negative log-likelihood per neuron and frame", "units": DIMENSIONLESS}),
        "response_correlation": (("iteration", "model"), result.traces["response_correlation"][:, :, 0],
                                 {"long_name": f"r(predicted, target responses), frames >= {first}", "units": DIMENSIONLESS}),
    }
    if behavior is not None:
        data["behavior"] = (("behavior_channel", "frame"), np.asarray(behavior, np.float32),
                            {"units": ARBITRARY, "long_name": "behaviour given to the encoder, as recorded"})
    for name, long_name in STOPPER_TRACES.items():
        if name in result.traces:
            data[name] = (("stopper_iteration",), result.traces[name], {"long_name": long_name,
                                                                        "units": DIMENSIONLESS})
            coords["stopper_iteration"] = result.tracked_iterations[name]
    if "video_correlation" in result.traces:
        data["video_correlation_trace"] = (("eval_iteration", "member"), result.traces["video_correlation"][:, :, 0],
                                           {"long_name": "video correlation", "units": DIMENSIONLESS})
        coords["eval_iteration"] = result.tracked_iterations["video_correlation"]
        coords["member"] = labels + ["ensemble"]
    ds = xr.Dataset({k: xr.Variable(d, v, a) for k, (d, v, a) in data.items()}, coords=coords)
    masks.attach_to(ds)
    _add_scores(ds, video, ens, per_model, masks.eval, first)
    ds["frame"].attrs.update(units=FRAME, long_name=f"frame index ({FPS:g} Hz)")
    ref = config.encoder
    ds.attrs.update(provenance("natural", config.to_dict(), ref.name, config.seed,
                               **{k: ("" if v is None else v) for k, v in meta.items()},
                               mouse="" if ref.mouse is None else ref.mouse, predicted=config.predicted,
                               keep_fraction=config.keep_fraction, encoder_description=encoder.description,
                               seconds=round(result.seconds, 2), first_eval_frame=first,
                               stopped_at=-1 if result.stopped_at is None else result.stopped_at,
                               iterations_run=result.iterations_run or len(result.traces["loss"])))
    return ds


def _add_scores(ds, video, ens, per_model, eval_mask, first):
    """Add the quality of the ensemble (T, 36, 64) and of each model's video (M, T, 36, 64) against ``video``
    inside ``eval_mask`` from frame ``first`` on: the metrics of :func:`quality_metrics` (scalars), the per-pixel
    correlation (y, x), per-model video and frame correlations (model) and the ensembling gain (NaN for one
    model)."""
    model_metrics = [quality_metrics(video, v, mask=eval_mask, first_frame=first) for v in per_model]
    ds["pixel_correlation"] = (("y", "x"), pixel_correlation_map(video, ens, mask=eval_mask, first_frame=first)
                               .astype(np.float32), {"long_name": "per-pixel temporal correlation", "units": DIMENSIONLESS})
    for name in ("video_correlation", "frame_correlation"):
        ds[f"model_{name}"] = (("model",), np.array([m[name] for m in model_metrics]), {"units": DIMENSIONLESS})
    for name, value in quality_metrics(video, ens, mask=eval_mask, first_frame=first).items():
        ds[name] = xr.Variable((), float(value), {"units": QUALITY_UNITS[name]})
    gain = np.nan if len(per_model) < 2 else ensembling_gain(video, per_model, ensemble_recon=ens, mask=eval_mask,
                                                             first_frame=first)["gain"]
    ds["ensembling_gain"] = xr.Variable((), float(gain), {"long_name": "r(smoothed mean of models) - mean r(model)",
                                                          "units": DIMENSIONLESS})
