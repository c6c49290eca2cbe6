"""Error maps: where reconstructions from recorded activity differ from those from predicted activity (docs/method.md, "Analyses").

One movie is reconstructed twice in one batched :func:`dnemkit.reconstruct` call (batch item 0: the recorded
responses, item 1: the encoder's own prediction for the ground-truth movie, with the same behaviour). Both
reconstructions are the smoothed ensemble videos (mean over models, Gaussian sigma 0.5), set to grey outside the
evaluation mask; then E = recon_from_recorded - recon_from_predicted, E+ = max(E, 0) (the recorded-activity
reconstruction is brighter), E- = max(-E, 0) (darker), via :func:`dnemkit.analysis.error_maps`.
"""

import time

import numpy as np
import torch
import xarray as xr

from ..errors import DnemkitError
from ..reconstruction import ReconstructionConfig, reconstruct
from ..stimuli.geometry import GREY, HEIGHT, WIDTH
from ..analysis.error_maps import error_maps
from ..analysis.metrics import apply_eval_mask, video_correlation
from ..analysis.tracking import VideoCorrelationTracker

__all__ = ["error_map_analysis", "run_errormap", "DEFAULT_ITERATIONS"]

DEFAULT_ITERATIONS = 40  #: CPU budget of `characterize errormap` (the paper: 1000)


def error_map_analysis(encoder, movie, recorded, behavior=None,
                       config=ReconstructionConfig(iterations=DEFAULT_ITERATIONS), train_mask=None, eval_mask=None,
                       progress=True):
    """Reconstruct ``movie`` from recorded and from predicted activity and split their difference into E+ / E-.

    encoder: an Encoder (ensembles: every member reconstructs, videos are averaged and smoothed).
    movie: (T, 36, 64) ground truth, grey levels. recorded: (N, T) recorded responses to it. behavior: (4, T) or
    None (the encoder's defaults); used for the prediction and both reconstructions. config: the
    ReconstructionConfig. train_mask / eval_mask: bool (36, 64) or None (every pixel).

    Returns an xr.Dataset: ground_truth, recon_recorded, recon_predicted (smoothed, grey outside eval_mask),
    e_plus, e_minus (frame, y, x); mean_e_plus, mean_e_minus, mean_abs_error (y, x), means over frames >=
    config.eval_first_frame; responses_recorded, responses_predicted (neuron, frame); scalars
    video_correlation_recorded, video_correlation_predicted, recorded_vs_predicted_correlation, e_plus_mean,
    e_minus_mean (over masked pixels x evaluated frames); eval_mask, train_mask (y, x).
    """
    movie = np.asarray(movie, dtype=np.float32)
    if movie.ndim != 3 or movie.shape[1:] != (HEIGHT, WIDTH):
        raise DnemkitError(f"movie has shape {movie.shape}; expected (T, {HEIGHT}, {WIDTH})")
    t = movie.shape[0]
    n = int(encoder.n_neurons)
    recorded = np.asarray(recorded, dtype=np.float32)
    if recorded.shape != (n, t):
        raise DnemkitError(f"recorded responses have shape {recorded.shape}; expected ({n}, {t}) "
                           "(the encoder's neurons, the movie's frames)")
    beh = None
    if behavior is not None:
        beh = np.asarray(behavior, dtype=np.float32)
        if beh.shape != (4, t):
            raise DnemkitError(f"behavior has shape {beh.shape}; expected (4, {t})")
    from ..encoders.base import check_rates

    with torch.no_grad():
        video = torch.from_numpy(movie)[None]
        predicted = check_rates(encoder(video, None if beh is None else torch.from_numpy(beh)[None]), encoder,
                                video)[0].cpu().numpy()
    targets = np.stack([recorded, predicted.astype(np.float32)])
    started = time.perf_counter()
    result = reconstruct(encoder, targets, None if beh is None else np.stack([beh, beh]), config,
                         train_mask=train_mask, evaluate=VideoCorrelationTracker(np.stack([movie, movie]), eval_mask),
                         progress=progress, description="errormap (recorded, predicted)")
    seconds = time.perf_counter() - started
    rec = apply_eval_mask(result.ensemble[0], eval_mask)
    pred = apply_eval_mask(result.ensemble[1], eval_mask)
    e_plus, e_minus = error_maps(rec, pred, eval_mask)
    first = min(config.eval_first_frame, t - 1)
    inside = np.ones((HEIGHT, WIDTH), bool) if eval_mask is None else np.asarray(eval_mask, bool)

    frame3 = ("frame", "y", "x")
    grey = {"units": "grey level (0-255)"}
    ds = xr.Dataset(
        {"ground_truth": (frame3, movie, grey),
         "recon_recorded": (frame3, rec, {**grey, "long_name": "reconstruction from recorded activity "
                                          "(smoothed ensemble, grey outside the eval mask)"}),
         "recon_predicted": (frame3, pred, {**grey, "long_name": "reconstruction from predicted activity "
                                            "(smoothed ensemble, grey outside the eval mask)"}),
         "e_plus": (frame3, e_plus.astype(np.float32),
                    {**grey, "long_name": "E+ = max(recon_recorded - recon_predicted, 0) inside the mask"}),
         "e_minus": (frame3, e_minus.astype(np.float32),
                     {**grey, "long_name": "E- = max(recon_predicted - recon_recorded, 0) inside the mask"}),
         "responses_recorded": (("neuron", "frame"), recorded, {"units": "counts/frame"}),
         "responses_predicted": (("neuron", "frame"), predicted.astype(np.float32), {"units": "rate (counts/frame)"}),
         "eval_mask": (("y", "x"), inside.astype(np.uint8)),
         "train_mask": (("y", "x"), (np.ones((HEIGHT, WIDTH), bool) if train_mask is None
                                      else np.asarray(train_mask, bool)).astype(np.uint8))},
        coords={"frame": np.arange(t), "y": np.arange(HEIGHT), "x": np.arange(WIDTH), "neuron": np.arange(n)})
    for name in ("ground_truth", "recon_recorded", "recon_predicted", "e_plus", "e_minus", "responses_recorded",
                 "responses_predicted"):
        ds[name].encoding.update(zlib=True, complevel=4)  # gzip in the netCDF file: E+/E- are mostly zeros
    ds["mean_e_plus"] = (("y", "x"), e_plus[first:].mean(0))
    ds["mean_e_minus"] = (("y", "x"), e_minus[first:].mean(0))
    ds["mean_abs_error"] = (("y", "x"), (e_plus[first:] + e_minus[first:]).mean(0))
    for name in ("mean_e_plus", "mean_e_minus", "mean_abs_error"):
        ds[name].attrs.update(units="grey level", long_name=f"{name.replace('_', ' ')} over frames >= {first}")
    ds["video_correlation_recorded"] = video_correlation(movie, rec, eval_mask, first)
    ds["video_correlation_predicted"] = video_correlation(movie, pred, eval_mask, first)
    ds["recorded_vs_predicted_correlation"] = video_correlation(pred, rec, eval_mask, first)
    ds["e_plus_mean"] = float(e_plus[first:][:, inside].mean())
    ds["e_minus_mean"] = float(e_minus[first:][:, inside].mean())
    ds["e_plus_mean"].attrs.update(units="grey level", long_name="mean E+ over masked pixels x evaluated frames")
    ds["e_minus_mean"].attrs.update(units="grey level", long_name="mean E- over masked pixels x evaluated frames")
    ds["frame"].attrs["units"] = "frames (30 Hz)"
    ds.attrs.update(first_eval_frame=int(first), seconds=round(seconds, 2), grey_outside_mask=GREY,
                    n_models=int(result.videos.shape[0]), batch="one reconstruct call, B=2 (recorded, predicted)")
    return ds


def run_errormap(encoder="demo", mouse=None, movie_seed=5000, frames=300, iterations=DEFAULT_ITERATIONS,
                 ground_truth="synthetic", models=1, mask="auto", progress=True):
    """The `characterize errormap` pipeline; returns the dataset with provenance (kind 'errormap').

    The movie is natural_movie(seed=movie_seed, n_frames=frames); recorded responses are the Poisson responses
    (seeded by movie_seed) of the ground-truth mouse ``ground_truth`` (it must have the encoder's neurons) with
    simulated behaviour (seeded by movie_seed), which is also given to the prediction and both reconstructions.
    models: first K ensemble members (None = all). mask: 'auto' | 'none' | a mask file.
    """
    from ..encoders import load_encoder
    from ..io.results import provenance
    from ..stimuli.natural import natural_movie
    from ..encoders import select_models
    from .ablation import load_truth, resolve_mask
    from .targets import recorded_targets

    for value, name in ((iterations, "iterations"), (frames, "frames")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise DnemkitError(f"{name} is {value!r}; expected an integer >= 1")
    if isinstance(movie_seed, bool) or not isinstance(movie_seed, (int, np.integer)) or movie_seed < 0:
        raise DnemkitError(f"movie seed is {movie_seed!r}; expected an integer >= 0")
    config = ReconstructionConfig(iterations=int(iterations))
    if frames < config.subbatch_frames:
        raise DnemkitError(f"frames is {frames}; expected at least {config.subbatch_frames} (one sub-batch)")
    spec = encoder if isinstance(encoder, str) else getattr(encoder, "description", type(encoder).__name__)
    enc = select_models(load_encoder(encoder, mouse), models)
    truth, truth_name = load_truth(ground_truth, enc)
    from ..encoders.base import probe_encoder

    probe_encoder(enc, need_grad=True)
    movie = natural_movie(seed=int(movie_seed), n_frames=int(frames)).values.astype(np.float32)
    responses, behavior = recorded_targets(truth, movie[None], [int(movie_seed)])
    alpha = resolve_mask(mask, enc, encoder if isinstance(encoder, str) else None, mouse, progress)
    ds = error_map_analysis(enc, movie, responses[0], behavior[0], config,
                            None if alpha is None else alpha.train, None if alpha is None else alpha.eval, progress)
    run_config = dict(config.to_dict(), movie_seed=int(movie_seed), frames=int(frames), ground_truth=truth_name,
                      models=models, mask=str(mask))
    ds.attrs.update(provenance("errormap", run_config, spec, int(movie_seed), mouse="" if mouse is None else int(mouse),
                               targets=f"recorded: Poisson responses of {truth_name}; predicted: the encoder's "
                                       "prediction for the ground-truth movie (same simulated behaviour)",
                               encoder_description=str(getattr(enc, "description", ""))))
    return ds
