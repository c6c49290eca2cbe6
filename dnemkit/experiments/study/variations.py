"""The paper's method variations over a study (Fig. 1 - figure supplement 2): named changes of the targets, the
ensembling, the smoothing or the training mask, each reconstructed beside the standard run in the same store, and
the evaluation-mask threshold sweep that only re-scores stored videos.

Names (``--variations``): ``predicted`` (targets: the ensemble's activity predicted from the true movie instead of
the recorded responses), ``gradient`` (gradient ensembling: the models' normalised gradients are averaged each
step; needs two or more models), ``unsmoothed`` (the standard videos without the final Gaussian filter: no
reconstruction), ``train-mask=T`` (the training mask is level >= T instead of the mask's training threshold;
``train-mask=none`` or ``train-mask=0``: no training mask, every pixel is optimised, the paper's first arm).

The threshold sweep re-scores each training-mask arm (the standard run and every ``train-mask=T``) under
evaluation masks level >= t. By default each arm runs, as the reference's analysis does, from its own training
threshold (0 for none) to 1.0 in steps of 0.1 (``sweep_thresholds``); thresholds given by the user apply to every
arm.
"""

from dataclasses import dataclass

import numpy as np

from ...errors import DnemkitError
from ...units import DEGREE, DIMENSIONLESS, PERCENT

#: the reference's sweep: np.arange(train threshold, 1.01, 0.1) per arm
SWEEP_STEP, SWEEP_END = 0.1, 1.0
INPUTS = ("true", "masked", "reconstruction", "matched")


@dataclass(frozen=True)
class Variation:
    """One named change of the standard study run (module docstring)."""

    name: str
    targets: str = "recorded"
    ensembling: str = "reconstruction"
    train_threshold: float | None = None
    smoothed: bool = True

    @property
    def reconstructs(self):
        """False for a variation that only re-scores the standard run's stored videos."""
        return self.name not in ("standard", "unsmoothed")

    def key(self):
        """What enters a variation's clip ids (the standard run's ids have none)."""
        return {"targets": self.targets, "ensembling": self.ensembling, "train_threshold": self.train_threshold}


STANDARD = Variation("standard")


def parse_variations(names):
    """(Variation, ...) for ``names`` ('predicted', 'gradient', 'unsmoothed', 'train-mask=T'; the standard run is
    always there and first); one clear error for anything else."""
    out = [STANDARD]
    for name in names:
        name = str(name).strip()
        if name in ("", "standard"):
            continue
        if name == "predicted":
            v = Variation(name, targets="predicted")
        elif name == "gradient":
            v = Variation(name, ensembling="gradient")
        elif name == "unsmoothed":
            v = Variation(name, smoothed=False)
        elif name.startswith("train-mask="):
            value = name.split("=", 1)[1].strip().lower()
            try:
                t = 0.0 if value == "none" else float(value)
            except ValueError:
                t = float("nan")
            if not np.isfinite(t) or t < 0:
                raise DnemkitError(f"variation {name!r} has no threshold >= 0; expected e.g. train-mask=0.25, or "
                                   "train-mask=none (every pixel)")
            v = Variation("train-mask=none" if t == 0 else f"train-mask={t:g}", train_threshold=t)
        else:
            raise DnemkitError(f"variation {name!r} is unknown; expected predicted, gradient, unsmoothed or "
                               "train-mask=T (comma-separated)")
        if v.name not in [o.name for o in out]:
            out.append(v)
    return tuple(out)


def training_mask(mask, threshold):
    """The boolean (36, 64) training mask of an arm: ``mask.train`` (threshold None), every pixel (0: no
    training mask), else level >= threshold."""
    if threshold is None:
        return mask.train
    if threshold == 0:
        return np.ones(mask.level.shape, bool)
    return mask.at(threshold)


def sweep_thresholds(train_threshold):
    """The reference's evaluation thresholds of one arm: train_threshold, + 0.1, ..., up to 1.0 (rounded to
    0.01; 0 for an arm without training mask). An arm trained at >= 1 is scored at its own threshold only."""
    start = float(train_threshold)
    if start >= SWEEP_END:
        return (round(start, 2),)
    n = int(np.floor((SWEEP_END - start) / SWEEP_STEP + 1e-9)) + 1
    return tuple(round(start + k * SWEEP_STEP, 2) for k in range(n))


def check_variations(variations, n_models, encoder):
    """Refuse, before any work, a variation that cannot change anything (gradient ensembling of one model)."""
    if any(v.ensembling == "gradient" for v in variations) and n_models < 2:
        raise DnemkitError(f"variation 'gradient' averages the gradients of several models, but encoder {encoder!r} "
                           f"has {n_models}; expected an ensemble of 2 or more models (a folder of checkpoints)")


def subject_table(values, mice):
    """(subjects, names, kind): rows of ``values`` (n_clips, ...) averaged per mouse when there are two or more
    mice, else the clips themselves."""
    mice = np.asarray(mice)
    unique = list(dict.fromkeys(mice.tolist()))
    if len(unique) >= 2:
        return np.stack([np.nanmean(values[mice == m], 0) for m in unique]), unique, "mice"
    return np.asarray(values), [str(i) for i in range(len(values))], "clips"


def ensemble_videos(stored, sigma):
    """The smoothed (sigma > 0) or plain mean of each stored clip's model videos."""
    from ...video import smooth_video

    return [smooth_video(ds["model_reconstruction"].values.mean(0), sigma) for ds in stored]


def clip_scores(clips, videos, masks, first, eval_of=None):
    """(video r, frame r) per clip; ``eval_of(mouse)`` gives the evaluation mask (default: the mouse's)."""
    from ...analysis.metrics import frame_correlation, video_correlation

    pick = eval_of or (lambda mouse: masks[mouse].eval)
    v = np.array([video_correlation(c.video, r, mask=pick(c.mouse), first_frame=first) if pick(c.mouse).any() else np.nan
                  for c, r in zip(clips, videos)])
    f = np.array([frame_correlation(c.video, r, mask=pick(c.mouse), first_frame=first) if pick(c.mouse).any() else np.nan
                  for c, r in zip(clips, videos)])
    return v, f


def add_variations(ds, clips, *, stored_standard, stored_variations, variations, masks, first, sigma, thresholds):
    """Add the variations' scores and tests, the evaluation-threshold sweep (mask diameters in degrees) and the
    activity prediction for different inputs to the study Dataset ``ds`` (in place; docs/method.md)."""
    from ...analysis.study import compare_with_first, response_fit
    from ...stimuli.geometry import mask_size_deg

    included = ds["included"].values.astype(bool)
    mice = [c.mouse for c in clips]
    videos = {}
    for v in variations:
        source = stored_standard if not v.reconstructs else stored_variations[v.name]
        videos[v.name] = ensemble_videos(source, sigma if v.smoothed else 0.0)
    names = [v.name for v in variations]
    scores = {n: clip_scores(clips, videos[n], masks, first) for n in names}
    ds.coords["variation"] = names
    ds["variation_video_correlation"] = (("variation", "clip"), np.stack([scores[n][0] for n in names]),
                                         {"units": DIMENSIONLESS, "long_name": "video r of each variation's ensemble"})
    ds["variation_frame_correlation"] = (("variation", "clip"), np.stack([scores[n][1] for n in names]),
                                         {"units": DIMENSIONLESS, "long_name": "frame r of each variation's ensemble"})
    res = compare_with_first(np.stack([scores[n][0] for n in names]).T[included], np.asarray(mice)[included])
    table, kind, change, p = res["table"], res["subjects"], res["change_percent"], res["p"]
    ds["variation_change_percent"] = ("variation", change, {"units": PERCENT, "long_name": "100 x (mean r - mean r standard) / mean "
                                                            f"r standard, means over {kind}"})
    ds["variation_p"] = ("variation", p, {"units": DIMENSIONLESS, "long_name": f"paired t-test against standard over {kind}"})
    ds["variation_subject_video_correlation"] = (("variation_subject", "variation"), table,
                                                 {"units": DIMENSIONLESS, "long_name": f"video r per {kind[:-1]} and variation"})
    ds.attrs["variation_subjects"] = kind
    _add_threshold_sweep(ds, clips, videos, variations, masks, first, thresholds, included, mask_size_deg)
    _add_input_predictions(ds, clips, stored_standard, first, included, response_fit)


def _arm_threshold(variation, masks):
    """The training threshold of a training-mask arm (the standard run: the masks' own, one value for all)."""
    if variation.train_threshold is not None:
        return variation.train_threshold
    return float(next(iter(masks.values())).train_threshold)


def _add_threshold_sweep(ds, clips, videos, variations, masks, first, thresholds, included, mask_size_deg):
    """r of each training-mask arm's videos under evaluation masks level >= t, and the masks' diameters.

    thresholds: the user's (every arm at each), or None: each arm from its training threshold to 1.0
    (:func:`sweep_thresholds`), NaN at the thresholds of the union grid below an arm's start.
    """
    from ...analysis.metrics import nanmean

    trained = [v for v in variations if v.name == "standard" or v.train_threshold is not None]
    arms = {v.name: (tuple(thresholds) if thresholds else sweep_thresholds(_arm_threshold(v, masks))) for v in trained}
    grid = sorted({t for ts in arms.values() for t in ts})
    per_clip = np.full((len(trained), len(grid), len(clips)), np.nan)
    for j, t in enumerate(grid):
        for i, v in enumerate(trained):
            if t in arms[v.name]:
                per_clip[i, j], _ = clip_scores(clips, videos[v.name], masks, first, lambda m: masks[m].at(t))
    table = nanmean(np.where(included, per_clip, np.nan), axis=2) if included.any() \
        else np.full(per_clip.shape[:2], np.nan)
    ds.coords["training_mask"] = [v.name for v in trained]
    ds.coords["training_threshold"] = ("training_mask", [_arm_threshold(v, masks) for v in trained],
                                       {"units": DIMENSIONLESS, "long_name": "training mask level >= t (0: every pixel)"})
    ds.coords["eval_threshold"] = ("eval_threshold", grid, {"units": DIMENSIONLESS, "long_name": "evaluation mask level >= t"})
    ds["threshold_clip_video_correlation"] = (("training_mask", "eval_threshold", "clip"), per_clip,
                                              {"units": DIMENSIONLESS, "long_name": "video r per clip, re-scored from the "
                                               "stored videos with the evaluation mask level >= t (NaN: below the "
                                               "arm's sweep)"})
    ds["threshold_video_correlation"] = (("training_mask", "eval_threshold"), table,
                                         {"units": DIMENSIONLESS, "long_name": "mean video r over clips, re-scored from the "
                                          "stored videos"})
    ds.attrs["eval_thresholds"] = "given: every arm" if thresholds else \
        "each arm from its training threshold to 1.0 in steps of 0.1 (the reference's)"
    sizes = [[mask_size_deg(masks[m].at(t)) for t in grid] for m in ds["mouse"].values]
    ds["eval_mask_diameter_deg"] = (("mouse", "eval_threshold"),
                                    np.array([[s["diameter_deg"] for s in row] for row in sizes]),
                                    {"units": DEGREE, "long_name": "the paper's mask diameter: 2 sqrt(A / pi), A the "
                                     "summed retinotopic area of the masked pixels (full screen 121.4 deg)"})
    ds["eval_mask_solid_angle_diameter_deg"] = (("mouse", "eval_threshold"),
                                                np.array([[s["equivalent_diameter_deg"] for s in row] for row in sizes]),
                                                {"units": DEGREE, "long_name": "alternative: diameter of the disc "
                                                 "with the mask's solid angle (oblique viewing counted)"})


def _add_input_predictions(ds, clips, stored, first, included, response_fit):
    """Fig. 1 - figure supplement 2D as the reference's predict_response_from_recon.py and analysis compute it:
    Poisson loss and r(recorded, predicted) for the activity the ensemble predicts from the true movie, the true
    movie in the training mask, the unsmoothed mean reconstruction in the training mask and that reconstruction
    contrast- and luminance-matched (when the stored clips hold them); per input, the % change against the true
    movie and a paired t-test against it over mice (over clips for a one-mouse study).

    Sign of "% change": 100 x (mean over subjects of the input's value - that of the true movie) / |that of the
    true movie|, for the loss and for r alike: positive = the input's loss (or r) is higher than the true
    movie's. (A masked movie raises the loss; it lowers r, a negative change of r.)
    """
    from ...analysis.study import input_prediction_statistics

    keys = {"true": "predicted_true", "masked": "predicted_masked", "reconstruction": "predicted_unsmoothed",
            "matched": "predicted_matched"}
    if not all(k in s for s in stored for k in keys.values()):
        return
    loss = np.full((len(clips), len(INPUTS)), np.nan)
    corr = np.full_like(loss, np.nan)
    for i, (c, s) in enumerate(zip(clips, stored)):
        for j, name in enumerate(INPUTS):
            fit = response_fit(c.responses, s[keys[name]].values, first_frame=first)
            loss[i, j], corr[i, j] = fit["poisson_loss"], fit["correlation"]
    ds.coords["input"] = list(INPUTS)
    ds["input_prediction_loss"] = (("clip", "input"), loss, {"units": DIMENSIONLESS, "long_name": "Poisson loss of the "
                                   "activity predicted from each input (all neurons x frames)"})
    ds["input_prediction_correlation"] = (("clip", "input"), corr, {"units": DIMENSIONLESS, "long_name": "r(recorded, "
                                          "predicted from each input), all neurons x frames"})
    mice = np.asarray([c.mouse for c in clips])[included]
    for what, values in (("loss", loss), ("correlation", corr)):
        res = input_prediction_statistics(values[included], mice)
        kind = res["subjects"]
        name = "input_loss_change_percent" if what == "loss" else "input_change_percent"
        ds[name] = (("input",), res["change_percent"], {"units": PERCENT, "long_name": f"100 x (mean {what} of the "
                    f"input - mean {what} of the true movie) / |mean {what} of the true movie|, means over {kind}; "
                    "positive = higher than from the true movie"})
        ds[f"input_{what}_p"] = (("input",), res["p"], {"units": DIMENSIONLESS, "t": res["t"].tolist(), "long_name": "paired "
                                 f"t-test of each input's {what} against the true movie's over {kind}"})
    ds.attrs["input_subjects"] = kind
