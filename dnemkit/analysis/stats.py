"""Statistics across mice (docs/method.md, "Analyses"): paired t-tests, one-way repeated-measures ANOVA, adjacent-level tests.

Subjects are usually mice (or mouse x movie pairs), levels the conditions compared within each subject (e.g.
population fractions 12.5 / 25 / 50 / 100 %). Inputs must be complete: no NaN.
"""

import numpy as np
from scipy import stats as _st

from ..errors import DnemkitError
from .metrics import as_float_array

__all__ = ["mean_sem", "paired_ttest", "repeated_measures_anova", "adjacent_level_tests"]


def mean_sem(values, *, axis=-1):
    """(mean, standard error of the mean) along ``axis``: sem = sample standard deviation (ddof 1) / sqrt(n),
    NaN where fewer than two values (no spread can be estimated from one).

    Parameters
    ----------
    values : array_like, shape (..., n, ...)
        Values in any unit; NaN propagates.
    axis : int, optional
        The axis holding the n samples (default -1, the last).

    Returns
    -------
    mean : ndarray or float
        The mean along ``axis``, in the unit of ``values`` (``values``' shape without ``axis``).
    sem : ndarray or float
        The standard error of the mean, same shape and unit; NaN where n < 2.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, values.std(axis=axis, ddof=1) / np.sqrt(n)


def _vector(x, name):
    a = as_float_array(x, name=name)
    if a.ndim != 1:
        raise DnemkitError(f"{name} has shape {tuple(a.shape)}; expected one value per subject (n,)")
    if not np.isfinite(a).all():
        raise DnemkitError(f"{name} contains NaN or inf; expected one finite value per subject")
    return a


def paired_ttest(a, b):
    """Paired two-sided t-test of a against b (``scipy.stats.ttest_rel``).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        One value per subject, in the same unit and the same subject order; n >= 2, no NaN.

    Returns
    -------
    dict
        ``t`` (float, dimensionless), ``p`` (float, two-sided), ``n`` (int, subjects), ``mean_difference``
        (float, mean(a - b), in the unit of ``a``). t and p are NaN when every difference is equal (zero
        variance).
    """
    x = _vector(a, "a")
    y = _vector(b, "b")
    if x.shape != y.shape:
        raise DnemkitError(f"b has {y.size} values; expected as many as a ({x.size}), paired by subject")
    if x.size < 2:
        raise DnemkitError(f"a has {x.size} value(s); expected at least 2 subjects for a paired t-test")
    d = x - y
    if np.all(d == d[0]):
        t = p = float("nan")
    else:
        res = _st.ttest_rel(x, y)
        t, p = float(res.statistic), float(res.pvalue)
    return {"t": t, "p": p, "n": int(x.size), "mean_difference": float(d.mean())}


def _table(values, level_names):
    v = as_float_array(values, name="values")
    if v.ndim != 2:
        raise DnemkitError(f"values has shape {tuple(v.shape)}; expected (subjects, levels)")
    if v.shape[0] < 2:
        raise DnemkitError(f"values has {v.shape[0]} subject(s); expected at least 2 (rows are subjects)")
    if v.shape[1] < 2:
        raise DnemkitError(f"values has {v.shape[1]} level(s); expected at least 2 (columns are levels)")
    if not np.isfinite(v).all():
        raise DnemkitError("values contains NaN or inf; expected a complete (subjects, levels) table")
    if level_names is None:
        names = [str(i) for i in range(v.shape[1])]
    else:
        names = [str(n) for n in level_names]
        if len(names) != v.shape[1]:
            raise DnemkitError(f"level_names has {len(names)} names; expected one per level ({v.shape[1]})")
        if len(set(names)) != len(names):
            raise DnemkitError("level_names has duplicates; expected distinct level names")
    return v, names


def repeated_measures_anova(values, *, level_names=None):
    """One-way repeated-measures ANOVA across levels (``statsmodels.stats.anova.AnovaRM``).

    Parameters
    ----------
    values : array_like, shape (subjects, levels)
        Values in any unit, complete (no NaN), >= 2 subjects and >= 2 levels.
    level_names : sequence of str, optional
        One distinct name per level (default "0", "1", ...).

    Returns
    -------
    dict
        ``F`` (float, dimensionless), ``df_num`` (= levels - 1), ``df_den`` (= (levels - 1)(subjects - 1)),
        ``p`` (float).
    """
    import pandas as pd
    from statsmodels.stats.anova import AnovaRM

    v, names = _table(values, level_names)
    n_sub, n_lev = v.shape
    df = pd.DataFrame(
        {
            "subject": np.repeat(np.arange(n_sub), n_lev),
            "level": np.tile(np.array(names, dtype=object), n_sub),
            "value": v.ravel(),
        }
    )
    row = AnovaRM(df, depvar="value", subject="subject", within=["level"]).fit().anova_table.iloc[0]
    return {
        "F": float(row["F Value"]),
        "df_num": float(row["Num DF"]),
        "df_den": float(row["Den DF"]),
        "p": float(row["Pr > F"]),
    }


def adjacent_level_tests(values, *, level_names=None):
    """Paired t-tests between adjacent levels (columns i and i+1), Bonferroni-corrected.

    With L levels there are L - 1 tests and p_bonferroni = min(1, p * (L - 1)).

    Parameters
    ----------
    values : array_like, shape (subjects, levels)
        As for :func:`repeated_measures_anova`.
    level_names : sequence of str, optional
        One distinct name per level (default "0", "1", ...).

    Returns
    -------
    list of dict
        L - 1 dicts with keys ``level_a``, ``level_b`` (str), ``t``, ``p``, ``p_bonferroni`` (float), ``n``,
        ``n_tests`` (int), ``mean_difference`` (mean of level_b - level_a, in the unit of ``values``).
    """
    v, names = _table(values, level_names)
    n_tests = v.shape[1] - 1
    out = []
    for i in range(n_tests):
        res = paired_ttest(v[:, i + 1], v[:, i])
        p = res["p"]
        out.append(
            {
                "level_a": names[i],
                "level_b": names[i + 1],
                "t": res["t"],
                "p": p,
                "p_bonferroni": float(min(1.0, p * n_tests)) if np.isfinite(p) else float("nan"),
                "n": res["n"],
                "n_tests": n_tests,
                "mean_difference": res["mean_difference"],
            }
        )
    return out
