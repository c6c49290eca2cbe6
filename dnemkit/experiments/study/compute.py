"""One unit of a study's work: reconstruct clips of one mouse with every model, predict the activity of the true
movie and of the reconstruction, and package each clip as the small Dataset the store keeps.

A worker of a Dask cluster runs :func:`clips_task` (the encoder is loaded there from its spec, once per worker
process); the local executor calls :func:`reconstruct_clips` directly.
"""

import numpy as np
import xarray as xr

from ...reconstruction import reconstruct
from ...stimuli.geometry import HEIGHT, WIDTH
from ..executor import loaded
from ..targets import predicted_targets


def reconstruct_clips(encoder, clips, recipe, train_mask, progress=False, description="study"):
    """Reconstruct ``clips`` (of one mouse, one length) in one ``reconstruct`` call; returns one dict per clip.

    encoder: the mouse's readout (an Ensemble reconstructs with every member; each member's video is kept, so
    ensemble sizes 1..K are re-scored without reconstructing again). clips: [Clip]. recipe: ReconstructionConfig.
    train_mask: (36, 64) bool. Each dict holds ``model_videos`` (M, T, 36, 64) unsmoothed, ``loss`` and
    ``response_correlation`` (iterations, M), ``predicted_true`` and ``predicted_reconstruction`` (N, T): the
    ensemble's predicted activity for the true movie and for the smoothed ensemble reconstruction (with the
    trial's behaviour), and ``seconds`` (this call's reconstruction time, shared by its clips).
    """
    responses = np.stack([c.responses for c in clips])
    behavior = np.stack([c.behavior for c in clips])
    result = reconstruct(encoder, responses, behavior, recipe, train_mask=train_mask, progress=progress,
                         description=description)
    videos = np.stack([c.video for c in clips])
    true_rates = predicted_targets(encoder, videos, behavior)
    recon_rates = predicted_targets(encoder, result.ensemble, behavior)
    return [{"model_videos": result.videos[:, b], "loss": result.traces["loss"][:, :, b],
             "response_correlation": result.traces["response_correlation"][:, :, b],
             "predicted_true": true_rates[b], "predicted_reconstruction": recon_rates[b],
             "seconds": float(result.seconds), "model_names": list(result.model_names)}
            for b in range(len(clips))]


def clips_task(ref, clips, recipe, train_mask):
    """What a Dask worker runs: :func:`reconstruct_clips` with the encoder named by ``ref`` (an EncoderRef
    with a spec, loaded here) or given as an object (scattered by the client)."""
    from ...encoders.ref import EncoderRef

    encoder = loaded(ref) if isinstance(ref, EncoderRef) else ref
    return reconstruct_clips(encoder, clips, recipe, train_mask)


def clip_dataset(clip, record, attrs):
    """The stored Dataset of one clip (``attrs`` names it: ``clip_id``, mouse, trial, ...)."""
    m, t = record["model_videos"].shape[:2]
    grey = {"units": "grey level"}
    rate = {"units": "counts/frame"}
    names = record["model_names"] if len(record["model_names"]) == m else [f"model {k}" for k in range(m)]
    ds = xr.Dataset(
        {"model_reconstruction": (("model", "frame", "y", "x"), record["model_videos"].astype(np.float32),
                                  {**grey, "long_name": "each model's reconstruction, unsmoothed"}),
         "loss": (("iteration", "model"), record["loss"].astype(np.float32), {"units": "1", "long_name": "Poisson loss"}),
         "response_correlation": (("iteration", "model"), record["response_correlation"].astype(np.float32),
                                  {"units": "1", "long_name": "r(predicted, recorded) during the optimisation"}),
         "predicted_true": (("neuron", "frame"), record["predicted_true"].astype(np.float32),
                            {**rate, "long_name": "activity predicted from the true movie (ensemble mean)"}),
         "predicted_reconstruction": (("neuron", "frame"), record["predicted_reconstruction"].astype(np.float32),
                                      {**rate, "long_name": "activity predicted from the ensemble reconstruction"})},
        coords={"model": np.arange(m), "model_name": ("model", [str(n) for n in names]), "frame": np.arange(t),
                "y": np.arange(HEIGHT), "x": np.arange(WIDTH),
                "iteration": np.arange(1, record["loss"].shape[0] + 1)})
    ds.attrs.update(attrs, mouse=clip.mouse, trial=int(clip.trial), tier=clip.tier,
                    seconds=round(record["seconds"], 3))
    return ds
