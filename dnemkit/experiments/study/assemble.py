"""study.nc from the stored clips: every per-clip score and the statistics over clips, mice and ensemble sizes.

Nothing here reconstructs: re-scoring (another evaluation mask, first frame, ensemble size) reads the store.
The arithmetic lives in :mod:`dnemkit.analysis.study` and :mod:`dnemkit.analysis.stats`.
"""

import numpy as np
import xarray as xr

from ...analysis import study as A
from ...analysis.metrics import frame_correlation, motion_energy_trace, nanmean, video_correlation
from ...analysis.stats import adjacent_level_tests, repeated_measures_anova
from ...errors import DnemkitError
from ...units import (ARBITRARY, COUNTS_PER_FRAME, DIMENSIONLESS, FRAME, GREY_LEVEL, GREY_LEVEL_PER_FRAME,
                      per)
from ...video import smooth_video

DESCRIPTORS = ("contrast", "luminance", "motion_energy", "pupil_diameter", "running_speed", "pupil_x", "pupil_y")
DESCRIPTOR_UNITS = {"contrast": GREY_LEVEL, "luminance": GREY_LEVEL, "motion_energy": GREY_LEVEL_PER_FRAME,
                    "pupil_diameter": ARBITRARY, "running_speed": ARBITRARY, "pupil_x": ARBITRARY, "pupil_y": ARBITRARY,
                    "prediction_correlation_true": DIMENSIONLESS}


def score_clips(clips, stored, masks, first, sigma):
    """Per-clip scores: a dict of arrays over clips (and models / ensemble sizes), plus each clip's ensemble
    reconstruction (for the random-video matrix and the ethogram)."""
    n = len(clips)
    k_max = max(ds.sizes["model"] for ds in stored)
    out = {name: np.full(n, np.nan) for name in ("video_correlation", "frame_correlation",
                                                 "prediction_correlation_true", "prediction_loss_true",
                                                 "prediction_correlation_reconstruction",
                                                 "prediction_loss_reconstruction", *DESCRIPTORS)}
    out["model_video_correlation"] = np.full((n, k_max), np.nan)
    out["ensemble_video_correlation"] = np.full((n, k_max), np.nan)
    out["ensemble_frame_correlation"] = np.full((n, k_max), np.nan)
    out["frame_series"], out["accuracy_series"], ensembles = [], [], []
    for i, (clip, ds) in enumerate(zip(clips, stored)):
        mask = masks[clip.mouse].eval
        videos = ds["model_reconstruction"].values
        vr, fr = A.ensemble_size_scores(clip.video, videos, mask=mask, first_frame=first, sigma=sigma)
        out["ensemble_video_correlation"][i, :len(vr)] = vr
        out["ensemble_frame_correlation"][i, :len(fr)] = fr
        out["video_correlation"][i], out["frame_correlation"][i] = vr[-1], fr[-1]
        out["model_video_correlation"][i, :len(videos)] = [video_correlation(clip.video, v, mask=mask, first_frame=first) for v in videos]
        ens = smooth_video(videos.mean(0), sigma)
        ensembles.append(ens)
        for name, value in A.clip_descriptors(clip.video, clip.behavior, mask=mask, first_frame=first).items():
            out[name][i] = value
        for key, rates in (("true", ds["predicted_true"].values), ("reconstruction", ds["predicted_reconstruction"].values)):
            fit = A.response_fit(clip.responses, rates, first_frame=first)
            out[f"prediction_correlation_{key}"][i] = fit["correlation"]
            out[f"prediction_loss_{key}"][i] = fit["poisson_loss"]
        out["frame_series"].append(A.frame_correlation_series(clip.video, ens, mask=mask, first_frame=first))
        accuracy = A.frame_prediction_accuracy(clip.responses, ds["predicted_true"].values)
        accuracy[:first] = np.nan
        out["accuracy_series"].append(accuracy)
    return out, ensembles


def random_scores(clips, ensembles, masks, first, same):
    """(video r, frame r, pairs excluded) of each clip's reconstruction against the other clips' movies of its
    mouse (mean over them; NaN for a clip with no other movie), never against a clip that shows the same movie.

    same: (n, n) bool over ``clips`` (:func:`dnemkit.analysis.study.same_movie`); such pairs are left out, and the
    count of (ordered) pairs left out is returned.
    """
    video_r, frame_r = np.full(len(clips), np.nan), np.full(len(clips), np.nan)
    excluded = 0
    for mouse in dict.fromkeys(c.mouse for c in clips):
        idx = [i for i, c in enumerate(clips) if c.mouse == mouse]
        mask = masks[mouse].eval
        for i in idx:
            others = [j for j in idx if j != i and not same[i, j]]
            excluded += sum(1 for j in idx if j != i and same[i, j])
            if not others:
                continue
            pairs = [(clips[j].video[:min(len(clips[j].video), len(ensembles[i]))],
                      ensembles[i][:min(len(clips[j].video), len(ensembles[i]))]) for j in others]
            video_r[i] = np.mean([video_correlation(g, r, mask=mask, first_frame=first) for g, r in pairs])
            frame_r[i] = np.mean([frame_correlation(g, r, mask=mask, first_frame=first) for g, r in pairs])
    return video_r, frame_r, excluded


def ensemble_statistics(values, mice, included):
    """RM-ANOVA over ensemble sizes and Bonferroni-corrected tests between consecutive sizes.

    values: (clips, K) r of the first k models. Subjects are mice (each mouse's mean over its included clips)
    when the study has two or more mice, else clips. Returns a dict (empty when K < 2 or too few subjects).
    """
    from .variations import subject_table

    k = values.shape[1]
    rows, _, subjects = subject_table(values[included], np.asarray(mice)[included])
    rows = rows[np.isfinite(rows).all(1)]
    if k < 2 or len(rows) < 2:
        return {}
    anova = repeated_measures_anova(rows, level_names=[str(j + 1) for j in range(k)])
    steps = adjacent_level_tests(rows, level_names=[str(j + 1) for j in range(k)])
    return {"subjects": subjects, "n_subjects": len(rows), "anova": anova, "steps": steps, "table": rows}


def _pick_ethogram(video_r, included, count):
    ok = np.flatnonzero(included & np.isfinite(video_r))
    if count == 0 or ok.size == 0:
        return []
    median = np.median(video_r[ok])
    return list(ok[np.argsort(np.abs(video_r[ok] - median), kind="stable")][:count])


def ethogram(clips, stored, ensembles, masks, first, chosen):
    """Variables of the ethogram of the ``chosen`` clips, NaN-padded to a common neuron count and length."""
    if not chosen:
        return {}
    n = max(clips[i].responses.shape[0] for i in chosen)
    t = max(len(clips[i].video) for i in chosen)
    c = len(chosen)
    rasters = {key: np.full((c, n, t), np.nan, np.float32) for key in ("recorded", "true", "reconstruction")}
    traces = {key: np.full((c, t), np.nan) for key in ("motion_energy", "motion_energy_reconstruction",
                                                      "pupil_diameter", "running_speed", "frame_correlation",
                                                      "prediction_accuracy")}
    frames = {key: np.full((c, t, 36, 64), np.nan, np.float32) for key in ("ground_truth", "reconstruction")}
    for row, i in enumerate(chosen):
        clip, ds, mask = clips[i], stored[i], masks[clips[i].mouse].eval
        true = ds["predicted_true"].values
        order = A.raster_order(true, first_frame=first)
        nn, tt = true.shape
        rasters["recorded"][row, :nn, :tt] = clip.responses[order]
        rasters["true"][row, :nn, :tt] = true[order]
        rasters["reconstruction"][row, :nn, :tt] = ds["predicted_reconstruction"].values[order]
        traces["motion_energy"][row, 1:tt] = motion_energy_trace(clip.video, mask=mask)
        traces["motion_energy_reconstruction"][row, 1:tt] = motion_energy_trace(ensembles[i], mask=mask)
        traces["pupil_diameter"][row, :tt] = clip.behavior[0]
        traces["running_speed"][row, :tt] = clip.behavior[1]
        traces["frame_correlation"][row, :tt] = A.frame_correlation_series(clip.video, ensembles[i], mask=mask,
                                                                                first_frame=first)
        acc = A.frame_prediction_accuracy(clip.responses, true)
        acc[:first] = np.nan
        traces["prediction_accuracy"][row, :tt] = acc
        frames["ground_truth"][row, :tt] = clip.video
        frames["reconstruction"][row, :tt] = ensembles[i]
    dims3, dims2 = ("ethogram_clip", "ethogram_neuron", "frame"), ("ethogram_clip", "frame")
    rate = COUNTS_PER_FRAME
    out = {f"ethogram_{k}": (dims3, v, {"units": rate, "long_name": {
        "recorded": "recorded responses", "true": "activity predicted from the true movie",
        "reconstruction": "activity predicted from the reconstruction (true behaviour)"}[k]
        + "; neurons sorted by the peak frame of the activity predicted from the true movie"})
        for k, v in rasters.items()}
    units = {"motion_energy": GREY_LEVEL_PER_FRAME, "motion_energy_reconstruction": GREY_LEVEL_PER_FRAME,
             "pupil_diameter": DIMENSIONLESS, "running_speed": DIMENSIONLESS, "frame_correlation": DIMENSIONLESS,
             "prediction_accuracy": DIMENSIONLESS}
    out.update({f"ethogram_{k}": (dims2, v, {"units": units[k]}) for k, v in traces.items()})
    out.update({f"ethogram_{k}_video": (("ethogram_clip", "frame", "y", "x"), v, {"units": GREY_LEVEL})
                for k, v in frames.items()})
    return out


def assemble_study(clips, stored, masks, duplicates, config, first, sigma, attrs):
    """The study Dataset (see `characterize study --help` and docs/method.md, "The study").

    clips: [Clip] in plan order; stored: their Datasets from the store; masks: {mouse: ScreenMask-like with
    .eval}; duplicates: {(mouse, trial): (best training trial or -1, r)}; first: first scored frame; sigma: the
    ensemble's Gaussian filter.
    """
    if not clips:
        raise DnemkitError("the study selected no clips; expected at least one labelled trial")
    scores, ensembles = score_clips(clips, stored, masks, first, sigma)
    same = A.same_movie(np.stack([c.video[0] for c in clips]), threshold=config.duplicate_threshold)
    rand_v, rand_f, excluded = random_scores(clips, ensembles, masks, first, same)
    mice = [c.mouse for c in clips]
    dup_trial = np.array([duplicates[(c.mouse, c.trial)][0] for c in clips])
    dup_r = np.array([duplicates[(c.mouse, c.trial)][1] for c in clips], float)
    is_dup = np.array([duplicates[(c.mouse, c.trial)][2] for c in clips], bool)
    included = np.ones(len(clips), bool) if config.keep_duplicates else ~is_dup
    k_max = scores["ensemble_video_correlation"].shape[1]
    lags = np.arange(-config.max_lag, config.max_lag + 1)
    cross = np.stack([A.lagged_correlation(a, f, max_lag=config.max_lag)
                      for a, f in zip(scores["accuracy_series"], scores["frame_series"])])

    coords = {"clip": np.arange(len(clips)), "mouse_of_clip": ("clip", mice),
              "trial": ("clip", [int(c.trial) for c in clips]), "tier": ("clip", [c.tier for c in clips]),
              "model": np.arange(k_max), "ensemble_size": np.arange(1, k_max + 1), "lag": lags}
    data = {**_score_variables(scores, rand_v, rand_f),
            **_duplicate_variables(dup_trial, dup_r, is_dup, included, config.duplicate_threshold),
            "prediction_cross_correlation": (("clip", "lag"), cross, {"units": DIMENSIONLESS, "long_name": "r of "
                                             "frame-by-frame prediction accuracy (t) and frame correlation (t + "
                                             "lag)"}),
            **_prediction_and_descriptor_variables(scores)}
    ds = xr.Dataset({k: xr.Variable(*v) for k, v in data.items()}, coords=coords)
    ds["lag"].attrs.update(units=FRAME, long_name="lag of the frame correlation behind the prediction accuracy")
    _add_pooled(ds, included, config)
    _add_mice(ds, included)
    _add_ensemble(ds, mice, included)
    _add_predictors(ds, included)
    ds = _add_ethogram(ds, clips, stored, ensembles, masks, first, scores, included, config.ethogram_clips)
    ds.attrs.update(attrs, first_eval_frame=int(first), n_clips=len(clips), n_included=int(included.sum()),
                    n_duplicates=int(is_dup.sum()), n_mice=len(set(mice)), n_models=int(k_max),
                    duplicate_threshold=float(config.duplicate_threshold), random_pairs_excluded=int(excluded),
                    duplicates_excluded=int(not config.keep_duplicates))

    return ds


def _score_variables(scores, rand_v, rand_f):
    """{name: (dims, values, attrs)} of the reconstruction scores (correlations, unit 1): per clip, against the
    other clips' movies (``rand_v``, ``rand_f``: (clip,)), per model and per ensemble size."""
    r1 = {"units": DIMENSIONLESS}
    return {
        "video_correlation": (("clip",), scores["video_correlation"], {**r1, "long_name": "video r of the "
                              "ensemble reconstruction (mean of the models, smoothed), eval mask"}),
        "frame_correlation": (("clip",), scores["frame_correlation"], {**r1, "long_name": "mean frame r"}),
        "random_video_correlation": (("clip",), rand_v, {**r1, "long_name": "mean video r against the other "
                                     "clips' movies of the same mouse (never a clip of the same movie)"}),
        "random_frame_correlation": (("clip",), rand_f, {**r1, "long_name": "mean frame r against the other "
                                     "clips' movies of the same mouse (never a clip of the same movie)"}),
        "model_video_correlation": (("clip", "model"), scores["model_video_correlation"],
                                    {**r1, "long_name": "video r of each model's own (unsmoothed) reconstruction"}),
        "ensemble_video_correlation": (("clip", "ensemble_size"), scores["ensemble_video_correlation"],
                                       {**r1, "long_name": "video r of the smoothed mean of the first k models"}),
        "ensemble_frame_correlation": (("clip", "ensemble_size"), scores["ensemble_frame_correlation"],
                                       {**r1, "long_name": "frame r of the smoothed mean of the first k models"})}


def _duplicate_variables(dup_trial, dup_r, is_dup, included, threshold):
    """{name: (dims, values, attrs)} of the duplicate check (clip,): each clip's best-matching training trial,
    the first frames' r, whether it is above ``threshold`` and whether the clip enters the statistics."""
    return {
        "duplicate_trial": (("clip",), dup_trial, {"long_name": "training trial whose first frame correlates most "
                            "with the clip's (-1: none)"}),
        "duplicate_correlation": (("clip",), dup_r, {"units": DIMENSIONLESS, "long_name": "r of the first frames (clip vs "
                                  "that training trial)"}),
        "duplicate": (("clip",), is_dup, {"long_name": f"first-frame r above {threshold} with a training clip or an "
                                          "earlier selected clip"}),
        "included": (("clip",), included, {"long_name": "clip enters the statistics"})}


def _prediction_and_descriptor_variables(scores):
    """{name: (dims, values, attrs)} per clip: the prediction correlations and losses (from the true movie and
    from the reconstruction), then the clip descriptors of ``DESCRIPTORS``."""
    data = {}
    for key in ("true", "reconstruction"):
        data[f"prediction_correlation_{key}"] = (("clip",), scores[f"prediction_correlation_{key}"], {
            "units": DIMENSIONLESS, "long_name": f"r(recorded, predicted from the "
            f"{'true movie' if key == 'true' else 'reconstruction'}), all neurons x frames"})
        data[f"prediction_loss_{key}"] = (("clip",), scores[f"prediction_loss_{key}"], {
            "units": DIMENSIONLESS, "long_name": f"Poisson loss of the activity predicted from the {key} movie"})
    for name in DESCRIPTORS:
        data[name] = (("clip",), scores[name], {"units": DESCRIPTOR_UNITS[name], "long_name": f"clip {name}"})
    return data


def _add_ethogram(ds, clips, stored, ensembles, masks, first, scores, included, n_clips):
    """``ds`` with the ethogram variables of up to ``n_clips`` included clips (:func:`_pick_ethogram`) and, when
    any was chosen, their ethogram_mouse and ethogram_trial coordinates."""
    chosen = _pick_ethogram(scores["video_correlation"], included, n_clips)
    for name, var in ethogram(clips, stored, ensembles, masks, first, chosen).items():
        ds[name] = var
    if chosen:
        ds = ds.assign_coords(ethogram_mouse=("ethogram_clip", [clips[i].mouse for i in chosen]),
                              ethogram_trial=("ethogram_clip", [int(clips[i].trial) for i in chosen]))
    return ds


RANDOM_TESTS = {"two_sample": "the paper's test: independent two-sample t-test (equal variances, df = 2n - 2) of the "
                              "n per-clip r against the n per-clip random r",
                "paired": "paired t-test over clips: r(own movie) vs mean r(other clips' movies, same mouse)"}


def _random_tests(r, rand):
    """{kind: (t, p, df, n)} of :func:`dnemkit.analysis.study.test_against_random` on the finite pairs, NaN
    where fewer than two."""
    ok = np.isfinite(r) & np.isfinite(rand)
    if ok.sum() < 2:
        nan = float("nan")
        return {kind: (nan, nan, nan, int(ok.sum())) for kind in RANDOM_TESTS}
    res = A.test_against_random(r[ok], rand[ok])
    return {kind: (res[kind]["t"], res[kind]["p"], res[kind].get("df", res[kind]["n"] - 1), res[kind]["n"])
            for kind in RANDOM_TESTS}


def _add_pooled(ds, included, config):
    """Mean video and frame r with 95 % CI, and the tests against random videos: ``{what}_vs_random_p`` is the
    paper's two-sample test, ``{what}_vs_random_paired_p`` the paired one."""
    for what in ("video", "frame"):
        r = ds[f"{what}_correlation"].values[included]
        m, lo, hi = A.mean_ci(r)
        ds[f"mean_{what}_correlation"] = ((), m, {"units": DIMENSIONLESS, "ci95_low": lo, "ci95_high": hi,
                                                  "n": int(np.isfinite(r).sum())})
        rand = ds[f"random_{what}_correlation"].values[included]
        ok = np.isfinite(r) & np.isfinite(rand)
        mean_random = float(np.mean(rand[ok])) if ok.any() else float("nan")
        for kind, (t, p, df, n) in _random_tests(r, rand).items():
            name = f"{what}_vs_random_p" if kind == "two_sample" else f"{what}_vs_random_paired_p"
            ds[name] = ((), float(p), {"units": DIMENSIONLESS, "t": float(t), "df": float(df), "n": int(n),
                                       "test": RANDOM_TESTS[kind], "mean_random": mean_random})


def _add_mice(ds, included):
    names = list(dict.fromkeys(ds["mouse_of_clip"].values.tolist()))
    stats = {k: [] for k in ("mean", "low", "high", "p", "n")}
    curves = []
    for m in names:
        sel = included & (ds["mouse_of_clip"].values == m)
        r = ds["video_correlation"].values[sel]
        mean, lo, hi = A.mean_ci(r)
        p = _random_tests(r, ds["random_video_correlation"].values[sel])["two_sample"][1]
        for key, value in zip(("mean", "low", "high", "p", "n"), (mean, lo, hi, p, int(sel.sum()))):
            stats[key].append(value)
        curve = ds["ensemble_video_correlation"].values[sel]
        curves.append(np.nanmean(curve, 0) if len(curve) else np.full(ds.sizes["ensemble_size"], np.nan))
    ds.coords["mouse"] = names
    ds["mouse_video_correlation"] = ("mouse", np.asarray(stats["mean"], float), {"units": DIMENSIONLESS})
    ds["mouse_ci95_low"] = ("mouse", np.asarray(stats["low"], float), {"units": DIMENSIONLESS})
    ds["mouse_ci95_high"] = ("mouse", np.asarray(stats["high"], float), {"units": DIMENSIONLESS})
    ds["mouse_vs_random_p"] = ("mouse", np.asarray(stats["p"], float), {"units": DIMENSIONLESS, "test": RANDOM_TESTS["two_sample"]})
    ds["mouse_n_clips"] = ("mouse", np.asarray(stats["n"], int))
    ds["mouse_ensemble_video_correlation"] = (("mouse", "ensemble_size"), np.asarray(curves, float), {"units": DIMENSIONLESS})


def _add_ensemble(ds, mice, included):
    res = ensemble_statistics(ds["ensemble_video_correlation"].values, mice, included)
    ds.attrs["ensemble_subjects"] = res.get("subjects", "")
    if not res:
        ds.attrs["ensemble_note"] = ("one model: no ensemble-size curve" if ds.sizes["ensemble_size"] < 2
                                     else "fewer than two subjects: no ensemble-size statistics")
        return
    a = res["anova"]
    ds["ensemble_anova_p"] = ((), a["p"], {"units": DIMENSIONLESS, "F": a["F"], "df_num": a["df_num"], "df_den": a["df_den"],
                                           "subjects": res["subjects"], "n_subjects": res["n_subjects"],
                                           "test": "one-way repeated-measures ANOVA over ensemble size"})
    step = [f"{s['level_a']}->{s['level_b']}" for s in res["steps"]]
    ds.coords["ensemble_step"] = step
    ds["ensemble_step_p"] = ("ensemble_step", [s["p_bonferroni"] for s in res["steps"]],
                             {"units": DIMENSIONLESS, "long_name": "Bonferroni-corrected paired t-test, consecutive sizes"})
    ds["ensemble_step_difference"] = ("ensemble_step", [s["mean_difference"] for s in res["steps"]], {"units": DIMENSIONLESS})


def _add_predictors(ds, included):
    names = list(DESCRIPTORS) + ["prediction_correlation_true"]
    table = A.predictor_table({n: ds[n].values[included] for n in names}, ds["frame_correlation"].values[included])
    ds.coords["predictor"] = names
    ds.coords["predictor_slope_units"] = ("predictor", [per(DESCRIPTOR_UNITS[n]) for n in names])
    for key in ("r", "p", "slope", "intercept"):
        units = {"units_from": "predictor_slope_units"} if key == "slope" else {"units": DIMENSIONLESS}
        ds[f"predictor_{key}"] = ("predictor", [table[n][key] for n in names],
                                  {**units, "long_name": f"{key} of mean frame correlation against each clip "
                                   "property (Pearson r and p, least-squares line; slope in 1 per the predictor's "
                                   "unit)"})
    ds["predictor_n"] = ("predictor", [table[n]["n"] for n in names])
    ds["mean_prediction_cross_correlation"] = ("lag", nanmean(np.where(
        included[:, None], ds["prediction_cross_correlation"].values, np.nan), axis=0), {"units": DIMENSIONLESS})
