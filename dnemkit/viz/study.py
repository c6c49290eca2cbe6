"""Figures of a dataset study (study.nc): per-clip scores against random videos, the ensemble-size curve,
duplicates, what predicts quality, and the ethogram of a representative clip."""

import textwrap

import numpy as np
from matplotlib.figure import Figure

from ..analysis.metrics import nanmean

__all__ = ["study_figures", "study_summary", "study_predictors", "study_ethogram", "study_variations", "study_methods"]


def _p_text(p):
    return "n/a" if not np.isfinite(p) else (f"p = {p:.2g}" if p >= 1e-300 else "p < 1e-300")


def _strip(ax, ds, what):
    """Per-clip r (own movie, coloured by mouse) beside r against other clips' movies (grey), mean and 95 % CI."""
    mice = list(ds["mouse"].values)
    inc = ds["included"].values.astype(bool)
    own, rand = ds[f"{what}_correlation"].values, ds[f"random_{what}_correlation"].values
    rng = np.random.default_rng(0)
    for m, name in enumerate(mice):
        sel = ds["mouse_of_clip"].values == name
        jitter = rng.uniform(-0.12, 0.12, sel.sum())
        ax.scatter(1 + jitter, own[sel], s=14, color=f"C{m % 10}", alpha=np.where(inc[sel], 0.9, 0.25),
                   label=name[:18] if len(mice) <= 6 else None, zorder=3)
        ax.scatter(0 + jitter, rand[sel], s=10, color="0.6", zorder=2)
    mean = ds[f"mean_{what}_correlation"]
    lo, hi = mean.attrs.get("ci95_low", np.nan), mean.attrs.get("ci95_high", np.nan)
    ax.errorbar([1.3], [float(mean)], yerr=[[float(mean) - lo], [hi - float(mean)]] if np.isfinite(lo) else None,
                fmt="o", color="k", capsize=4, zorder=4)
    rnd = nanmean(rand[inc]) if inc.any() else np.nan
    ax.plot([-0.2, 0.2], [rnd, rnd], color="k", lw=1.5)
    if len(mice) <= 6:
        ax.legend(fontsize=6, frameon=False, loc="upper left")
    ax.set_xticks([0, 1], ["other clips'\nmovies", "own movie"])
    ax.set_xlim(-0.5, 1.6)
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    p = float(ds[f"{what}_vs_random_p"])
    paired = ds.get(f"{what}_vs_random_paired_p")
    extra = "" if paired is None else f"; paired {_p_text(float(paired))}"
    ax.set_title(f"{what} r: {float(mean):.3f} [{lo:.3f}, {hi:.3f}] (n = {int(inc.sum())})\nvs random videos: "
                 f"two-sample {_p_text(p)}{extra}", fontsize=9)
    ax.set_ylabel(f"{what} correlation")


def _ensemble(ax, ds):
    k = ds["ensemble_size"].values
    if len(k) < 2:
        ax.text(0.5, 0.5, "one model:\nno ensemble-size curve", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    curves = ds["mouse_ensemble_video_correlation"].values
    for row in curves:
        ax.plot(k, row, "--", color="0.6", lw=0.9)
    inc = ds["included"].values.astype(bool)
    ax.plot(k, np.nanmean(ds["ensemble_video_correlation"].values[inc], 0), "o-", color="tab:blue", lw=2,
            label="mean over clips")
    title = "ensemble size"
    if "ensemble_anova_p" in ds:
        title += f": RM-ANOVA over {ds['ensemble_anova_p'].attrs.get('subjects')} {_p_text(float(ds['ensemble_anova_p']))}"
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("models averaged (k)")
    ax.set_ylabel("video correlation")
    ax.legend(fontsize=7, frameon=False)


def _duplicates(ax, ds):
    if not int(ds.attrs.get("duplicates_checked", 1)):  # e.g. the paper's files: no training clips to search
        ax.text(0.5, 0.5, "duplicates not searched:\n" + "\n".join(textwrap.wrap(str(ds.attrs.get("duplicates", "")), 40)),
                ha="center", va="center", transform=ax.transAxes, fontsize=9)
        ax.set_axis_off()
        return
    r = ds["duplicate_correlation"].values
    ok = np.isfinite(r)
    dup = ds["duplicate"].values.astype(bool)
    ax.scatter(r[ok & ~dup], ds["video_correlation"].values[ok & ~dup], s=14, color="tab:blue", label="clips")
    ax.scatter(r[ok & dup], ds["video_correlation"].values[ok & dup], s=30, color="tab:red", marker="x",
               label="duplicates" + (" (excluded)" if int(ds.attrs.get("duplicates_excluded", 1)) else ""))
    t = float(ds.attrs.get("duplicate_threshold", np.nan))
    ax.axvline(t, color="tab:red", lw=0.8, ls=":")
    ax.set_xlabel("first-frame r with the closest training clip")
    ax.set_ylabel("video correlation")
    replaced = int(ds.attrs.get("n_duplicates_replaced", 0))
    extra = f"; {replaced} more replaced by the next unused clips" if replaced else ""
    ax.set_title(f"duplicates among the clips scored: {int(dup.sum())} of {len(dup)}{extra}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)


def study_summary(ds):
    """Video and frame r per clip against random videos, the ensemble-size curve and the duplicates."""
    fig = Figure(figsize=(10, 7.5), layout="constrained")
    axes = fig.subplots(2, 2)
    _strip(axes[0, 0], ds, "video")
    _strip(axes[0, 1], ds, "frame")
    _ensemble(axes[1, 0], ds)
    _duplicates(axes[1, 1], ds)
    mice = ds.attrs.get("n_mice")
    fig.suptitle(f"study: {ds.attrs.get('n_clips')} clips of {mice} {'mouse' if mice == 1 else 'mice'}, "
                 f"{ds.attrs.get('n_models')} model(s), {ds.attrs.get('recipe', '')}", fontsize=10)
    return fig


def study_predictors(ds):
    """Mean frame correlation against each clip property (with its least-squares line), and the cross-correlation
    of frame-by-frame prediction accuracy and frame correlation."""
    names = list(ds["predictor"].values)
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(3, 3).ravel()
    inc = ds["included"].values.astype(bool)
    y = ds["frame_correlation"].values[inc]
    for ax, name in zip(axes, names):
        x = ds[name].values[inc]
        ax.scatter(x, y, s=12)
        slope, icpt = float(ds["predictor_slope"].sel(predictor=name)), float(ds["predictor_intercept"].sel(predictor=name))
        if np.isfinite(slope) and np.isfinite(x).any():
            xs = np.linspace(np.nanmin(x), np.nanmax(x), 2)
            ax.plot(xs, icpt + slope * xs, color="tab:red", lw=1)
        r, p = float(ds["predictor_r"].sel(predictor=name)), float(ds["predictor_p"].sel(predictor=name))
        label = name.replace("prediction_correlation_true", "activity prediction r").replace("_", " ")
        units = ds[name].attrs.get("units", "")
        ax.set_xlabel(label + (f" ({units})" if units and units != "1" else ""), fontsize=8)
        ax.set_ylabel("frame correlation", fontsize=8)
        ax.set_title(f"r = {r:.2f}, {_p_text(p)}", fontsize=8)
    ax = axes[len(names)] if len(names) < len(axes) else None
    if ax is not None:
        lag = ds["lag"].values / 30.0
        ax.plot(lag, ds["mean_prediction_cross_correlation"].values, color="tab:purple")
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlabel("lag (s): frame correlation after prediction accuracy", fontsize=8)
        ax.set_ylabel("cross-correlation (mean over clips)", fontsize=8)
        ax.set_title("prediction accuracy x frame correlation", fontsize=8)
    for extra in axes[len(names) + 1:]:
        extra.set_axis_off()
    fig.suptitle("what predicts reconstruction quality (one point per clip)", fontsize=10)
    return fig


def study_ethogram(ds, row=0):
    """The ethogram of one clip: frames, motion energy, behaviour, three rasters sorted alike, frame correlation."""
    fig = Figure(figsize=(10, 11), layout="constrained")
    grid = fig.add_gridspec(8, 4, height_ratios=[1.2, 0.8, 0.8, 1.6, 1.6, 1.6, 0.8, 0.01])
    gt, rec = ds["ethogram_ground_truth_video"].values[row], ds["ethogram_reconstruction_video"].values[row]
    t = np.flatnonzero(np.isfinite(gt[:, 0, 0]))
    first, last = int(ds.attrs.get("first_eval_frame", 32)), int(t[-1])
    for j, (video, f, name) in enumerate([(gt, first, "true"), (rec, first, "reconstruction"), (gt, last, "true"),
                                          (rec, last, "reconstruction")]):
        ax = fig.add_subplot(grid[0, j])
        ax.imshow(video[f], cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{name}, frame {f}", fontsize=8)
        ax.set_axis_off()
    time_s = np.arange(gt.shape[0]) / 30.0
    ax = top = fig.add_subplot(grid[1, :])
    ax.plot(time_s, ds["ethogram_motion_energy"].values[row], label="true movie", color="k")
    ax.plot(time_s, ds["ethogram_motion_energy_reconstruction"].values[row], label="reconstruction", color="tab:red")
    ax.set_ylabel("motion energy", fontsize=8)
    ax.legend(fontsize=7, frameon=False, ncol=2)
    ax = fig.add_subplot(grid[2, :], sharex=top)
    ax.plot(time_s, ds["ethogram_pupil_diameter"].values[row], color="tab:green", label="pupil diameter")
    ax2 = ax.twinx()
    ax2.plot(time_s, ds["ethogram_running_speed"].values[row], color="tab:orange", label="running speed")
    ax.set_ylabel("pupil", fontsize=8, color="tab:green")
    ax2.set_ylabel("running", fontsize=8, color="tab:orange")
    for k, (key, label) in enumerate([("recorded", "recorded activity"), ("true", "predicted (true movie)"),
                                      ("reconstruction", "predicted (reconstruction)")]):
        ax = fig.add_subplot(grid[3 + k, :], sharex=top)
        raster = ds[f"ethogram_{key}"].values[row]
        raster = raster[np.isfinite(raster).any(1)]
        vmax = np.nanpercentile(ds["ethogram_true"].values[row], 99) or 1.0
        ax.imshow(raster, aspect="auto", cmap="Greys", vmin=0, vmax=vmax, interpolation="nearest",
                  extent=(0, raster.shape[1] / 30.0, raster.shape[0], 0))
        ax.set_ylabel(f"{label}\nneuron", fontsize=8)
    ax = fig.add_subplot(grid[6, :], sharex=top)
    ax.plot(time_s, ds["ethogram_frame_correlation"].values[row], color="tab:blue", label="frame correlation")
    ax.plot(time_s, ds["ethogram_prediction_accuracy"].values[row], color="tab:purple",
            label="prediction accuracy (r over neurons)")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=7, frameon=False, ncol=2)
    mouse = str(ds["ethogram_mouse"].values[row]) if "ethogram_mouse" in ds.coords else ""
    trial = int(ds["ethogram_trial"].values[row]) if "ethogram_trial" in ds.coords else -1
    fig.suptitle(f"ethogram: {mouse} trial {trial} (neurons sorted by the peak of the activity predicted from the "
                 "true movie)", fontsize=9)
    return fig


def study_variations(ds):
    """The paper's Fig. 1 - figure supplement 2: each variation's r (dashed: single subjects, solid: mean), the
    evaluation-threshold sweep with the masks' diameters in degrees, and the activity predicted from each input."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    ax = axes[0]
    names = list(ds["variation"].values)
    table = ds["variation_subject_video_correlation"].values
    x = np.arange(len(names))
    for row in table:
        ax.plot(x, row, "--", color="0.6", lw=0.8)
    ax.plot(x, np.nanmean(table, 0), "o-", color="tab:blue", lw=2)
    labels = [n if j == 0 else f"{n}\n{ds['variation_change_percent'].values[j]:+.1f} %\n"
              f"{_p_text(float(ds['variation_p'].values[j]))}" for j, n in enumerate(names)]
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("video correlation")
    ax.set_title(f"variations (dashed: single {ds.attrs.get('variation_subjects', '')})", fontsize=9)
    ax = axes[1]
    t = ds["eval_threshold"].values
    for k, name in enumerate(ds["training_mask"].values):
        ax.plot(t, ds["threshold_video_correlation"].values[k], "o-", label=f"training mask: {name}")
    diam = nanmean(ds["eval_mask_diameter_deg"].values, axis=0)
    for tt, dd in zip(t, diam):
        ax.annotate(f"{dd:.0f} deg", (tt, ax.get_ylim()[0]), fontsize=6, ha="center", va="bottom")
    ax.set_xlabel("evaluation mask: level >= t")
    ax.set_ylabel("video correlation (re-scored)")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("evaluation-mask threshold (diameter in degrees)", fontsize=9)
    ax = axes[2]
    if "input_prediction_correlation" in ds:
        inc = ds["included"].values.astype(bool)
        corr = ds["input_prediction_correlation"].values[inc]
        loss = ds["input_prediction_loss"].values[inc]
        xi = np.arange(corr.shape[1])
        ax.bar(xi - 0.2, corr.mean(0), 0.4, yerr=corr.std(0) / np.sqrt(max(len(corr), 1)), color="tab:blue",
               label="r")
        ax2 = ax.twinx()
        ax2.bar(xi + 0.2, loss.mean(0), 0.4, color="tab:orange", label="Poisson loss")
        ax.set_xticks(xi, list(ds["input"].values), fontsize=8)
        ax.set_ylabel("r(recorded, predicted)", color="tab:blue")
        ax2.set_ylabel("Poisson loss", color="tab:orange")
        ax.set_title("activity predicted from each input", fontsize=9)
    else:
        ax.set_axis_off()
    return fig


def study_methods(ds):
    """Methods side by side: each clip's video r against its seconds, one marker per method, a grey line
    joining a clip's methods; the legend gives each method's mean r and its test against fast."""
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    names = list(ds["method"].values)
    r, sec = ds["method_video_correlation"].values, ds["method_seconds"].values
    for k in range(r.shape[1]):
        order = np.argsort(sec[:, k])
        ax.plot(sec[order, k], r[order, k], "-", color="0.8", lw=0.7, zorder=1)
    markers = "osD^vP*X"
    for j, n in enumerate(names):
        extra = "" if j == 0 else (f", {ds['method_change_percent'].values[j]:+.1f} %, "
                                   f"{_p_text(float(ds['method_p'].values[j]))}")
        ax.scatter(sec[j], r[j], marker=markers[j % len(markers)], s=28, zorder=2,
                   label=f"{n}: r {float(ds['method_mean_video_correlation'].values[j]):.3f}{extra}")
    if np.nanmin(sec) > 0 and np.nanmax(sec) / np.nanmin(sec) > 30:
        ax.set_xscale("log")
    ax.set_xlabel("seconds per clip")
    ax.set_ylabel("video correlation")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"methods per clip (tests against fast over {ds.attrs.get('method_subjects', '')})", fontsize=9)
    return fig


def study_figures(ds):
    """{name: Figure}: study, study_predictors and (when the study holds one) study_ethogram."""
    figures = {"study": study_summary(ds), "study_predictors": study_predictors(ds)}
    if "ethogram_recorded" in ds:
        figures["study_ethogram"] = study_ethogram(ds)
    if "variation" in ds.dims:
        figures["study_variations"] = study_variations(ds)
    if "method" in ds.dims:
        figures["study_methods"] = study_methods(ds)
    return figures
