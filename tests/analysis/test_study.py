"""dnemkit.analysis.study against slow, obvious computations (loops, float64, scipy/statsmodels directly)."""

import numpy as np
import pytest
from scipy import stats

from dnemkit.analysis import study as A
from dnemkit.analysis.metrics import video_correlation

H, W, T = 36, 64, 60


@pytest.fixture
def clips(rng):
    gts = [rng.uniform(0, 255, (T, H, W)).astype(np.float32) for _ in range(3)]
    recons = [(0.5 * g + rng.normal(0, 40, g.shape)).astype(np.float32) for g in gts]
    return gts, recons


def test_ensemble_size_scores_are_the_smoothed_means_of_the_first_k_models(rng):
    from scipy.ndimage import gaussian_filter

    gt = rng.uniform(0, 255, (T, H, W)).astype(np.float32)
    models = np.stack([gt + rng.normal(0, 80, gt.shape) for _ in range(3)]).astype(np.float32)
    mask = np.zeros((H, W), bool)
    mask[5:30, 10:50] = True
    video_r, frame_r = A.ensemble_size_scores(gt, models, mask=mask, first_frame=32, sigma=0.5)
    for k in range(1, 4):
        ens = gaussian_filter(models[:k].astype(np.float64).mean(0), 0.5)
        g, e = gt[32:][:, mask].ravel(), ens[32:][:, mask].ravel()
        assert video_r[k - 1] == pytest.approx(np.corrcoef(g, e)[0, 1], abs=1e-5)
        per = [np.corrcoef(gt[t][mask], ens[t][mask])[0, 1] for t in range(32, T)]
        assert frame_r[k - 1] == pytest.approx(np.mean(per), abs=1e-5)
    assert video_r[2] > video_r[0]  # independent noise averages out


def test_cross_scores_diagonal_is_each_clip_and_off_diagonal_the_others(clips):
    gts, recons = clips
    m = A.cross_scores(gts, recons, mask=None, first_frame=32)
    for i in range(3):
        for j in range(3):
            assert m[i, j] == pytest.approx(video_correlation(gts[j], recons[i], mask=None, first_frame=32), abs=1e-12)
    assert (np.diag(m) > 0.5).all() and (np.abs(m[~np.eye(3, dtype=bool)]) < 0.1).all()


def test_mean_ci_is_the_student_t_interval(rng):
    v = rng.normal(0.5, 0.1, 12)
    m, lo, hi = A.mean_ci(v)
    want = stats.t.interval(0.95, 11, loc=v.mean(), scale=stats.sem(v))
    assert (m, lo, hi) == pytest.approx((v.mean(), *want), abs=1e-12)
    assert np.isnan(A.mean_ci([0.3])[1]) and A.mean_ci([0.3])[0] == 0.3


def test_test_against_random_is_a_paired_t_test(rng):
    own, other = rng.normal(0.5, 0.1, 10), rng.normal(0.0, 0.1, 10)
    res = A.test_against_random(own, other)
    assert res["p"] == pytest.approx(stats.ttest_rel(own, other).pvalue, rel=1e-10) and res["n"] == 10


def test_clip_descriptors_by_hand(rng):
    gt = rng.uniform(0, 255, (T, H, W))
    behavior = rng.normal(0, 1, (4, T))
    mask = np.zeros((H, W), bool)
    mask[:10, :20] = True
    d = A.clip_descriptors(gt, behavior, mask=mask, first_frame=32)
    assert d["contrast"] == pytest.approx(np.mean([gt[t][mask].std() for t in range(32, T)]))
    assert d["luminance"] == pytest.approx(np.mean([gt[t][mask].mean() for t in range(32, T)]))
    assert d["motion_energy"] == pytest.approx(np.mean([np.abs(gt[t + 1][mask] - gt[t][mask]).mean()
                                                        for t in range(32, T - 1)]))
    assert [d[k] for k in ("pupil_diameter", "running_speed", "pupil_x", "pupil_y")] == \
        pytest.approx(behavior[:, 32:].mean(1))


def test_response_fit_by_hand(rng):
    rec = rng.poisson(2.0, (20, T)).astype(float)
    pred = rng.uniform(0.5, 4, (20, T))
    fit = A.response_fit(rec, pred, 32)
    r, p = rec[:, 32:], pred[:, 32:]
    assert fit["poisson_loss"] == pytest.approx(np.mean(p - r * np.log(p + 1e-8)))
    assert fit["correlation"] == pytest.approx(np.corrcoef(r.ravel(), p.ravel())[0, 1])
    assert fit["neuron_correlation"][3] == pytest.approx(np.corrcoef(r[3], p[3])[0, 1])


def test_lagged_correlation_finds_a_known_delay(rng):
    a = rng.normal(0, 1, 300)
    b = np.roll(a, 5) + rng.normal(0, 0.1, 300)  # b(t) = a(t - 5): b follows a by 5 frames
    b[:5] = np.nan
    c = A.lagged_correlation(a, b, 10)
    assert np.nanargmax(c) - 10 == 5 and c[15] > 0.95
    x, y = a[:-5], b[5:]
    assert c[15] == pytest.approx(np.corrcoef(x[np.isfinite(y)], y[np.isfinite(y)])[0, 1])


def test_predictor_table_equals_scipy_linregress(rng):
    x = rng.normal(0, 1, 15)
    y = 0.3 * x + rng.normal(0, 0.2, 15)
    row = A.predictor_table({"x": x, "flat": np.ones(15)}, y)
    fit = stats.linregress(x, y)
    assert (row["x"]["r"], row["x"]["p"], row["x"]["slope"], row["x"]["intercept"]) == \
        pytest.approx((fit.rvalue, fit.pvalue, fit.slope, fit.intercept))
    assert np.isnan(row["flat"]["r"]) and row["flat"]["n"] == 15


def test_best_matches_finds_the_copy_not_the_near_miss(rng):
    train = rng.uniform(0, 255, (5, H, W))
    copy = train[3].copy()
    near = 0.6 * train[1] + 0.4 * rng.uniform(0, 255, (H, W))
    index, r = A.best_matches(np.stack([copy, near]), train)
    assert index[0] == 3 and r[0] == pytest.approx(1.0)
    assert index[1] == 1 and 0.5 < r[1] < 0.95
    assert A.best_matches(np.stack([copy]), np.zeros((0, H, W)))[0][0] == -1


def test_raster_order_sorts_by_peak_frame():
    a = np.zeros((3, 10))
    a[0, 7], a[1, 2], a[2, 5] = 1, 1, 1
    assert list(A.raster_order(a)) == [1, 2, 0]
