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


def test_test_against_random_is_scipys_two_sample_and_paired_t_test(rng):
    own, other = rng.normal(0.5, 0.1, 10), rng.normal(0.0, 0.1, 10)
    res = A.test_against_random(own, other)
    assert res["two_sample"]["p"] == pytest.approx(stats.ttest_ind(own, other).pvalue, rel=1e-10)
    assert res["paired"]["p"] == pytest.approx(stats.ttest_rel(own, other).pvalue, rel=1e-10)
    assert res["two_sample"]["n"] == res["paired"]["n"] == 10


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
    fit = A.response_fit(rec, pred, first_frame=32)
    r, p = rec[:, 32:], pred[:, 32:]
    assert fit["poisson_loss"] == pytest.approx(np.mean(p - r * np.log(p + 1e-8)))
    assert fit["correlation"] == pytest.approx(np.corrcoef(r.ravel(), p.ravel())[0, 1])
    assert fit["neuron_correlation"][3] == pytest.approx(np.corrcoef(r[3], p[3])[0, 1])


def test_lagged_correlation_finds_a_known_delay(rng):
    a = rng.normal(0, 1, 300)
    b = np.roll(a, 5) + rng.normal(0, 0.1, 300)  # b(t) = a(t - 5): b follows a by 5 frames
    b[:5] = np.nan
    c = A.lagged_correlation(a, b, max_lag=10)
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


def test_against_random_gives_the_papers_two_sample_test_and_the_paired_one():
    """A 6-clip table by hand: the paper's test is Student's two-sample t-test (df = 10), the paired one
    scipy's ttest_rel; with n = 50 clips the paper's p = 6.69e-49 needs t ~ 28 at df = 98."""
    own = np.array([0.61, 0.55, 0.70, 0.48, 0.52, 0.66])
    rand = np.array([0.02, -0.05, 0.08, 0.01, -0.02, 0.04])
    res = A.test_against_random(own, rand)
    # Student's t by hand: pooled variance over both samples
    pooled = ((own.var(ddof=1) + rand.var(ddof=1)) / 2) * (2 / 6)
    t = (own.mean() - rand.mean()) / np.sqrt(pooled)
    assert res["two_sample"]["t"] == pytest.approx(t, rel=1e-12) and res["two_sample"]["df"] == 10
    assert res["two_sample"]["p"] == pytest.approx(2 * stats.t.sf(t, 10), rel=1e-9)
    d = own - rand
    t_paired = d.mean() / (d.std(ddof=1) / np.sqrt(6))
    assert res["paired"]["t"] == pytest.approx(t_paired, rel=1e-12)
    assert res["paired"]["p"] == pytest.approx(2 * stats.t.sf(t_paired, 5), rel=1e-9)
    # the paper's p for 50 clips: t 28.3 at df 98 (two-sample); paired (df 49) it would need t 64.0
    assert stats.t.isf(6.69e-49 / 2, 98) == pytest.approx(28.26, abs=0.01)
    assert stats.t.isf(6.69e-49 / 2, 49) == pytest.approx(64.04, abs=0.01)


def test_same_movie_pairs_repeats_and_copies_only(rng):
    frames = rng.uniform(0, 255, (4, H, W))
    frames[2] = frames[0] + rng.normal(0, 1, (H, W))  # a repeat of clip 0's movie
    same = A.same_movie(frames, threshold=0.95)
    assert same.dtype == bool and same.shape == (4, 4)
    assert same[0, 2] and same[2, 0] and same.sum() == 2 and not same.diagonal().any()


def test_choose_clips_replaces_duplicates_as_the_reference_did():
    """The reference's mouse 2: of trials 0..9 of the fold, 0, 2, 7 and 8 were duplicates of training clips and
    became 10, 14, 15 and 16 (11, 12, 13 were duplicates too); here candidate k has a first frame of its own
    unless listed as a duplicate, and 'replace' keeps n = 10 with the next unused candidates, in order."""
    from dnemkit.experiments.study.plan import choose_clips

    rng = np.random.default_rng(3)
    training = rng.uniform(0, 255, (5, H, W))
    candidates = rng.uniform(0, 255, (17, H, W))
    for k, j in ((0, 0), (2, 1), (7, 2), (8, 3), (11, 4), (12, 0), (13, 1)):
        candidates[k] = training[j]
    choice = choose_clips(candidates, training, 10, 0.95)
    assert choice.chosen == (1, 3, 4, 5, 6, 9, 10, 14, 15, 16)
    assert choice.replaced_by == {0: 10, 2: 14, 7: 15, 8: 16}
    assert {k: v[:2] for k, v in choice.duplicate_of.items()} == {
        0: ("training", 0), 2: ("training", 1), 7: ("training", 2), 8: ("training", 3), 11: ("training", 4),
        12: ("training", 0), 13: ("training", 1)}
    # a repeat inside the selection is a duplicate of the earlier chosen clip
    candidates[4] = candidates[3]
    choice = choose_clips(candidates[:12], training, 10, 0.95)
    assert choice.duplicate_of[4][:2] == ("selection", 3) and 4 not in choice.chosen
    # 'drop' and 'keep' take the first n as they are
    dropped = choose_clips(candidates, training, 10, 0.95, mode="drop")
    assert dropped.chosen == tuple(range(10)) and dropped.replaced_by == {}
    assert sorted(dropped.duplicate_of) == [0, 2, 4, 7, 8]


def test_input_prediction_statistics_by_hand_on_a_two_mouse_table():
    """Fig. 1 - figure supplement 2D on a hand-made table of 2 mice x 2 clips x 3 inputs: per mouse the mean over
    its clips, % change of the mean over mice against the true movie's (positive = higher), and the paired t-test
    over the 2 mice (df = 1) by hand."""
    values = np.array([[1.00, 1.10, 1.30],   # mouse a, clip 1: true, masked, reconstruction
                       [1.20, 1.24, 1.50],   # mouse a, clip 2
                       [0.90, 0.99, 1.00],   # mouse b
                       [0.80, 0.81, 1.20]])  # mouse b
    mice = ["a", "a", "b", "b"]
    res = A.input_prediction_statistics(values, mice)
    per_mouse = np.array([[1.10, 1.17, 1.40], [0.85, 0.90, 1.10]])
    np.testing.assert_allclose(res["table"], per_mouse, atol=1e-12)
    assert res["subjects"] == "mice" and np.isnan(res["change_percent"][0]) and np.isnan(res["p"][0])
    for j in (1, 2):
        want = 100 * (per_mouse[:, j].mean() - per_mouse[:, 0].mean()) / per_mouse[:, 0].mean()
        assert res["change_percent"][j] == pytest.approx(want, rel=1e-12)
        d = per_mouse[:, j] - per_mouse[:, 0]
        t = d.mean() / (d.std(ddof=1) / np.sqrt(2))
        assert res["t"][j] == pytest.approx(t, rel=1e-12)
        assert res["p"][j] == pytest.approx(2 * stats.t.sf(abs(t), 1), rel=1e-9)
    assert res["change_percent"][1] == pytest.approx(100 * (1.035 - 0.975) / 0.975)  # +6.15 %: masked is higher
    one = A.input_prediction_statistics(values[:2], mice[:2])  # one mouse: subjects are its clips
    assert one["subjects"] == "clips" and one["table"].shape == (2, 3)
