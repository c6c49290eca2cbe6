"""The paper's statistics over a dataset of reconstructed clips (docs/method.md, "The study"): pure numpy.

Every function takes arrays (videos ``(T, 36, 64)`` grey levels, responses ``(N, T)``, behaviour ``(4, T)``) and
returns numbers or arrays; nothing here reconstructs, loads or draws. The experiment
(:mod:`dnemkit.experiments.study`) feeds them the stored reconstructions.
"""

import numpy as np
from scipy import stats as _st

from ..errors import DnemkitError
from ..video import smooth_video
from .metrics import (DEFAULT_FIRST_FRAME, frame_correlation, frame_correlation_trace, motion_energy, pearson_along,
                      video_correlation)
from .stats import paired_ttest

__all__ = ["ensemble_size_scores", "cross_scores", "mean_ci", "test_against_random", "same_movie",
           "compare_with_first", "input_prediction_statistics", "clip_descriptors",
           "response_fit", "frame_prediction_accuracy", "lagged_correlation", "predictor_table",
           "best_matches", "raster_order"]


def ensemble_size_scores(gt, model_videos, *, mask=None, first_frame=DEFAULT_FIRST_FRAME, sigma=0.5):
    """Video and frame correlation of the ensemble of the first k models, k = 1..K (the paper's Fig. 3).

    The ensemble of k is the mean of the first k videos, then the Gaussian filter ``sigma``.

    Parameters
    ----------
    gt : array_like, shape (T, 36, 64)
        The ground-truth movie, grey levels (0..255).
    model_videos : array_like, shape (K, T, 36, 64)
        Each model's unsmoothed reconstruction, grey levels.
    mask : array_like of bool, shape (36, 64), optional
        The evaluated pixels (default None: every pixel).
    first_frame : int, optional
        The first scored frame (default 30).
    sigma : float, optional
        The ensemble's Gaussian filter, in frames and pixels (default 0.5).

    Returns
    -------
    video_r, frame_r : ndarray, float64, shape (K,)
        Video and frame correlation (dimensionless) of the ensemble of the first k models, k = 1..K.
    """
    model_videos = np.asarray(model_videos, np.float32)
    if model_videos.ndim != 4:
        raise DnemkitError(f"model_videos has shape {model_videos.shape}; expected (models, T, 36, 64)")
    running = np.cumsum(model_videos.astype(np.float64), axis=0) / np.arange(1, len(model_videos) + 1)[:, None, None,
                                                                                                        None]
    video_r, frame_r = [], []
    for mean in running:
        ens = smooth_video(mean.astype(np.float32), sigma)
        video_r.append(video_correlation(gt, ens, mask=mask, first_frame=first_frame))
        frame_r.append(frame_correlation(gt, ens, mask=mask, first_frame=first_frame))
    return np.asarray(video_r), np.asarray(frame_r)


def cross_scores(gts, recons, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """(n, n) matrix of video correlations r(recon_i, gt_j) (rows: reconstructions) for clips of one mouse (the diagonal is each clip's
    own score; off the diagonal, the reconstruction against another clip's movie: "random videos").

    Parameters
    ----------
    gts : sequence of array_like, each shape (T_i, 36, 64)
        The clips' movies, grey levels (0..255).
    recons : sequence of array_like, each shape (T_i, 36, 64)
        Their reconstructions, grey levels, one per clip; pairs of different lengths are compared on their common
        first frames.
    mask : array_like of bool, shape (36, 64), optional
        The evaluated pixels (default None: every pixel).
    first_frame : int, optional
        The first scored frame (default 30).

    Returns
    -------
    ndarray, float64, shape (n, n)
        Video correlations (dimensionless); row i: reconstruction i, column j: movie j.
    """
    if len(recons) != len(gts):
        raise DnemkitError(f"{len(recons)} reconstructions but {len(gts)} ground truths; expected one per clip")
    n = len(recons)
    out = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            t = min(len(recons[i]), len(gts[j]))
            out[i, j] = video_correlation(gts[j][:t], recons[i][:t], mask=mask, first_frame=first_frame)
    return out


def mean_ci(values, *, level=0.95):
    """(mean, low, high) of ``values`` (n,) with the Student-t confidence interval of the mean (n - 1 degrees
    of freedom); low = high = NaN for fewer than two finite values.

    Parameters
    ----------
    values : array_like, shape (n,)
        Values in any unit; non-finite values are left out.
    level : float, optional
        Confidence level in (0, 1) (default 0.95).

    Returns
    -------
    mean, low, high : float
        In the unit of ``values``; all NaN without finite values, low = high = NaN with one.
    """
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan")
    half = _st.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return m, float(m - half), float(m + half)


def test_against_random(scores, random_scores):
    """The paper's test of reconstructions against random videos, and the paired test beside it.

    scores: (n,) r(recon_i, gt_i); random_scores: (n,) each clip's r against other clips' movies (mean over
    them). ``two_sample`` is the paper's: an independent two-sample Student t-test of the n own scores against
    the n random scores (equal variances, df = 2n - 2; scipy.stats.ttest_ind), which is what its p = 6.69e-49 for
    n = 50 clips is (t ~ 28 at df = 98). ``paired`` is scipy.stats.ttest_rel over clips
    (:func:`dnemkit.analysis.stats.paired_ttest`): pairing by clip removes what a reconstruction shares with every
    movie of the session (mean luminance, the mask's layout), so it asks whether a reconstruction matches *its*
    movie better than others; it is the stricter question and gives smaller p for the same data.

    Parameters
    ----------
    scores : array_like, shape (n,)
        r(recon_i, gt_i), dimensionless; n >= 2, finite.
    random_scores : array_like, shape (n,)
        Each clip's r against other clips' movies (mean over them), same order.

    Returns
    -------
    dict
        {"two_sample": {t, p, df, n}, "paired": {t, p, n, mean_difference}}: t and p floats, df and n ints,
        mean_difference = mean(scores - random_scores) (dimensionless).
    """
    own = np.asarray(scores, np.float64)
    rand = np.asarray(random_scores, np.float64)
    paired = paired_ttest(own, rand)  # checks shapes, NaN and n >= 2 with one-line errors
    res = _st.ttest_ind(own, rand, equal_var=True)
    return {"two_sample": {"t": float(res.statistic), "p": float(res.pvalue), "df": int(2 * own.size - 2),
                           "n": int(own.size)},
            "paired": paired}


def same_movie(first_frames, *, threshold):
    """(n, n) bool: clips i and j show the same movie (i != j), judged as duplicates are: the Pearson r of their
    first frames (all pixels) is above ``threshold``.

    Repeats of one movie (the oracle movie of a test fold) and duplicated clips must not serve as each other's
    "random" video: their score against each other is a reconstruction score, not chance.

    Parameters
    ----------
    first_frames : array_like, shape (n, 36, 64)
        Each clip's first frame, grey levels (0..255).
    threshold : float
        Pearson r (dimensionless) above which two clips are the same movie.

    Returns
    -------
    ndarray of bool, shape (n, n)
        Symmetric, False on the diagonal; a blank frame (r undefined) matches nothing.
    """
    a = np.asarray(first_frames, np.float64).reshape(len(first_frames), -1)
    a = a - a.mean(1, keepdims=True)
    norm = np.linalg.norm(a, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a @ a.T) / np.outer(norm, norm)
    out = np.nan_to_num(r, nan=-2.0) > threshold
    np.fill_diagonal(out, False)
    return out


def compare_with_first(values, mice):
    """Each column of a per-clip table against the first, as % change and a paired t-test over subjects.

    Subjects are mice (the mean over each mouse's clips) when there are two or more, else clips: the paper's
    variations and Fig. 1 - figure supplement 2D are tested over the 5 mouse means (``ttest_rel``). change =
    100 x (mean over subjects of column j - that of column 0) / |that of column 0| (positive: higher than the
    first); NaN for the first column itself and where fewer than two subjects are finite.

    Parameters
    ----------
    values : array_like, shape (clips, columns)
        One value per clip and condition (e.g. video r of each variation or method, or the loss of the activity
        predicted from each input), column 0 the reference condition.
    mice : array_like, shape (clips,)
        Each clip's mouse (any labels).

    Returns
    -------
    dict
        "change_percent" (columns,) in %, "t" (columns,), "p" (columns,), "subjects" ('mice' or 'clips'),
        "table" (subjects, columns) in the unit of ``values``.
    """
    values = np.asarray(values, np.float64)
    mice = np.asarray(mice)
    names = list(dict.fromkeys(mice.tolist()))
    if len(names) >= 2:
        table, kind = np.stack([np.nanmean(values[mice == m], 0) for m in names]), "mice"
    else:
        table, kind = values, "clips"
    n_columns = values.shape[1]
    change, t, p = (np.full(n_columns, np.nan) for _ in range(3))
    base = table[:, 0]
    for j in range(1, n_columns):
        ok = np.isfinite(table[:, j]) & np.isfinite(base)
        if not ok.any():
            continue
        change[j] = 100 * (table[ok, j].mean() - base[ok].mean()) / abs(base[ok].mean())
        if ok.sum() >= 2:
            res = paired_ttest(table[ok, j], base[ok])
            t[j], p[j] = res["t"], res["p"]
    return {"change_percent": change, "t": t, "p": p, "subjects": kind, "table": table}


def input_prediction_statistics(values, mice):
    """Fig. 1 - figure supplement 2D: each input against the true movie (:func:`compare_with_first`; column 0 the
    true movie, the values the Poisson loss or r of the activity predicted from each input).

    Parameters
    ----------
    values : array_like, shape (clips, inputs)
        Poisson loss (or r, dimensionless) of the activity predicted from each input; column 0 the true movie.
    mice : array_like, shape (clips,)
        Each clip's mouse (any labels).

    Returns
    -------
    dict
        As :func:`compare_with_first`.
    """
    return compare_with_first(values, mice)


def clip_descriptors(gt, behavior, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """What may predict a clip's reconstruction quality (the paper's Fig. 2 - figure supplement 1).

    Parameters
    ----------
    gt : array_like, shape (T, 36, 64)
        The clip's movie, grey levels (0..255).
    behavior : array_like, shape (4, T)
        Pupil dilation, running speed, pupil x, pupil y (a.u., as recorded).
    mask : array_like of bool, shape (36, 64), optional
        The evaluated pixels (default None: every pixel).
    first_frame : int, optional
        Frames from ``first_frame`` on are described (default 30).

    Returns
    -------
    dict of str to float
        ``contrast`` (grey levels: per-frame standard deviation over the masked pixels, mean over frames),
        ``luminance`` (grey levels: masked mean), ``motion_energy`` (grey levels/frame), ``pupil_diameter``,
        ``running_speed`` (recording units, means: a.u.), ``pupil_x``, ``pupil_y`` (mean pupil position, a.u.).
    """
    g = np.asarray(gt, np.float64)[first_frame:]
    m = np.ones(g.shape[1:], bool) if mask is None else np.asarray(mask, bool)
    pix = g[:, m]
    b = np.asarray(behavior, np.float64)[:, first_frame:]
    return {"contrast": float(pix.std(axis=1).mean()), "luminance": float(pix.mean()),
            "motion_energy": float(motion_energy(gt, mask=m, first_frame=first_frame)),
            "pupil_diameter": float(b[0].mean()), "running_speed": float(b[1].mean()),
            "pupil_x": float(b[2].mean()), "pupil_y": float(b[3].mean())}


def response_fit(recorded, predicted, *, first_frame=DEFAULT_FIRST_FRAME, eps=1e-8):
    """How well ``predicted`` (N, T) rates fit ``recorded`` (N, T) responses, frames from ``first_frame`` on.

    Parameters
    ----------
    recorded : array_like, shape (N, T)
        Recorded responses, counts/frame.
    predicted : array_like, shape (N, T)
        Predicted rates, counts/frame.
    first_frame : int, optional
        The first scored frame (default 30).
    eps : float, optional
        Added to the rates inside the log (default 1e-8).

    Returns
    -------
    dict
        ``poisson_loss`` (float): mean of pred - max(rec, 0) * log(pred + eps) over neurons and frames;
        ``correlation`` (float, dimensionless): Pearson r over all neurons x frames flattened (the reference's
        summary); ``neuron_correlation`` (ndarray (N,), dimensionless): Pearson r per neuron over frames.
    """
    rec = np.asarray(recorded, np.float64)[:, first_frame:]
    pred = np.asarray(predicted, np.float64)[:, first_frame:]
    if rec.shape != pred.shape:
        raise DnemkitError(f"predicted has shape {pred.shape}; expected the recorded shape {rec.shape}")
    loss = float(np.mean(pred - np.maximum(rec, 0) * np.log(pred + eps)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"poisson_loss": loss, "correlation": float(pearson_along(rec.ravel()[None], pred.ravel()[None], axis=1)[0]),
                "neuron_correlation": pearson_along(rec, pred, axis=1)}


def frame_prediction_accuracy(recorded, predicted):
    """(T,) per frame, Pearson r over neurons between recorded and predicted activity (NaN where undefined).

    Parameters
    ----------
    recorded, predicted : array_like, shape (N, T)
        Recorded and predicted activity, counts/frame.

    Returns
    -------
    ndarray, float64, shape (T,)
        Pearson r (dimensionless) per frame; NaN where a frame's activity is constant over neurons.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return pearson_along(np.asarray(recorded, np.float64), np.asarray(predicted, np.float64), axis=0)


def lagged_correlation(a, b, *, max_lag):
    """(2 max_lag + 1,) Pearson r of a[t] with b[t + lag] for lag = -max_lag..max_lag, over the frames where both
    are finite (NaN where fewer than 3 pairs remain).

    Parameters
    ----------
    a, b : array_like, shape (T,)
        Two traces (any units) over the same frames.
    max_lag : int
        The largest lag, frames.

    Returns
    -------
    ndarray, float64, shape (2 max_lag + 1,)
        Pearson r (dimensionless) at lag = -max_lag..max_lag; NaN where fewer than 3 finite pairs remain or a
        trace is constant over them.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise DnemkitError(f"traces have shapes {a.shape} and {b.shape}; expected two (T,) traces")
    out = np.full(2 * max_lag + 1, np.nan)
    t = len(a)
    for k, lag in enumerate(range(-max_lag, max_lag + 1)):
        x = a[max(0, -lag):t - max(0, lag)]
        y = b[max(0, lag):t + min(0, lag)]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() >= 3 and x[ok].std() > 0 and y[ok].std() > 0:
            out[k] = np.corrcoef(x[ok], y[ok])[0, 1]
    return out


def predictor_table(predictors, target):
    """Pearson r, two-sided p and the least-squares line of ``target`` (n,) on each predictor (n,).

    Parameters
    ----------
    predictors : dict of str to array_like, each shape (n,)
        One value per clip for each predictor, in its own unit.
    target : array_like, shape (n,)
        One value per clip (e.g. frame correlation, dimensionless).

    Returns
    -------
    dict of str to dict
        {name: {r, p, slope, intercept, n}}: r dimensionless, slope in target unit per predictor unit, intercept
        in the target's unit, n (int) the finite pairs; NaN where a predictor or the target is constant or fewer
        than 3 clips are finite.
    """
    y = np.asarray(target, np.float64)
    out = {}
    for name, values in predictors.items():
        x = np.asarray(values, np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        row = dict(r=np.nan, p=np.nan, slope=np.nan, intercept=np.nan, n=int(ok.sum()))
        if ok.sum() >= 3 and x[ok].std() > 0 and y[ok].std() > 0:
            fit = _st.linregress(x[ok], y[ok])
            row.update(r=float(fit.rvalue), p=float(fit.pvalue), slope=float(fit.slope), intercept=float(fit.intercept))
        out[name] = row
    return out


def best_matches(test_frames, candidate_frames):
    """For each test clip, the candidate (training) clip whose first frame correlates most with its own.

    Parameters
    ----------
    test_frames : array_like, shape (n, 36, 64)
        First frames of the test clips, grey levels (0..255).
    candidate_frames : array_like, shape (m, 36, 64)
        First frames of the candidate clips, grey levels; m may be 0.

    Returns
    -------
    index : ndarray of int, shape (n,)
        The best candidate per test clip; -1 where there is none.
    r : ndarray, float64, shape (n,)
        Its Pearson r over all pixels (dimensionless); NaN without a candidate.
    """
    a = np.asarray(test_frames, np.float64).reshape(len(test_frames), -1)
    if len(candidate_frames) == 0:
        return np.full(len(a), -1), np.full(len(a), np.nan)
    b = np.asarray(candidate_frames, np.float64).reshape(len(candidate_frames), -1)
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a @ b.T) / np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
    r = np.where(np.isfinite(r), r, -np.inf)
    index = r.argmax(axis=1)
    best = r[np.arange(len(a)), index]
    return np.where(np.isfinite(best), index, -1), np.where(np.isfinite(best), best, np.nan)


def raster_order(activity, *, first_frame=0):
    """Neuron order for rasters: by the frame of each neuron's peak (from ``first_frame`` on) of ``activity``
    (N, T), ties by neuron index; the same order is applied to every raster of one clip.

    Parameters
    ----------
    activity : array_like, shape (N, T)
        Activity, counts/frame.
    first_frame : int, optional
        Peaks are searched from this frame on (default 0).

    Returns
    -------
    ndarray of int, shape (N,)
        Neuron indices, earliest peak first.
    """
    a = np.asarray(activity, np.float64)[:, first_frame:]
    return np.lexsort((np.arange(len(a)), a.argmax(axis=1)))


def frame_correlation_series(gt, recon, *, mask=None, first_frame=DEFAULT_FIRST_FRAME):
    """(T,) frame-by-frame correlation, NaN before ``first_frame`` (so it aligns with other (T,) traces).

    Parameters
    ----------
    gt, recon : array_like, shape (T, 36, 64)
        Ground truth and reconstruction, grey levels (0..255).
    mask : array_like of bool, shape (36, 64), optional
        The evaluated pixels (default None: every pixel).
    first_frame : int, optional
        The first scored frame (default 30).

    Returns
    -------
    ndarray, float64, shape (T,)
        Pearson r (dimensionless) per frame; NaN before ``first_frame``.
    """
    out = np.full(len(gt), np.nan)
    out[first_frame:] = frame_correlation_trace(gt, recon, mask=mask, first_frame=first_frame)
    return out
