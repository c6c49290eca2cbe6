"""Headline numbers of each kind of results dataset: ``[(label, value text)]`` rows.

The same rows are printed by the command that made the dataset ("label: value" lines) and tabulated by the HTML
report, so the two always agree. Each function takes a results Dataset (as written by its command, or read back
with :func:`dnemkit.io.results.read_dataset`) and only formats what it holds.
"""

import numpy as np

__all__ = ["natural_rows", "mask_rows", "sweep_rows", "rf_rows", "ablation_rows", "errormap_rows", "tuning_rows",
           "scalar_rows", "study_rows", "mei_rows", "fmt"]


def fmt(value, spec=".4g"):
    """A number as text: 'nan' for non-finite floats, integers without decimals, other values as str."""
    if isinstance(value, (float, np.floating)):
        return "nan" if not np.isfinite(value) else format(float(value), spec)
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    return str(value)


def scalar_rows(ds):
    """Every scalar numeric variable: (name (long_name), value); the rows of a kind without its own."""
    rows = []
    for name, var in ds.data_vars.items():
        if var.ndim == 0 and var.dtype.kind in "fiub":
            label = var.attrs.get("long_name", "")
            rows.append((name + (f" ({label})" if label else ""), fmt(var.values.item())))
    return rows


def natural_rows(ds):
    """Targets, recipe, mask, per-model and ensemble video correlation, frame correlation."""
    rows = [("targets", str(ds.attrs.get("source", ""))),
            ("recipe", f"{ds.attrs.get('recipe', '')}; {ds.attrs.get('seconds', '?')} s"),
            ("mask", str(ds.attrs.get("mask_source", "")).removeprefix("mask: "))]
    if "decoder_video_correlation" in ds:
        role = "start" if ds.attrs.get("start", "grey") != "grey" else "watched by the stopper"
        rows.append((f"decoder ({role}) video correlation", fmt(float(ds["decoder_video_correlation"]), ".3f")))
    if ds.attrs.get("stopper"):
        rows.append(("stopper", str(ds.attrs["stopper"]).removeprefix("stopper: ")))
    if "model_video_correlation" in ds:
        rows.append(("per-model video correlation",
                     ", ".join(fmt(v, ".3f") for v in np.atleast_1d(ds["model_video_correlation"].values))))
    if "ensembling_gain" in ds and np.isfinite(float(ds["ensembling_gain"])):
        rows.append(("ensembling gain", f"{float(ds['ensembling_gain']):+.3f}"))
    for name in ("video_correlation", "frame_correlation"):
        if name in ds:
            rows.append((name.replace("_", " "), fmt(float(ds[name]), ".3f")))
    return rows


def _extent(mask):
    rows, cols = int(mask.any(1).sum()), int(mask.any(0).sum())
    return f"{int(mask.sum())} px, extent {rows} x {cols} px (the screen: {mask.shape[0]} x {mask.shape[1]} px)"


def mask_rows(ds):
    """Method, level range, and the pixels and extent of the training and evaluation masks."""
    level = (ds["mask_level"] if "mask_level" in ds else ds["alpha"]).values
    rows = [("method", str(ds.attrs.get("method", ""))),
            ("level range", f"{np.nanmin(level):.2f}..{np.nanmax(level):.2f}")]
    for name, label in (("train_mask", "train mask"), ("eval_mask", "eval mask")):
        threshold = ds[name].attrs.get("threshold", ds.attrs.get(name.replace("mask", "threshold"), ""))
        rows.append((f"{label} (level >= {fmt(threshold)})", _extent(ds[name].values.astype(bool))))
    return rows


def sweep_rows(ds):
    """Cut-offs, random-stimulus baseline, ensembling gain and phase-inversion correlation of a gratings or noise
    sweep (the resolution table itself is :func:`dnemkit.experiments.sweeps.summary`'s)."""
    from ..analysis.resolution import resolution_axes
    from .heatmaps import cutoff_text

    threshold = ds.attrs.get("threshold")
    cut = ", ".join(cutoff_text(ds, axis) for axis in resolution_axes(ds.attrs.get("dnemkit_kind")))

    def mean(name):
        values = np.asarray(ds[name].values, float)
        return fmt(float(np.nanmean(values)) if np.isfinite(values).any() else np.nan, ".3f")

    return [(f"cut-off (r > {fmt(threshold)})", cut),
            ("conditions computed", f"{ds.attrs.get('n_computed', '?')} of {ds.attrs.get('n_conditions', '?')}"),
            ("random-stimulus baseline r", mean("baseline_correlation")),
            ("ensembling gain", mean("ensembling_gain")),
            ("r(recon, recon of inverted)", mean("phase_inversion_correlation"))]


def rf_rows(ds):
    """Neurons, responsive neurons, fits, polarity, population RF peak, and errors against a known truth."""
    responsive = np.asarray(ds["responsive"].values).astype(bool)
    rows = [("encoder", f"{ds.attrs.get('encoder', '')} ({ds.attrs.get('encoder_description', '')}); "
                        f"{ds.sizes.get('model', 1)} model(s), lead-in {ds.attrs.get('lead_in_frames', '')} grey frames"),
            ("responsive neurons", f"{int(responsive.sum())} of {ds.sizes.get('neuron', 0)}"),
            ("Gaussian fits", fmt(int(np.asarray(ds["fitted"].values).astype(bool).sum())) if "fitted" in ds else "-")]
    if "polarity_index" in ds:
        index = np.asarray(ds["polarity_index"].values)[responsive]
        rows.append(("polarity", f"{int((index > 0.1).sum())} mostly ON, {int((index < -0.1).sum())} mostly OFF, "
                                 f"{int((np.abs(index) <= 0.1).sum())} both (|ON - OFF| / (ON + OFF) <= 0.1)"))
    if "fit_sigma_x" in ds and np.isfinite(ds["fit_sigma_x"].values).any():
        sigma = np.sqrt(ds["fit_sigma_x"].values * ds["fit_sigma_y"].values)
        rows.append(("median fitted sigma (px, geometric mean of x and y)", fmt(float(np.nanmedian(sigma)))))
    if responsive.any():
        peak = np.unravel_index(np.nanargmax(np.nan_to_num(ds["on_plus_off"].values, nan=-np.inf)),
                                ds["on_plus_off"].shape)
        rows.append(("population RF peak (y, x)", str(tuple(int(i) for i in peak))))
    if "center_error" in ds:
        err = np.asarray(ds["center_error"].values)[responsive]
        rows += [("median centre error vs truth (px)", fmt(float(np.median(err)) if err.size else np.nan)),
                 ("centres within 1 px of truth", f"{100 * np.mean(err <= 1):.1f} %" if err.size else "-")]
    if "true_cell_type" in ds:
        types = np.asarray(ds["true_cell_type"].values).astype(str)
        preferred = np.asarray(ds["preferred_polarity"].values).astype(str)
        for t in ("on", "off"):
            sel = responsive & (types == t)
            if sel.any():
                rows.append((f"true {t.upper()} cells with preferred polarity {t.upper()}",
                             f"{100 * np.mean(preferred[sel] == t):.1f} % of {int(sel.sum())}"))
    if "mapping_seconds" in ds.attrs:
        rows.append(("mapping time (s)", fmt(float(ds.attrs["mapping_seconds"]), ".1f")))
    return rows


def _subject_words(ds):
    """'mice', 'clips (one mouse)', 'movies' or 'movie x seed pairs': what the statistics' subjects are."""
    subjects = str(ds.attrs.get("subjects", "movie"))
    recorded = "trial" in ds.coords
    if subjects == "mouse":
        return "mice"
    if subjects == "movie_seed":
        return ("clip" if recorded else "movie") + " x seed pairs"
    return "clips (one mouse)" if recorded else "movies"


def ablation_rows(ds):
    """Video r per keep fraction (mean ± s.e.m. over the statistics' subjects), the repeated-measures ANOVA and
    adjacent tests; the subjects (mice, clips of one mouse, movies) are named."""
    from ..analysis.ablation import subject_table
    from ..analysis.stats import mean_sem

    recorded = "trial" in ds.coords
    what = (f"{ds.attrs.get('mice', 1)} mouse/mice, {ds.sizes['movie']} clip(s)" if recorded
            else f"{ds.sizes['movie']} movie(s)")
    rows = [("targets", f"{ds.attrs.get('targets', '')}; {what} x {ds.sizes['seed']} seed(s), "
                        f"{ds.attrs.get('reconstruction_calls', '?')} reconstruct calls, {ds.attrs.get('seconds', '?')} s")]
    subjects = str(ds.attrs.get("subjects", "movie"))
    table, _ = subject_table(ds, subjects=subjects)
    words = _subject_words(ds)
    for j, f in enumerate(ds["keep_fraction"].values):
        mean, sem = mean_sem(table[:, j])
        n = ""
        if "n_kept" in ds:
            counts = np.atleast_1d(ds["n_kept"].sel(keep_fraction=f).values)
            n = (f" ({int(counts[0])} neurons)" if counts.size == 1 or (counts == counts[0]).all()
                 else f" ({int(counts.min())}-{int(counts.max())} neurons)")
        stopped = ""
        if "iteration_scored" in ds and _stopper_of(ds) != "none":
            its = np.atleast_1d(ds["iteration_scored"].sel(keep_fraction=f).values).ravel()
            stopped = (f"; the stopper chose iteration {int(its.min())}" if its.min() == its.max()
                       else f"; the stopper chose iterations {int(its.min())}-{int(its.max())}")
        rows.append((f"video r, keep {100 * float(f):g} %{n}",
                     f"{mean:.3f} ± {fmt(float(sem), '.3f')} (mean ± s.e.m. over {table.shape[0]} {words}){stopped}"))
    if "anova_F" in ds:
        rows.append(("repeated-measures ANOVA",
                     f"F({fmt(float(ds['anova_df_num']))}, {fmt(float(ds['anova_df_den']))}) = "
                     f"{fmt(float(ds['anova_F']))}, p = {fmt(float(ds['anova_p']))} (subjects: {words}, "
                     f"n={ds.attrs.get('n_subjects', '?')})"))
        for c in range(ds.sizes.get("comparison", 0)):
            rows.append((f"{100 * float(ds['level_a'][c]):g} % vs {100 * float(ds['level_b'][c]):g} %",
                         f"t = {fmt(float(ds['test_t'][c]))}, p = {fmt(float(ds['test_p'][c]))}, "
                         f"Bonferroni p = {fmt(float(ds['test_p_bonferroni'][c]))}"))
    else:
        rows.append(("statistics", str(ds.attrs.get("statistics", ""))))
    return rows


def _stopper_of(ds):
    """The stopper named by the recipe in a result's stored config ('none' when it names none or cannot be read)."""
    import json

    try:
        return json.loads(ds.attrs.get("config", "{}")).get("recipe", {}).get("stopper", "none")
    except (TypeError, ValueError, AttributeError):
        return "none"


def errormap_rows(ds):
    """Video r from recorded and from predicted activity, r between the two reconstructions, mean E+ and E-, and
    the mean per-neuron delta r (Fig. 6C); means over clips when the result holds several."""
    clips = ds.sizes.get("clip", 0)
    if clips:
        rows = [("run", f"{clips} clip(s) of {ds.attrs.get('mice', '?')} mouse/mice, {ds.sizes.get('frame', '?')} "
                        f"frames each; {ds.attrs.get('n_models', '?')} model(s), {ds.attrs.get('seconds', '?')} s")]
    else:
        rows = [("run", f"movie seed {ds.attrs.get('seed', '?')}, {ds.sizes.get('frame', '?')} frames; "
                        f"{ds.attrs.get('n_models', '?')} model(s), {ds.attrs.get('seconds', '?')} s")]
    suffix = f", mean over {clips} clips" if clips else ""
    for name, label in (("video_correlation_recorded", "video r, from recorded activity"),
                        ("video_correlation_predicted", "video r, from predicted activity"),
                        ("recorded_vs_predicted_correlation", "r between the two reconstructions"),
                        ("e_plus_mean", "mean E+ (grey levels, eval mask, evaluated frames)"),
                        ("e_minus_mean", "mean E- (grey levels, eval mask, evaluated frames)")):
        if name in ds:
            rows.append((label + suffix, fmt(float(np.nanmean(ds[name].values)), ".3f")))
    if "delta_r" in ds:
        delta = np.asarray(ds["delta_r"].values, float).ravel()
        ok = delta[np.isfinite(delta)]
        per = f" (neurons x {clips} clips)" if clips else " neurons"
        value = (f"{ok.mean():+.4f} (median {np.median(ok):+.4f}; {100 * np.mean(ok > 0):.0f} % of {ok.size}"
                 f"{per} > 0)" if ok.size else "nan (no neuron with varying responses)")
        rows.append(("mean delta r = r(recorded, pred. from true movie) - r(recorded, pred. from reconstruction)",
                     value))
    return rows


def tuning_rows(ds):
    """Responsive neurons, median OSI/DSI, preferred SF/TF, simple and complex cells."""
    from ..analysis.tuning import population_summary

    s = population_summary(ds)

    def counts(values, unit):
        return ", ".join(f"{v:g} {unit}: {n}" for v, n in values.items())

    rows = [("encoder", f"{ds.attrs.get('encoder', '')} ({ds.attrs.get('encoder_description', '')}); "
                        f"{ds.attrs.get('n_models', ds.sizes.get('model', 1))} model(s)"),
            ("responsive neurons", f"{s['n_responsive']} of {s['n_neurons']} ({ds.attrs.get('responsive_criterion', '')})"),
            ("median over responsive", f"OSI {s['median_osi']:.2f}, DSI {s['median_dsi']:.2f}; global gOSI "
                                       f"{s['median_gosi']:.2f}, gDSI {s['median_gdsi']:.2f}"),
            ("preferred SF", f"{counts(s['preferred_sf_counts'], 'cpd')}; log-Gaussian fits {s['n_sf_fit']}, median "
                             f"{fmt(s['median_preferred_sf_fit'], '.3g')} cpd"),
            ("preferred TF", f"{counts(s['preferred_tf_counts'], 'Hz')}; log-Gaussian fits {s['n_tf_fit']}, median "
                             f"{fmt(s['median_preferred_tf_fit'], '.3g')} Hz"),
            ("simple (F1/F0 > 1)", f"{s['n_simple']}, complex (F1/F0 <= 1): {s['n_complex']}; median F1/F0 "
                                   f"{fmt(s['median_f1_f0'], '.2f')}")]
    if "conditions_computed" in ds.attrs:
        rows.append(("movies", f"computed {ds.attrs['conditions_computed']}, reused {ds.attrs['conditions_reused']}; "
                               f"{fmt(float(ds.attrs.get('tuning_seconds', np.nan)), '.1f')} s"))
    return rows


def study_rows(ds):
    """Clips and mice, mean video and frame r with 95 % CI and the tests against random videos, per mouse,
    ensemble size (or why there is no curve), the strongest quality predictors and the duplicates."""
    return (_study_score_rows(ds) + _study_ensemble_rows(ds) + _study_prediction_rows(ds)
            + _study_variation_rows(ds) + _study_method_rows(ds) + [_study_duplicate_row(ds)])


def _study_ci(ds, name):
    v = ds[name]
    return (f"{fmt(float(v), '.3f')} (95 % CI {fmt(v.attrs.get('ci95_low'), '.3f')}-"
            f"{fmt(v.attrs.get('ci95_high'), '.3f')})")


def _study_test(ds, name):
    """The paper's two-sample test against random videos, with the paired test beside it (when stored)."""
    v = ds[name]
    text = (f"p = {fmt(float(v), '.3g')} (two-sample t-test as the paper's, t = {fmt(v.attrs.get('t'), '.1f')}, "
            f"df = {fmt(v.attrs.get('df'), '.0f')}; random mean {fmt(v.attrs.get('mean_random'), '.3f')})")
    paired = ds.get(name.replace("_vs_random_p", "_vs_random_paired_p"))
    if paired is not None:
        text += f"; paired over {paired.attrs.get('n')} clips p = {fmt(float(paired), '.3g')}"
    excluded = ds.attrs.get("random_pairs_excluded")
    if excluded:
        text += f"; {excluded} same-movie pair(s) left out"
    return text


def _study_score_rows(ds):
    """Clips, recipe, mean video and frame r with their tests against random videos, and r per mouse."""
    rows = [("clips", f"{ds.attrs.get('n_included')} in the statistics of {ds.attrs.get('n_clips')} "
                      f"({ds.attrs.get('n_mice')} {'mouse' if ds.attrs.get('n_mice') == 1 else 'mice'}, "
                      f"{ds.attrs.get('n_models')} model(s)"
                      + (f"; {ds.attrs['units_computed']} reconstruction(s) made now, "
                         f"{ds.attrs.get('units_reused', 0)} reused from the store)" if "units_computed" in ds.attrs
                         else f"; read from {ds.attrs.get('source', 'files')})")
                      + (f"; {ds.attrs['skipped_trials']} trial(s) skipped (skipped_trial_list in study.nc)"
                         if ds.attrs.get("skipped_trials") else "")),
            ("recipe", f"{ds.attrs.get('recipe', '')}; frames >= {ds.attrs.get('first_eval_frame')} scored"),
            ("video correlation", _study_ci(ds, "mean_video_correlation")),
            ("  vs random videos", _study_test(ds, "video_vs_random_p")),
            ("frame correlation", _study_ci(ds, "mean_frame_correlation")),
            ("  vs random videos", _study_test(ds, "frame_vs_random_p"))]
    if ds.sizes.get("mouse", 0) > 1:
        rows.append(("per mouse", ", ".join(f"{str(m)[:20]} {fmt(float(r), '.3f')}" for m, r in
                                             zip(ds["mouse"].values, ds["mouse_video_correlation"].values))))
    return rows


def _study_ensemble_rows(ds):
    """The ensemble-size curve with its RM-ANOVA and consecutive-size tests, or why there is none."""
    if "ensemble_anova_p" not in ds:
        return [("ensemble size", str(ds.attrs.get("ensemble_note", "")))]
    curve = np.nanmean(ds["ensemble_video_correlation"].values[ds["included"].values.astype(bool)], 0)
    a = ds["ensemble_anova_p"]
    return [("ensemble size 1..K", " -> ".join(fmt(v, ".3f") for v in curve)
             + f"; RM-ANOVA p = {fmt(float(a), '.3g')} (F = {fmt(a.attrs.get('F'), '.3g')}, subjects: "
             f"{a.attrs.get('n_subjects')} {a.attrs.get('subjects')}; exact p: the paper's 1.11e-16 is the floor "
             "2^-53 of its 1 - cdf, read p <= 1.1e-16)"),
            ("  consecutive sizes", ", ".join(f"{s}: p = {fmt(float(p), '.2g')}" for s, p in
                                              zip(ds["ensemble_step"].values, ds["ensemble_step_p"].values)))]


def _study_prediction_rows(ds):
    """The three strongest quality predictors of frame r, and the activity prediction r."""
    order = np.argsort(np.nan_to_num(ds["predictor_p"].values, nan=2.0))[:3]
    prediction = ds["prediction_correlation_true"].values
    return [("quality predictors (frame r)", ", ".join(
                f"{ds['predictor'].values[i]} r = {fmt(float(ds['predictor_r'].values[i]), '.2f')} "
                f"(p = {fmt(float(ds['predictor_p'].values[i]), '.2g')})" for i in order)),
            ("activity prediction r (true movie / reconstruction)",
             f"{fmt(float(np.nanmean(prediction)), '.3f')} / "
             f"{fmt(float(np.nanmean(ds['prediction_correlation_reconstruction'].values)), '.3f')}")]


def _study_method_rows(ds):
    """When computed: one row, each method's mean r and median seconds per clip, tested against fast."""
    if "method" not in ds.dims:
        return []
    kind = ds.attrs.get("method_subjects", "")
    return [(f"methods (mean r over {kind}, median s per clip; change vs fast, paired t-test)", "; ".join(
        f"{n} {fmt(float(ds['method_mean_video_correlation'].values[j]), '.3f')} in "
        f"{fmt(float(np.nanmedian(ds['method_seconds'].values[j])), '.3g')} s"
        + ("" if j == 0 else f" ({float(ds['method_change_percent'].values[j]):+.1f} %, p = "
           f"{fmt(float(ds['method_p'].values[j]), '.2g')})")
        for j, n in enumerate(ds["method"].values)))]


def _study_variation_rows(ds):
    """When computed: the variations against the standard run, the eval-threshold sweep and the activity
    prediction from the inputs."""
    rows = []
    if ds.sizes.get("variation", 0) > 1:
        kind = ds.attrs.get("variation_subjects", "")
        rows.append((f"variations (mean r over {kind}; change vs standard; paired t-test)", "; ".join(
            f"{n} {fmt(float(np.nanmean(ds['variation_subject_video_correlation'].values[:, j])), '.3f')}"
            + ("" if j == 0 else f" ({float(ds['variation_change_percent'].values[j]):+.1f} %, p = "
               f"{fmt(float(ds['variation_p'].values[j]), '.2g')})")
            for j, n in enumerate(ds["variation"].values))))
    if "threshold_video_correlation" in ds:
        from ..analysis.metrics import nanmean

        t = ds["eval_threshold"].values
        diam = nanmean(ds["eval_mask_diameter_deg"].values, axis=0)
        scale = ds.attrs.get("mask_scale", "")
        for k, name in enumerate(ds["training_mask"].values):
            values = ds["threshold_video_correlation"].values[k]
            rows.append((f"eval-threshold sweep ({name}{'; ' + scale + ' level' if scale else ''})", ", ".join(
                f"{t[j]:g}: r {fmt(float(values[j]), '.3f')} ({fmt(float(diam[j]), '.0f')} deg)"
                for j in range(len(t)) if np.isfinite(values[j]))))
    if "input_prediction_correlation" in ds:
        inc = ds["included"].values.astype(bool)
        corr, loss = ds["input_prediction_correlation"].values[inc], ds["input_prediction_loss"].values[inc]
        rows.append(("activity prediction from inputs (r / loss; Fig. 1-s2D)", ", ".join(
            f"{n} {fmt(float(corr[:, j].mean()), '.3f')} / {fmt(float(loss[:, j].mean()), '.4g')}"
            for j, n in enumerate(ds["input"].values))))
        rows.append((f"  vs the true movie (% change, paired t-test over {ds.attrs.get('input_subjects', '')})",
                     "; ".join(f"{n}: loss {float(ds['input_loss_change_percent'].values[j]):+.2f} % (p = "
                               f"{fmt(float(ds['input_loss_p'].values[j]), '.2g')}), r "
                               f"{float(ds['input_change_percent'].values[j]):+.2f} % (p = "
                               f"{fmt(float(ds['input_correlation_p'].values[j]), '.2g')})"
                               for j, n in enumerate(ds["input"].values) if j > 0)))
    return rows


def _study_duplicate_row(ds):
    """The duplicates found (replaced, excluded or kept), or the threshold none reached."""
    found = str(ds.attrs.get("duplicates_found", ""))
    if not int(ds.attrs.get("duplicates_checked", 1)):
        return ("duplicates", f"not searched: {ds.attrs.get('duplicates', '')}")
    if found:
        mode = str(ds.attrs.get("duplicates", ""))
        how = {"replace": f"{ds.attrs.get('n_duplicates_replaced', 0)} replaced by the next unused clips (the "
                          "reference's)", "drop": "left out of the statistics",
               "keep": "kept in the statistics"}.get(mode, "")
        return ("duplicates", f"{how}: {found}")
    return ("duplicates", f"none (first-frame r <= {ds.attrs.get('duplicate_threshold')} with every training clip "
                          "and every other selected clip)")


def mei_rows(ds):
    """Neurons and budget, how often the MEI beats the best grating and natural clip, median activations, centre
    spread and size, iterations and MEIs per second."""
    act = np.asarray(ds["activation"].values, float)
    grating = np.asarray(ds["grating_activation"].values, float)
    natural = np.asarray(ds["natural_activation"].values, float)
    n = act.size
    rows = [("MEIs", f"{n} {ds.attrs.get('mei_kind', 'image')}(s) of {ds.attrs.get('encoder', '')}; neurons "
                     f"{ds.attrs.get('selection', '')}; {ds.attrs.get('n_frames', '?')} frames, analysed from frame "
                     f"{ds.attrs.get('first_frame', '?')}"),
            ("contrast budget", f"RMS contrast {fmt(ds.attrs.get('contrast_budget', np.nan))} over every pixel and "
                                "frame (MEIs, gratings and natural clips alike)"),
            ("MEI >= best grating", f"{int(np.sum(act >= grating))}/{n}; median activation MEI {fmt(np.median(act), '.3g')}, "
                                    f"best grating {fmt(np.median(grating), '.3g')}, best natural clip "
                                    f"{fmt(np.median(natural), '.3g')}, grey {fmt(np.median(ds['grey_activation'].values), '.3g')} "
                                    "counts/frame"),
            ("median MEI / best grating", fmt(float(np.median(act / np.maximum(grating, 1e-12))), ".3g")),
            ("MEI descriptors (median)", f"size {fmt(np.nanmedian(ds['size'].values), '.3g')} px, SF "
                                         f"{fmt(np.nanmedian(ds['sf_cpd'].values), '.3g')} cpd, Gabor fit R^2 "
                                         f"{fmt(np.nanmedian(ds['gabor_r2'].values), '.2f')}; ON {int(np.sum(ds['polarity'].values > 0))}, "
                                         f"OFF {int(np.sum(ds['polarity'].values < 0))}")]
    if "tf" in ds:
        rows.append(("video MEIs (median)", f"TF {fmt(np.nanmedian(ds['tf'].values), '.3g')} Hz, direction index "
                                            f"{fmt(np.nanmedian(ds['direction_index'].values), '.2f')}"))
    ori = np.asarray(ds["orientation"].values, float)
    atlas = np.asarray(ds["atlas_orientation"].values, float)
    ok = np.isfinite(ori) & np.isfinite(atlas) & np.asarray(ds["atlas_responsive"].values).astype(bool)
    if ok.any():
        err = np.abs((ori[ok] - atlas[ok] + 90.0) % 180.0 - 90.0)
        rows.append(("orientation vs atlas", f"within 22.5 deg (the grid's half step) for {int(np.sum(err <= 22.5))}"
                                             f"/{int(ok.sum())} responsive neurons"))
    rows.append(("time", f"{fmt(ds.attrs.get('seconds', np.nan))} s ({fmt(ds.attrs.get('mei_seconds', np.nan))} s "
                         f"optimising, {fmt(ds.attrs.get('meis_per_second', np.nan))} MEIs/s); iterations per batch "
                         f"{ds.attrs.get('iterations_run', '')}"))
    return rows
