"""One batch of conditions: stimuli -> predicted activity -> one batched reconstruction -> measures (docs/method.md, "Analyses").

For a batch of B conditions, the 2B movies (each stimulus and its phase-inverted twin 255 - v) are generated,
their activity is predicted by the encoder itself (an Ensemble predicts the mean of its members: the targets come
from the models actually used, never one model repeated), and all 2B are reconstructed in ONE
:func:`dnemkit.reconstruct` call (every sub-batch of every movie goes through the encoder in batched passes).

Measures, per condition and phase (evaluation: frames >= 30, pixels of the eval mask):

- ``video_correlation`` (model): r(stimulus, model m's reconstruction)
- ``video_correlation_ensemble``: r(stimulus, ensemble) with ensemble = mean of the models' videos, smoothed
  (ReconstructionResult.ensemble)
- ``ensembling_gain``: video_correlation_ensemble - mean over models of video_correlation
- ``entropy_stimulus``, ``entropy_reconstruction``: mean Shannon entropy (bits, 25 bins) of the evaluated frames
- ``motion_energy_stimulus``, ``motion_energy_reconstruction``: mean |v(t+1) - v(t)| (grey levels / frame)
- ``baseline_correlation``: r(ensemble reconstruction, stimulus of another, randomly chosen condition of the grid
  in the same phase) - the paper's chance level
- ``response_correlation`` (model): final-iteration correlation between predicted and target activity
- ``phase_inversion_correlation`` (no phase dim): r(ensemble reconstruction of v, of 255 - v); near -1 when the
  reconstruction follows the stimulus rather than a fixed pattern. r(recon, same-phase stimulus) is
  ``video_correlation_ensemble``.
"""

import json
import time

import numpy as np
import torch
import xarray as xr

from ...analysis import ensembling_gain, frame_entropy, motion_energy, phase_inversion, video_correlation
from ..targets import predicted_targets
from ...reconstruction import reconstruct
from ...reconstruction.config import Execution
from ...video import EVAL_FIRST_FRAME
from ...device import resolve_device
from .grids import stimulus
from ...units import BIT, DIMENSIONLESS, GREY_LEVEL_PER_FRAME, SECOND

PHASES = ("original", "inverted")

#: variables of a condition and their extra dims beyond the grid's (units in ``VARIABLE_ATTRS``)
VARIABLE_DIMS = {
    "video_correlation": ("phase", "model"),
    "video_correlation_ensemble": ("phase",),
    "ensembling_gain": ("phase",),
    "entropy_stimulus": ("phase",),
    "entropy_reconstruction": ("phase",),
    "motion_energy_stimulus": ("phase",),
    "motion_energy_reconstruction": ("phase",),
    "baseline_correlation": ("phase",),
    "response_correlation": ("phase", "model"),
    "phase_inversion_correlation": (),
    "seconds": (),
}

VARIABLE_ATTRS = {
    "video_correlation": dict(units=DIMENSIONLESS, long_name="video correlation of each model's reconstruction"),
    "video_correlation_ensemble": dict(
        units=DIMENSIONLESS, long_name="video correlation of the ensemble (mean of the models' videos, smoothed)"),
    "ensembling_gain": dict(units=DIMENSIONLESS, long_name="r(ensemble) - mean over models of r(model)"),
    "entropy_stimulus": dict(units=BIT, long_name="mean frame entropy of the stimulus (25 bins)"),
    "entropy_reconstruction": dict(units=BIT, long_name="mean frame entropy of the ensemble reconstruction"),
    "motion_energy_stimulus": dict(units=GREY_LEVEL_PER_FRAME, long_name="mean motion energy of the stimulus"),
    "motion_energy_reconstruction": dict(units=GREY_LEVEL_PER_FRAME,
                                         long_name="mean motion energy of the ensemble reconstruction"),
    "baseline_correlation": dict(units=DIMENSIONLESS, long_name="r(ensemble reconstruction, stimulus of another randomly "
                                                      "chosen condition, same phase): chance level"),
    "response_correlation": dict(units=DIMENSIONLESS, long_name="final correlation of predicted and target activity"),
    "phase_inversion_correlation": dict(units=DIMENSIONLESS, long_name="r(ensemble reconstruction of v, of 255 - v)"),
    "seconds": dict(units=SECOND, long_name="reconstruction time per condition (its share of the batch)"),
}

#: bump when the measures change, so stored conditions are recomputed
ANALYSIS_VERSION = 1


def compute_batch(encoder, items, recipe, execution=Execution(), train_mask=None, eval_mask=None, progress=False,
                  description="reconstruct", decoder=None):
    """Reconstruct and measure a batch of conditions.

    encoder: an Encoder (an Ensemble reconstructs with each member). items: list of dicts with ``params`` (the
    condition's stimulus params), ``other`` (stimulus params of the baseline condition, or None) and ``id``.
    train_mask / eval_mask: (36, 64) bool. decoder: the linear decoder whose movies of the targets are the start
    (recipe start 'decoder'; :mod:`dnemkit.decoders`). Returns a list of dicts (one per item): ``id`` and ``values``
    (variable name -> numpy array with the dims of ``VARIABLE_DIMS``), plus ``model_names``.
    """
    b = len(items)
    gts = np.stack([stimulus(it["params"]) for it in items])
    videos = np.concatenate([gts, 255.0 - gts]).astype(np.float32)  # (2B, T, 36, 64): original then inverted
    device = resolve_device(execution.device)
    targets = torch.from_numpy(predicted_targets(encoder.to(device).eval(), videos, device=device))
    started = time.perf_counter()
    result = reconstruct(encoder, targets, None, recipe, execution=execution, train_mask=train_mask,
                         progress=progress, description=description, decoder=decoder)
    seconds = (time.perf_counter() - started) / b
    first = EVAL_FIRST_FRAME
    n_models = result.videos.shape[0]
    rcorr = result.traces["response_correlation"][-1]  # (models, 2B)
    if rcorr.shape[0] != n_models:  # gradient ensembling: one video from all models
        rcorr = rcorr.mean(0, keepdims=True)

    out = []
    for i, it in enumerate(items):
        other = stimulus(it["other"]) if it.get("other") else None
        values = {name: np.full((2,) * ("phase" in dims) + (n_models,) * ("model" in dims), np.nan)
                  for name, dims in VARIABLE_DIMS.items()}
        for p in range(2):
            k = p * b + i
            gt, ens = videos[k], result.ensemble[k]
            gain = ensembling_gain(gt, result.videos[:, k], ensemble_recon=ens, mask=eval_mask, first_frame=first)
            values["video_correlation"][p] = gain["model_r"]
            values["video_correlation_ensemble"][p] = gain["ensemble_r"]
            values["ensembling_gain"][p] = gain["gain"]
            values["entropy_stimulus"][p] = frame_entropy(gt[first:], mask=eval_mask)
            values["entropy_reconstruction"][p] = frame_entropy(ens[first:], mask=eval_mask)
            values["motion_energy_stimulus"][p] = motion_energy(gt, mask=eval_mask, first_frame=first)
            values["motion_energy_reconstruction"][p] = motion_energy(ens, mask=eval_mask, first_frame=first)
            if other is not None:
                other_gt = other if p == 0 else 255.0 - other
                values["baseline_correlation"][p] = video_correlation(other_gt, ens, mask=eval_mask, first_frame=first)
            values["response_correlation"][p] = rcorr[:, k]
        inv = phase_inversion(videos[i], result.ensemble[i], result.ensemble[b + i], mask=eval_mask, first_frame=first)
        values["phase_inversion_correlation"][()] = inv["r_inverted"]
        values["seconds"][()] = seconds
        out.append({"id": it["id"], "values": values, "model_names": list(result.model_names)})
    return out


def condition_dataset(record, params, other, kind, context):
    """One finished condition as a small xarray Dataset (what the store keeps)."""
    n_models = len(record["model_names"])
    data = {name: (VARIABLE_DIMS[name], np.asarray(v, np.float64)) for name, v in record["values"].items()}
    ds = xr.Dataset(data, coords={"phase": list(PHASES), "model": np.arange(n_models),
                                  "model_name": ("model", [str(s) for s in record["model_names"]])})
    ds.attrs.update(condition_id=record["id"], kind=kind, params=json.dumps(params, sort_keys=True),
                    baseline_params=json.dumps(other, sort_keys=True), context=json.dumps(context, sort_keys=True))
    return ds
