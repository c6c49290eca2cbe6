"""Natural-movie reconstruction, end to end: pick the movie and targets, reconstruct, measure, package.

The embedded default (no arguments): the synthetic mouse (seed 0) gives Poisson "recorded" responses to a
held-out natural movie, and the ``demo`` encoder (trained on that mouse's simulated recordings) reconstructs it.
"""

from dataclasses import replace

import numpy as np
import torch
import xarray as xr

from .analysis.metrics import ensembling_gain, evaluate, pixel_correlation_map
from .encoders import load_encoder, members_of, select_models
from .encoders.synthetic import SyntheticMouse, sample_responses, simulate_behavior
from .errors import DnemkitError
from .reconstruction import ReconstructionConfig, reconstruct
from .reconstruction.masks import mask_for
from .results import provenance
from .stimuli.geometry import FPS, HEIGHT, WIDTH
from .stimuli.natural import natural_movie
from .video import check_video

HELD_OUT_MOVIE_SEED = 900  #: + --seed; simulated training trials use seeds >= 1,000,000, masks 10,000+
CPU_MODELS, CPU_ITERATIONS = 3, 60  #: the embedded default's budget on a 2-core CPU (paper: 7 x 1000)
PAPER_MODELS, PAPER_ITERATIONS = 7, 1000
BEHAVIOR_NAMES = ["pupil_dilation", "running_speed", "pupil_x", "pupil_y"]


def neuron_subset(n, keep_fraction, seed):
    """Seeded subset of round(keep_fraction * n) neurons (sorted indices), or None for everything."""
    if not 0 < keep_fraction <= 1:
        raise DnemkitError(f"keep fraction is {keep_fraction}; expected a value in (0, 1]")
    if keep_fraction == 1:
        return None
    k = max(1, int(round(keep_fraction * n)))
    return np.sort(np.random.default_rng(seed + 7919).choice(n, k, replace=False))


def _targets_from_synthetic(encoder, video, seed):
    """Poisson responses of the synthetic mouse (seed 0) to ``video``, with simulated behaviour."""
    truth = SyntheticMouse(0)
    if truth.n_neurons != encoder.n_neurons:
        raise DnemkitError(
            f"the encoder predicts {encoder.n_neurons} neurons but the synthetic mouse (the default source of "
            f"recorded responses) has {truth.n_neurons}; use --predicted, or --data DIR --trial ID")
    behavior = simulate_behavior(len(video), np.random.default_rng(seed))
    with torch.no_grad():
        rates = truth(torch.from_numpy(video)[None], torch.from_numpy(behavior)[None])[0].numpy()
    return sample_responses(rates, seed), behavior, "synthetic:0 Poisson responses"


def natural_inputs(encoder, data=None, trial=None, movie=None, predicted=False, seed=0):
    """(video (T,36,64), responses (N,T) or None, behavior (4,T) or None, source description)."""
    if data is not None:
        from .data import find_mouse

        mouse = find_mouse(data)
        if trial is None:
            trial = next((t for t in mouse.trials(["oracle", "live_test_main", "final_test_main"])
                          if mouse.trial(t).responses is not None), mouse.trial_ids[-1])
        tr = mouse.trial(int(trial))
        if tr.responses is None and not predicted:
            raise DnemkitError(f"trial {tr.id} of {mouse.name} has no recorded responses ({tr.tier}); "
                               "use --predicted or pick a labelled trial")
        return tr.video, tr.responses, tr.behavior4, f"{mouse.name} trial {tr.id} ({tr.tier})"
    if movie is not None:
        from .videoio import read_movie

        video = read_movie(movie)
        source = f"movie {movie}"
    else:
        video = natural_movie(seed=HELD_OUT_MOVIE_SEED + seed).values.astype(np.float32)
        source = f"held-out natural movie (seed {HELD_OUT_MOVIE_SEED + seed})"
    if predicted:
        return video, None, None, source
    responses, behavior, how = _targets_from_synthetic(encoder, video, seed)
    return video, responses, behavior, f"{source}; {how}"


def run_natural(encoder_spec="demo", mouse=None, data=None, trial=None, movie=None, predicted=False, models=None,
                iterations=None, gradient_ensembling=False, keep_fraction=1.0, seed=0, paper=False, progress=True,
                config=None):
    """Reconstruct one natural movie; returns the result Dataset (see `characterize natural --help`)."""
    if iterations is not None and iterations < 1:
        raise DnemkitError(f"iterations is {iterations}; expected at least 1")
    encoder = load_encoder(encoder_spec, mouse)
    if models is None:  # the recipe's count, or every model of a smaller ensemble
        models = min(PAPER_MODELS if paper else CPU_MODELS, len(members_of(encoder)))
    encoder = select_models(encoder, models)
    n_models = len(members_of(encoder))
    if iterations is None:
        iterations = PAPER_ITERATIONS if paper else CPU_ITERATIONS
    config = replace(config or ReconstructionConfig(eval_every=max(1, iterations // 10)), iterations=iterations,
                     ensembling="gradient" if gradient_ensembling else "reconstruction")
    video, responses, behavior, source = natural_inputs(encoder, data, trial, movie, predicted, seed)
    check_video(video, "movie", min_frames=config.subbatch_frames, batched=False)
    if predicted:
        beh = None if behavior is None else torch.from_numpy(np.asarray(behavior))[None]
        with torch.no_grad():
            responses = encoder(torch.from_numpy(video)[None], beh)[0].numpy()
        source += "; targets: the encoder's predicted activity"
    alpha = mask_for(encoder, encoder_spec, mouse, data, progress=progress)
    keep = neuron_subset(encoder.n_neurons, keep_fraction, seed)
    result = reconstruct(encoder, responses, behavior, config, train_mask=alpha.train, neurons=keep,
                         ground_truth=video, eval_mask=alpha.eval, progress=progress)
    return package(result, video, responses, behavior, alpha, keep, encoder, dict(
        encoder_spec=encoder_spec, mouse=mouse, source=source, predicted=predicted, seed=seed,
        keep_fraction=keep_fraction, paper=paper, models=n_models,
        recipe=("paper: " if paper else "CPU budget: ") + f"{n_models} model(s) x {iterations} iterations "
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
    grey = {"units": "grey level (0-255)"}
    data = {
        "ground_truth": (("frame", "y", "x"), video.astype(np.float32), grey),
        "reconstruction": (("frame", "y", "x"), ens, {**grey, "long_name": "ensemble reconstruction (mean over "
                           f"models, Gaussian-smoothed sigma={cfg.smoothing_sigma})"}),
        "reconstruction_unsmoothed": (("frame", "y", "x"), result.ensemble_raw[0], grey),
        "model_reconstruction": (("model", "frame", "y", "x"), per_model, grey),
        "alpha": (("y", "x"), alpha.alpha, {"long_name": "alpha (transparency) mask"}),
        "train_mask": (("y", "x"), alpha.train.astype(np.uint8), {"threshold": alpha.train_threshold}),
        "eval_mask": (("y", "x"), alpha.eval.astype(np.uint8), {"threshold": alpha.eval_threshold}),
        "responses": (("neuron", "frame"), np.asarray(responses, np.float32),
                      {"long_name": "reconstruction targets", "units": "counts/frame"}),
        "loss_neuron": (("neuron",), np.isin(np.arange(responses.shape[0]), keep if keep is not None
                                             else np.arange(responses.shape[0])).astype(np.uint8),
                        {"long_name": "1 where the neuron enters the loss (ablation)"}),
        "loss": (("iteration", "model"), result.traces["loss"][:, :, 0], {"long_name": "Poisson loss"}),
        "response_correlation": (("iteration", "model"), result.traces["response_correlation"][:, :, 0],
                                 {"long_name": "r(predicted, target responses), frames >= 30"}),
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
    for name, value in metrics.items():
        ds[name] = float(value)
    ds["ensembling_gain"] = np.nan if gain is None else float(gain["gain"])
    ds["ensembling_gain"].attrs["long_name"] = "r(smoothed mean of models) - mean r(model)"
    ds["frame"].attrs["units"] = f"frames ({FPS:g} Hz)"
    ds.attrs.update(provenance("natural", cfg, meta["encoder_spec"], meta["seed"],
                               **{k: ("" if v is None else v) for k, v in meta.items()
                                  if k not in ("encoder_spec", "seed")},
                               encoder_description=encoder.description, seconds=round(result.seconds, 2),
                               first_eval_frame=first))
    return ds
