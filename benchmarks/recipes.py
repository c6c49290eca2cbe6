"""The fast recipe against the paper's, on the same targets: video r against iterations and seconds.

For each case, both recipes reconstruct the same held-out natural movie (seed 900) in one run:

- ``synthetic-predicted``: the synthetic mouse (seed 0) reconstructs its own predicted activity;
- ``synthetic-poisson``: ... its own Poisson responses (what a recording gives; the paper recipe overfits them);
- ``demo``: the shipped demo encoder reconstructs the synthetic mouse's Poisson responses (`characterize natural`);
- ``--encoder SPEC``: any encoder, from its own predicted activity.

Prints each recipe's r every few iterations with the seconds spent so far, the paper recipe's final r, the time
each recipe needs to reach it (-0.01), and the ratios; writes ``recipes.png`` (curves). Metric: the video
correlation of the ensemble (mean over models, Gaussian-smoothed sigma 0.5) inside the evaluation mask,
frames >= 30. Run it alone: another torch process on a 2-core machine slows both many-fold.

    python benchmarks/recipes.py                              # the three built-in cases, paper 1000 iterations
    python benchmarks/recipes.py --cases demo --paper-iterations 300
    python benchmarks/recipes.py --encoder my_model.pth --cases none
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import dnemkit
from dnemkit.experiments.targets import predicted_targets, synthetic_recording
from dnemkit.encoders.ref import EncoderRef
from dnemkit.masks import resolve_mask
from dnemkit.reconstruction import Recipe, reconstruct
from dnemkit.analysis.tracking import VideoCorrelationTracker  # noqa: E402

MOVIE_SEED = 900


def case(name, encoder_spec=None):
    """(encoder, targets (N, T), behavior or None, movie (T, 36, 64), mask, description)."""
    movie = dnemkit.natural_movie(seed=MOVIE_SEED).values.astype(np.float32)
    ref = EncoderRef("synthetic" if name.startswith("synthetic") else "demo" if name == "demo" else encoder_spec)
    encoder = ref.encoder
    mask, line = resolve_mask("auto", ref, progress=False)
    if name in ("synthetic-poisson", "demo"):
        targets, behavior, _ = synthetic_recording(movie, 0, encoder.n_neurons)
    else:
        targets, behavior = predicted_targets(encoder, movie[None])[0], None
    return encoder, targets, behavior, movie, mask, line


class ClockedTracker(VideoCorrelationTracker):
    """The video correlation, and the reconstruction's own seconds at each score (its scoring time left out)."""

    def __init__(self, movie, eval_mask, every):
        super().__init__(movie, eval_mask, every=every)
        self.started, self.scoring, self.seconds = time.perf_counter(), 0.0, []

    def __call__(self, videos, ensemble, first_frame):
        now = time.perf_counter()
        self.seconds.append(now - self.started - self.scoring)
        scores = super().__call__(videos, ensemble, first_frame)
        self.scoring += time.perf_counter() - now
        return scores


def run(encoder, targets, behavior, movie, mask, recipe, every):
    """[(iteration, seconds, r)] of one reconstruction, r of the smoothed ensemble every ``every`` iterations."""
    tracker = ClockedTracker(movie, mask.eval, every)
    res = reconstruct(encoder, targets, behavior, recipe, train_mask=mask.train, trackers=[tracker], progress=False)
    r = res.traces["video_correlation"][:, -1, 0]
    return [(int(i), s, float(v)) for i, s, v in zip(res.tracked_iterations["video_correlation"], tracker.seconds, r)]


def time_to_reach(curve, level):
    """Seconds (and iteration) at the first evaluation with r >= level, or (None, None)."""
    for i, s, r in curve:
        if r >= level:
            return s, i
    return None, None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="synthetic-predicted,synthetic-poisson,demo",
                   help="comma-separated built-in cases, or 'none'")
    p.add_argument("--encoder", default=None, help="also run this encoder spec on its own predicted activity")
    p.add_argument("--paper-iterations", type=int, default=1000)
    p.add_argument("--fast-iterations", type=int, default=None, help="default: the fast recipe's")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default="recipes.png")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [] if args.cases == "none" else args.cases.split(",")
    if args.encoder:
        names.append("encoder")
    paper = Recipe.named("paper", iterations=args.paper_iterations)
    fast = Recipe.named("fast", iterations=args.fast_iterations)
    every = {"paper": max(1, paper.iterations // 50), "fast": max(1, fast.iterations // 20)}
    results = {}
    print(f"torch threads: {torch.get_num_threads()}")
    for name in names:
        encoder, targets, behavior, movie, mask, line = case(name, args.encoder)
        print(f"\n== {name}: {getattr(encoder, 'description', '')}; {line}")
        curves = {}
        for label, recipe in (("paper", paper), ("fast", fast)):
            curves[label] = run(encoder, targets, behavior, movie, mask, recipe, every[label])
            c = curves[label]
            step = max(1, len(c) // 10)
            print(f"  {label:5s} ({recipe.iterations} iterations, {c[-1][1]:.1f} s): " +
                  "  ".join(f"{i}:{r:.3f}@{s:.0f}s" for i, s, r in c[step::step]))
        final = curves["paper"][-1][2]
        paper_total = curves["paper"][-1][1]
        best_paper = np.nanmax([r for _, _, r in curves["paper"]])
        t_paper, i_paper = time_to_reach(curves["paper"], final - 0.01)
        t_fast, i_fast = time_to_reach(curves["fast"], final - 0.01)
        print(f"  paper-final r {final:.3f} (paper's best {best_paper:.3f}); fast final r {curves['fast'][-1][2]:.3f}")
        print(f"  time to reach paper-final r - 0.01: paper {t_paper:.1f} s (iteration {i_paper}), "
              + (f"fast {t_fast:.1f} s (iteration {i_fast})" if t_fast is not None else "fast: never"))
        if t_fast is not None:
            print(f"  fast / paper wall time: {t_fast / paper_total:.4f} of the paper recipe's {paper_total:.0f} s "
                  f"(1/{paper_total / max(t_fast, 1e-9):.0f}); {t_fast / max(t_paper, 1e-9):.3f} of the paper's own "
                  "time to reach it")
        results[name] = curves
    if results:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, len(results), figsize=(4.2 * len(results), 6.4), squeeze=False)
        for col, (name, curves) in enumerate(results.items()):
            for label, style in (("paper", "-"), ("fast", "-")):
                it, sec, r = zip(*curves[label][1:])
                axes[0, col].plot(it, r, style, label=label)
                axes[1, col].plot(sec, r, style, label=label)
            axes[0, col].set(title=name, xlabel="iteration", ylabel="video r", xscale="log")
            axes[1, col].set(xlabel="seconds", ylabel="video r", xscale="log")
            final = curves["paper"][-1][2]
            for ax in axes[:, col]:
                ax.axhline(final - 0.01, color="grey", lw=0.8, ls="--")
                ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.out, dpi=90)
        print(f"\nwrote {Path(args.out).resolve()}")


if __name__ == "__main__":
    main()
