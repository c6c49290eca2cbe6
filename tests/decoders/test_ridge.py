"""Tests of dnemkit.decoders: the closed-form ridge against numpy.linalg.lstsq, the lag and penalty choice against
a brute-force loop, the decoder on a problem with a known linear answer, its Dataset round trip and cache."""

import numpy as np
import pytest

from dnemkit.decoders.linear import DecoderConfig, LinearDecoder, fit_linear_decoder
from dnemkit.decoders.ridge import brute_force_cv, choose, cv_errors, fit_ridge, lag_features, ridge_lstsq
from dnemkit.errors import DnemkitError


def _problem(seed=0, trials=6, k=4, pixels=3):
    rng = np.random.default_rng(seed)
    zs = [rng.normal(size=(25 + 3 * j, k)) for j in range(trials)]
    ys = []
    for z in zs:
        later = np.vstack([z[2:], np.zeros((2, k))])  # the pixels follow the responses two frames later
        ys.append(z @ rng.normal(size=(k, pixels)) + 0.7 * later @ rng.normal(size=(k, pixels))
                  + rng.normal(size=(len(z), pixels)))
    return zs, ys


def test_lag_features_hold_later_frames_and_zeros_past_the_end():
    z = np.arange(12.0).reshape(6, 2)
    x = lag_features(z, 2)
    assert x.shape == (6, 6)
    np.testing.assert_array_equal(x[0], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(x[5], [10, 11, 0, 0, 0, 0])


def test_closed_form_ridge_equals_lstsq_in_float64():
    zs, ys = _problem()
    w, mx, my, lam = fit_ridge(zs, ys, 2, 0.3)
    x, y = np.concatenate([lag_features(z, 2) for z in zs]), np.concatenate(ys)
    ref, rmx, rmy = ridge_lstsq(x, y, lam)
    np.testing.assert_allclose(w, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mx, rmx, rtol=1e-12)
    np.testing.assert_allclose(my, rmy, rtol=1e-12)


def test_cv_of_all_penalties_at_once_equals_a_brute_force_loop():
    zs, ys = _problem(1)
    lags, penalties = (0, 1, 2, 3), (1e-3, 1e-2, 1e-1, 1.0, 10.0)
    fast = cv_errors(zs, ys, lags, penalties, 3)
    slow = brute_force_cv(zs, ys, lags, penalties, 3)
    np.testing.assert_allclose(fast, slow, rtol=1e-9)
    chosen = choose(fast, lags, penalties)
    a, c = np.unravel_index(np.argmin(slow), slow.shape)
    assert chosen == (lags[a], penalties[c])
    assert chosen[0] >= 2  # the pixels follow the responses two frames later: the choice must see it


def test_decoder_recovers_a_linear_movie_and_round_trips():
    rng = np.random.default_rng(0)
    n, t = 30, 60
    mix = rng.normal(size=(n, 36 * 64)) * 0.02
    videos, responses = [], []
    for _ in range(6):
        r = rng.poisson(2.0, size=(n, t)).astype(np.float32)
        videos.append(np.clip(127.5 + (r.T - 2.0) @ mix * 40, 0, 255).reshape(t, 36, 64).astype(np.float32))
        responses.append(r)
    config = DecoderConfig(components=50, lags=(0, 1, 2), folds=3)
    dec = fit_linear_decoder(videos, responses, "test clips", config)
    assert dec.lags == 0  # the movie depends on the same frame's responses only
    out = dec.decode(responses[0])
    assert out.shape == (t, 36, 64) and out.dtype == np.float32
    assert np.corrcoef(out.ravel(), videos[0].ravel())[0, 1] > 0.95
    again = LinearDecoder.from_dataset(dec.to_dataset())
    np.testing.assert_allclose(again.decode(responses[1]), dec.decode(responses[1]), atol=1e-4)
    assert dec.decode(np.stack(responses[:2])).shape == (2, t, 36, 64)
    with pytest.raises(DnemkitError, match="neurons"):
        dec.decode(responses[0][:5])


def test_too_few_clips_is_one_clear_error():
    with pytest.raises(DnemkitError, match="at least 4 training clips"):
        fit_linear_decoder([np.zeros((40, 36, 64))] * 3, [np.ones((5, 40))] * 3, "3 clips")
