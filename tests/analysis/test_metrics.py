"""Tests of dnemkit.analysis.metrics against independent computations."""

import math
import warnings

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from dnemkit.analysis import metrics as M

F = M.DEFAULT_FIRST_FRAME  # the first scored frame of every default (30: the reference analyses' eval_frame_skip)
from dnemkit.errors import DnemkitError

T, H, W = 60, 36, 64


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 255, (T, H, W))
    recon = 0.6 * gt + rng.normal(0, 30, (T, H, W)) + 20
    return gt, recon


@pytest.fixture(scope="module")
def mask():
    m = np.zeros((H, W), dtype=bool)
    m[6:30, 12:52] = True
    m[6:9, 12:20] = False  # not a rectangle
    return m


def _r_by_frame_sums(gt, recon, mask, first):
    """Pearson r from running float64 sums accumulated frame by frame (independent of the library)."""
    n = sx = sy = sxx = syy = sxy = 0.0
    for t in range(first, gt.shape[0]):
        x = np.asarray(gt[t][mask], dtype=np.float64)
        y = np.asarray(recon[t][mask], dtype=np.float64)
        n += x.size
        sx += x.sum()
        sy += y.sum()
        sxx += (x * x).sum()
        syy += (y * y).sum()
        sxy += (x * y).sum()
    cov = sxy / n - (sx / n) * (sy / n)
    return cov / math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2))


# ------------------------------------------------------------------------------------------------ correlations
def test_video_correlation_matches_independent_sums(pair, mask):
    gt, recon = pair
    got = M.video_correlation(gt, recon, mask=mask, first_frame=30)
    assert got == pytest.approx(_r_by_frame_sums(gt, recon, mask, 30), abs=1e-10)
    flat_g = np.concatenate([gt[t][mask] for t in range(30, T)])
    flat_r = np.concatenate([recon[t][mask] for t in range(30, T)])
    assert got == pytest.approx(np.corrcoef(flat_g, flat_r)[0, 1], abs=1e-12)


def test_video_correlation_defaults_full_frame_from_frame_30(pair):
    """The default scores every pixel from frame 30 on (the reference analyses' eval_frame_skip = 30), not from
    32 (its reconstruction script's in-loop tracking)."""
    gt, recon = pair
    assert M.video_correlation(gt, recon) == pytest.approx(
        _r_by_frame_sums(gt, recon, np.ones((H, W), bool), 30), abs=1e-10
    )
    assert M.video_correlation(gt, recon) != pytest.approx(
        _r_by_frame_sums(gt, recon, np.ones((H, W), bool), 32), abs=1e-6
    )


def test_correlations_scale_offset_invariant(pair, mask):
    gt, recon = pair
    for fn in (M.video_correlation, M.frame_correlation):
        a = fn(gt, recon, mask=mask, first_frame=10)
        b = fn(gt, 3.0 * recon - 40.0, mask=mask, first_frame=10)
        c = fn(0.5 * gt + 7.0, recon, mask=mask, first_frame=10)
        assert a == pytest.approx(b, abs=1e-12) and a == pytest.approx(c, abs=1e-12)
        assert fn(gt, -recon, mask=mask, first_frame=10) == pytest.approx(-a, abs=1e-12)
    pm = M.pixel_correlation_map(gt, recon, mask=mask, first_frame=10)
    np.testing.assert_allclose(M.pixel_correlation_map(gt, 2 * recon + 5, mask=mask, first_frame=10), pm, atol=1e-12)


def test_frame_correlation_matches_loop(pair, mask):
    gt, recon = pair
    per = [np.corrcoef(gt[t][mask], recon[t][mask])[0, 1] for t in range(F, T)]
    assert M.frame_correlation(gt, recon, mask=mask) == pytest.approx(np.mean(per), abs=1e-12)
    np.testing.assert_allclose(M.frame_correlation_trace(gt, recon, mask=mask), per, atol=1e-12)


def test_frame_correlation_ignores_constant_frames_without_warning(pair, mask):
    gt, recon = pair
    recon = recon.copy()
    recon[35] = 100.0  # constant recon frame
    gt2 = gt.copy()
    gt2[40] = 7.0  # constant gt frame
    per = [np.corrcoef(gt2[t][mask], recon[t][mask])[0, 1] for t in range(F, T) if t not in (35, 40)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trace = M.frame_correlation_trace(gt2, recon, mask=mask)
        got = M.frame_correlation(gt2, recon, mask=mask)
        assert math.isnan(M.frame_correlation(np.full((T, H, W), 5.0), recon, mask=mask))
        assert math.isnan(M.video_correlation(np.full((T, H, W), 5.0), recon, mask=mask))
    assert np.isnan(trace[35 - F]) and np.isnan(trace[40 - F])
    assert got == pytest.approx(np.mean(per), abs=1e-12)


def test_pixel_correlation_map_matches_loop(pair, mask):
    gt, recon = pair
    got = M.pixel_correlation_map(gt, recon, mask=mask, first_frame=30)
    assert got.shape == (H, W)
    assert np.isnan(got[~mask]).all()
    for y, x in [(10, 20), (29, 51), (6, 30), (15, 40)]:
        assert mask[y, x]
        assert got[y, x] == pytest.approx(np.corrcoef(gt[30:, y, x], recon[30:, y, x])[0, 1], abs=1e-12)


def test_torch_input_accepted(pair, mask):
    torch = pytest.importorskip("torch")
    gt, recon = pair
    a = M.video_correlation(torch.tensor(gt, dtype=torch.float32), torch.tensor(recon, dtype=torch.float32), mask=mask)
    assert a == pytest.approx(M.video_correlation(gt, recon, mask=mask), abs=1e-5)


# ------------------------------------------------------------------------------------------------ errors
def test_rmse_psnr_known_values(pair, mask):
    gt, _ = pair
    assert M.rmse(gt, gt + 5.0, mask=mask) == pytest.approx(5.0)
    assert M.psnr(gt, gt + 5.0, mask=mask) == pytest.approx(20 * math.log10(255 / 5.0))
    assert M.psnr(gt, gt, mask=mask) == math.inf
    other = gt.copy()
    other[:30] += 100.0  # frames before first_frame are not evaluated
    assert M.rmse(gt, other, mask=mask, first_frame=30) == 0.0
    noisy = gt.copy()
    noisy[40, mask] += 3.0  # one evaluated frame off by 3 inside the mask
    assert M.rmse(gt, noisy, mask=mask, first_frame=30) == pytest.approx(math.sqrt(9.0 / (T - 30)))
    noisy[40, ~mask] += 50.0  # outside the mask: ignored
    assert M.rmse(gt, noisy, mask=mask, first_frame=30) == pytest.approx(math.sqrt(9.0 / (T - 30)))


def test_ssim_identical_is_one(pair, mask):
    gt, _ = pair
    assert M.ssim(gt, gt, mask=mask) == pytest.approx(1.0, abs=1e-12)
    assert M.ssim(gt, gt) == pytest.approx(1.0, abs=1e-12)


def test_ssim_equals_skimage_per_frame_on_bounding_box(pair, mask):
    gt, recon = pair
    # bounding box of the mask: rows 6..29, columns 12..51
    ref = np.mean(
        [structural_similarity(gt[t, 6:30, 12:52], recon[t, 6:30, 12:52], data_range=255) for t in range(F, T)]
    )
    assert M.ssim(gt, recon, mask=mask) == pytest.approx(ref, abs=1e-10)
    full = np.mean([structural_similarity(gt[t], recon[t], data_range=255) for t in range(F, T)])
    assert M.ssim(gt, recon) == pytest.approx(full, abs=1e-10)


def test_ssim_narrow_mask_uses_smaller_window(pair):
    gt, recon = pair
    m = np.zeros((H, W), bool)
    m[10:15, 10:40] = True  # 5 rows high -> 5x5 window
    ref = np.mean(
        [structural_similarity(gt[t, 10:15, 10:40], recon[t, 10:15, 10:40], data_range=255, win_size=5)
         for t in range(F, T)]
    )
    assert M.ssim(gt, recon, mask=m) == pytest.approx(ref, abs=1e-10)
    m2 = np.zeros((H, W), bool)
    m2[10:12, 10:40] = True
    with pytest.raises(DnemkitError, match=r"mask bounding box is 2 x 30 pixels; expected at least 3 x 3"):
        M.ssim(gt, recon, mask=m2)


def test_ssim_simplified_hand_formula(pair, mask):
    gt, recon = pair
    x = np.concatenate([gt[t][mask] for t in range(F, T)])
    y = np.concatenate([recon[t][mask] for t in range(F, T)])
    c = np.cov(x, y, bias=True)
    L = 255.0
    c1, c2 = L**2, L**2  # k1 = k2 = 1
    ref = (2 * x.mean() * y.mean() + c1) * (2 * c[0, 1] + c2) / (
        (x.mean() ** 2 + y.mean() ** 2 + c1) * (c[0, 0] + c[1, 1] + c2)
    )
    assert M.ssim_simplified(gt, recon, mask=mask) == pytest.approx(ref, rel=1e-12)
    assert M.ssim_simplified(gt, gt, mask=mask) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------------ single video
def test_motion_energy_linear_ramp(mask):
    t = np.arange(20, dtype=np.float64)[:, None, None]
    video = np.broadcast_to(10.0 + 2.5 * t, (20, H, W)).copy()
    video[:, ~mask] = 10.0 + 7.0 * t[:, :, 0]  # a faster ramp outside the mask
    assert M.motion_energy(video, mask=mask) == pytest.approx(2.5)
    trace = M.motion_energy_trace(video, mask=mask, first_frame=5)
    assert trace.shape == (14,)
    np.testing.assert_allclose(trace, 2.5)
    assert M.motion_energy(video) == pytest.approx((2.5 * mask.sum() + 7.0 * (~mask).sum()) / mask.size)
    # decreasing ramp: absolute differences
    assert M.motion_energy(video[::-1], mask=mask) == pytest.approx(2.5)


def test_motion_energy_alternating():
    video = np.zeros((10, 4, 6))
    video[1::2] = 100.0
    assert M.motion_energy(video) == pytest.approx(100.0)
    assert M.motion_energy(np.full((5, H, W), 3.0)) == 0.0


def test_entropy_uniform_and_constant():
    centres = (np.arange(25) + 0.5) * 256 / 25
    frame = np.repeat(centres, 8).reshape(25, 8)  # 8 pixels in each of the 25 bins
    video = np.stack([frame, frame[::-1]])
    assert M.frame_entropy(video) == pytest.approx(math.log2(25), abs=1e-12)
    assert M.frame_entropy(np.full((4, H, W), 127.5)) == 0.0
    assert M.frame_entropy(np.full((4, H, W), 255.0)) == 0.0


def test_entropy_hand_value_and_mask():
    frame = np.zeros((4, 4))
    frame[:, :2] = 0.0
    frame[:, 2] = 100.0
    frame[:, 3] = 250.0  # p = 1/2, 1/4, 1/4 -> 1.5 bits
    video = np.stack([frame, np.full((4, 4), 60.0)])
    assert M.frame_entropy_trace(video).tolist() == pytest.approx([1.5, 0.0])
    assert M.frame_entropy(video) == pytest.approx(0.75)
    m = np.zeros((4, 4), bool)
    m[:, 2:] = True  # 100 and 250 equally -> 1 bit
    assert M.frame_entropy(video, mask=m) == pytest.approx(0.5)
    # bin edges: 10.23 and 10.25 fall into different bins (width 10.24)
    assert M.frame_entropy(np.array([[[10.23, 10.25]]])) == pytest.approx(1.0)
    assert M.frame_entropy(np.array([[[10.25, 20.47]]])) == pytest.approx(0.0)


# ------------------------------------------------------------------------------------------------ transforms
def test_match_contrast(mask):
    rng = np.random.default_rng(3)
    gt = rng.uniform(60, 200, (T, H, W))
    recon = 0.2 * gt + rng.uniform(-5, 5, (T, H, W)) + 90  # bounded: no clipping after matching
    out = M.match_contrast(gt, recon, mask=mask)
    assert out.dtype == np.float32 and out.shape == gt.shape
    assert (out[:, ~mask] == 127.5).all()
    inside = out[:, mask].astype(np.float64)
    assert inside.mean() == pytest.approx(gt[:, mask].mean(), rel=1e-5)
    assert inside.std() == pytest.approx(gt[:, mask].std(), rel=1e-5)
    assert M.video_correlation(gt, out, mask=mask) == pytest.approx(M.video_correlation(gt, recon, mask=mask), abs=1e-6)
    # clipping to 0..255
    clipped = M.match_contrast(gt * 0 + rng.uniform(0, 255, gt.shape), recon * 50, mask=mask)
    assert clipped.min() >= 0 and clipped.max() <= 255


def test_apply_eval_mask(pair, mask):
    gt, _ = pair
    out = M.apply_eval_mask(gt, mask)
    assert out.dtype == np.float32
    assert (out[:, ~mask] == 127.5).all()
    np.testing.assert_allclose(out[:, mask], gt[:, mask].astype(np.float32))
    assert (M.apply_eval_mask(gt, mask, fill=0.0)[:, ~mask] == 0).all()
    assert (M.apply_eval_mask(gt[0], mask)[~mask] == 127.5).all()


def test_ensembling_gain(pair, mask):
    gt, _ = pair
    rng = np.random.default_rng(5)
    recons = np.stack([gt + rng.normal(0, 80, gt.shape) for _ in range(4)])
    res = M.ensembling_gain(gt, recons, mask=mask, first_frame=30)
    singles = [M.video_correlation(gt, r, mask=mask, first_frame=30) for r in recons]
    np.testing.assert_allclose(res["model_r"], singles, atol=1e-12)
    ens = M.video_correlation(gt, recons.mean(0), mask=mask, first_frame=30)
    assert res["ensemble_r"] == pytest.approx(ens, abs=1e-12)
    assert res["gain"] == pytest.approx(ens - np.mean(singles), abs=1e-12)
    assert res["gain"] > 0.1  # averaging independent noise helps
    res2 = M.ensembling_gain(gt, recons, ensemble_recon=recons[0], mask=mask, first_frame=30)
    assert res2["ensemble_r"] == pytest.approx(singles[0], abs=1e-12)


def test_phase_inversion(pair, mask):
    gt, recon = pair
    res = M.phase_inversion(gt, recon, 255 - recon, mask=mask)
    assert res["r_inverted"] == pytest.approx(-1.0)
    assert res["r_gt"] == pytest.approx(M.video_correlation(gt, recon, mask=mask))


def test_evaluate_keys_and_values(mask):
    rng = np.random.default_rng(7)
    gt = rng.uniform(0, 255, (300, H, W)).astype(np.float32)
    recon = (0.5 * gt + rng.normal(0, 40, gt.shape)).astype(np.float32)
    res = M.quality_metrics(gt, recon, mask=mask)
    assert set(res) == {
        "video_correlation", "frame_correlation", "rmse", "psnr", "ssim", "ssim_simplified",
        "motion_energy", "motion_energy_gt",
    }
    assert res["video_correlation"] == pytest.approx(M.video_correlation(gt, recon, mask=mask))
    assert res["frame_correlation"] == pytest.approx(M.frame_correlation(gt, recon, mask=mask))
    assert res["rmse"] == pytest.approx(M.rmse(gt, recon, mask=mask))
    assert res["psnr"] == pytest.approx(M.psnr(gt, recon, mask=mask))
    assert res["ssim"] == pytest.approx(M.ssim(gt, recon, mask=mask))
    assert res["ssim_simplified"] == pytest.approx(M.ssim_simplified(gt, recon, mask=mask))
    assert res["motion_energy"] == pytest.approx(M.motion_energy(recon, mask=mask, first_frame=F))
    assert res["motion_energy_gt"] == pytest.approx(M.motion_energy(gt, mask=mask, first_frame=F))


# ------------------------------------------------------------------------------------------------ bad input
def test_errors_name_the_argument(pair, mask):
    gt, recon = pair
    with pytest.raises(DnemkitError, match=r"recon has shape \(60, 36, 63\); expected the shape of gt \(60, 36, 64\)"):
        M.video_correlation(gt, recon[:, :, :63])
    with pytest.raises(DnemkitError, match=r"gt has shape \(36, 64\); expected \(T, H, W\)"):
        M.frame_correlation(gt[0], recon[0])
    with pytest.raises(DnemkitError, match=r"mask has shape \(64, 36\); expected \(36, 64\)"):
        M.video_correlation(gt, recon, mask=mask.T)
    with pytest.raises(DnemkitError, match=r"mask selects no pixel"):
        M.rmse(gt, recon, mask=np.zeros((H, W), bool))
    with pytest.raises(DnemkitError, match=r"mask must be boolean \(or 0/1\).*threshold an alpha mask"):
        M.ssim(gt, recon, mask=np.full((H, W), 0.7))
    with pytest.raises(DnemkitError, match=r"first_frame is 60 but the video has 60 frames"):
        M.video_correlation(gt, recon, mask=mask, first_frame=60)
    with pytest.raises(DnemkitError, match=r"first_frame is -1; expected an integer >= 0 \(a frame index\)"):
        M.quality_metrics(gt, recon, mask=mask, first_frame=-1)
    with pytest.raises(DnemkitError, match=r"first_frame is 2.5; expected an integer >= 0 \(a frame index\)"):
        M.psnr(gt, recon, mask=mask, first_frame=2.5)
    bad = recon.copy()
    bad[3, 4, 5] = np.nan
    with pytest.raises(DnemkitError, match=r"recon contains non-finite values"):
        M.quality_metrics(gt, bad)
    with pytest.raises(DnemkitError, match=r"first_frame is 59 but the video has 60 frames; expected first_frame <= 58"):
        M.motion_energy(gt, first_frame=59)
    with pytest.raises(DnemkitError, match=r"recons has shape \(60, 36, 64\); expected \(M, T, H, W\)"):
        M.ensembling_gain(gt, recon)
    with pytest.raises(DnemkitError, match=r"recons has shape \(2, 59, 36, 64\); expected \(M, 60, 36, 64\)"):
        M.ensembling_gain(gt, np.stack([recon[1:]] * 2))
    with pytest.raises(DnemkitError, match=r"ensemble_recon has shape \(60, 36, 60\); expected the shape of gt"):
        M.ensembling_gain(gt, np.stack([recon] * 2), ensemble_recon=recon[..., :60])
    with pytest.raises(DnemkitError, match=r"video has shape \(5,\); expected \(\.\.\., H, W\)"):
        M.apply_eval_mask(np.zeros(5), None)
    with pytest.raises(DnemkitError, match=r"video must be a numeric array; got str"):
        M.frame_entropy("movie")
