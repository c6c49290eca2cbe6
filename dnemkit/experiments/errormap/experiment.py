"""Error maps: where reconstructions from recorded activity differ from those from predicted activity (docs/method.md, "Analyses").

One movie is reconstructed twice in one batched :func:`dnemkit.reconstruct` call (batch item 0: the recorded
responses, item 1: the encoder's own prediction for the ground-truth movie, with the same behaviour). Both
reconstructions are the smoothed ensemble videos (mean over models, Gaussian sigma 0.5), set to grey outside the
evaluation mask; then E = recon_from_recorded - recon_from_predicted, E+ = max(E, 0) (the recorded-activity
reconstruction is brighter), E- = max(-E, 0) (darker), via :func:`dnemkit.analysis.errormaps`. The paper's
Fig. 6C follows: the encoder predicts the activity for the reconstruction from recorded activity (as stored, grey
outside the evaluation mask, same behaviour), and per neuron delta r = r(recorded, predicted from the true movie)
- r(recorded, predicted from the reconstruction) over the scored frames.

The movie is a held-out natural movie with the synthetic mouse's Poisson responses (the embedded default), or
recorded trials of Sensorium mouse folders (``ErrormapConfig.data``): every clip of every mouse gets its own
error maps, stacked along a ``clip`` dim (coordinates ``mouse`` and ``trial``).
"""

import time

import numpy as np
import xarray as xr

from ...errors import DnemkitError
from ...reconstruction import reconstruct
from ...reconstruction.config import Execution, Recipe
from ...video import EVAL_FIRST_FRAME
from ...stimuli.geometry import GREY, HEIGHT, WIDTH
from ...analysis.errormaps import error_maps, response_correlation_difference
from ...analysis.metrics import apply_eval_mask, pixel_correlation_map, video_correlation
from ...analysis.tracking import VideoCorrelationTracker
from ...errors import say
from ..contract import check_config, write_outputs
from ..recorded import load_truth, recorded_mice, skipped_attrs
from .config import ErrormapConfig
from ...units import COUNTS_PER_FRAME, DIMENSIONLESS, FRAME, GREY_LEVEL

__all__ = ["error_map_analysis", "errormaps_of_clips", "run"]



def error_map_analysis(encoder, movie, recorded, behavior=None,
                       recipe=Recipe(iterations=40), execution=Execution(), train_mask=None, eval_mask=None,
                       progress=True, decoder=None):
    """Reconstruct ``movie`` from recorded and from predicted activity and split their difference into E+ / E-.

    encoder: an Encoder (ensembles: every member reconstructs, videos are averaged and smoothed).
    movie: (T, 36, 64) ground truth, grey levels. recorded: (N, T) recorded responses to it. behavior: (4, T) or
    None (the encoder's defaults); used for the prediction and both reconstructions. recipe, execution: the
    reconstruction's Recipe and Execution. train_mask / eval_mask: bool (36, 64) or None (every pixel). decoder:
    the linear decoder whose movies of both targets are the starts (recipe start 'decoder').

    Returns an xr.Dataset: ground_truth, recon_recorded, recon_predicted (smoothed, grey outside eval_mask),
    e_plus, e_minus (frame, y, x); mean_e_plus, mean_e_minus, mean_abs_error (y, x), means over frames >=
    32; responses_recorded, responses_predicted (neuron, frame); scalars
    video_correlation_recorded, video_correlation_predicted, recorded_vs_predicted_correlation, e_plus_mean,
    e_minus_mean (over masked pixels x evaluated frames); eval_mask, train_mask (y, x); pixel_correlation (y, x),
    per pixel r(ground truth, recon_recorded) over the scored frames (NaN outside eval_mask). Fig. 6C:
    responses_reconstruction (neuron, frame), the prediction for recon_recorded (same behaviour); response_r_true,
    response_r_reconstruction and delta_r (neuron), per-neuron r with the recorded responses over frames >=
    32 and their difference; delta_r_mean (nan-mean over neurons).
    """
    movie, recorded, beh = _checked_inputs(encoder, movie, recorded, behavior)
    t, n = movie.shape[0], int(encoder.n_neurons)
    from ..targets import predicted_targets

    # on the encoder's device (a reconstruction before this one may have moved it)
    predicted = predicted_targets(encoder, movie[None], None if beh is None else beh[None])[0]
    targets = np.stack([recorded, predicted.astype(np.float32)])
    started = time.perf_counter()
    result = reconstruct(encoder, targets, None if beh is None else np.stack([beh, beh]), recipe, execution=execution,
                         train_mask=train_mask, trackers=[VideoCorrelationTracker(np.stack([movie, movie]), eval_mask=eval_mask)],
                         progress=progress, description="errormap (recorded, predicted)", decoder=decoder)
    seconds = time.perf_counter() - started
    rec = apply_eval_mask(result.ensemble[0], eval_mask)
    pred = apply_eval_mask(result.ensemble[1], eval_mask)
    e_plus, e_minus = error_maps(rec, pred, mask=eval_mask)
    first = min(EVAL_FIRST_FRAME, t - 1)
    # the reconstruction as stored (grey outside the eval mask), on the device the loop left the encoder on
    from_recon = predicted_targets(encoder, rec[None], None if beh is None else beh[None])[0].astype(np.float32)
    r_true, r_recon, delta_r = response_correlation_difference(recorded, predicted, from_recon,
                                                                 first_frame=min(first, t - 2))
    inside = np.ones((HEIGHT, WIDTH), bool) if eval_mask is None else np.asarray(eval_mask, bool)

    ds = xr.Dataset(
        {**_frame_variables(movie, rec, pred, e_plus, e_minus),
         **_neuron_variables(recorded, predicted, from_recon, r_true, r_recon, delta_r, first),
         "eval_mask": (("y", "x"), inside),
         "train_mask": (("y", "x"), np.ones((HEIGHT, WIDTH), bool) if train_mask is None
                        else np.asarray(train_mask, bool))},
        coords={"frame": np.arange(t), "y": np.arange(HEIGHT), "x": np.arange(WIDTH), "neuron": np.arange(n)})
    for name in ("ground_truth", "recon_recorded", "recon_predicted", "e_plus", "e_minus", "responses_recorded",
                 "responses_predicted", "responses_reconstruction"):
        ds[name].encoding.update(zlib=True, complevel=4)  # gzip in the netCDF file: E+/E- are mostly zeros
    _add_summaries(ds, movie, rec, pred, e_plus, e_minus, delta_r, eval_mask, inside, first)
    ds["frame"].attrs.update(units=FRAME, long_name="frame index (30 Hz)")
    ds.attrs.update(first_eval_frame=int(first), seconds=round(seconds, 2), grey_outside_mask=GREY,
                    n_models=int(result.videos.shape[0]), batch="one reconstruct call, B=2 (recorded, predicted)")
    return ds


def _checked_inputs(encoder, movie, recorded, behavior):
    """``movie`` (T, 36, 64), ``recorded`` (N, T) and ``behavior`` (4, T) or None as float32 arrays.

    Raises DnemkitError naming the shape expected (N: the encoder's neurons, T: the movie's frames).
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
    return movie, recorded, beh


def _frame_variables(movie, rec, pred, e_plus, e_minus):
    """The (frame, y, x) variables in grey levels: the ground truth, both reconstructions, E+ and E-."""
    frame3 = ("frame", "y", "x")
    grey = {"units": GREY_LEVEL}
    return {
        "ground_truth": (frame3, movie, grey),
        "recon_recorded": (frame3, rec, {**grey, "long_name": "reconstruction from recorded activity "
                                         "(smoothed ensemble, grey outside the eval mask)"}),
        "recon_predicted": (frame3, pred, {**grey, "long_name": "reconstruction from predicted activity "
                                           "(smoothed ensemble, grey outside the eval mask)"}),
        "e_plus": (frame3, e_plus.astype(np.float32),
                   {**grey, "long_name": "E+ = max(recon_recorded - recon_predicted, 0) inside the mask"}),
        "e_minus": (frame3, e_minus.astype(np.float32),
                    {**grey, "long_name": "E- = max(recon_predicted - recon_recorded, 0) inside the mask"})}


def _neuron_variables(recorded, predicted, from_recon, r_true, r_recon, delta_r, first):
    """The per-neuron variables: the three (neuron, frame) responses (counts/frame) and Fig. 6C's r's (neuron),
    correlations over frames >= ``first``."""
    return {
        "responses_recorded": (("neuron", "frame"), recorded, {"units": COUNTS_PER_FRAME}),
        "responses_predicted": (("neuron", "frame"), predicted.astype(np.float32),
                                {"units": COUNTS_PER_FRAME, "long_name": "predicted rate"}),
        "responses_reconstruction": (("neuron", "frame"), from_recon,
                                     {"units": COUNTS_PER_FRAME, "long_name": "rate predicted for recon_recorded"}),
        "response_r_true": ("neuron", r_true, {"units": DIMENSIONLESS, "long_name": "r(recorded, predicted from the true "
                                               f"movie) over frames >= {first}"}),
        "response_r_reconstruction": ("neuron", r_recon, {"units": DIMENSIONLESS, "long_name": "r(recorded, predicted "
                                                          f"from recon_recorded) over frames >= {first}"}),
        "delta_r": ("neuron", delta_r, {"units": DIMENSIONLESS, "long_name": "response_r_true - response_r_reconstruction "
                                        "(Fig. 6C; > 0: the true movie explains the neuron better)"})}


def _add_summaries(ds, movie, rec, pred, e_plus, e_minus, delta_r, eval_mask, inside, first):
    """Add the summaries over the scored frames (>= ``first``) to ``ds``: the mean error maps (y, x), the video
    correlations, the per-pixel correlation map (y, x) and the scalar means (``inside``: bool (36, 64), the
    eval mask with None as every pixel)."""
    ds["mean_e_plus"] = (("y", "x"), e_plus[first:].mean(0))
    ds["mean_e_minus"] = (("y", "x"), e_minus[first:].mean(0))
    ds["mean_abs_error"] = (("y", "x"), (e_plus[first:] + e_minus[first:]).mean(0))
    for name in ("mean_e_plus", "mean_e_minus", "mean_abs_error"):
        ds[name].attrs.update(units=GREY_LEVEL, long_name=f"{name.replace('_', ' ')} over frames >= {first}")
    ds["video_correlation_recorded"] = video_correlation(movie, rec, mask=eval_mask, first_frame=first)
    ds["video_correlation_predicted"] = video_correlation(movie, pred, mask=eval_mask, first_frame=first)
    ds["recorded_vs_predicted_correlation"] = video_correlation(pred, rec, mask=eval_mask, first_frame=first)
    for name in ("video_correlation_recorded", "video_correlation_predicted", "recorded_vs_predicted_correlation"):
        ds[name].attrs["units"] = "1"
    ds["pixel_correlation"] = (("y", "x"), pixel_correlation_map(movie, rec, mask=eval_mask, first_frame=first),
                               {"units": DIMENSIONLESS, "long_name": f"per pixel r(ground truth, recon_recorded) over frames "
                                                           f">= {first}"})
    ds["delta_r_mean"] = float(np.nanmean(delta_r)) if np.isfinite(delta_r).any() else np.nan
    ds["delta_r_mean"].attrs.update(units=DIMENSIONLESS, long_name="mean over neurons of delta_r (NaN neurons left out)")
    ds["e_plus_mean"] = float(e_plus[first:][:, inside].mean())
    ds["e_minus_mean"] = float(e_minus[first:][:, inside].mean())
    ds["e_plus_mean"].attrs.update(units=GREY_LEVEL, long_name="mean E+ over masked pixels x evaluated frames")
    ds["e_minus_mean"].attrs.update(units=GREY_LEVEL, long_name="mean E- over masked pixels x evaluated frames")


def run(config=None, *, out=None, progress=True, log=None):
    """The `characterize errormap` pipeline; returns the dataset with provenance (kind 'errormap').

    config: an :class:`ErrormapConfig` (None: the demo encoder). Recorded responses are the Poisson responses
    of the ground-truth mouse (it must have the encoder's neurons) with simulated behaviour (seeded by the movie
    seed), which is also given to the prediction and both reconstructions; with ``config.data``, the recorded
    trials and their behaviour (:func:`errormaps_of_clips`). out: folder for errormap.nc, its figures and (with
    ``config.video``) errormap.mp4 (None: nothing written). log: receives one line saying where the mask came from.
    """
    config = check_config(config, ErrormapConfig)
    ds = _run_on_data(config, progress, log) if config.data is not None else _run_on_movie(config, progress, log)
    if out is not None:
        write_outputs(ds, out)
        if config.video:
            from pathlib import Path

            from ...io.movies import write_movie
            from ...viz.errors import errormap_movie_frames

            ds.encoding["files"].append(write_movie(Path(out) / "errormap.mp4", errormap_movie_frames(ds)))
    return ds


def _run_on_movie(config, progress, log):
    """run on the ground-truth mouse's Poisson responses to one held-out natural movie."""
    from ...encoders.base import probe_encoder
    from ...io.results import provenance
    from ...masks import resolve_mask
    from ...stimuli.natural import natural_movie
    from ..targets import recorded_targets

    recipe, movie_seed = config.recipe, int(config.movie_seed)
    ref = config.encoder
    enc = ref.encoder
    truth, truth_name = load_truth(config.ground_truth, enc)
    probe_encoder(enc, need_grad=True)
    movie = natural_movie(seed=movie_seed, n_frames=int(config.frames)).values.astype(np.float32)
    responses, behavior = recorded_targets(truth, movie[None], [movie_seed])
    mask, line = resolve_mask(config.mask, ref, progress=progress)
    say(log, line)
    ds = error_map_analysis(enc, movie, responses[0], behavior[0], recipe, config.execution, mask.train,
                            mask.eval, progress, decoder=_decoder(config, ref, None, progress, log))
    run_config = dict(config.to_dict(), ground_truth=truth_name)
    ds.attrs.update(provenance("errormap", run_config, ref.name, movie_seed,
                               mouse="" if ref.mouse is None else int(ref.mouse),
                               targets=f"recorded: Poisson responses of {truth_name}; predicted: the encoder's "
                                       "prediction for the ground-truth movie (same simulated behaviour)",
                               encoder_description=str(getattr(enc, "description", "")), mask_source=line))
    return ds


def _decoder(config, ref, data, progress, log):
    """The linear decoder the recipe starts from (None for the grey start), with its line said."""
    if config.recipe.start != "decoder":
        return None
    from ...decoders import decoder_for

    decoder, line = decoder_for(ref, data, progress=progress)
    say(log, line)
    return decoder


def errormaps_of_clips(encoder, clips, recipe, execution=Execution(), train_mask=None, eval_mask=None,
                       progress=True, decoder=None):
    """:func:`error_map_analysis` of every clip of one mouse (a
    :class:`dnemkit.experiments.recorded.RecordedClips`), stacked along a new ``clip`` dim (coordinates
    ``mouse`` and ``trial``); every variable gets the clip dim."""
    parts = []
    for k, trial in enumerate(clips.trials):
        ds = error_map_analysis(encoder, clips.videos[k], clips.responses[k], clips.behavior[k], recipe, execution,
                                train_mask, eval_mask, progress, decoder=decoder)
        parts.append(ds)
    out = xr.concat(parts, dim="clip", data_vars="all", coords="minimal", compat="override",
                    combine_attrs="override")
    out.attrs["seconds"] = round(sum(ds.attrs["seconds"] for ds in parts), 2)
    return out.assign_coords(mouse=("clip", [clips.mouse] * len(clips.trials)), trial=("clip", list(clips.trials)))


def _run_on_data(config, progress, log):
    """run on recorded clips: error maps and delta r of every clip of every mouse (its own encoder and
    mask), stacked along ``clip`` (neurons beyond a mouse's count are NaN)."""
    from ...encoders.base import probe_encoder
    from ...io.results import provenance
    from ...masks import resolve_mask

    recipe = config.recipe
    mice = recorded_mice(config.data, config.encoder, config.tiers, config.trials, config.trial_ids, config.frames,
                         recipe.subbatch_frames, log=log)
    parts, lines, described = [], [], []
    for ref, clips, description in mice:
        enc = ref.encoder
        probe_encoder(enc, need_grad=True)
        mask, line = resolve_mask(config.mask, ref, clips.folder, progress=progress)
        line = f"{clips.mouse}: {line}" if len(mice) > 1 else line
        say(log, line)
        parts.append(errormaps_of_clips(enc, clips, recipe, config.execution, mask.train, mask.eval, progress,
                                        decoder=_decoder(config, ref, clips.folder, progress, log)))
        lines.append(line)
        described.append(f"{clips.mouse} -> {description}")
    ds = parts[0] if len(parts) == 1 else xr.concat(parts, dim="clip", join="outer", combine_attrs="override")
    ds = ds.assign_coords(clip=np.arange(ds.sizes["clip"]))
    ds["clip"].attrs["long_name"] = "clip (recorded trial; see the mouse and trial coordinates)"
    ds.attrs["seconds"] = round(sum(p.attrs["seconds"] for p in parts), 2)
    n_clips = ds.sizes["clip"]
    run_config = config.to_dict()
    ds.attrs.update(provenance("errormap", run_config, mice[0][0].name, None,
                               mouse="" if config.encoder.mouse is None else int(config.encoder.mouse),
                               targets=f"recorded: the recorded responses of {len(mice)} mouse/mice x "
                                       f"{n_clips // len(mice)} clip(s), {ds.sizes['frame']} frames each; "
                                       "predicted: the encoder's prediction for the trial's movie (its recorded "
                                       "behaviour)", data=config.data, mice=len(mice), clips=n_clips,
                               encoders="; ".join(described),
                               encoder_description=str(getattr(mice[0][0].encoder, "description", "")),
                               mask_source=" | ".join(lines), **skipped_attrs([c for _, c, _ in mice])))
    return ds
