"""Tests of dnemkit.reconstruction.loop and .passes: input gradients against the sequential recipe, neuron subsets,
recovery of a movie, gradient ensembling, input checks."""

import numpy as np
import pytest
import torch

from dnemkit.encoders import DwiseNeuroEncoder, Ensemble, SyntheticMouse, SyntheticMouseConfig, model_names
from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import PaperAdam, Recipe, input_gradient, reconstruct
from dnemkit.analysis.tracking import VideoCorrelationTracker


def sequential_gradient(model, mouse, video, behavior, target, size=32, stride=8, eps=1e-8):
    """docs/method.md, "Recipe" written out: each sub-batch, its two windows as batch-1 passes, float64 accumulation."""
    t = video.shape[0]
    starts = list(range(0, t - size + 1, stride))
    if starts[-1] + size < t:
        starts.append(t - size)
    total = torch.zeros(t, 36, 64, dtype=torch.float64)
    count = torch.zeros(t, dtype=torch.float64)
    for s in starts:
        x = torch.zeros(5, size, 64, 64)
        x[0, :, 14:50] = video[s:s + size]
        x[1:] = behavior[:, s:s + size, None, None]
        x.requires_grad_(True)
        rates = [None] * size
        for end in (30, 31):
            frames = list(range(end - 30, end + 1, 2))
            pred = model(x[:, frames].unsqueeze(0), mouse)[0]
            for k, f in enumerate(frames):
                rates[f] = pred[:, k]
        rates = torch.stack(rates, dim=1)
        tgt = target[:, s:s + size]
        loss = (rates - tgt * torch.log(rates + eps)).mean()
        loss.backward()
        g = x.grad / (x.grad.norm() + 1e-6)
        total[s:s + size] += g[0, :, 14:50].double()
        count[s:s + size] += 1
    return total / count[:, None, None]


@pytest.mark.parametrize("per_pass", [1, 3, None])
def test_batched_gradient_equals_sequential_schedule(per_pass, perturbed_dwiseneuro):
    model = perturbed_dwiseneuro(5)
    enc = DwiseNeuroEncoder(model, mouse=0)
    gen = torch.Generator().manual_seed(1)
    t = 53
    video = torch.rand(2, t, 36, 64, generator=gen) * 255
    behavior = torch.randn(2, 4, t, generator=gen)
    target = torch.poisson(torch.rand(2, model.readout_outputs[0], t, generator=gen) * 2)
    cfg = Recipe()
    grad, loss, rates = input_gradient(enc, video, behavior, target, cfg, per_pass=per_pass)
    for b in range(2):
        ref = sequential_gradient(model, 0, video[b], behavior[b], target[b])
        rel = (grad[b].double() - ref).norm() / ref.norm()
        assert rel < 1e-5


def test_neurons_outside_the_subset_leave_the_loss(perturbed_dwiseneuro):
    model = perturbed_dwiseneuro(6)
    enc = DwiseNeuroEncoder(model, mouse=1)
    video = torch.rand(1, 40, 36, 64) * 255
    target = torch.rand(1, 20, 40) * 3
    changed = target.clone()
    changed[:, 10:] = 0.0  # the reference's defect would silence them; here they must not matter
    keep = torch.arange(10)
    cfg = Recipe()
    g1 = input_gradient(enc, video, torch.zeros(1, 4, 40), target, cfg, keep)[0]
    g2 = input_gradient(enc, video, torch.zeros(1, 4, 40), changed, cfg, keep)[0]
    g_all = input_gradient(enc, video, torch.zeros(1, 4, 40), changed, cfg)[0]
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    assert (g1 - g_all).abs().max() > 1e-4


def small_synthetic(seed=0, n=300):
    return SyntheticMouse(seed, SyntheticMouseConfig(n_neurons=n))


def test_reconstruction_recovers_a_movie_from_predicted_activity():
    mouse = small_synthetic()
    # a smooth movie the population can see: low-pass noise
    from scipy.ndimage import gaussian_filter
    gt = gaussian_filter(np.random.default_rng(0).normal(size=(64, 36, 64)), (2, 3, 3))
    gt = np.clip(127.5 + 50 * gt / gt.std(), 0, 255).astype(np.float32)
    with torch.no_grad():
        target = mouse(torch.tensor(gt)[None])[0]
    mask = np.zeros((36, 64), bool)
    mask[6:30, 14:50] = True
    res = reconstruct(mouse, target, recipe=Recipe(iterations=40), train_mask=mask,
                      trackers=[VideoCorrelationTracker(gt, eval_mask=mask, every=10)], progress=False)
    vc = res.traces["video_correlation"]
    assert list(res.tracked_iterations["video_correlation"]) == [0, 10, 20, 30, 40]
    assert vc[0, -1, 0] != vc[0, -1, 0] or abs(vc[0, -1, 0]) < 0.1  # grey start: NaN or ~0
    assert vc[-1, -1, 0] > 0.5
    assert res.traces["loss"][-1, 0, 0] < res.traces["loss"][0, 0, 0]
    # outside the training mask the video never leaves grey
    assert np.all(res.videos[0, 0][:, ~mask] == 127.5)


def test_gradient_ensembling_averages_member_gradients():
    a, b = small_synthetic(1, 50), small_synthetic(1, 50)
    b.gain.mul_(2.0)
    ens = Ensemble([a, b])
    target = torch.rand(1, 50, 40)
    cfg = Recipe(iterations=1, ensembling="gradient", smoothing_sigma=0)
    res = reconstruct(ens, target, None, cfg, progress=False)
    ga = input_gradient(a, torch.full((1, 40, 36, 64), 127.5), a.default_behavior().view(1, 4, 1).expand(1, 4, 40),
                        target, cfg)[0]
    gb = input_gradient(b, torch.full((1, 40, 36, 64), 127.5), b.default_behavior().view(1, 4, 1).expand(1, 4, 40),
                        target, cfg)[0]
    opt = PaperAdam()
    expected = torch.full((1, 40, 36, 64), 127.5)
    opt.step(expected, ((ga + gb) / 2).clamp(-1, 1), 1)
    np.testing.assert_allclose(res.ensemble[0], expected[0].numpy(), rtol=1e-5, atol=1e-4)
    assert res.videos.shape[0] == 1 and res.model_names == ["gradient ensemble"]


def test_model_names_label_one_video_each():
    a, b = small_synthetic(1, 50), small_synthetic(2, 50)
    b.description = ""
    res = reconstruct(Ensemble([a, b]), torch.rand(1, 50, 40), None, Recipe(iterations=1), progress=False)
    assert res.videos.shape[0] == 2 and res.model_names == [a.description, "model 1"]
    assert model_names(Ensemble([a, b]), "gradient") == ["gradient ensemble"]
    assert model_names(a) == [a.description]


@pytest.mark.parametrize("kwargs, message", [
    (dict(responses=np.zeros((7, 40))), "responses have 7 neurons; the encoder predicts 30"),
    (dict(responses=np.full((30, 40), np.nan)), "NaN"),
    (dict(responses=np.zeros((30, 40)), trackers=[VideoCorrelationTracker(np.zeros((50, 36, 64)))]), "40 frames"),
    (dict(responses=np.zeros((30, 40)), train_mask=np.ones((36, 36), bool)), r"mask has shape \(36, 36\)"),
])
def test_bad_inputs_give_one_clear_error(kwargs, message):
    with pytest.raises(DnemkitError, match=message):
        reconstruct(small_synthetic(0, 30), recipe=Recipe(iterations=1), progress=False, **kwargs)


def test_the_objectives_share_one_poisson_nll():
    """The reconstruction's loss per sub-batch is the mean of dnemkit.losses.poisson_nll (the training's formula)."""
    from dnemkit.losses import poisson_nll
    from dnemkit.reconstruction.objectives import OBJECTIVES, make_objective, negative_activation, poisson_loss

    gen = torch.Generator().manual_seed(0)
    rates, target = torch.rand(2, 3, 4, 5, generator=gen) + 0.1, torch.rand(3, 4, 5, generator=gen) * 2
    recipe = Recipe()
    expected = (rates - target * torch.log(rates + recipe.loss_eps)).mean(dim=(2, 3))
    torch.testing.assert_close(poisson_loss(rates, target, recipe), expected, rtol=0, atol=0)
    torch.testing.assert_close(poisson_nll(rates, target, recipe.loss_eps).mean(dim=(2, 3)), expected, rtol=0, atol=0)
    assert make_objective(None) is poisson_loss is OBJECTIVES["poisson"]
    assert make_objective("activation") is negative_activation
    with pytest.raises(DnemkitError, match="objective is 'fancy'"):
        make_objective("fancy")
