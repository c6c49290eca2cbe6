"""One unit of a study's work: reconstruct clips of one mouse with every model, predict the activity of the true
movie and of the reconstruction, and package each clip as the small Dataset the store keeps.

Here or on a Dask worker (:mod:`dnemkit.experiments.runs`, which loads the encoder there from its spec, once per
worker process), a unit is one :func:`reconstruct_clips` call.
"""

import numpy as np
import xarray as xr

from ...reconstruction import reconstruct
from ...reconstruction.stoppers import make_stopper
from ...stimuli.geometry import HEIGHT, WIDTH
from ..targets import predicted_targets
from ...units import COUNTS_PER_FRAME, DIMENSIONLESS, GREY_LEVEL


#: the grey the reference's predict_response_from_recon.py shows outside the training mask for the masked movie
#: and the reconstruction (255 // 2, an integer; its contrast-matched input uses 255 / 2)
REFERENCE_FILL = 255 // 2


def reconstruct_clips(encoder, clips, recipe, execution, train_mask, *, targets="recorded", eval_mask=None,
                      input_mask=None, predictions=True, progress=False, description="study", start=None,
                      start_seconds=0.0, decoded=None):
    """Reconstruct ``clips`` (of one mouse, one length) in one ``reconstruct`` call; returns one dict per clip.

    encoder: the mouse's readout (an Ensemble reconstructs with every member; each member's video is kept, so
    ensemble sizes 1..K are re-scored without reconstructing again). clips: [Clip]. recipe, execution: the
    Recipe and Execution of the reconstruction.
    train_mask: (36, 64) bool. targets: 'recorded' (the clips' responses) or 'predicted' (the ensemble's activity
    predicted from the true movie with the clip's behaviour). Each dict holds ``model_videos`` (M, T, 36, 64)
    unsmoothed, ``loss`` and ``response_correlation`` (iterations, M) and ``seconds`` (this call's
    reconstruction time, shared by its clips). With ``predictions``, also the ensemble's predicted activity
    (N, T) for: the true movie (``predicted_true``) and the smoothed ensemble reconstruction shown inside
    ``eval_mask`` with grey outside (``predicted_reconstruction``, the ethogram's). With an ``input_mask`` (the
    training mask), the inputs of Fig. 1 - figure supplement 2D as the reference's predict_response_from_recon.py
    makes them: the true movie inside it (``predicted_masked``), the *unsmoothed* mean of the models'
    reconstructions inside it (``predicted_unsmoothed``), both with grey 127 (255 // 2) outside, and that mean
    contrast- and luminance-matched to the true movie over the mask's pixels x *all* frames (``predicted_matched``,
    grey 127.5 outside).

    start: (B, T, 36, 64) videos the reconstruction starts from (a decoder's movies; ``start_seconds`` their
    decoding time, added to ``seconds``); with ``recipe`` None nothing is reconstructed and the start is the
    clips' one video (the decoder method). decoded: (B, T, 36, 64) the decoder's movies the agreement stopper
    watches (recipe stopper 'agreement', inside ``eval_mask``; ``start_seconds`` their decoding time). Each dict
    also holds ``iterations``: those run (a stopper's chosen iteration; 0 without reconstruction).
    """
    if recipe is None:
        return [{"model_videos": np.asarray(start[b], np.float32)[None], "loss": np.zeros((0, 1)),
                 "response_correlation": np.zeros((0, 1)), "seconds": float(start_seconds),
                 "model_names": ["decoder"], "iterations": 0} for b in range(len(clips))]
    from ...analysis.metrics import apply_eval_mask, match_contrast

    videos = np.stack([c.video for c in clips])
    behavior = np.stack([c.behavior for c in clips])
    true_rates = predicted_targets(encoder, videos, behavior) if predictions or targets == "predicted" else None
    responses = true_rates if targets == "predicted" else np.stack([c.responses for c in clips])
    stopper = make_stopper(recipe, decoded=decoded, mask=eval_mask) if recipe.stopper == "agreement" else None
    result = reconstruct(encoder, responses, behavior, recipe, execution=execution, train_mask=train_mask,
                         progress=progress, description=description, start=start, stopper=stopper)
    done = result.stopped_at if result.stopped_at is not None else result.iterations_run
    records = [{"model_videos": result.videos[:, b], "loss": result.traces["loss"][:, :, b],
                "response_correlation": result.traces["response_correlation"][:, :, b],
                "seconds": float(result.seconds) + float(start_seconds), "model_names": list(result.model_names),
                "iterations": int(recipe.iterations if done is None else done)} for b in range(len(clips))]
    if predictions:
        shown = result.ensemble if eval_mask is None else apply_eval_mask(result.ensemble, eval_mask)
        recon_rates = predicted_targets(encoder, shown, behavior)
        for b, rec in enumerate(records):
            rec.update(predicted_true=true_rates[b], predicted_reconstruction=recon_rates[b])
        if input_mask is not None:
            mean = result.videos.mean(0)  # (B, T, 36, 64): the models' mean, unsmoothed
            masked = predicted_targets(encoder, apply_eval_mask(videos, input_mask, fill=REFERENCE_FILL), behavior)
            unsmoothed = predicted_targets(encoder, apply_eval_mask(mean, input_mask, fill=REFERENCE_FILL), behavior)
            matched = np.stack([match_contrast(videos[b], mean[b], mask=input_mask, first_frame=0)
                                for b in range(len(clips))])
            matched_rates = predicted_targets(encoder, matched, behavior)
            for b, rec in enumerate(records):
                rec.update(predicted_masked=masked[b], predicted_unsmoothed=unsmoothed[b],
                           predicted_matched=matched_rates[b])
    return records


#: the predicted activities a stored clip may hold (ensemble means, the clip's behaviour)
PREDICTIONS = {"predicted_true": "activity predicted from the true movie",
               "predicted_reconstruction": "activity predicted from the ensemble reconstruction (grey outside the "
                                           "evaluation mask)",
               "predicted_masked": "activity predicted from the true movie, grey outside the training mask",
               "predicted_unsmoothed": "activity predicted from the unsmoothed mean of the models' reconstructions, "
                                       "grey outside the training mask",
               "predicted_matched": "activity predicted from the unsmoothed mean reconstruction in the training "
                                    "mask, contrast- and luminance-matched to the true movie over all frames"}


def clip_dataset(clip, record, attrs):
    """The stored Dataset of one clip (``attrs`` names it: ``clip_id``, mouse, trial, ...)."""
    m, t = record["model_videos"].shape[:2]
    grey = {"units": GREY_LEVEL}
    rate = {"units": COUNTS_PER_FRAME}
    names = record["model_names"]
    ds = xr.Dataset(
        {"model_reconstruction": (("model", "frame", "y", "x"), record["model_videos"].astype(np.float32),
                                  {**grey, "long_name": "each model's reconstruction, unsmoothed"}),
         "loss": (("iteration", "member"), record["loss"].astype(np.float32),
                  {"units": DIMENSIONLESS, "long_name": "Poisson loss of each model (gradient ensembling: one video, every "
                   "model's loss)"}),
         "response_correlation": (("iteration", "member"), record["response_correlation"].astype(np.float32),
                                  {"units": DIMENSIONLESS, "long_name": "r(predicted, recorded) during the optimisation"}),
         **{name: (("neuron", "frame"), record[name].astype(np.float32), {**rate, "long_name": text})
            for name, text in PREDICTIONS.items() if name in record}},
        coords={"model": np.arange(m), "model_name": ("model", [str(n) for n in names]), "frame": np.arange(t),
                "y": np.arange(HEIGHT), "x": np.arange(WIDTH),
                "iteration": np.arange(1, record["loss"].shape[0] + 1)})
    ds.attrs.update(attrs, mouse=clip.mouse, trial=int(clip.trial), tier=clip.tier,
                    seconds=round(record["seconds"], 3))
    if "iterations" in record:
        ds.attrs["iterations"] = int(record["iterations"])
    return ds
