"""Time one reconstruction iteration: the reference's schedule against dnemkit's, same encoder, same movie.

The reference ran each 300-frame iteration as 70 sequential batch-1 passes (two 16-frame windows for each of
the 35 sub-batches), with Conv3d depthwise convolutions and parameter gradients switched on. dnemkit freezes the
encoder, evaluates the depthwise convolutions as exact 2-D convolutions and runs several sub-batches per pass
(chosen per device). Both produce the same normalised gradient (checked here, relative difference printed).

    python benchmarks/reconstruction_iteration.py                   # small DwiseNeuro on this machine
    python benchmarks/reconstruction_iteration.py --config full     # the 170 M-parameter model (use a GPU)
"""

import argparse
import time

import torch

from dnemkit.encoders.dwiseneuro.network import MAIN_CONFIG, DwiseNeuro, InvertedResidual3d
from dnemkit.encoders.dwiseneuro.encoder import DwiseNeuroEncoder
from dnemkit.reconstruction import Recipe, input_gradient, subbatch_starts
from dnemkit.reconstruction.execution import auto_subbatches_per_pass
from dnemkit.training import MODEL_CONFIGS

SMALL = dict(MODEL_CONFIGS["small"], readout_outputs=(2000,))  # the demo ensemble's architecture


def reference_iteration(model, video, behavior, target):
    """The seed schedule: per sub-batch, two batch-1 window passes, parameter gradients on, Conv3d depthwise."""
    t = video.shape[0]
    grad = torch.zeros_like(video)
    count = torch.zeros(t, device=video.device)
    for s in subbatch_starts(t):
        x = torch.zeros(5, 32, 64, 64, device=video.device)
        x[0, :, 14:50] = video[s:s + 32]
        x[1:] = behavior[:, s:s + 32, None, None]
        x.requires_grad_(True)
        preds = [None] * 32
        for end in (30, 31):
            frames = list(range(end - 30, end + 1, 2))
            out = model(x[:, frames].unsqueeze(0), 0)[0]
            for k, f in enumerate(frames):
                preds[f] = out[:, k]
        rates = torch.stack(preds, 1)
        tgt = target[:, s:s + 32]
        loss = (rates - tgt * torch.log(rates + 1e-8)).mean()
        model.zero_grad(set_to_none=True)
        loss.backward()
        g = x.grad / (x.grad.norm() + 1e-6)
        grad[s:s + 32] += g[0, :, 14:50]
        count[s:s + 32] += 1
    return grad / count[:, None, None]


def timed(fn, repeats, device):
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=("small", "full"), default="small")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-pass", type=int, default=None, help="sub-batches per pass (default: auto)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    config = SMALL if args.config == "small" else dict(MAIN_CONFIG, readout_outputs=(7863,))
    model = DwiseNeuro(**config).to(device).eval()
    n = config["readout_outputs"][0]
    video = torch.rand(args.frames, 36, 64, device=device) * 255
    behavior = torch.randn(4, args.frames, device=device)
    target = torch.poisson(torch.rand(n, args.frames, device=device) * 2)

    InvertedResidual3d.depthwise_as_2d = False
    ref_s, ref_grad = timed(lambda: reference_iteration(model, video, behavior, target), args.repeats, device)
    InvertedResidual3d.depthwise_as_2d = True

    encoder = DwiseNeuroEncoder(model, 0).to(device)
    per_pass = args.per_pass or auto_subbatches_per_pass(encoder, device)
    recipe = Recipe()
    ours_s, (grad, _, _) = timed(lambda: input_gradient(encoder, video[None], behavior[None], target[None], recipe,
                                                        per_pass=per_pass), args.repeats, device)
    rel = ((grad[0] - ref_grad).norm() / ref_grad.norm()).item()
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
          f"threads {torch.get_num_threads()}, DwiseNeuro '{args.config}', {args.frames} frames, "
          f"{len(subbatch_starts(args.frames))} sub-batches")
    print(f"reference schedule (70 batch-1 passes, Conv3d, parameter grads): {ref_s:.3f} s / iteration")
    print(f"dnemkit ({per_pass} sub-batches per pass, frozen, 2-D depthwise):   {ours_s:.3f} s / iteration")
    print(f"speed-up: {ref_s / ours_s:.2f}x   gradient relative difference: {rel:.1e}")


if __name__ == "__main__":
    main()
