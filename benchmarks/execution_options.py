"""The demo's reconstruction on this machine: each execution option against the plain path, side by side.

For the shipped demo encoder and the fast recipe (tiled sub-batches of a 300-frame movie), times one
reconstruction iteration (input gradients of every sub-batch and the optimiser step) with the plain path and
with each option, interleaved round by round so that a busy machine slows all of them alike, and prints the
median seconds, the ratio to the plain path and the largest relative difference of the gradients. Then it
times the phases of the embedded `characterize natural` (loading, targets, mask, reconstruction, results).

    python benchmarks/execution_options.py                 # 5 rounds
    python benchmarks/execution_options.py --rounds 9 --threads 1,2
"""

import argparse
import statistics
import time

import numpy as np
import torch

from dnemkit.encoders.ref import EncoderRef
from dnemkit.experiments.targets import synthetic_recording
from dnemkit.reconstruction import Execution, Recipe
from dnemkit.reconstruction.execution import auto_subbatches_per_pass, prepare_members
from dnemkit.reconstruction.passes import MemberGradients
from dnemkit.reconstruction.schedule import make_schedule
from dnemkit.stimuli import natural_movie

#: "BatchNorm folded" is what the fast recipe runs by default (on a CPU: the folded copy in channels-last layout)
OPTIONS = {"plain": Execution(fold_batchnorm=False), "BatchNorm folded": Execution(fold_batchnorm=True)}


def gradient_call(encoder, execution, recipe, movie, targets, behavior):
    """A function computing one iteration's input gradients of the fast recipe with ``execution``."""
    models = prepare_members([encoder], execution)
    device = torch.device("cpu")
    per_pass = auto_subbatches_per_pass(models[0], device, recipe.subbatch_frames)
    gradients = MemberGradients(models, recipe, execution, device, per_pass)
    schedule = make_schedule(recipe, np.random.default_rng(recipe.seed))
    starts = schedule(movie.shape[0])  # the same sub-batches for every option
    videos = torch.from_numpy(movie)[None, None]
    target = torch.from_numpy(targets)[None]
    beh = torch.from_numpy(behavior)[None]
    return lambda: gradients(videos, beh, target, None, starts, lambda rates: rates.sum((2, 3)))[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", default=None, help="comma-separated torch thread counts to compare (default: "
                                                   "torch's)")
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")] if args.threads else [torch.get_num_threads()]
    encoder = EncoderRef("demo").encoder
    movie = natural_movie(seed=900).values.astype(np.float32)
    targets, behavior, _ = synthetic_recording(movie, 0, encoder.n_neurons)
    recipe = Recipe.named("fast")
    print(f"demo: {encoder.description}; fast recipe, {movie.shape[0]} frames; {args.rounds} rounds")
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        calls = {name: gradient_call(encoder, ex, recipe, movie, targets.astype(np.float32),
                                     behavior.astype(np.float32)) for name, ex in OPTIONS.items()}
        reference = calls["plain"]()
        grads = {name: call() for name, call in calls.items()}  # warm-up, and the gradients compared
        times = {name: [] for name in calls}
        for _ in range(args.rounds):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
        plain = statistics.median(times["plain"])
        for name in calls:
            median = statistics.median(times[name])
            d = float((grads[name] - reference).norm() / reference.norm())
            print(f"threads {n_threads}: {name:<18} {median:6.3f} s / iteration (median)   {plain / median:5.2f}x "
                  f"the plain path   gradient difference {d:.1e}")


if __name__ == "__main__":
    main()
