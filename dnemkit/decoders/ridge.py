"""Ridge regression from time-lagged responses to pixels, in closed form, with the lag count and the penalty
chosen by cross-validation over trials (pure numpy, float64).

A trial is responses Z (T, K) (neurons, or their principal components) and a movie Y (T, P) (pixels). The
features of frame t are Z[t], Z[t+1], ..., Z[t+L] (responses follow the stimulus, so frame t is read from the
activity after it); frames past the end of a trial see the training mean (zero after centring). For each lag
count L the centred Gram matrix X'X of the training folds is diagonalised once, X'X = V diag(e) V', and the
validation error of every penalty follows from r x r products (r = K (L + 1)), so a whole grid of penalties costs
one eigendecomposition per fold (:func:`cv_errors`); :func:`brute_force_cv` is the same by one least-squares fit
per (L, penalty, fold), for the tests.
"""

import numpy as np

from ..errors import DnemkitError


def lag_features(z, lags):
    """(T, K) responses -> (T, K (lags + 1)) features: block l holds z[t + l] (zeros past the end)."""
    t, k = z.shape
    out = np.zeros((t, k * (lags + 1)), dtype=np.float64)
    for lag in range(lags + 1):
        out[:t - lag, lag * k:(lag + 1) * k] = z[lag:]
    return out


def fold_of_trials(n_trials, n_folds):
    """Fold index of each trial: trial j is in fold j mod n_folds (interleaved, so each fold spans the set)."""
    return np.arange(n_trials) % n_folds


def _fold_sums(zs, ys, lags, folds, n_folds):
    """Per fold: n, sum x, sum y, X'X, X'Y, sum |y|^2 (uncentred; folds combine by addition)."""
    p, q = zs[0].shape[1] * (lags + 1), ys[0].shape[1]
    sums = [dict(n=0, sx=np.zeros(p), sy=np.zeros(q), xx=np.zeros((p, p)), xy=np.zeros((p, q)), yy=0.0)
            for _ in range(n_folds)]
    for z, y, f in zip(zs, ys, folds):
        x, y = lag_features(z, lags), np.asarray(y, np.float64)
        s = sums[f]
        s["n"] += len(x)
        s["sx"] += x.sum(0)
        s["sy"] += y.sum(0)
        s["xx"] += x.T @ x
        s["xy"] += x.T @ y
        s["yy"] += float((y * y).sum())
    return sums


def _combine(parts):
    out = {k: sum(p[k] for p in parts) for k in ("n", "sx", "sy", "xx", "xy", "yy")}
    return out


def _centred(s):
    """(mean x, mean y, centred X'X, centred X'Y) of summed statistics."""
    mx, my = s["sx"] / s["n"], s["sy"] / s["n"]
    return mx, my, s["xx"] - s["n"] * np.outer(mx, mx), s["xy"] - s["n"] * np.outer(mx, my)


def penalty_grid(eigenvalues, relative):
    """Absolute penalties: ``relative`` times the mean eigenvalue of the centred Gram matrix (so one grid fits
    any scale of responses)."""
    return np.asarray(relative, np.float64) * max(float(np.mean(eigenvalues)), 1e-12)


def cv_errors(zs, ys, lags_grid, relative_penalties, n_folds):
    """Validation squared error summed over folds, frames and pixels, per (lag count, penalty): (len(lags_grid),
    len(relative_penalties)). Each fold's penalties are ``relative_penalties`` times the mean eigenvalue of all
    the training data's centred Gram matrix for that lag count (one absolute grid per lag count, shared by the
    folds). zs: per trial (T_j, K); ys: per trial (T_j, P)."""
    if len(zs) < 2 or n_folds < 2:
        raise DnemkitError(f"cross-validation needs at least 2 trials and 2 folds; got {len(zs)} trial(s)")
    folds = fold_of_trials(len(zs), n_folds)
    out = np.zeros((len(lags_grid), len(relative_penalties)))
    for a, lags in enumerate(lags_grid):
        sums = _fold_sums(zs, ys, lags, folds, n_folds)
        whole = _combine(sums)
        penalties = penalty_grid(np.linalg.eigvalsh(_centred(whole)[2]), relative_penalties)
        for f in range(n_folds):
            train = _combine([s for g, s in enumerate(sums) if g != f])
            val = sums[f]
            mx, my, cxx, cxy = _centred(train)
            e, v = np.linalg.eigh(cxx)
            e = np.clip(e, 0, None)
            a_mat = v.T @ cxy                                    # (r, P): V' X'Y
            # validation statistics centred by the *training* means (what a prediction uses)
            n = val["n"]
            vxx = val["xx"] - np.outer(val["sx"], mx) - np.outer(mx, val["sx"]) + n * np.outer(mx, mx)
            vxy = val["xy"] - np.outer(val["sx"], my) - np.outer(mx, val["sy"]) + n * np.outer(mx, my)
            vyy = val["yy"] - 2 * float(val["sy"] @ my) + n * float(my @ my)
            b_y = v.T @ vxy                                      # B'Yv with B = Xv V
            b_b = v.T @ vxx @ v                                  # B'B
            cross = (b_y * a_mat).sum(1)                         # per component: sum over pixels
            aa = a_mat @ a_mat.T
            for c, lam in enumerate(penalties):
                d = 1.0 / (e + lam)
                out[a, c] += vyy - 2 * float(d @ cross) + float(d @ (b_b * aa) @ d)
    return out


def brute_force_cv(zs, ys, lags_grid, relative_penalties, n_folds):
    """:func:`cv_errors` by one ``numpy.linalg.lstsq`` ridge fit per (lag count, penalty, fold) (slow; tests)."""
    folds = fold_of_trials(len(zs), n_folds)
    out = np.zeros((len(lags_grid), len(relative_penalties)))
    for a, lags in enumerate(lags_grid):
        xs = [lag_features(z, lags) for z in zs]
        yf = [np.asarray(y, np.float64) for y in ys]
        x_all, y_all = np.concatenate(xs), np.concatenate(yf)
        xc = x_all - x_all.mean(0)
        penalties = penalty_grid(np.linalg.eigvalsh(xc.T @ xc), relative_penalties)
        for c, lam in enumerate(penalties):
            for f in range(n_folds):
                xt = np.concatenate([x for x, g in zip(xs, folds) if g != f])
                yt = np.concatenate([y for y, g in zip(yf, folds) if g != f])
                xv = np.concatenate([x for x, g in zip(xs, folds) if g == f])
                yv = np.concatenate([y for y, g in zip(yf, folds) if g == f])
                w, mx, my = ridge_lstsq(xt, yt, lam)
                out[a, c] += float((((xv - mx) @ w + my - yv) ** 2).sum())
    return out


def ridge_lstsq(x, y, penalty):
    """Reference ridge (weights (p, P), mean x, mean y): least squares on [X - mean; sqrt(penalty) I]."""
    mx, my = x.mean(0), y.mean(0)
    p = x.shape[1]
    a = np.concatenate([x - mx, np.sqrt(penalty) * np.eye(p)])
    b = np.concatenate([y - my, np.zeros((p, y.shape[1]))])
    return np.linalg.lstsq(a, b, rcond=None)[0], mx, my


def fit_ridge(zs, ys, lags, relative_penalty):
    """Weights (K (lags + 1), P), mean features (p,), mean pixels (P,), absolute penalty, fitted on every trial
    in closed form through the eigendecomposition of the centred Gram matrix."""
    whole = _combine(_fold_sums(zs, ys, lags, np.zeros(len(zs), int), 1))
    mx, my, cxx, cxy = _centred(whole)
    e, v = np.linalg.eigh(cxx)
    e = np.clip(e, 0, None)
    lam = float(penalty_grid(e, [relative_penalty])[0])
    w = v @ ((v.T @ cxy) / (e + lam)[:, None])
    return w, mx, my, lam


def choose(errors, lags_grid, relative_penalties):
    """(lag count, relative penalty) of the smallest cross-validated error (the first on ties: fewer lags,
    smaller penalty)."""
    a, c = np.unravel_index(int(np.argmin(errors)), errors.shape)
    return int(lags_grid[a]), float(relative_penalties[c])
