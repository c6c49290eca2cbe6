"""Reconstruction methods side by side on the same clips: the DNEM's recipes, the held-out stopper, the linear
decoder alone and as the start of the fast recipe.

Clips (the targets are Poisson responses, what a recording gives):

- ``demo``: the demo encoder reconstructs the synthetic mouse's Poisson responses to the held-out natural movie
  (seed 900), shipped mask: `characterize natural` with no arguments;
- ``synthetic``: the synthetic mouse reconstructs its own Poisson responses to that movie, sensitivity mask:
  `characterize natural --encoder synthetic`;
- ``sim``: clips of a simulated mouse (`characterize simulate`, synthetic mouse seed ``--sim-mouse``, movies no
  shipped model has seen), each reconstructed by that mouse's own model (``synthetic:SEED``) from its recorded
  Poisson responses, sensitivity mask.

Methods: ``paper`` (``--paper-iterations``), ``fast`` (40 iterations), ``fast+heldout`` (the held-out stopper,
budget 200; ``fast+heldout-z2``: a decrease counts only beyond 2 standard errors; ``fast+heldout-rerun``: rerun
with every neuron to the chosen iteration), ``fast+agreement`` (the agreement stopper: the video r with the
decoder's movie inside the evaluation mask, budget 200; its seconds include the decoding), ``fast+deviance`` (the
deviance stopper: the Poisson deviance of the targets over its noise level, budget 200), ``decoder`` (the linear
decoder's movie), ``decoder+fast`` (the fast recipe from the decoder's movie), and ``oracle``: the fast recipe over
the stoppers' budget (200, all neurons) scored every 10 iterations with the ground truth; its best is "the best fixed iteration count of 10..200" a stopper without ground truth can at most
reach. Prints per clip and method the video r, mean frame r, seconds, and the iteration the stopper chose. The
decoders are fitted on the encoder's own Poisson responses to library movies (cached; the fit's seconds are
printed once, not counted in the method's). Metric: the smoothed ensemble inside the evaluation mask, frames
30..T-1. Run it alone: another torch process on a 2-core machine slows both many-fold.

    python benchmarks/methods.py                                 # demo + 2 simulated clips, paper 1000 iterations
    python benchmarks/methods.py --clips demo --paper-iterations 300
"""

import argparse
import tempfile
import time

import numpy as np
import torch

from dnemkit.analysis.metrics import quality_metrics
from dnemkit.analysis.tracking import VideoCorrelationTracker
from dnemkit.decoders import decoder_for
from dnemkit.encoders.ref import EncoderRef
from dnemkit.experiments.targets import synthetic_recording
from dnemkit.masks import resolve_mask
from dnemkit.reconstruction import Recipe, reconstruct
from dnemkit.reconstruction.stoppers import make_stopper
from dnemkit.stimuli.natural import natural_movie
from dnemkit.video import EVAL_FIRST_FRAME

BUDGET = 200


def natural_clip(spec="demo"):
    """The held-out natural movie (seed 900) and the synthetic mouse's Poisson responses to it, reconstructed by
    encoder ``spec`` (as `characterize natural --encoder SPEC`)."""
    movie = natural_movie(seed=900).values.astype(np.float32)
    responses, behavior, _ = synthetic_recording(movie, 0, 2000)
    return spec, EncoderRef(spec), movie, responses, behavior


def sim_clips(mouse_seed, n_clips, frames):
    """Labelled trials of a freshly simulated mouse (movies 7,000,000+: no shipped model has seen them)."""
    from dnemkit.data import find_mouse
    from dnemkit.experiments.simulate import simulate

    root = tempfile.mkdtemp(prefix="dnemkit-methods-")
    simulate(root, seed=mouse_seed, trials=n_clips, frames=frames, movie_base=7_000_000, oracle=False)
    mouse = find_mouse(root)
    out = []
    for tid in [t for t in mouse.trial_ids if mouse.is_labeled(t)][:n_clips]:
        tr = mouse.trial(tid)
        out.append((f"sim{mouse_seed}-trial{tid}", EncoderRef(f"synthetic:{mouse_seed}"), tr.video, tr.responses,
                    tr.behavior4))
    return out


def score(movie, video, mask):
    m = quality_metrics(movie, video, mask=mask.eval, first_frame=EVAL_FIRST_FRAME)
    return m["video_correlation"], m["frame_correlation"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", default="demo,sim", help="demo, synthetic, sim (comma-separated)")
    p.add_argument("--sim-mouse", type=int, default=1)
    p.add_argument("--sim-clips", type=int, default=2)
    p.add_argument("--sim-frames", type=int, default=300)
    p.add_argument("--paper-iterations", type=int, default=1000)
    p.add_argument("--methods", default="paper,fast,fast+heldout,fast+agreement,decoder,decoder+fast,oracle")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    methods = args.methods.split(",")
    clips = []
    for spec in ("demo", "synthetic"):
        if spec in args.clips.split(","):
            clips.append(natural_clip(spec))
    if "sim" in args.clips:
        clips += sim_clips(args.sim_mouse, args.sim_clips, args.sim_frames)
    print(f"torch threads: {torch.get_num_threads()}; paper {args.paper_iterations} iterations, fast 40, "
          f"stopper budget {BUDGET}")
    rows = []
    for name, ref, movie, responses, behavior in clips:
        encoder = ref.encoder
        mask, mask_line = resolve_mask("auto", ref, progress=False)
        started = time.perf_counter()
        decoder, line = decoder_for(ref)
        print(f"\n== {name}: {mask_line}\n   {line} ({time.perf_counter() - started:.0f} s)")
        t0 = time.perf_counter()
        start = decoder.decode(responses)[None]
        decode_s = time.perf_counter() - t0

        def run(recipe, start=None, tracker_every=0, stopper=None):
            tracker = VideoCorrelationTracker(movie, eval_mask=mask.eval, every=tracker_every)
            res = reconstruct(encoder, responses, behavior, recipe, train_mask=mask.train, start=start,
                              trackers=[tracker] if tracker_every else [], progress=False, stopper=stopper)
            return res

        for method in methods:
            chosen, extra = "", ""
            if method == "decoder":
                (r, fr), secs = score(movie, start[0], mask), decode_s
            else:
                recipe = {"paper": Recipe.named("paper", iterations=args.paper_iterations),
                          "fast": Recipe.named("fast"),
                          "fast+heldout": Recipe.named("fast", iterations=BUDGET, stopper="heldout"),
                          "fast+heldout-z2": Recipe.named("fast", iterations=BUDGET, stopper="heldout",
                                                          stopper_min_z=2.0),
                          "fast+heldout-rerun": Recipe.named("fast", iterations=BUDGET, stopper="heldout",
                                                             stopper_rerun=True),
                          "fast+agreement": Recipe.named("fast", iterations=BUDGET, stopper="agreement"),
                          "fast+deviance": Recipe.named("fast", iterations=BUDGET, stopper="deviance"),
                          "decoder+fast": Recipe.named("fast", start="decoder"),
                          "oracle": Recipe.named("fast", iterations=BUDGET)}[method]
                stopper = make_stopper(recipe, decoded=start, mask=mask.eval) if recipe.stopper == "agreement" \
                    else None
                res = run(recipe, start if method == "decoder+fast" else None,
                          10 if method in ("oracle", "paper") else 0, stopper)
                r, fr = score(movie, res.ensemble[0], mask)
                secs = res.seconds + (decode_s if method in ("decoder+fast", "fast+agreement") else 0)
                if res.stopped_at is not None:
                    chosen = f"chose {res.stopped_at} of {res.iterations_run} run"
                if method in ("oracle", "paper"):
                    trace = res.traces["video_correlation"][:, -1, 0]
                    its = res.tracked_iterations["video_correlation"]
                    ok = its >= 10
                    k = int(np.argmax(np.where(ok, trace, -np.inf)))
                    extra = f"best {trace[k]:.3f} at {its[k]}"
            rows.append((name, method, r, fr, secs, chosen or extra))
            print(f"   {method:13s} video r {r:.3f}  frame r {fr:.3f}  {secs:7.1f} s  {chosen or extra}", flush=True)
            if method == "oracle":  # the curve a stopper is judged against
                print("   oracle trace: " + " ".join(f"{i}:{v:.3f}" for i, v in zip(its, trace)), flush=True)
    print("\nclip            method         video r  frame r  seconds  note")
    for name, method, r, fr, secs, note in rows:
        print(f"{name:15s} {method:13s}  {r:.3f}    {fr:.3f}  {secs:7.1f}  {note}")


if __name__ == "__main__":
    main()
