"""Tests of the held-out, agreement and deviance stoppers and the decoder start as named parts of reconstruct()."""

import numpy as np
import pytest

from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import Recipe, reconstruct
from dnemkit.reconstruction.stoppers import (AgreementStopper, DevianceStopper, HeldoutStopper, StopAt, best_and_stop,
                                          make_stopper)


def test_chosen_iteration_on_a_loss_sequence_by_hand():
    its = [0, 5, 10, 15, 20, 25, 30, 35]
    losses = [10, 8, 7, 7.5, 7.2, 7.1, 7.3, 6.0]
    # best 7 at 10; 15, 20, 25 are within the patience of 20; 30 is 20 past it: stop there (6.0 is never seen)
    assert best_and_stop(its, losses, 20) == (10, 30)
    assert best_and_stop(its, losses, 30) == (35, None)
    stopper = HeldoutStopper(patience=20)
    for i, v in zip(its, losses):
        if stopper.observe(i, v, lambda i=i: i):  # the snapshot copies the "videos" of iteration i
            break
    assert i == 30 and stopper.best_iteration == 10 and stopper.best_videos == 10


def test_min_z_counts_only_decreases_beyond_the_standard_error():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.0, 200)
    noisy = base - 0.001 + rng.normal(0, 0.05, 200)  # mean lower by ~0.001, SE ~0.0035: not significant
    clear = base - 0.05 + rng.normal(0, 0.01, 200)   # lower by 0.05, SE ~0.0007
    for min_z, expected in ((0.0, 1), (2.0, 0)):
        stopper = HeldoutStopper(min_z=min_z)
        stopper.observe(0, base, lambda: "start")
        stopper.observe(1, base - 0.001 + (noisy - base + 0.001) * (min_z > 0), lambda: "next")
        assert stopper.best_iteration == expected
    stopper = HeldoutStopper(min_z=2.0)
    stopper.observe(0, base, lambda: 0)
    stopper.observe(1, noisy, lambda: 1)
    stopper.observe(2, clear, lambda: 2)
    assert stopper.best_iteration == 2 and stopper.best_videos == 2


def test_split_is_seeded_disjoint_and_within_the_subset():
    keep, held = HeldoutStopper(0.1, seed=3).split(200)
    assert len(held) == 20 and len(keep) == 180 and not set(keep) & set(held)
    again = HeldoutStopper(0.1, seed=3).split(200)
    np.testing.assert_array_equal(held, again[1])
    sub = np.arange(0, 200, 2)
    keep, held = HeldoutStopper(0.25).split(200, sub)
    assert set(keep) | set(held) == set(sub) and len(held) == 25


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_heldout_fraction_outside_0_1_is_refused(fraction):
    with pytest.raises(DnemkitError, match="heldout fraction"):
        Recipe.named("fast", stopper="heldout", heldout_fraction=fraction)
    with pytest.raises(DnemkitError, match="heldout fraction"):
        HeldoutStopper(fraction)


def _mouse_and_targets(t=64, seed=0):
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=40))
    rng = np.random.default_rng(seed)
    video = rng.uniform(0, 255, size=(1, t, 36, 64)).astype(np.float32)
    import torch

    with torch.no_grad():
        rates = mouse(torch.from_numpy(video)).numpy()
    return mouse, rng.poisson(rates).astype(np.float32)[0]


def test_heldout_neurons_leave_the_loss_and_the_best_iterate_is_returned():
    mouse, target = _mouse_and_targets()
    recipe = Recipe.named("fast", iterations=12, stopper="heldout", heldout_fraction=0.25, stopper_every=1,
                          stopper_patience=3)
    res = reconstruct(mouse, target, recipe=recipe, progress=False)
    keep, held = HeldoutStopper(0.25, seed=recipe.seed).split(40)
    changed = target.copy()
    changed[held] = changed[held][::-1] * 3 + 1  # other targets for the held-out neurons only
    res2 = reconstruct(mouse, changed, recipe=recipe, progress=False)
    # the loop's loss never sees them: same loss trace, same trajectory; only the watched loss differs
    np.testing.assert_array_equal(res.traces["loss"][:3], res2.traces["loss"][:3])
    assert not np.allclose(res.traces["heldout_loss"], res2.traces["heldout_loss"])
    watched = res.tracked_iterations["heldout_loss"]
    assert res.stopped_at == watched[int(np.argmin(res.traces["heldout_loss"]))]


class _Scripted(HeldoutStopper):
    """The held-out stopper, its watched loss replaced by a script: best at iteration 4, worse after."""

    def observe(self, i, value, snapshot):
        return super().observe(i, abs(i - 4) + 1.0, snapshot)


def test_the_loop_returns_the_videos_of_the_chosen_iteration_and_stops_after_the_patience():
    mouse, target = _mouse_and_targets()
    recipe = Recipe.named("fast", iterations=12)
    stopper = _Scripted(0.25, seed=recipe.seed, every=1, patience=3)
    res = reconstruct(mouse, target, recipe=recipe, stopper=stopper, progress=False)
    assert res.stopped_at == 4 and res.iterations_run == 7 and len(res.traces["loss"]) == 7
    keep, _ = HeldoutStopper(0.25, seed=recipe.seed).split(40)
    plain = reconstruct(mouse, target, recipe=recipe, neurons=keep, stopper=StopAt(4), progress=False)
    np.testing.assert_array_equal(res.videos, plain.videos)
    rerun = reconstruct(mouse, target, recipe=recipe, stopper=_Scripted(0.25, every=1, patience=3, rerun=True),
                        progress=False)
    every_neuron = reconstruct(mouse, target, recipe=recipe, stopper=StopAt(4), progress=False)
    assert rerun.stopped_at == 4
    np.testing.assert_array_equal(rerun.videos, every_neuron.videos)


class _First:
    name, every = "first", 0

    def __init__(self):
        self.seen = None

    def __call__(self, videos, ensemble, first):
        if self.seen is None:
            self.seen = videos.copy()
        return np.zeros((videos.shape[0] + 1, videos.shape[1]), np.float32)


def test_a_decoder_start_is_the_decoders_movie_at_iteration_0():
    mouse, target = _mouse_and_targets()
    movie = np.random.default_rng(5).uniform(0, 255, size=(1, 64, 36, 64)).astype(np.float32)
    tracker = _First()
    recipe = Recipe.named("fast", iterations=2, start="decoder")
    reconstruct(mouse, target, recipe=recipe, start=movie, trackers=[tracker], progress=False)
    np.testing.assert_array_equal(tracker.seen[0], movie)
    with pytest.raises(DnemkitError, match="starts from the decoder"):
        reconstruct(mouse, target, recipe=recipe, progress=False)


def test_defaults_stay_the_papers_and_keys_unchanged():
    r = Recipe()
    assert r.start == "grey" and r.stopper == "none"
    assert "start" not in r.to_dict() and "stopper" not in r.to_dict()
    assert Recipe.named("fast", stopper="heldout").to_dict()["stopper"] == "heldout"


# --- the agreement stopper: the video r of the result with the decoder's movie ---------------------------------


def test_agreement_rule_on_a_sequence_by_hand():
    its = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    values = [np.nan, 0.5, 0.7, 0.8, 0.79, 0.81, 0.80, 0.78, 0.77, 0.9]
    # the grey start (NaN) is never a best; best 0.81 at 25; 30 is within the lag of 5 after it (returned);
    # 35 is past the lag; 40 is 15 past the best: stop there (0.9 at 45 is never seen)
    for lag, returned in ((5, 30), (0, 25)):
        stopper = AgreementStopper(np.zeros((8, 36, 64)), every=5, patience=15, lag=lag)
        for i, v in zip(its, values):
            if stopper.observe(i, v, lambda i=i: i):
                break
        assert i == 40 and stopper.peak_iteration == 25
        assert stopper.best_iteration == returned and stopper.best_videos == returned
    # per-item values: their mean is the agreement
    stopper = AgreementStopper(np.zeros((2, 8, 36, 64)))
    stopper.observe(5, [0.2, 0.6], lambda: 5)
    stopper.observe(10, [0.5, 0.2], lambda: 10)
    assert stopper.values == [pytest.approx(0.4), pytest.approx(0.35)] and stopper.peak_iteration == 5


@pytest.mark.parametrize("blur", [0.0, 2.0])
def test_agreement_is_the_video_r_of_the_smoothed_blurred_result_with_the_blurred_movie(blur):
    from scipy.ndimage import gaussian_filter

    from dnemkit.analysis.metrics import video_correlation
    from dnemkit.video import smooth_video

    rng = np.random.default_rng(1)
    videos = rng.uniform(0, 255, size=(3, 2, 40, 36, 64)).astype(np.float32)  # 3 models, 2 items
    movie = rng.uniform(0, 255, size=(2, 40, 36, 64)).astype(np.float32)
    movie[1] = 0.5 * movie[1] + 0.5 * videos[:, 1].mean(0)  # item 1 agrees better
    mask = np.zeros((36, 64), bool)
    mask[5:30, 10:50] = True
    stopper = AgreementStopper(movie, mask, smoothing_sigma=0.5, blur=blur)
    result = smooth_video(videos.mean(0), 0.5)

    def spatial(v):
        return gaussian_filter(v, (0, blur, blur)) if blur else v

    expected = [video_correlation(spatial(movie[b]), spatial(result[b]), mask=mask, first_frame=7) for b in (0, 1)]
    np.testing.assert_allclose(stopper.measure(videos, 7), expected, rtol=1e-5)
    assert expected[1] > expected[0] + 0.1
    assert np.isnan(stopper.measure(np.full((1, 2, 40, 36, 64), 127.5, np.float32), 7)).all()  # the grey start


class _ScriptedAgreement(AgreementStopper):
    """The agreement stopper, its agreement replaced by a script: best at iteration 4, worse after."""

    def observe(self, i, value, snapshot):
        return super().observe(i, -abs(i - 4.0), snapshot)


def test_the_loop_returns_the_look_lag_after_the_best_agreement_as_a_fixed_run_to_it():
    mouse, target = _mouse_and_targets()
    recipe = Recipe.named("fast", iterations=12)
    movie = np.zeros((64, 36, 64), np.float32)
    res = reconstruct(mouse, target, recipe=recipe, progress=False,
                      stopper=_ScriptedAgreement(movie, every=1, patience=3, lag=1))
    # best at 4, 5 within the lag of 1 (returned), 7 is 3 past the best: the loop stops there
    assert res.stopped_at == 5 and res.iterations_run == 7 and len(res.traces["loss"]) == 7
    np.testing.assert_array_equal(res.tracked_iterations["decoder_agreement"], np.arange(8))
    fixed = reconstruct(mouse, target, recipe=recipe, stopper=StopAt(5), progress=False)
    np.testing.assert_array_equal(res.videos, fixed.videos)  # every neuron in the loss: the same trajectory
    np.testing.assert_array_equal(res.ensemble, fixed.ensemble)


def test_the_loop_watches_the_current_videos():
    mouse, target = _mouse_and_targets()
    movie = np.random.default_rng(3).uniform(0, 255, size=(64, 36, 64)).astype(np.float32)
    recipe = Recipe.named("fast", iterations=6, stopper="agreement", stopper_every=2, stopper_patience=4,
                          stopper_lag=0)
    stopper = make_stopper(recipe, decoded=movie)
    res = reconstruct(mouse, target, recipe=recipe, stopper=stopper, progress=False)
    watched = list(res.tracked_iterations["decoder_agreement"])
    assert watched[:2] == [0, 2] and watched[-1] == res.iterations_run
    assert np.isnan(res.traces["decoder_agreement"][0])  # the grey start
    chosen = watched.index(res.stopped_at)
    assert res.stopped_at == watched[int(np.nanargmax(res.traces["decoder_agreement"]))]
    again = AgreementStopper(movie, every=2, patience=4, lag=0).measure(res.videos, 30)
    assert float(again[0]) == pytest.approx(float(res.traces["decoder_agreement"][chosen]), rel=1e-5)


def _one_line(exc):
    assert "\n" not in str(exc.value)
    return str(exc.value)


@pytest.mark.parametrize("options, words", [
    (dict(stopper_blur=-1.0), "stopper blur"), (dict(stopper_blur="wide"), "stopper blur"),
    (dict(stopper_blur=float("nan")), "stopper blur"), (dict(stopper_lag=-1), "stopper_lag"),
    (dict(stopper_lag=20), "below the patience"), (dict(stopper_patience=0), "stopper_patience"),
    (dict(start="decoder"), "expected start 'grey'"), (dict(stopper="agree"), "stopper is 'agree'"),
])
def test_bad_agreement_options_are_one_line(options, words):
    with pytest.raises(DnemkitError) as exc:
        Recipe.named("fast", **{"stopper": "agreement", **options})
    assert words in _one_line(exc)


def test_bad_agreement_stopper_inputs_are_one_line():
    mouse, target = _mouse_and_targets()
    cases = [(lambda: AgreementStopper(np.zeros((8, 36, 60))), "decoder movie has shape"),
             (lambda: AgreementStopper(np.full((8, 36, 64), np.nan)), "finite"),
             (lambda: AgreementStopper(np.zeros((8, 36, 64)), mask=np.zeros((36, 64), bool)), "at least one pixel"),
             (lambda: AgreementStopper(np.zeros((8, 36, 64)), patience=5, lag=5), "below the patience"),
             (lambda: AgreementStopper(np.zeros((8, 36, 64)), blur=-2), "stopper blur"),
             (lambda: make_stopper(Recipe.named("fast", stopper="agreement")), "no decoder movie"),
             (lambda: reconstruct(mouse, target, recipe=Recipe.named("fast", iterations=2, stopper="agreement"),
                                  progress=False), "no decoder movie"),
             (lambda: reconstruct(mouse, target, recipe=Recipe.named("fast", iterations=2),
                                  stopper=AgreementStopper(np.zeros((32, 36, 64))), progress=False), "64")]
    for make, words in cases:
        with pytest.raises(DnemkitError) as exc:
            make()
        assert words in _one_line(exc)


def test_agreement_defaults_leave_other_keys_unchanged():
    assert "stopper_blur" not in Recipe.named("fast", stopper="heldout").to_dict()
    key = Recipe.named("fast", stopper="agreement", stopper_lag=0).to_dict()
    assert key["stopper"] == "agreement" and key["stopper_lag"] == 0


# --- the deviance stopper: the fit to the targets relative to the Poisson noise level ----------------------------


def test_deviance_rule_on_a_sequence_by_hand():
    its = [0, 5, 10, 15, 20, 25, 30, 35, 40]
    ratios = [3.0, 1.5, 1.2, 1.10, 1.06, 1.045, 1.04, 1.035, 1.05]
    # lowest so far after 35: 1.035; within 0.03 of it: 1.06 (20) onwards, so 20 is returned; at 35 the ratio
    # fell 1.06 - 1.035 = 0.025 < 0.03 over the 15 iterations since 20: levelled off, stop (40 is never seen)
    stopper = DevianceStopper(every=5, patience=15, plateau=0.03, excess=0.03)
    for i, q in zip(its, ratios):
        if stopper.observe(i, q, lambda i=i: i):
            break
    assert i == 35 and stopper.best_iteration == 20 and stopper.best_videos == 20
    # a tighter excess returns a later look, a looser plateau stops earlier
    stopper = DevianceStopper(every=5, patience=15, plateau=0.03, excess=0.012)
    for i, q in zip(its, ratios):
        if stopper.observe(i, q, lambda i=i: i):
            break
    assert i == 35 and stopper.best_iteration == 25
    stopper = DevianceStopper(every=5, patience=10, plateau=0.2, excess=0.03)
    for i, q in zip(its, ratios):
        if stopper.observe(i, q, lambda i=i: i):
            break
    # at 20 the ratio fell 1.2 - 1.06 < 0.2 over 10 iterations: stop; 15 is 0.04 above the lowest: 20 returned
    assert i == 20 and stopper.best_iteration == 20
    # a patience that the look interval does not divide compares with the latest look at least that far back
    stopper = DevianceStopper(every=5, patience=12, plateau=0.03, excess=0.03)
    for i, q in zip(its, ratios):
        if stopper.observe(i, q, lambda i=i: i):
            break
    # at 30 the latest look 12 or more back is 15 (1.10 - 1.04 = 0.06); at 35 it is 20 (1.06 - 1.035 < 0.03)
    assert i == 35
    # per-item values: their mean is the ratio; a ratio that rises never replaces the earlier look
    stopper = DevianceStopper(excess=0.05)
    stopper.observe(5, [1.2, 1.0], lambda: 5)
    stopper.observe(10, [1.5, 1.5], lambda: 10)
    assert stopper.values == [pytest.approx(1.1), pytest.approx(1.5)] and stopper.best_iteration == 5


def test_deviance_ratio_is_the_deviance_over_its_expectation_by_direct_sums():
    from scipy.special import gammaln, xlogy

    rng = np.random.default_rng(2)
    rates = [rng.gamma(0.7, 1.5, size=(2, 6, 9)) + 1e-3 for _ in range(3)]  # 3 models, 2 items
    target = rng.poisson(rates[0]).astype(np.float64)

    def expected(lam):  # 2 E[y log(y/lam) - y + lam] by a sum over y, independently of the table
        y = np.arange(200)
        p = np.exp(xlogy(y, lam) - lam - gammaln(y + 1))
        return 2 * np.sum(p * (xlogy(y, y / lam) - y + lam))

    want = []
    for lam in rates:
        dev = 2 * (xlogy(target, target / lam) - target + lam)
        exp_ = np.vectorize(expected)(lam)
        want.append(dev.sum(axis=(1, 2)) / exp_.sum(axis=(1, 2)))
    got = DevianceStopper.fit_value([r.astype(np.float32) for r in rates], target.astype(np.float32))
    np.testing.assert_allclose(got, np.mean(want, axis=0), rtol=1e-5)


class _ScriptedDeviance(DevianceStopper):
    """The deviance stopper, its ratio replaced by a script: 2, 1.5, 1.25, ... halving towards 1."""

    def observe(self, i, value, snapshot):
        return super().observe(i, 1.0 + 2.0 ** -i, snapshot)


def test_the_loop_returns_the_first_look_within_the_excess_as_a_fixed_run_to_it():
    mouse, target = _mouse_and_targets()
    recipe = Recipe.named("fast", iterations=12)
    # 40 neurons in the loss: the allowed excess is excess x sqrt(2000 / 40); this one makes it 0.1
    stopper = _ScriptedDeviance(every=1, patience=2, plateau=0.05, excess=0.1 / np.sqrt(50))
    res = reconstruct(mouse, target, recipe=recipe, progress=False, stopper=stopper)
    assert stopper.neurons == 40 and stopper.allowed_excess == pytest.approx(0.1)
    # 1 + 2^-i: within 0.1 of the lowest from i = 4 (0.0625 above 1 + 2^-6); the fall over 2 iterations is below
    # 0.05 from i = 6 (2^-3 - 2^-5 = 0.094 at 5, 2^-4 - 2^-6 = 0.047 at 6): stop at 6, return 4
    assert res.iterations_run == 6 and res.stopped_at == 4
    np.testing.assert_array_equal(res.tracked_iterations["deviance_ratio"], np.arange(7))
    fixed = reconstruct(mouse, target, recipe=recipe, stopper=StopAt(4), progress=False)
    np.testing.assert_array_equal(res.videos, fixed.videos)  # every neuron in the loss: the same trajectory


def test_the_loop_watches_the_fit_of_the_current_videos():
    import torch

    from dnemkit.losses import expected_poisson_deviance, poisson_deviance
    from dnemkit.reconstruction.passes import tiled_rates

    mouse, target = _mouse_and_targets()
    neurons = np.arange(0, 40, 2)
    recipe = Recipe.named("fast", iterations=30, stopper="deviance", stopper_every=2, stopper_patience=4)
    res = reconstruct(mouse, target, recipe=recipe, neurons=neurons, progress=False)
    watched = list(res.tracked_iterations["deviance_ratio"])
    assert watched[:2] == [0, 2] and watched[-1] == res.iterations_run
    q = res.traces["deviance_ratio"]
    assert q[0] > q[-1]  # the fit improves from the grey start
    chosen = watched.index(res.stopped_at)
    allowed = recipe.stopper_excess * np.sqrt(2000 / len(neurons))  # 20 neurons in the loss
    assert q[chosen] - q.min() <= allowed and (chosen == 0 or q[chosen - 1] - q.min() > allowed)
    # the ratio of the returned videos, computed again here: the neurons in the loss, frames 30 on
    with torch.no_grad():
        lam = tiled_rates(mouse, torch.from_numpy(res.videos[0]), None).numpy()[0][neurons, 30:]
    y = target[neurons, 30:]
    again = poisson_deviance(lam, y).sum() / expected_poisson_deviance(lam).sum()
    assert float(again) == pytest.approx(float(q[chosen]), rel=1e-5)


@pytest.mark.parametrize("options, words", [
    (dict(stopper_plateau=0.0), "stopper_plateau"), (dict(stopper_excess=-0.1), "stopper_excess"),
    (dict(stopper_excess=float("nan")), "stopper_excess"), (dict(stopper_plateau="flat"), "stopper_plateau"),
])
def test_bad_deviance_options_are_one_line(options, words):
    with pytest.raises(DnemkitError) as exc:
        Recipe.named("fast", **{"stopper": "deviance", **options})
    assert words in _one_line(exc)


def test_the_allowed_excess_grows_as_the_neurons_in_the_loss_shrink():
    stopper = DevianceStopper(excess=0.045)
    assert stopper.allowed_excess == 0.045  # before the loop says how many neurons
    for neurons, allowed in ((2000, 0.045), (500, 0.09), (8000, 0.0225)):
        stopper.neurons = neurons
        assert stopper.allowed_excess == pytest.approx(allowed)


def test_a_ratio_that_is_not_finite_is_one_line():
    stopper = DevianceStopper()
    with pytest.raises(DnemkitError) as exc:
        stopper.observe(5, float("nan"), lambda: None)
    assert "not finite" in _one_line(exc)


def test_deviance_defaults_leave_other_keys_unchanged():
    assert "stopper_excess" not in Recipe.named("fast", stopper="agreement").to_dict()
    key = Recipe.named("fast", stopper="deviance", stopper_excess=0.03).to_dict()
    assert key["stopper"] == "deviance" and key["stopper_excess"] == 0.03 and "stopper_plateau" not in key


def test_a_decoder_given_to_reconstruct_is_the_start_and_what_the_agreement_stopper_watches(small_decoder):
    mouse, target = _mouse_and_targets()
    decoder = small_decoder
    movie = decoder.decode(target)[None]
    recipe = Recipe.named("fast", iterations=3, start="decoder")
    via_decoder = reconstruct(mouse, target, recipe=recipe, decoder=decoder, progress=False)
    given = reconstruct(mouse, target, recipe=recipe, start=movie, progress=False)
    np.testing.assert_array_equal(via_decoder.videos, given.videos)
    mask = np.zeros((36, 64), bool)
    mask[8:28, 16:48] = True
    recipe = Recipe.named("fast", iterations=12, stopper="agreement", stopper_every=2, stopper_patience=4,
                          stopper_lag=0)
    via_decoder = reconstruct(mouse, target, recipe=recipe, decoder=decoder, eval_mask=mask, progress=False)
    given = reconstruct(mouse, target, recipe=recipe, stopper=make_stopper(recipe, decoded=movie, mask=mask),
                        progress=False)
    np.testing.assert_array_equal(via_decoder.traces["decoder_agreement"], given.traces["decoder_agreement"])
    assert via_decoder.stopped_at == given.stopped_at
