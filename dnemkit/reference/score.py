"""The paper's numbers from the paper's own reconstructions: each clip scored as the analysis notebooks score it.

For every clip: the mean over models of the reconstructions (``video_pred``), clipped to [0, 255], smoothed with a
Gaussian of sigma 0.5 frames and pixels; then video r and mean frame r against the ground truth inside the
evaluation mask (alpha >= 1) on frames 30 .. T-1 -- the notebooks' ``eval_frame_skip = 30``, not the 32 the
reconstruction script stores in the file for its own tracking. Reported as the mean over clips with the 95 %
Student-t confidence interval (:func:`dnemkit.analysis.study.mean_ci`).
"""

import numpy as np

from .. import units
from ..analysis.metrics import frame_correlation, video_correlation
from ..analysis.stats import adjacent_level_tests, repeated_measures_anova
from ..analysis.study import (clip_descriptors, ensemble_size_scores, mean_ci, predictor_table, same_movie,
                              test_against_random)
from ..errors import DnemkitError
from ..video import smooth_video

FIRST_FRAME = 30  # the analysis notebooks' eval_frame_skip ("1 second")
SIGMA = 0.5
EVAL_THRESHOLD = 1.0
#: the notebooks' evaluation-threshold sweep of the standard arm (np.arange(0.5, 1.01, 0.1))
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: first frames above this r show the same movie: such clips are never each other's random video
SAME_MOVIE_R = 0.95
#: what the paper reports for the 50 natural-movie clips (eLife 105081, Fig. 2; p of the random-video test is a
#: two-sample t-test, see docs/method.md)
PAPER = {"video_r": (0.569, 0.542, 0.596), "frame_r": (0.512, 0.481, 0.543), "video_vs_random_p": 6.69e-49,
         "frame_vs_random_p": 4.29e-45, "ensemble_anova_p": 1.11e-16}
#: the clip properties tested as predictors of the frame correlation (Fig. 2 - figure supplement 1)
PREDICTORS = ("contrast", "luminance", "motion_energy", "pupil_diameter", "running_speed", "pupil_x", "pupil_y")


def score_clip(gt, model_videos, level, *, first_frame=FIRST_FRAME, sigma=SIGMA, eval_threshold=EVAL_THRESHOLD):
    """(video r, frame r) of one clip, scored as the notebooks do.

    gt: (T, 36, 64) grey levels; model_videos: (K, T, 36, 64) each model's unsmoothed reconstruction; level:
    (36, 64) alpha mask (pixels with level >= ``eval_threshold`` are scored).
    """
    model_videos = np.asarray(model_videos, np.float32)
    if model_videos.ndim != 4:
        raise DnemkitError(f"model_videos has shape {model_videos.shape}; expected (models, T, 36, 64)")
    ensemble = smooth_video(np.clip(model_videos.mean(axis=0), 0, 255), sigma)
    mask = np.asarray(level) >= eval_threshold
    return (video_correlation(gt, ensemble, mask=mask, first_frame=first_frame),
            frame_correlation(gt, ensemble, mask=mask, first_frame=first_frame))


def score_summaries(ds, *, first_frame=FIRST_FRAME, sigma=SIGMA, eval_threshold=EVAL_THRESHOLD):
    """Scores of the Dataset :func:`dnemkit.reference.read_summaries` returns.

    Returns a Dataset over ``clip`` (with the ``mouse``/``trial`` coordinates): ``video_r`` and ``frame_r`` of the
    smoothed ensemble of all models, and ``video_r_ensemble``/``frame_r_ensemble`` (clip, models_used): the
    ensemble of the first k models (the paper's ensembling analysis); attributes ``<name>_mean``, ``_ci_low``,
    ``_ci_high`` (95 %) of video_r and frame_r, and the scoring settings.
    """
    import xarray as xr

    clips = ds.sizes["clip"]
    k = ds.sizes["model"]
    video_r = np.full(clips, np.nan)
    frame_r = np.full(clips, np.nan)
    by_k = np.full((2, clips, k), np.nan)
    for c in range(clips):
        gt = ds.video_gt.values[c]
        videos = np.clip(ds.video_pred.values[:, c], 0, 255)
        level = ds.mask_level.values[c]
        video_r[c], frame_r[c] = score_clip(gt, videos, level, first_frame=first_frame, sigma=sigma,
                                            eval_threshold=eval_threshold)
        by_k[:, c] = ensemble_size_scores(gt, videos, mask=level >= eval_threshold, first_frame=first_frame,
                                          sigma=sigma)
    rand = _random_scores(ds, first_frame, sigma, eval_threshold)
    sweep = np.array([[score_clip(ds.video_gt.values[c], np.clip(ds.video_pred.values[:, c], 0, 255),
                                  ds.mask_level.values[c], first_frame=first_frame, sigma=sigma,
                                  eval_threshold=t)[0] for t in SWEEP] for c in range(clips)])
    r = {"units": units.DIMENSIONLESS}
    out = xr.Dataset(
        {"video_r": ("clip", video_r, dict(r, long_name="video r of the smoothed ensemble")),
         "frame_r": ("clip", frame_r, dict(r, long_name="mean frame r of the smoothed ensemble")),
         "video_r_ensemble": (("clip", "models_used"), by_k[0], dict(r, long_name="video r, first k models")),
         "frame_r_ensemble": (("clip", "models_used"), by_k[1], dict(r, long_name="frame r, first k models")),
         "random_video_r": ("clip", rand[0], dict(r, long_name="mean video r against the other clips' movies of "
                                                  "the same mouse (never a clip of the same movie)")),
         "random_frame_r": ("clip", rand[1], dict(r, long_name="mean frame r against the other clips' movies")),
         "threshold_video_r": (("clip", "eval_threshold"), sweep, dict(r, long_name="video r, evaluation mask "
                                                                       "alpha >= t"))},
        coords={"mouse": ("clip", ds.mouse.values), "trial": ("clip", ds.trial.values),
                "models_used": np.arange(1, k + 1), "eval_threshold": list(SWEEP)})
    for name in ("video_r", "frame_r"):
        m, lo, hi = mean_ci(out[name].values)
        out.attrs.update({f"{name}_mean": m, f"{name}_ci_low": lo, f"{name}_ci_high": hi})
        own, other = out[name].values, out[f"random_{name}"].values
        ok = np.isfinite(own) & np.isfinite(other)
        what = name.split("_")[0]
        if ok.sum() >= 2:
            test = test_against_random(own[ok], other[ok])
            out.attrs.update({f"{what}_vs_random_p": test["two_sample"]["p"], f"{what}_vs_random_t":
                              test["two_sample"]["t"], f"{what}_vs_random_paired_p": test["paired"]["p"]})
        else:
            out.attrs.update({f"{what}_vs_random_p": np.nan, f"{what}_vs_random_t": np.nan,
                              f"{what}_vs_random_paired_p": np.nan})
    _add_predictors(out, ds, first_frame, eval_threshold)
    _add_ensemble_statistics(out)
    out.attrs.update(first_frame=first_frame, sigma=sigma, eval_threshold=eval_threshold, n_models=k,
                     source=ds.attrs.get("source", ""), kind="reference-scores")
    return out


def _add_predictors(out, ds, first_frame, eval_threshold):
    """Each clip's properties (:func:`dnemkit.analysis.study.clip_descriptors`: contrast, luminance, motion energy
    in the eval mask; the means of pupil, running and pupil position) and their Pearson r and p with the frame r."""
    rows = [clip_descriptors(ds.video_gt.values[c], ds.behavior.values[c], mask=ds.mask_level.values[c] >= eval_threshold,
                             first_frame=first_frame) for c in range(ds.sizes["clip"])]
    values = {name: np.array([row[name] for row in rows]) for name in PREDICTORS}
    table = predictor_table(values, out["frame_r"].values)
    out.coords["predictor"] = list(PREDICTORS)
    for name in PREDICTORS:
        out[name] = ("clip", values[name], {"long_name": f"clip {name} (frames from {first_frame})"})
    out["predictor_r"] = ("predictor", [table[n]["r"] for n in PREDICTORS], {"units": units.DIMENSIONLESS,
                          "long_name": "Pearson r of the frame r against each clip property"})
    out["predictor_p"] = ("predictor", [table[n]["p"] for n in PREDICTORS], {"units": units.DIMENSIONLESS})


def _add_ensemble_statistics(out):
    """The ensemble-size curve's one-way repeated-measures ANOVA over mice (each mouse's mean over its clips) and
    the Bonferroni-corrected tests between consecutive sizes, as the study computes them; exact p (the paper's
    1.11e-16 is the floor 2^-53 of its 1 - cdf)."""
    k = out.sizes["models_used"]
    mice = out.mouse.values
    names = list(dict.fromkeys(mice.tolist()))
    table = np.stack([np.nanmean(out["video_r_ensemble"].values[mice == m], axis=0) for m in names])
    table = table[np.isfinite(table).all(axis=1)]
    if k < 2 or len(table) < 2:
        out.attrs["ensemble_note"] = "one model: no ensemble-size curve" if k < 2 else "fewer than two mice"
        return
    levels = [str(j + 1) for j in range(k)]
    anova = repeated_measures_anova(table, level_names=levels)
    steps = adjacent_level_tests(table, level_names=levels)
    out.attrs.update(ensemble_anova_p=anova["p"], ensemble_anova_F=anova["F"], ensemble_subjects=len(table))
    out["ensemble_step_p"] = ("ensemble_step", [s["p_bonferroni"] for s in steps], {"units": units.DIMENSIONLESS})
    out.coords["ensemble_step"] = [f"{s['level_a']}->{s['level_b']}" for s in steps]


def _random_scores(ds, first_frame, sigma, eval_threshold):
    """(video r, frame r) (clip,) of each clip's ensemble against the other clips' movies of its mouse (mean over
    them), leaving out clips of the same movie (first frames r > SAME_MOVIE_R); NaN without another movie."""
    clips = ds.sizes["clip"]
    gts = ds.video_gt.values
    same = same_movie(gts[:, 0], threshold=SAME_MOVIE_R)
    ensembles = [smooth_video(np.clip(ds.video_pred.values[:, c], 0, 255).mean(0), sigma)
                 for c in range(clips)]
    mice = ds.mouse.values
    out = np.full((2, clips), np.nan)
    for c in range(clips):
        mask = ds.mask_level.values[c] >= eval_threshold
        others = [j for j in range(clips) if j != c and mice[j] == mice[c] and not same[c, j]]
        if others:
            out[0, c] = np.mean([video_correlation(gts[j], ensembles[c], mask=mask, first_frame=first_frame)
                                 for j in others])
            out[1, c] = np.mean([frame_correlation(gts[j], ensembles[c], mask=mask, first_frame=first_frame)
                                 for j in others])
    return out


def headline(scores):
    """Lines to print: video r and frame r, mean and 95 % CI over clips, and the tests against random videos,
    each beside the paper's reported value."""
    n = scores.sizes["clip"]
    a = scores.attrs
    paper = PAPER
    lines = [f"video r {a['video_r_mean']:.3f} (95 % CI {a['video_r_ci_low']:.3f}-{a['video_r_ci_high']:.3f}), "
             f"frame r {a['frame_r_mean']:.3f} (95 % CI {a['frame_r_ci_low']:.3f}-{a['frame_r_ci_high']:.3f}); "
             f"n = {n} clips, ensemble of {a['n_models']} models, sigma {a['sigma']}, frames from {a['first_frame']}, "
             f"eval mask >= {a['eval_threshold']}",
             f"  the paper: video r {paper['video_r'][0]} ({paper['video_r'][1]}-{paper['video_r'][2]}), frame r "
             f"{paper['frame_r'][0]} ({paper['frame_r'][1]}-{paper['frame_r'][2]}), n = 50 clips, 7 models"]
    for what in ("video", "frame"):
        lines.append(f"{what} r vs random videos: two-sample t-test p = {a[f'{what}_vs_random_p']:.3g} (t = "
                     f"{a[f'{what}_vs_random_t']:.1f}; the paper: p = {paper[f'{what}_vs_random_p']:.3g}); paired "
                     f"p = {a[f'{what}_vs_random_paired_p']:.3g}")
    if "ensemble_anova_p" in a:
        lines.append(f"ensemble size 1..{a['n_models']} (RM-ANOVA over {a['ensemble_subjects']} mice): p = "
                     f"{a['ensemble_anova_p']:.3g} (F = {a['ensemble_anova_F']:.3g}); the paper: p = 1.11e-16, i.e. "
                     "p <= 1.1e-16 (the floor of its 1 - cdf)")
    if "predictor_r" in scores:
        order = np.argsort(np.nan_to_num(scores["predictor_p"].values, nan=2.0))[:3]
        lines.append("quality predictors (frame r): " + ", ".join(
            f"{scores['predictor'].values[j]} r = {scores['predictor_r'].values[j]:.2f} (p = "
            f"{scores['predictor_p'].values[j]:.2g})" for j in order) + "; the paper: contrast")
    sweep = np.nanmean(scores["threshold_video_r"].values, axis=0) if n else []
    lines.append("eval-threshold sweep (alpha >= t): " + ", ".join(
        f"{t:g}: r {v:.3f}" for t, v in zip(scores["eval_threshold"].values, sweep)))
    return lines


def from_reference(folder, *, out=None, progress=True, log=None):
    """`characterize study --from-reference DIR`: read the reference's summaries in ``folder``
    (:func:`dnemkit.reference.read_summaries`), score them (:func:`score_summaries`), write
    ``out/reference_scores.nc`` when ``out`` is given, and return the scores. ``log`` receives the headline."""
    from pathlib import Path

    from ..io.results import write_dataset
    from .summary import read_summaries

    scores = score_summaries(read_summaries(folder))
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_dataset(scores, Path(out) / "reference_scores.nc")
    for line in headline(scores):
        (log or (lambda s: None))(line)
    return scores
