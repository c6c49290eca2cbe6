"""Figure of a population ablation (ablation.nc): video correlation against the number of neurons in the loss."""

import numpy as np
from matplotlib.figure import Figure

from ..analysis.stats import mean_sem

__all__ = ["ablation_figure", "ablation_figures"]


def _stars(p):
    if not np.isfinite(p):
        return "n/a"
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def ablation_figure(ds):
    """Mean +- s.e.m. across the statistics' subjects (movies or clips, seeds averaged within each; or mice, as in
    the paper's Fig. 5) of the video correlation per keep fraction, each subject's curve faint (dashed for mice);
    adjacent-level Bonferroni-corrected tests and the ANOVA in the title."""
    from ..analysis.ablation import subject_table

    fractions = ds["keep_fraction"].values.astype(float)
    subjects = str(ds.attrs.get("subjects", "movie"))
    table, _ = subject_table(ds, subjects=subjects)
    per_subject = table.T  # (levels, subjects)
    mean, sem = mean_sem(per_subject, axis=1)
    k = per_subject.shape[1]
    sem = np.nan_to_num(sem)  # one subject: no error bar
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    pct = 100 * fractions
    words = {"mouse": "mice", "movie_seed": "movie x seed pairs"}.get(subjects, "clips" if "trial" in ds.coords
                                                                     else "movies")
    for j in range(k):
        ax.plot(pct, per_subject[:, j], "--" if subjects == "mouse" else "-", color="0.6" if subjects == "mouse"
                else "0.75", lw=0.8, zorder=1, label=f"single {words}" if j == 0 else None)
    ax.errorbar(pct, mean, yerr=sem, fmt="o-", color="tab:blue", capsize=3, lw=1.8, zorder=3,
                label=f"mean ± s.e.m. over {k} {words}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(pct)
    counts = [""] * len(pct)
    if "n_kept" in ds:  # (keep_fraction) or, for several mice, (mouse_folder, keep_fraction)
        kept = np.atleast_2d(ds["n_kept"].transpose(..., "keep_fraction").values)
        counts = [f"\n({lo})" if lo == hi else f"\n({lo}-{hi})" for lo, hi in zip(kept.min(0), kept.max(0))]
    ax.set_xticklabels([f"{p:g} %{c}" for p, c in zip(pct, counts)], fontsize=8)
    ax.set_xlabel("neurons in the loss (% of population, count)")
    ax.set_ylabel("video correlation")
    if "test_p_bonferroni" in ds:
        top = np.nanmax(per_subject) if np.isfinite(per_subject).any() else 1.0
        span = (np.nanmax(per_subject) - np.nanmin(per_subject)) if np.isfinite(per_subject).any() else 1.0
        for c in range(ds.sizes.get("comparison", 0)):
            a, b = float(ds["level_a"].values[c]), float(ds["level_b"].values[c])
            x = np.sqrt(a * b) * 100
            ax.text(x, top + 0.06 * max(span, 0.05), _stars(float(ds["test_p_bonferroni"].values[c])),
                    ha="center", fontsize=8)
        ax.set_ylim(top=top + 0.15 * max(span, 0.05))
    ax.legend(fontsize=8, loc="lower right")
    title = "population ablation"
    if "anova_F" in ds and np.isfinite(float(ds["anova_F"])):
        title += (f": RM-ANOVA F({float(ds['anova_df_num']):g}, {float(ds['anova_df_den']):g}) = "
                  f"{float(ds['anova_F']):.2f}, p = {float(ds['anova_p']):.3g}")
    elif "statistics" in ds.attrs:
        title += f" (statistics {ds.attrs['statistics']})"
    ax.set_title(title + "\nadjacent levels: paired t-tests, Bonferroni", fontsize=9)
    return fig


def ablation_figures(ds):
    """{name: Figure}: ablation (written as ablation.png)."""
    return {"ablation": ablation_figure(ds)}
