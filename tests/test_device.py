"""The GPU path, tested on a CPU: device names, members in one pass, bf16, compile, out-of-memory retries."""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dnemkit.device import resolve_device
from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.encoders.base import Encoder, Ensemble
from dnemkit.encoders.dwiseneuro.encoder import DwiseNeuroEncoder
from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import Execution, Recipe, input_gradient, reconstruct
from dnemkit.reconstruction.execution import EncoderPass, stackable
from dnemkit.reconstruction.passes import members_input_gradient
from dnemkit.stimuli.geometry import HEIGHT, WIDTH


class TinyEncoder(Encoder):
    """A linear-nonlinear encoder (one projection per frame); raises a simulated OOM above ``limit`` samples."""

    def __init__(self, n=12, seed=0, limit=None):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(n, HEIGHT * WIDTH, generator=g) / 40, requires_grad=False)
        self.n_neurons, self.limit = n, limit
        self.calls = []

    def forward(self, video, behavior=None):
        self.calls.append(video.shape[0])
        if self.limit is not None and video.shape[0] > self.limit:
            raise torch.OutOfMemoryError(f"CUDA out of memory (simulated: {video.shape[0]} > {self.limit})")
        b, t = video.shape[:2]
        x = (video.reshape(b, t, -1) - 127.5) / 127.5
        return F.softplus(x @ self.weight.T).transpose(1, 2) + 0.05


def _rel(a, b):
    return float((a - b).norm() / b.norm())


# ------------------------------------------------------------------------------------------------ device names
def test_resolve_device_names(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DnemkitError, match=r"^device is 'banana'; expected auto, cpu, cuda or cuda:K$"):
        resolve_device("banana")
    with pytest.raises(DnemkitError, match=r"expected auto, cpu, cuda or cuda:K"):
        resolve_device("cuda:x")
    message = ("device is 'cuda' but this machine has no CUDA GPU (torch.cuda.is_available() is False); "
               "expected --device cpu or auto")
    with pytest.raises(DnemkitError) as info:
        resolve_device("cuda")
    assert str(info.value) == message
    with pytest.raises(DnemkitError, match="no CUDA GPU"):
        resolve_device("cuda:0")


def test_resolve_device_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("auto").type == "cuda"
    with pytest.raises(DnemkitError, match=r"device is 'cuda:2' but this machine has 2 CUDA GPUs \(cuda:0..cuda:1\)"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("command", [("gratings", "--quick"), ("noise", "--quick"),
                                     ("train", "--data", ".", "--out", "train-out")])
def test_cli_checks_device_up_front(command, monkeypatch, tmp_path, run_cli, assert_one_line_error):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run_cli(*command, "--device", "banana"), "device is 'banana'",
                          "expected auto, cpu, cuda or cuda:K")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert_one_line_error(run_cli(*command, "--device", "cuda"), "no CUDA GPU", "expected --device cpu or auto")
    assert not (tmp_path / "characterize-out").exists()


def test_config_checks_precision_and_compile():
    with pytest.raises(DnemkitError, match="precision is 'fp16'; expected 'fp32' or 'bf16'"):
        Execution(precision="fp16")
    with pytest.raises(DnemkitError, match="compile is 'yes'"):
        Execution(compile="yes")
    with pytest.raises(DnemkitError, match="members_in_one_pass"):
        Execution(members_in_one_pass="always")
    d = Execution(precision="bf16", compile=True).to_dict()
    assert (d["precision"], d["compile"], d["members_in_one_pass"]) == ("bf16", True, None)
    # execution options are not recipe options
    with pytest.raises(DnemkitError, match="unknown recipe option"):
        Recipe.named("fast", precision="bf16")


def test_cli_precision_and_compile_reach_the_config(monkeypatch, tmp_path, run_cli, assert_one_line_error):
    import dnemkit.experiments.sweeps as sweeps

    seen = {}

    def fake_run(config, **kwargs):
        seen["config"] = config.execution
        raise DnemkitError("stop here")

    monkeypatch.setattr(sweeps, "run", fake_run)
    result = run_cli("gratings", "--quick", "--precision", "bf16", "--compile", "--out", tmp_path / "o")
    assert_one_line_error(result, "stop here")
    assert seen["config"].precision == "bf16" and seen["config"].compile is True
    assert_one_line_error(run_cli("natural", "--precision", "fp16", "--out", tmp_path / "n"), "--precision")


# ------------------------------------------------------------------------------------ members in one pass
def _gradients_match(models, t=40, b=2):
    torch.manual_seed(1)
    n = models[0].n_neurons
    videos = torch.rand(len(models), b, t, HEIGHT, WIDTH) * 255
    behavior = models[0].default_behavior().view(1, 4, 1).expand(b, 4, t) + torch.randn(b, 4, t) * 0.1
    target = torch.poisson(torch.rand(b, n, t) * 2)
    config = Recipe()
    grad, loss, rates = members_input_gradient(EncoderPass(models), videos, behavior, target, config, per_pass=3)
    for m, model in enumerate(models):
        g, l, r = input_gradient(model, videos[m], behavior, target, config, per_pass=3)
        assert _rel(grad[m], g) <= 1e-5
        assert _rel(loss[m], l) <= 1e-5
        assert _rel(rates[m], r) <= 1e-5
    # one video shared by every member (gradient ensembling)
    grad, _, _ = members_input_gradient(EncoderPass(models), videos[:1], behavior, target, config)
    for m, model in enumerate(models):
        assert _rel(grad[m], input_gradient(model, videos[0], behavior, target, config)[0]) <= 1e-5


def test_members_in_one_pass_dwiseneuro_gradients(perturbed_dwiseneuro):
    models = [DwiseNeuroEncoder(perturbed_dwiseneuro(seed), mouse=1) for seed in range(2)]
    assert stackable(models)
    assert not stackable([models[0], DwiseNeuroEncoder(perturbed_dwiseneuro(5), mouse=0)])  # other readout
    _gradients_match(models, b=1)


def _synthetic_members(k=3, n=40):
    mice = [SyntheticMouse(0, SyntheticMouseConfig(n_neurons=n)) for _ in range(k)]
    for j, mouse in enumerate(mice[1:], 1):  # same structure, different numbers
        mouse.gain.mul_(1 + 0.4 * j)
        mouse.baseline.add_(0.05 * j)
        mouse.filters.mul_(1 + 0.1 * j)
    return mice


def test_members_in_one_pass_synthetic_mouse_gradients():
    mice = _synthetic_members()
    assert stackable(mice)
    _gradients_match(mice)


@pytest.mark.parametrize("ensembling", ["reconstruction", "gradient"])
def test_reconstruct_members_in_one_pass_equals_loop(ensembling):
    mice = _synthetic_members(2)
    encoder = Ensemble(mice)
    torch.manual_seed(0)
    responses = torch.poisson(mice[0](torch.rand(1, 48, HEIGHT, WIDTH) * 255))[0]
    results = [reconstruct(encoder, responses, recipe=Recipe(iterations=3, ensembling=ensembling),
                           execution=Execution(device="cpu", members_in_one_pass=flag), progress=False)
               for flag in (False, True)]
    np.testing.assert_allclose(results[1].videos, results[0].videos, atol=1e-2)
    np.testing.assert_allclose(results[1].traces["loss"], results[0].traces["loss"], rtol=1e-5)
    np.testing.assert_allclose(results[1].traces["response_correlation"],
                               results[0].traces["response_correlation"], atol=1e-5)


def test_members_in_one_pass_falls_back_for_different_structures(capsys):
    mice = [SyntheticMouse(0, SyntheticMouseConfig(n_neurons=20)), SyntheticMouse(3, SyntheticMouseConfig(n_neurons=20))]
    assert not stackable(mice)  # different numbers of complex cells
    responses = torch.rand(20, 40)
    reconstruct(Ensemble(mice), responses, recipe=Recipe(iterations=1),
                execution=Execution(device="cpu", members_in_one_pass=True), progress=False)
    lines = [x for x in capsys.readouterr().err.splitlines() if "members_in_one_pass" in x]
    assert len(lines) == 1 and "one after another" in lines[0]


# ------------------------------------------------------------------------------------------- bf16, compile
def test_bf16_correlates_with_fp32():
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=200))
    torch.manual_seed(0)
    responses = torch.poisson(mouse(torch.rand(1, 64, HEIGHT, WIDTH) * 255))[0]
    out = {p: reconstruct(mouse, responses, recipe=Recipe.named("fast", iterations=5),
                          execution=Execution(device="cpu", precision=p), progress=False).ensemble_raw
           for p in ("fp32", "bf16")}
    r = np.corrcoef(out["fp32"].ravel(), out["bf16"].ravel())[0, 1]
    assert r >= 0.99


def test_bf16_dwiseneuro_gradient_close(perturbed_dwiseneuro):
    model = DwiseNeuroEncoder(perturbed_dwiseneuro(0))
    t = 40
    torch.manual_seed(0)
    video, behavior = torch.rand(1, t, HEIGHT, WIDTH) * 255, torch.randn(1, 4, t)
    target = torch.poisson(torch.rand(1, model.n_neurons, t) * 2)
    g32 = input_gradient(model, video, behavior, target, Recipe())[0]
    g16 = input_gradient(model, video, behavior, target, Recipe(), precision="bf16")[0]
    assert g16.dtype == torch.float32
    assert np.corrcoef(g32.ravel().numpy(), g16.ravel().numpy())[0, 1] > 0.95


def test_compile_failure_falls_back_with_one_line(monkeypatch, capsys):
    def broken_compile(fn, *args, **kwargs):
        def run(*a, **k):
            raise RuntimeError("backend exploded\nsecond line")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    encoder = TinyEncoder()
    responses = torch.rand(12, 40)
    eager = reconstruct(encoder, responses, recipe=Recipe(iterations=2), execution=Execution(device="cpu"),
                        progress=False)
    compiled = reconstruct(encoder, responses, recipe=Recipe(iterations=2),
                           execution=Execution(device="cpu", compile=True), progress=False)
    np.testing.assert_array_equal(compiled.videos, eager.videos)
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(lines) == 1 and "torch.compile failed (RuntimeError: backend exploded)" in lines[0]


def test_compile_matches_eager(capsys):
    encoder = TinyEncoder()
    torch.manual_seed(0)
    responses = torch.rand(12, 40)
    started = time.perf_counter()
    eager = reconstruct(encoder, responses, recipe=Recipe(iterations=2), execution=Execution(device="cpu"),
                        progress=False)
    compiled = reconstruct(encoder, responses, recipe=Recipe(iterations=2),
                           execution=Execution(device="cpu", compile=True), progress=False)
    if time.perf_counter() - started > 90:
        pytest.skip("torch.compile takes too long on this machine")
    err = capsys.readouterr().err
    if "torch.compile failed" in err:  # no working compiler here: the fallback path, one line
        assert len([x for x in err.splitlines() if "torch.compile failed" in x]) == 1
    np.testing.assert_allclose(compiled.videos, eager.videos, atol=1e-2)


# ----------------------------------------------------------------------------------------- out of memory
def test_out_of_memory_halves_the_pass(capsys):
    responses = torch.rand(12, 64)  # 5 dense sub-batches
    reference = reconstruct(TinyEncoder(), responses, recipe=Recipe(iterations=2),
                            execution=Execution(device="cpu", subbatches_per_pass=1), progress=False)
    limited = TinyEncoder(limit=3)
    result = reconstruct(limited, responses, recipe=Recipe(iterations=2),
                         execution=Execution(device="cpu", subbatches_per_pass=8), progress=False)
    np.testing.assert_allclose(result.videos, reference.videos, atol=1e-3)
    lines = [x for x in capsys.readouterr().err.splitlines() if "out of memory" in x]
    assert lines == ["dnemkit: out of memory with 5 sub-batches per pass; retrying with 2"]
    assert max(limited.calls[-3:]) <= 3


def test_out_of_memory_in_one_pass_then_loop(capsys):
    responses = torch.rand(12, 64)
    reference = reconstruct(Ensemble([TinyEncoder(seed=0), TinyEncoder(seed=1)]), responses,
                            recipe=Recipe(iterations=2), execution=Execution(device="cpu", members_in_one_pass=False),
                            progress=False)
    members = [TinyEncoder(seed=0, limit=0), TinyEncoder(seed=1, limit=0)]  # only the loop... never fits
    with pytest.raises(torch.OutOfMemoryError):
        reconstruct(Ensemble(members), responses, recipe=Recipe(iterations=1),
                    execution=Execution(device="cpu", subbatches_per_pass=4, members_in_one_pass=True), progress=False)
    err = capsys.readouterr().err
    assert "retrying with 1" in err and "one member at a time" in err
    members = [TinyEncoder(seed=0, limit=2), TinyEncoder(seed=1, limit=2)]
    result = reconstruct(Ensemble(members), responses, recipe=Recipe(iterations=2),
                         execution=Execution(device="cpu", subbatches_per_pass=8, members_in_one_pass=True),
                         progress=False)
    np.testing.assert_allclose(result.videos, reference.videos, atol=1e-3)
    lines = [x for x in capsys.readouterr().err.splitlines() if "out of memory" in x]
    assert lines == ["dnemkit: out of memory with 4 sub-batches of every member per pass; retrying with 2"]


def test_natural_runs_on_the_device_it_is_given(tmp_path, run_cli):
    import json

    from dnemkit.io.results import read_dataset

    result = run_cli("natural", "--encoder", "synthetic", "--iterations", "1", "--models", "1", "--device", "cpu",
                     "--no-video", "--quiet", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    config = json.loads(read_dataset(tmp_path / "natural.nc").attrs["config"])
    assert config["execution"]["device"] == "cpu"  # the Execution stored with the result
