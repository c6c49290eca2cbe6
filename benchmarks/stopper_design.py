"""How the agreement stopper's constants were chosen: on design clips none of the target settings contains, one
200-iteration fast run per clip, the video r with the truth and the agreement with the decoder's movie every 5
iterations (the same trajectory the stopper follows: every neuron stays in the loss), then each rule's gap to the
best fixed iteration count of 10..200 chosen with the ground truth.

Design clips (docs/method.md, "Knowing when to stop"): the demo encoder on the synthetic mouse's Poisson responses
to held-out natural movies 901 and 902 (`characterize natural --seed 1/2`), the synthetic mouse on its own
responses to movies 901-903 (`--encoder synthetic --seed 1..3`), two clips each of simulated mice 7-10 (the
study's mice are 0-4; movies 7,000,000+). The demo clips take about 6 minutes each on a shared 2-core CPU, the
others 20-60 s.

    python benchmarks/stopper_design.py                        # every design clip
    python benchmarks/stopper_design.py --clips synthetic:1,sim:7
"""

import argparse

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from dnemkit.analysis.metrics import video_correlation
from dnemkit.decoders import decoder_for
from dnemkit.encoders.ref import EncoderRef
from dnemkit.experiments.targets import synthetic_recording
from dnemkit.masks import resolve_mask
from dnemkit.reconstruction import Recipe, reconstruct
from dnemkit.reconstruction.stoppers import AgreementStopper
from dnemkit.stimuli.natural import natural_movie
from methods import BUDGET, sim_clips

DESIGN = "demo:1,demo:2,synthetic:1,synthetic:2,synthetic:3,sim:7,sim:8,sim:9,sim:10"
EVERY, PATIENCE = 5, 20


class _Keep:
    """A tracker keeping the smoothed ensemble (the result the loop would return) every ``EVERY`` iterations."""

    name, every = "kept", EVERY

    def __init__(self):
        self.videos = []

    def __call__(self, videos, ensemble, first):
        self.videos.append(ensemble[0].copy())
        return np.zeros((videos.shape[0] + 1, videos.shape[1]), np.float32)


def design_clips(specs):
    for spec in specs.split(","):
        kind, seed = spec.split(":")
        if kind == "sim":
            yield from sim_clips(int(seed), 2, 300)
            continue
        movie = natural_movie(seed=900 + int(seed)).values.astype(np.float32)
        responses, behavior, _ = synthetic_recording(movie, int(seed), 2000)
        yield f"{kind}-seed{seed}", EncoderRef(kind), movie, responses, behavior


def traces(ref, movie, responses, behavior, blurs):
    """(looks, video r with the truth per look, {blur: agreement per look}) of one 200-iteration fast run."""
    mask, _ = resolve_mask("auto", ref, progress=False)
    decoded = decoder_for(ref)[0].decode(responses).reshape(movie.shape)
    keep = _Keep()
    res = reconstruct(ref.encoder, responses, behavior, Recipe.named("fast", iterations=BUDGET),
                      train_mask=mask.train, trackers=[keep], progress=False)
    looks = np.asarray(res.tracked_iterations["kept"])
    truth = np.array([video_correlation(movie, v, mask=mask.eval) for v in keep.videos])
    agreement = {}
    for blur in blurs:
        ref_b = gaussian_filter(decoded, (0, blur, blur)) if blur else decoded
        agreement[blur] = np.array([video_correlation(ref_b, gaussian_filter(v, (0, blur, blur)) if blur else v,
                                                      mask=mask.eval) for v in keep.videos])
    return looks, truth, agreement


def chosen(looks, agreement, lag):
    """The look the agreement stopper returns (patience ``PATIENCE``, lag ``lag``), by the stopper itself."""
    stopper = AgreementStopper(np.zeros((1, 36, 64)), every=EVERY, patience=PATIENCE, lag=lag)
    for i, value in zip(looks, agreement):
        if stopper.observe(int(i), value, lambda i=i: int(i)):
            break
    return stopper.best_iteration


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", default=DESIGN, help="demo:K, synthetic:K (movie 900+K), sim:MOUSE (2 clips)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    blurs, lags = (0.0, 1.0, 2.0), (0, 5, 10, 15)
    gaps = {(b, lag): [] for b in blurs for lag in lags}
    print("clip: best fixed count of 10..200 (at) | agreement peak (r there) | peak + 10 (r there)")
    for name, ref, movie, responses, behavior in design_clips(args.clips):
        looks, truth, agreement = traces(ref, movie, responses, behavior, blurs)
        fixed = (looks >= 10) & (looks % 10 == 0)
        best = int(np.argmax(np.where(fixed, truth, -np.inf)))
        r_at = dict(zip(looks.tolist(), truth))
        for b in blurs:
            for lag in lags:
                gaps[(b, lag)].append(truth[best] - r_at[chosen(looks, agreement[b], lag)])
        peak = int(looks[np.nanargmax(agreement[0.0])])
        c = chosen(looks, agreement[0.0], 10)
        print(f"{name}: {truth[best]:.3f} ({looks[best]}) | {peak} ({r_at[peak]:.3f}) | {c} ({r_at[c]:.3f})",
              flush=True)
    for (b, lag), g in gaps.items():
        print(f"blur {b:g} px, lag {lag:2d}: at most {max(g):.3f} below the best fixed count (mean {np.mean(g):.4f})")


if __name__ == "__main__":
    main()
