"""Check and time dnemkit's GPU path in one run: correctness against a reference, then speed.

(a) correctness: input gradients and a 5-iteration reconstruction (the paper's update) of a small random
    DwiseNeuro on this device against the CPU (on a CPU: float32 against float64); members in one pass against
    the member loop; BatchNorm folded against the plain path; bf16 against fp32 and the loop's bf16 self-check.
    Relative differences printed, each with PASS / FAIL.
(b) one 300-frame paper iteration of the full-size DwiseNeuro (random weights, one readout of 7863 neurons):
    the reference schedule (70 sequential batch-1 window passes, Conv3d depthwise, parameter gradients, as in
    benchmarks/reconstruction_iteration.py) against every execution option of dnemkit (fp32, BatchNorm folded,
    cudnn.benchmark, bf16, torch.compile default and reduce-overhead, two members in one pass), in the same run;
    speed-ups over the reference printed.
(c) a 7-model clip: seconds per iteration of the paper recipe (plain, and with the fastest exact options) and
    of the fast recipe, measured as the difference of two reconstruct() calls (3 and 1 iterations, so set-up is
    left out), extrapolated to a 1000-iteration paper clip and a fast clip.
(d) study throughput: B clips of one mouse in one reconstruct() call (7 models, fastest exact options), seconds
    per clip-iteration, clips per GPU-hour for the fast and the paper recipe, and (CUDA) peak memory per B and
    the largest B that fits the card.

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
from dnemkit.encoders.dwiseneuro.network import random_dwiseneuro as make_random_dwiseneuro  # noqa: E402
from dnemkit.encoders.dwiseneuro.network import MAIN_CONFIG, DwiseNeuro, InvertedResidual3d  # noqa: E402
from dnemkit.encoders.dwiseneuro.encoder import DwiseNeuroEncoder  # noqa: E402
from dnemkit.reconstruction import Execution, Recipe, input_gradient, reconstruct, subbatch_starts  # noqa: E402
from dnemkit.reconstruction.execution import (EncoderPass, auto_subbatches_per_pass, check_bf16,  # noqa: E402
                                              prepare_members)
from dnemkit.reconstruction.passes import members_input_gradient  # noqa: E402
from dnemkit.reconstruction.optimizers import make_optimizer  # noqa: E402

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
    recipe = Recipe(iterations=iterations)
    video = torch.full((1, frames, 36, 64), recipe.start_value, device=target.device, dtype=dtype)
    optimiser = make_optimizer(recipe)
    for i in range(1, iterations + 1):
        g = input_gradient(encoder, video, behavior, target, recipe)[0]
        optimiser.step(video, g.clamp(-recipe.grad_clip, recipe.grad_clip), i)
    return video


def report(results, name, value, tolerance, at_least=False):
    ok = value >= tolerance if at_least else value <= tolerance
    bound = f"at least {tolerance}" if at_least else f"tolerance {tolerance:.0e}"
    print(f"(a) {name}: {value:.1e} ({bound}) {verdict(ok)}" if not at_least else
          f"(a) {name}: {value:.4f} ({bound}) {verdict(ok)}")
    results.append(ok)


def check(device, frames, results):
    """(a): this device against the CPU (a CPU: float32 against float64), and each option against the plain path."""
    on_gpu = device.type == "cuda"
    ref_device, ref_dtype = (torch.device("cpu"), torch.float32) if on_gpu else (device, torch.float64)
    label = "cuda fp32 vs cpu fp32" if on_gpu else "cpu float32 vs cpu float64"
    tol_grad, tol_video = (1e-2, 1e-2) if on_gpu else (1e-4, 1e-3)  # cuDNN's TF32 convolutions on a GPU
    # cuDNN runs fp32 convolutions in TF32 by default and picks other kernels for other shapes: on a GPU two
    # exact paths agree to TF32's ~1e-4 (H100: 1.8e-4), on a CPU to 1e-6
    tol_same = 1e-3 if on_gpu and torch.backends.cudnn.allow_tf32 else 1e-5
    model = random_dwiseneuro(SMALL, 0)
    n = SMALL["readout_outputs"][0]
    enc = DwiseNeuroEncoder(copy.deepcopy(model).to(device), 0)
    ref = DwiseNeuroEncoder(copy.deepcopy(model).to(ref_device, ref_dtype), 0)
    video, behavior, target = inputs(n, frames, "cpu")
    recipe = Recipe()
    beh, tgt, vid = behavior.to(device), target.to(device), video.to(device)
    g = input_gradient(enc, vid, beh, tgt, recipe)[0]
    g_ref = input_gradient(ref, video.to(ref_device, ref_dtype), behavior.to(ref_device, ref_dtype),
                           target.to(ref_device, ref_dtype), recipe)[0]
    report(results, f"input gradient, {label}: relative difference", rel(g, g_ref), tol_grad)

    v = paper_loop(enc, beh, tgt, frames, 5, torch.float32)
    v_ref = paper_loop(ref, behavior.to(ref_device, ref_dtype), target.to(ref_device, ref_dtype), frames, 5, ref_dtype)
    report(results, f"5-iteration reconstruction, {label}: relative difference of the change",
           rel(v - 127.5, v_ref - 127.5), tol_video)

    members = [DwiseNeuroEncoder(random_dwiseneuro(SMALL, s, device), 0) for s in range(3)]
    videos = torch.rand(3, 1, frames, 36, 64, device=device) * 255
    one = members_input_gradient(EncoderPass(members), videos, beh, tgt, recipe)[0]
    d = max(rel(one[m], input_gradient(e, videos[m], beh, tgt, recipe)[0]) for m, e in enumerate(members))
    report(results, f"3 members in one pass vs the member loop ({device.type}): largest relative difference", d,
           tol_same)

    g_fold = input_gradient(enc.with_batchnorm_folded(), vid, beh, tgt, recipe)[0]
    report(results, f"BatchNorm folded vs plain, input gradient ({device.type}): relative difference",
           rel(g_fold, g), tol_same)

    g16 = input_gradient(enc, vid, beh, tgt, recipe, precision="bf16")[0]
    r = float(np.corrcoef(g16.cpu().double().ravel(), g.cpu().double().ravel())[0, 1])
    report(results, f"input gradient bf16 vs fp32 ({device.type}): correlation", r, 0.95, at_least=True)
    try:
        check_bf16(enc, vid, beh, tgt, recipe, device)
        print(f"(a) the loop's bf16 self-check on {device.type}: accepted {verdict(True)}")
        results.append(True)
    except Exception as exc:  # noqa: BLE001 - the self-check refusing bf16 here is this check's finding
        print(f"(a) the loop's bf16 self-check on {device.type}: refused ({exc}) {verdict(False)}")
        results.append(False)


#: the execution options timed in (b), each against the reference schedule (name -> Execution)
def execution_variants(device, with_compile):
    on_gpu = device.type == "cuda"
    variants = {"fp32": Execution(fold_batchnorm=False), "fp32, BatchNorm folded": Execution(fold_batchnorm=True)}
    if on_gpu:
        variants["fp32, folded, cudnn.benchmark"] = Execution(fold_batchnorm=True, cudnn_benchmark=True)
    variants["bf16, folded" + (", cudnn.benchmark" if on_gpu else "")] = Execution(
        precision="bf16", fold_batchnorm=True, cudnn_benchmark=on_gpu)
    if with_compile:
        variants["fp32, folded, torch.compile"] = Execution(fold_batchnorm=True, compile=True,
                                                            cudnn_benchmark=on_gpu)
        if on_gpu:
            variants["fp32, folded, compile reduce-overhead"] = Execution(
                fold_batchnorm=True, compile=True, compile_mode="reduce-overhead", cudnn_benchmark=True)
    return variants


def iteration_timings(device, config, frames, repeats, skip_compile):
    """(b): one iteration, the reference schedule against dnemkit's options. Returns {option: seconds}."""
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
    folded = prepare_members([encoder], Execution(fold_batchnorm=True), device)[0]  # as reconstruct() runs it
    per_pass = auto_subbatches_per_pass(encoder, device)
    recipe = Recipe()
    rows = {}
    if skip_compile:
        print("(b) torch.compile: skipped (--skip-compile; on a CPU by default, its warm-up takes minutes there; "
              "--compile-on-cpu includes it)")
    for name, ex in execution_variants(device, not skip_compile).items():
        enc = folded if ex.fold_batchnorm else encoder
        runner = EncoderPass([enc], ex.precision, ex.compile, ex.compile_mode)
        torch.backends.cudnn.benchmark = ex.cudnn_benchmark
        try:
            rows[name], first, _ = timed(lambda: members_input_gradient(runner, video[None], behavior, target, recipe,
                                                                        per_pass=per_pass), device, repeats)
            if ex.compile:
                print(f"(b) {name}: first iteration (compiling) {first:.1f} s")
        except Exception as exc:  # noqa: BLE001 - report and go on: the loop itself falls back to eager
            print(f"(b) {name}: failed here ({type(exc).__name__}: {str(exc)[:120]})")
        finally:
            torch.backends.cudnn.benchmark = False
    members = [encoder, DwiseNeuroEncoder(random_dwiseneuro(config, 1, device), 0)]
    videos = video[None].expand(2, -1, -1, -1, -1).contiguous()

    def member_loop():
        return [members_input_gradient(EncoderPass([m]), videos[k:k + 1], behavior, target, recipe,
                                       per_pass=per_pass) for k, m in enumerate(members)]

    def one_pass(runner=EncoderPass(members)):
        return members_input_gradient(runner, videos, behavior, target, recipe, per_pass=max(1, per_pass // 2))

    loop_s, _, _ = timed(member_loop, device, repeats)
    one_s, _, _ = timed(one_pass, device, repeats)
    rows["2 members, loop (per member)"] = loop_s / 2
    rows["2 members, one pass (per member)"] = one_s / 2
    for name, seconds in rows.items():
        print(f"(b) dnemkit {name:<40} {seconds:8.3f} s / iteration   speed-up vs reference {ref_s / seconds:6.2f}x")
    print(f"(b) members in one pass vs loop: {loop_s / one_s:.2f}x   ({per_pass} sub-batches per pass for one model)")
    exact = {k: v for k, v in rows.items() if k.startswith("fp32")}
    best = min(exact, key=exact.get)
    print(f"(b) fastest exact option: {best} ({exact[best]:.3f} s, {ref_s / exact[best]:.2f}x the reference)")
    return rows, best


def best_execution(device, best_name, skip_compile):
    return execution_variants(device, not skip_compile).get(best_name, Execution())


def per_iteration(encoder, target, recipe, execution, device):
    """Seconds per iteration of reconstruct(): the difference of a 3- and a 1-iteration call (set-up left out)."""
    def call(iterations):
        synchronize(device)
        start = time.perf_counter()
        reconstruct(encoder, target, None, recipe.replace(iterations=iterations), execution=execution,
                    progress=False)
        synchronize(device)
        return time.perf_counter() - start

    call(1)  # warm-up: cuDNN autotuning, compilation, allocator
    return max(call(3) - call(1), 1e-9) / 2


def ensemble_timings(device, config, frames, models, fastest):
    """(c): one iteration of a ``models``-model clip, paper and fast recipes, and clip estimates."""
    members = [DwiseNeuroEncoder(random_dwiseneuro(config, s, device), 0) for s in range(models)]
    encoder = Ensemble(members)
    n = config["readout_outputs"][0]
    _, _, target = inputs(n, frames, device)
    fast_iterations = Recipe.named("fast").iterations
    out = {}
    plain = Execution(device=str(device))
    for name, recipe, execution in (("paper, plain", Recipe.named("paper"), plain),
                                    ("paper, fastest exact options", Recipe.named("paper"), fastest),
                                    ("fast, fastest exact options", Recipe.named("fast"), fastest)):
        out[name] = per_iteration(encoder, target[0], recipe, execution.replace(device=str(device)), device)
        print(f"(c) {models} models, {frames} frames, {name:<30} {out[name]:8.3f} s / iteration")
    paper = min(out["paper, plain"], out["paper, fastest exact options"])
    fast = out["fast, fastest exact options"]
    print(f"(c) paper clip (1000 iterations, {models} models): {1000 * paper / 60:.1f} min   "
          f"fast clip ({fast_iterations} iterations): {fast_iterations * fast:.1f} s")
    return encoder, target


def study_throughput(device, encoder, target, fastest, batches):
    """(d): B clips per reconstruct() call; clips per GPU-hour for the fast and the paper recipe."""
    fast_iterations = Recipe.named("fast").iterations
    execution = fastest.replace(device=str(device))
    for b in batches:
        clips = target[0][None].expand(b, -1, -1).contiguous()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        try:
            seconds = per_iteration(encoder, clips, Recipe.named("fast"), execution, device) / b
        except torch.OutOfMemoryError:
            print(f"(d) {b} clips per call: out of memory")
            break
        memory = ""
        if device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(device) / 2 ** 30
            total = torch.cuda.get_device_properties(device).total_memory / 2 ** 30
            memory = f", peak {peak:.1f} GiB of {total:.0f} (about {int(total / peak * b)} clips would fit)"
        print(f"(d) {b} clips per call: {seconds:.3f} s per clip-iteration; clips per hour: fast "
              f"{3600 / (fast_iterations * seconds):.0f}, paper {3600 / (1000 * seconds):.1f}{memory}")


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
    if on_gpu:
        name = (f"{torch.cuda.get_device_name(device)}, driver {torch.cuda.driver_version() if hasattr(torch.cuda, 'driver_version') else '?'}, "
                f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
    else:
        name = f"CPU, {torch.get_num_threads()} threads"
    config, frames, label = (FULL, 300, "full-size") if on_gpu else (SMALL, 40, "small (CPU stand-in)")
    print(f"device_check: {device} ({name}), torch {torch.__version__}; (b)-(d): {label} DwiseNeuro, "
          f"{sum(p.numel() for p in DwiseNeuro(**config).parameters()) / 1e6:.2f} M parameters, "
          f"{config['readout_outputs'][0]} neurons, {frames} frames")
    results = []
    check(device, 64 if on_gpu else 40, results)
    print(f"(a) done in {time.perf_counter() - started:.0f} s")
    skip_compile = args.skip_compile or not (on_gpu or args.compile_on_cpu)
    _, best = iteration_timings(device, config, frames, args.repeats, skip_compile)
    print(f"(b) done at {time.perf_counter() - started:.0f} s")
    if on_gpu:
        torch.cuda.empty_cache()
    fastest = best_execution(device, best, skip_compile)
    encoder, target = ensemble_timings(device, config, frames, 7, fastest)
    print(f"(c) done at {time.perf_counter() - started:.0f} s")
    study_throughput(device, encoder, target, fastest, (1, 4, 8, 16) if on_gpu else (1, 2))
    print(f"device_check: {sum(results)} of {len(results)} checks passed; {time.perf_counter() - started:.0f} s "
          f"in all")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
