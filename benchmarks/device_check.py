"""Check and time dnemkit's GPU path in one run: correctness against a reference, then speed.

(a) correctness: input gradients and a 5-iteration reconstruction (the paper's update) of a small random
    DwiseNeuro on this device against the CPU (on a CPU: float32 against float64); members in one pass against
    the member loop; bf16 against fp32. Relative differences printed, each with PASS / FAIL.
(b) one 300-frame iteration of the full-size DwiseNeuro (random weights, one readout of 7863 neurons): the
    reference schedule (70 sequential batch-1 window passes, Conv3d depthwise, parameter gradients, as in
    benchmarks/reconstruction_iteration.py) against dnemkit's fp32, bf16, torch.compile and two members in one
    pass, in the same run; ratios printed.
(c) one iteration of a 7-model reconstruction with the paper recipe (member loop and members in one pass) and
    the fast recipe, extrapolated to a 1000-iteration paper movie and a fast-recipe movie.

On a CUDA machine (about 5 minutes on an H100) it uses the full model; on a CPU it runs the same steps on a
small DwiseNeuro and 40-frame movies so that it stays tested (a few minutes on 2 cores) and prints the same
lines (torch.compile is timed on a CPU only with --compile-on-cpu: its warm-up alone takes minutes there).

    python benchmarks/device_check.py                 # cuda if available, else cpu
    python benchmarks/device_check.py --device cpu    # force the CPU version
    python benchmarks/device_check.py --skip-compile  # leave out torch.compile (its warm-up takes minutes)
"""

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reconstruction_iteration import reference_iteration  # noqa: E402

from dnemkit.device import resolve_device, synchronize  # noqa: E402
from dnemkit.encoders.base import Ensemble  # noqa: E402
from dnemkit.encoders.dwiseneuro import random_dwiseneuro as make_random_dwiseneuro  # noqa: E402
from dnemkit.encoders.dwiseneuro import MAIN_CONFIG, DwiseNeuro, InvertedResidual3d  # noqa: E402
from dnemkit.encoders.dwiseneuro_encoder import DwiseNeuroEncoder  # noqa: E402
from dnemkit.reconstruction import ReconstructionConfig, input_gradient, reconstruct, subbatch_starts  # noqa: E402
from dnemkit.reconstruction.loop import (EncoderPass, auto_subbatches_per_pass,  # noqa: E402
                                         members_input_gradient)
from dnemkit.reconstruction.recipes import make_optimizer  # noqa: E402

FULL = dict(MAIN_CONFIG, readout_outputs=(7863,))
#: every structural feature of the full model at a fraction of its cost (tests/conftest.py's SMALL_CONFIG)
SMALL = dict(MAIN_CONFIG, readout_outputs=(200,), core_features=(8, 8, 16, 16), spatial_strides=(2, 1, 2, 1),
             expansion_ratio=2, se_reduce_ratio=4, cortex_features=(32, 64))


def random_dwiseneuro(config, seed, device="cpu"):
    """Random weights and non-trivial BatchNorm statistics, eval mode, on ``device``."""
    return make_random_dwiseneuro(config, seed).to(device).eval()


def timed(fn, device, repeats=2, warmup=1):
    """(best seconds over ``repeats`` after ``warmup`` untimed calls, seconds of the first call, last output)."""
    first = None
    for _ in range(warmup):
        synchronize(device)
        start = time.perf_counter()
        out = fn()
        synchronize(device)
        first = time.perf_counter() - start if first is None else first
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        out = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times), first, out


def rel(a, b):
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).norm() / b.norm().clamp(min=1e-30))


def verdict(ok):
    return "PASS" if ok else "FAIL"


def inputs(n_neurons, frames, device, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    video = (torch.rand(1, frames, 36, 64, generator=g) * 255).to(device, dtype)
    behavior = torch.randn(1, 4, frames, generator=g).to(device, dtype)
    target = torch.poisson(torch.rand(1, n_neurons, frames, generator=g) * 2).to(device, dtype)
    return video, behavior, target


def paper_loop(encoder, behavior, target, frames, iterations, dtype):
    """The paper's update for one model (no mask): what reconstruct() does, dtype-generic for the check."""
    config = ReconstructionConfig(iterations=iterations)
    video = torch.full((1, frames, 36, 64), config.start_value, device=target.device, dtype=dtype)
    optimiser = make_optimizer(config)
    for i in range(1, iterations + 1):
        g = input_gradient(encoder, video, behavior, target, config)[0]
        optimiser.step(video, g.clamp(-config.grad_clip, config.grad_clip), i)
    return video


def check(device, frames, results):
    """(a): this device against the CPU (a CPU: float32 against float64)."""
    on_gpu = device.type == "cuda"
    ref_device, ref_dtype = (torch.device("cpu"), torch.float32) if on_gpu else (device, torch.float64)
    label = "cuda fp32 vs cpu fp32" if on_gpu else "cpu float32 vs cpu float64"
    tol_grad, tol_video = (1e-2, 1e-2) if on_gpu else (1e-4, 1e-3)  # cuDNN's TF32 convolutions on a GPU
    model = random_dwiseneuro(SMALL, 0)
    n = SMALL["readout_outputs"][0]
    enc = DwiseNeuroEncoder(copy.deepcopy(model).to(device), 0)
    ref = DwiseNeuroEncoder(copy.deepcopy(model).to(ref_device, ref_dtype), 0)
    video, behavior, target = inputs(n, frames, "cpu")
    cfg = ReconstructionConfig()
    g = input_gradient(enc, video.to(device), behavior.to(device), target.to(device), cfg)[0]
    g_ref = input_gradient(ref, video.to(ref_device, ref_dtype), behavior.to(ref_device, ref_dtype),
                           target.to(ref_device, ref_dtype), cfg)[0]
    d = rel(g, g_ref)
    print(f"(a) input gradient, {label}: relative difference {d:.1e} (tolerance {tol_grad:.0e}) {verdict(d <= tol_grad)}")
    results.append(d <= tol_grad)

    v = paper_loop(enc, behavior.to(device), target.to(device), frames, 5, torch.float32)
    v_ref = paper_loop(ref, behavior.to(ref_device, ref_dtype), target.to(ref_device, ref_dtype), frames, 5, ref_dtype)
    d = rel(v - 127.5, v_ref - 127.5)
    print(f"(a) 5-iteration reconstruction, {label}: relative difference of the change {d:.1e} "
          f"(tolerance {tol_video:.0e}) {verdict(d <= tol_video)}")
    results.append(d <= tol_video)

    members = [DwiseNeuroEncoder(random_dwiseneuro(SMALL, s, device), 0) for s in range(3)]
    videos = torch.rand(3, 1, frames, 36, 64, device=device) * 255
    beh, tgt = behavior.to(device), target.to(device)
    one = members_input_gradient(EncoderPass(members), videos, beh, tgt, cfg)[0]
    d = max(rel(one[m], input_gradient(e, videos[m], beh, tgt, cfg)[0]) for m, e in enumerate(members))
    # cuDNN runs fp32 convolutions in TF32 by default (torch.backends.cudnn.allow_tf32) and picks other kernels
    # for a batch of members than for one: on a GPU the two agree to TF32's ~1e-4 (H100: 1.8e-4), on a CPU to 1e-6
    tol = 1e-3 if device.type == "cuda" and torch.backends.cudnn.allow_tf32 else 1e-5
    print(f"(a) 3 members in one pass vs the member loop ({device.type}): largest relative difference {d:.1e} "
          f"(tolerance {tol:.0e}) {verdict(d <= tol)}")
    results.append(d <= tol)

    g16 = input_gradient(enc, video.to(device), beh, tgt, ReconstructionConfig(precision="bf16"))[0]
    r = float(np.corrcoef(g16.cpu().double().ravel(), g.cpu().double().ravel())[0, 1])
    print(f"(a) input gradient bf16 vs fp32 ({device.type}): correlation {r:.4f} (at least 0.95) {verdict(r >= 0.95)}")
    results.append(r >= 0.95)


def iteration_timings(device, config, frames, repeats, skip_compile):
    """(b): one iteration, the reference schedule against dnemkit's options. Returns dnemkit fp32's seconds."""
    n = config["readout_outputs"][0]
    model = random_dwiseneuro(config, 0, device)
    video, behavior, target = inputs(n, frames, device)
    n_sub = len(subbatch_starts(frames))

    InvertedResidual3d.depthwise_as_2d = False
    try:
        ref_s, _, _ = timed(lambda: reference_iteration(model, video[0], behavior[0], target[0]), device, repeats)
    finally:
        InvertedResidual3d.depthwise_as_2d = True
    print(f"(b) reference schedule ({2 * n_sub} sequential batch-1 passes, Conv3d, parameter grads): "
          f"{ref_s:.3f} s / iteration")

    encoder = DwiseNeuroEncoder(model, 0)
    per_pass = auto_subbatches_per_pass(encoder, device)
    rows = {}

    def ours(cfg, runner=None):
        runner = runner or EncoderPass([encoder], cfg.precision, cfg.compile)
        return lambda: members_input_gradient(runner, video[None], behavior, target, cfg, per_pass=per_pass)

    rows["fp32"], _, _ = timed(ours(ReconstructionConfig()), device, repeats)
    rows["bf16"], _, _ = timed(ours(ReconstructionConfig(precision="bf16")), device, repeats)
    if skip_compile:
        print("(b) torch.compile: skipped (--skip-compile; on a CPU by default, its warm-up takes minutes there; "
              "--compile-on-cpu includes it)")
    else:
        try:
            rows["compile"], first, _ = timed(ours(ReconstructionConfig(compile=True)), device, repeats)
            print(f"(b) torch.compile warm-up (first iteration, compiling): {first:.1f} s")
        except Exception as exc:  # noqa: BLE001 - report and go on: the loop itself falls back to eager
            print(f"(b) torch.compile failed here ({type(exc).__name__}); the loop would run eagerly")
    members = [encoder, DwiseNeuroEncoder(random_dwiseneuro(config, 1, device), 0)]
    videos = video[None].expand(2, -1, -1, -1, -1).contiguous()
    loop_cfg = ReconstructionConfig()

    def member_loop():
        return [members_input_gradient(EncoderPass([m]), videos[k:k + 1], behavior, target, loop_cfg,
                                       per_pass=per_pass) for k, m in enumerate(members)]

    def one_pass(runner=EncoderPass(members)):
        return members_input_gradient(runner, videos, behavior, target, loop_cfg, per_pass=max(1, per_pass // 2))

    loop_s, _, _ = timed(member_loop, device, repeats)
    one_s, _, _ = timed(one_pass, device, repeats)
    rows["2 members, loop (per member)"] = loop_s / 2
    rows["2 members, one pass (per member)"] = one_s / 2
    for name, seconds in rows.items():
        print(f"(b) dnemkit {name:<34} {seconds:8.3f} s / iteration   speed-up vs reference {ref_s / seconds:6.2f}x")
    print(f"(b) members in one pass vs loop: {loop_s / one_s:.2f}x   ({per_pass} sub-batches per pass for one model)")
    return rows["fp32"]


def ensemble_timings(device, config, frames, models):
    """(c): one iteration of a ``models``-model reconstruction, paper and fast recipes, and movie estimates."""
    members = [DwiseNeuroEncoder(random_dwiseneuro(config, s, device), 0) for s in range(models)]
    encoder = Ensemble(members)
    n = config["readout_outputs"][0]
    _, _, target = inputs(n, frames, device)
    fast_iterations = ReconstructionConfig.from_recipe("fast").iterations
    out = {}
    for name, recipe, one_pass in (("paper, member loop", "paper", False), ("paper, members in one pass", "paper", True),
                                   ("fast", "fast", None)):
        cfg = ReconstructionConfig.from_recipe(recipe, iterations=3, device=str(device),
                                               members_in_one_pass=one_pass)
        stamps = []

        def tick(i, videos):
            synchronize(device)
            stamps.append(time.perf_counter())

        synchronize(device)
        start = time.perf_counter()
        reconstruct(encoder, target[0], config=cfg, progress=False, on_iteration=tick)
        per_iteration = float(np.min(np.diff(stamps))) if len(stamps) > 1 else time.perf_counter() - start
        out[name] = per_iteration
        print(f"(c) {models} models, {frames} frames, {name:<28} {per_iteration:8.3f} s / iteration")
    paper = min(out["paper, member loop"], out["paper, members in one pass"])
    print(f"(c) paper movie (1000 iterations, {models} models): {1000 * paper / 60:.1f} min   "
          f"fast-recipe movie ({fast_iterations} iterations): {fast_iterations * out['fast'] / 60:.2f} min")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:K")
    parser.add_argument("--skip-compile", action="store_true", help="Leave torch.compile out of (b).")
    parser.add_argument("--compile-on-cpu", action="store_true",
                        help="Time torch.compile on a CPU too (left out there by default: minutes of warm-up).")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    torch.manual_seed(0)
    started = time.perf_counter()
    name = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    config, frames, label = (FULL, 300, "full-size") if on_gpu else (SMALL, 40, "small (CPU stand-in)")
    print(f"device_check: {device} ({name}), torch {torch.__version__}; (b)/(c): {label} DwiseNeuro, "
          f"{sum(p.numel() for p in DwiseNeuro(**config).parameters()) / 1e6:.1f} M parameters, "
          f"{config['readout_outputs'][0]} neurons, {frames} frames")
    results = []
    check(device, 64 if on_gpu else 40, results)
    print(f"(a) done in {time.perf_counter() - started:.0f} s")
    skip_compile = args.skip_compile or not (on_gpu or args.compile_on_cpu)
    iteration_timings(device, config, frames, args.repeats, skip_compile)
    print(f"(b) done at {time.perf_counter() - started:.0f} s")
    if on_gpu:
        torch.cuda.empty_cache()
    ensemble_timings(device, config, frames, 7)
    print(f"device_check: {sum(results)} of {len(results)} checks passed; {time.perf_counter() - started:.0f} s "
          f"in all")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
