"""Execution options change how a reconstruction runs, never what it computes (docs/method.md, "Execution")."""

import copy

import numpy as np
import pytest
import torch

from dnemkit.encoders.base import Ensemble
from dnemkit.encoders.dwiseneuro.network import fold_batchnorm, random_dwiseneuro
from dnemkit.encoders.dwiseneuro.encoder import DwiseNeuroEncoder
from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import Execution, Recipe, reconstruct
from dnemkit.reconstruction.execution import check_bf16, prepare_members

#: every structural feature of the full DwiseNeuro (stride, channel tiling, SE, cortex groups) at a tiny size
TINY = dict(readout_outputs=(30, 20), in_channels=5, core_features=(8, 8, 16, 16), spatial_strides=(2, 1, 2, 1),
            spatial_kernel=3, temporal_kernel=5, expansion_ratio=2, se_reduce_ratio=4, cortex_features=(32, 64),
            groups=2, softplus_beta=0.07, drop_rate=0.4, drop_path_rate=0.1)


def _video(t=34, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, t, 36, 64, generator=g) * 255


def test_folded_batchnorm_predicts_the_same_rates_in_float64():
    model = random_dwiseneuro(TINY, seed=3).double()
    x = torch.randn(3, 5, 16, 64, 64, dtype=torch.float64) * 50
    want = model(x, 1)
    folded = fold_batchnorm(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    got = folded(x, 1)
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_folded_encoder_matches_in_float32_and_leaves_the_original_alone():
    encoder = DwiseNeuroEncoder(random_dwiseneuro(TINY, seed=1), 0)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    folded = encoder.with_batchnorm_folded()
    video = _video()
    x = encoder.stack_inputs(video).requires_grad_(True)
    want = encoder.forward_stacked(x)
    (g_want,) = torch.autograd.grad(want.sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    got = folded.forward_stacked(x2)
    (g_got,) = torch.autograd.grad(got.sum(), x2)
    assert float((got - want).detach().norm() / want.detach().norm()) <= 1e-5
    assert float((g_got - g_want).norm() / g_want.norm()) <= 1e-5
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())


def test_fold_batchnorm_refuses_a_model_in_training_mode():
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(random_dwiseneuro(TINY).train())


def test_reconstruction_with_folded_batchnorm_equals_the_plain_path():
    members = [DwiseNeuroEncoder(random_dwiseneuro(TINY, seed=s), 0) for s in (0, 1)]
    encoder = Ensemble(members)
    torch.manual_seed(0)
    target = torch.rand(2, 30, 34) * 2
    recipe = Recipe(iterations=3)
    plain = reconstruct(encoder, target, recipe=recipe, progress=False)
    folded = reconstruct(encoder, target, recipe=recipe, execution=Execution(fold_batchnorm=True), progress=False)
    change_plain = plain.videos - recipe.start_value
    diff = np.linalg.norm(folded.videos - plain.videos) / np.linalg.norm(change_plain)
    assert diff <= 1e-4  # three paper steps of lr 1000 amplify round-off of the gradient direction
    assert np.allclose(folded.traces["loss"], plain.traces["loss"], rtol=1e-5)
    assert (plain.execution.fold_batchnorm, folded.execution.fold_batchnorm) == (False, True)


def test_the_fast_recipe_folds_by_default_and_equals_its_plain_path():
    encoder = DwiseNeuroEncoder(random_dwiseneuro(TINY, seed=2), 0)
    torch.manual_seed(1)
    target = torch.rand(1, 30, 34) * 2
    recipe = Recipe.named("fast", iterations=3)
    default = reconstruct(encoder, target, recipe=recipe, progress=False)
    plain = reconstruct(encoder, target, recipe=recipe, execution=Execution(fold_batchnorm=False), progress=False)
    assert (default.execution.fold_batchnorm, plain.execution.fold_batchnorm) == (True, False)
    change = np.linalg.norm(plain.videos - recipe.start_value)
    assert np.linalg.norm(default.videos - plain.videos) / change <= 1e-4
    assert Execution().for_recipe(Recipe()).fold_batchnorm is False  # the paper's recipe: the plain path


def test_prepare_members_folds_only_what_offers_it():
    class Plain(torch.nn.Module):
        pass

    plain, dwise = Plain(), DwiseNeuroEncoder(random_dwiseneuro(TINY), 0)
    out = prepare_members([plain, dwise], Execution(fold_batchnorm=True))
    assert out[0] is plain and out[1] is not dwise and getattr(out[1].model, "batchnorm_folded", False)
    assert prepare_members([plain, dwise], Execution())[1] is dwise


def test_the_folded_copy_runs_channels_last_on_a_cpu_only():
    dwise = DwiseNeuroEncoder(random_dwiseneuro(TINY), 0)
    weights = lambda m: [p for p in m.parameters() if p.dim() == 5]  # noqa: E731 - the 3-D convolutions
    on_cpu = prepare_members([dwise], Execution(fold_batchnorm=True), torch.device("cpu"))[0]
    elsewhere = prepare_members([dwise], Execution(fold_batchnorm=True), torch.device("cuda"))[0]  # not moved
    # 1x1x1 and depthwise kernels are contiguous in both layouts; their strides say which one torch will pick
    ndhwc = lambda w: w.stride() == w.clone(memory_format=torch.channels_last_3d).stride()  # noqa: E731
    ncdhw = lambda w: w.stride() == w.clone(memory_format=torch.contiguous_format).stride()  # noqa: E731
    assert all(ndhwc(w) for w in weights(on_cpu)) and not all(ncdhw(w) for w in weights(on_cpu))
    assert all(ncdhw(w) for w in weights(elsewhere)) and all(ncdhw(w) for w in weights(dwise))
    video = torch.rand(1, 34, 36, 64) * 255
    np.testing.assert_allclose(on_cpu(video).detach().numpy(), dwise(video).detach().numpy(), rtol=1e-4, atol=1e-6)


def test_bf16_self_check_passes_a_correct_forward_and_refuses_a_wrong_one():
    encoder = DwiseNeuroEncoder(random_dwiseneuro(TINY, seed=2), 0)
    video, behavior = _video(), torch.zeros(2, 4, 34)
    target = torch.rand(2, 30, 34) * 2
    check_bf16(encoder, video, behavior, target, Recipe(), torch.device("cpu"))  # no error

    class WrongInBf16(DwiseNeuroEncoder):
        """Stands in for a broken bf16 kernel: under autocast its rates are 30 % too high."""

        def forward_stacked(self, x, behavior=None):
            rates = super().forward_stacked(x, behavior)
            return rates * 1.3 if torch.is_autocast_enabled("cpu") else rates

    wrong = WrongInBf16(encoder.model, 0)
    with pytest.raises(DnemkitError, match="bf16 disagrees with fp32"):
        check_bf16(wrong, video, behavior, target, Recipe(), torch.device("cpu"))


@pytest.mark.parametrize("bad, message", [
    (dict(precision="fp16"), "precision"), (dict(compile_mode="fast"), "compile_mode"),
    (dict(fold_batchnorm=1), "fold_batchnorm"), (dict(subbatches_per_pass=0), "subbatches_per_pass"),
    (dict(device=""), "device")])
def test_bad_execution_options_are_one_line(bad, message):
    with pytest.raises(DnemkitError, match=message):
        Execution(**bad)
