"""dnemkit's reconstructions in the reference's own file format, so that its analysis notebooks run on them.

The reference's natural-movie script saves one ``reconstruction_summary_m{mouse}_t{trial}.npy`` per model and clip,
in one folder per model; its notebooks read ``modelfold[K]_datafold_0_pop100_hpc_round5/`` (model K). A
`characterize natural --reference-format` run writes the same tree under its output folder: for each model of the
ensemble, its own (unsmoothed) reconstruction, the activity that model predicts for the true movie and for its
reconstruction shown inside the evaluation mask (grey 127.5 outside, as the script predicts it), the recorded
responses, behaviour and the mask; the tracked metrics are computed by :func:`dnemkit.reference.summary_dict`.
"""

from pathlib import Path

import numpy as np

#: the folder the analysis notebooks read model K's natural-movie reconstructions from
MODEL_FOLDER = "modelfold[{k}]_datafold_0_pop100_hpc_round5"


def write_natural_summaries(out, *, video_gt, model_videos, responses, behavior, mask_level, eval_mask, members,
                            mouse_index=0, trial=0, iterations=None, thresholds=(0.5, 1.0)):
    """Write one reference-format summary per model; returns the written paths.

    out: the run's output folder. video_gt: (T, 36, 64) grey levels; model_videos: (M, T, 36, 64) each model's
    unsmoothed reconstruction; responses: (N, T) the targets; behavior: (4, T) pupil dilation, running speed,
    pupil x, pupil y; mask_level: (36, 64) the mask's level; eval_mask: (36, 64) bool; members: the M encoders
    (each predicts for its own file, as the reference's per-model runs did); mouse_index, trial: the names of
    the files; iterations: the recipe's iteration count (the file's ``epochs``); thresholds: the mask's training
    and evaluation thresholds (the file's ``mask_update_th``, ``mask_eval_th``).
    """
    from ..analysis.metrics import apply_eval_mask
    from ..experiments.targets import predicted_targets
    from .summary import write_summary

    behavior = np.asarray(behavior, np.float32)
    paths = []
    for k, (member, video) in enumerate(zip(members, model_videos)):
        true_rates = predicted_targets(member, np.asarray(video_gt, np.float32)[None], behavior[None])[0]
        shown = apply_eval_mask(np.asarray(video, np.float32), eval_mask, fill=255 / 2)
        recon_rates = predicted_targets(member, shown[None], behavior[None])[0]
        folder = Path(out) / MODEL_FOLDER.format(k=k)
        folder.mkdir(parents=True, exist_ok=True)
        settings = {"mask_update_th": float(thresholds[0]), "mask_eval_th": float(thresholds[1])}
        if iterations is not None:
            settings.update(epochs=int(iterations), strides_switch=[int(iterations)])
        paths.append(write_summary(folder / f"reconstruction_summary_m{mouse_index}_t{trial}.npy",
                                   video_gt=video_gt, video_pred=video, responses=responses,
                                   responses_predicted_gt=true_rates, responses_predicted_full=recon_rates,
                                   behavior=behavior[:2], pupil_center=behavior[2:], mask=mask_level,
                                   mouse_index=int(mouse_index), trial=int(trial), model_list=[k], **settings))
    return paths
