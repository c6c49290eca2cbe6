"""Population ablation, the pure part (subsets and statistics); the runs live in dnemkit.experiments.ablation.

How reconstruction quality depends on the number of neurons (docs/method.md, "Analyses", §9).

For each keep fraction (100 %, 50 %, 25 %, 12.5 % by default) and seed, a seeded subset of neurons enters the
loss; the other neurons leave it entirely (``reconstruct(neurons=...)``; the reference instead kept them with
target 0, which silences them - docs/method.md, "Deviations from the reference, chosen"). Subsets are *nested* per seed: one random permutation of the neurons
per seed, of which the first ``round(fraction * N)`` are kept, so 12.5 % is inside 25 % inside 50 %.

Batching: :func:`dnemkit.reconstruct` takes one neuron subset per call, so every distinct (fraction, seed) subset
is one call that reconstructs all movies together (batch = movies). The full population is the same subset for
every seed and the loop is deterministic, so it is reconstructed once and shared by all seeds.

Statistics (docs/method.md, "Analyses"): a one-way repeated-measures ANOVA across keep fractions and Bonferroni-corrected paired
t-tests between adjacent fractions. Subjects are movies (the correlation averaged over seeds, the default),
movie x seed pairs, or mice (the paper's Fig. 5: the correlation averaged over a mouse's clips and seeds; needs a
``mouse`` coordinate on the ``movie`` dim, as recorded data have).
"""

import numpy as np

from ..errors import DnemkitError, check_generator
from .ablation_levels import DEFAULT_KEEP_FRACTIONS, MOVIE_SEED_OFFSET, SUBJECTS, check_keep_fractions

__all__ = ["DEFAULT_KEEP_FRACTIONS", "MOVIE_SEED_OFFSET", "ablation_statistics", "check_keep_fractions",
           "nested_subsets", "subject_table"]

def nested_subsets(n_neurons, *, fractions, rng):
    """{fraction: sorted int64 neuron indices}, nested (smaller subsets inside larger ones).

    The first round(fraction * n_neurons) (at least 1) of one permutation of the neurons drawn from the numpy
    Generator ``rng`` (one ablation seed: ``np.random.default_rng(seed)``).

    Parameters
    ----------
    n_neurons : int
        N, the size of the population (neurons are 0 .. N-1).
    fractions : float or sequence of float
        Keep fractions in (0, 1] (dimensionless; checked by :func:`check_keep_fractions`).
    rng : numpy.random.Generator
        The seed's generator; one permutation is drawn from it.

    Returns
    -------
    dict
        {fraction (float): int64 ndarray of shape (max(1, round(fraction * N)),)}, sorted neuron indices; a
        smaller fraction's indices are a subset of every larger one's.
    """
    fractions = check_keep_fractions(fractions)
    order = check_generator(rng).permutation(int(n_neurons))
    return {f: np.sort(order[:max(1, int(round(f * n_neurons)))]).astype(np.int64) for f in fractions}


def subject_table(ds, *, subjects="movie"):
    """(subjects, levels) table of video correlations and the subject labels.

    Levels are the keep fractions in the dataset's order (large to small).

    Parameters
    ----------
    ds : xarray.Dataset
        Ablation results with ``video_correlation`` (keep_fraction, movie, seed), dimensionless.
    subjects : {'movie', 'movie_seed', 'mouse'}, optional
        'movie' (mean over seeds per movie or clip, the default), 'movie_seed' (every movie x seed pair is a
        subject, movie-major) or 'mouse' (mean over each mouse's clips and seeds; the ``mouse`` coordinate of the
        ``movie`` dim names them, in order of first appearance).

    Returns
    -------
    table : ndarray, shape (subjects, keep fractions)
        Video correlations (dimensionless, '1'), float64.
    labels : list of str
        One label per row of ``table``.
    """
    if subjects not in SUBJECTS:
        raise DnemkitError(f"subjects is {subjects!r}; expected one of {SUBJECTS}")
    v = ds["video_correlation"].transpose("keep_fraction", "movie", "seed").values
    labels = [str(m) for m in ds["movie"].values]
    if "mouse" in ds.coords and "trial" in ds.coords:
        labels = [f"{m} trial {t}" for m, t in zip(ds["mouse"].values, ds["trial"].values)]
    if subjects == "movie":
        return v.mean(axis=2).T, labels
    if subjects == "mouse":
        if "mouse" not in ds.coords or ds["mouse"].dims != ("movie",):
            raise DnemkitError("subjects is 'mouse' but the results have no mouse coordinate on the movie dim; "
                               "expected recorded clips of mice (--data)")
        mice = np.asarray(ds["mouse"].values).astype(str)
        names = list(dict.fromkeys(mice))
        per_movie = v.mean(axis=2)  # (levels, movies)
        return np.stack([per_movie[:, mice == m].mean(axis=1) for m in names]), names
    table = v.reshape(v.shape[0], -1).T  # rows: movie-major (movie, seed) pairs
    labels = [f"{m}/{s}" for m in labels for s in ds["seed"].values]
    return table, labels


def ablation_statistics(ds, *, subjects="movie"):
    """Repeated-measures ANOVA and adjacent-level tests; returns a copy of ``ds`` with the results added.

    Parameters
    ----------
    ds : xarray.Dataset
        Ablation results with ``video_correlation`` (keep_fraction, movie, seed), dimensionless.
    subjects : {'movie', 'movie_seed', 'mouse'}, optional
        What a subject is, as for :func:`subject_table` (default 'movie').

    Returns
    -------
    xarray.Dataset
        A copy of ``ds`` (statistics of an earlier call replaced) with: subject_correlation (subject,
        keep_fraction) - the table tested; anova_F, anova_p, anova_df_num, anova_df_den (scalars); and per
        adjacent pair (dim ``comparison``): level_a, level_b (keep fractions), test_t, test_p, test_p_bonferroni,
        test_mean_difference (level_b - level_a), test_n; all with units '1'. attrs: subjects, n_subjects,
        statistics ('ok' or why not). With fewer than 2 subjects or 2 levels, or NaN correlations, the numbers
        are NaN and attrs['statistics'] says why.
    """
    table, labels = subject_table(ds, subjects=subjects)
    levels = [float(f) for f in ds["keep_fraction"].values]
    names = [f"{f:g}" for f in levels]
    stale = [n for n in ds.variables if n in ("subject", "subject_correlation", "comparison", "level_a", "level_b")
             or str(n).startswith(("anova_", "test_"))]
    out = ds.drop_vars(stale)  # statistics of an earlier call are replaced
    out["subject_correlation"] = (("subject", "keep_fraction"), table)
    out = out.assign_coords(subject=labels)
    out["subject_correlation"].attrs["long_name"] = f"video correlation per subject ({subjects})"
    n_cmp = max(len(levels) - 1, 0)
    nan = np.full(n_cmp, np.nan)
    tests = {"t": nan.copy(), "p": nan.copy(), "p_bonferroni": nan.copy(), "mean_difference": nan.copy()}
    anova = dict(F=np.nan, p=np.nan, df_num=np.nan, df_den=np.nan)
    if len(levels) < 2:
        status = "not computed: needs at least 2 keep fractions"
    elif table.shape[0] < 2:
        status = f"not computed: needs at least 2 subjects ({subjects}); got {table.shape[0]}"
    elif not np.isfinite(table).all():
        status = "not computed: some correlations are NaN"
    else:
        from .stats import adjacent_level_tests, repeated_measures_anova  # scipy/statsmodels: only when testing

        anova = repeated_measures_anova(table, level_names=names)
        for i, res in enumerate(adjacent_level_tests(table, level_names=names)):
            for key in tests:
                tests[key][i] = res[key]
        status = "ok"
    for key in ("F", "p", "df_num", "df_den"):
        out[f"anova_{key}"] = float(anova[key])
    out["anova_F"].attrs["long_name"] = "one-way repeated-measures ANOVA across keep fractions (statsmodels AnovaRM)"
    out = out.assign_coords(comparison=np.arange(n_cmp))
    out["level_a"] = ("comparison", np.array(levels[:-1], float))
    out["level_b"] = ("comparison", np.array(levels[1:], float))
    for key, values in tests.items():
        out[f"test_{key}"] = ("comparison", values)
    out["test_n"] = ("comparison", np.full(n_cmp, table.shape[0], np.int64))
    out["test_p_bonferroni"].attrs["long_name"] = f"paired t-test p x {n_cmp} (Bonferroni), capped at 1"
    out["test_mean_difference"].attrs["long_name"] = "mean over subjects of r(level_b) - r(level_a)"
    for name in ("subject_correlation", "level_a", "level_b", *(f"anova_{k}" for k in anova),
                 *(f"test_{k}" for k in tests)):
        out[name].attrs["units"] = "1"  # correlations, fractions, test statistics, p-values, degrees of freedom
    out.attrs.update(subjects=subjects, statistics=status, n_subjects=int(table.shape[0]))
    return out
