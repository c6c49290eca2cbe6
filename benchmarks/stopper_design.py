"""How the agreement and deviance stoppers' constants were chosen: on design clips none of the target settings
contains, one 200-iteration fast run per clip, the video r with the truth, the agreement with the decoder's movie
and the deviance ratio every 5 iterations (the same trajectory the stoppers follow: every neuron stays in the
loss), then each rule's gap to the best fixed iteration count of 10..200 chosen with the ground truth, each rule
replayed by the stopper itself on the watched values. ``--neuron-fraction`` keeps a seeded fraction of the neurons
in the loss (the deviance stopper's excess scales with their number).

Design clips (docs/method.md, "Knowing when to stop"): the demo encoder on the synthetic mouse's Poisson responses
to held-out natural movies 901 and 902 (`characterize natural --seed 1/2`), the synthetic mouse on its own
responses to movies 901-903 (`--encoder synthetic --seed 1..3`), two clips each of simulated mice 7-10 (the
study's mice are 0-4; movies 7,000,000+). The demo clips take about 6 minutes each on a shared 2-core CPU, the
others 20-60 s.

    python benchmarks/stopper_design.py                        # every design clip
    python benchmarks/stopper_design.py --clips synthetic:1,sim:7
    python benchmarks/stopper_design.py --clips sim:7,sim:8,sim:9,sim:10 --neuron-fraction 0.25
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
from dnemkit.reconstruction.passes import tiled_rates
from dnemkit.reconstruction.stoppers import AgreementStopper, DevianceStopper
from dnemkit.stimuli.natural import natural_movie
from methods import BUDGET, sim_clips

DESIGN = "demo:1,demo:2,synthetic:1,synthetic:2,synthetic:3,sim:7,sim:8,sim:9,sim:10"
EVERY, PATIENCE = 5, 20


class _Keep:
    """A tracker keeping the smoothed ensemble (the result the loop would return) and the deviance ratio of the
    neurons in the loss every ``EVERY`` iterations."""

    name, every = "kept", EVERY

    def __init__(self, encoder, responses, behavior, neurons):
        self.encoder, self.neurons = encoder, neurons
        self.targets = torch.as_tensor(np.clip(responses[neurons], 0, None))[None]
        self.behavior = torch.as_tensor(behavior)[None]
        self.videos, self.ratios = [], []

    def __call__(self, videos, ensemble, first):
        self.videos.append(ensemble[0].copy())
        rates = tiled_rates(self.encoder, torch.as_tensor(videos[0]), self.behavior)[:, self.neurons, first:]
        self.ratios.append(float(DevianceStopper.fit_value([rates], self.targets[..., first:])[0]))
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


def traces(ref, movie, responses, behavior, blurs, neurons):
    """(looks, video r with the truth per look, {blur: agreement per look}, deviance ratio per look) of one
    200-iteration fast run with ``neurons`` in the loss."""
    mask, _ = resolve_mask("auto", ref, progress=False)
    decoded = decoder_for(ref)[0].decode(responses).reshape(movie.shape)
    keep = _Keep(ref.encoder, responses, behavior, neurons)
    res = reconstruct(ref.encoder, responses, behavior, Recipe.named("fast", iterations=BUDGET),
                      train_mask=mask.train, trackers=[keep], progress=False, neurons=neurons)
    looks = np.asarray(res.tracked_iterations["kept"])
    truth = np.array([video_correlation(movie, v, mask=mask.eval) for v in keep.videos])
    agreement = {}
    for blur in blurs:
        ref_b = gaussian_filter(decoded, (0, blur, blur)) if blur else decoded
        agreement[blur] = np.array([video_correlation(ref_b, gaussian_filter(v, (0, blur, blur)) if blur else v,
                                                      mask=mask.eval) for v in keep.videos])
    return looks, truth, agreement, np.array(keep.ratios)


def chosen_by_deviance(looks, ratios, plateau, excess, neurons):
    """The look the deviance stopper returns (patience ``PATIENCE``), by the stopper itself."""
    stopper = DevianceStopper(every=EVERY, patience=PATIENCE, plateau=plateau, excess=excess)
    stopper.neurons = neurons
    for i, value in zip(looks, ratios):
        if stopper.observe(int(i), value, lambda i=i: int(i)):
            break
    return stopper.best_iteration


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
    p.add_argument("--neuron-fraction", type=float, default=1.0, help="fraction of the neurons in the loss")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    blurs, lags = (0.0, 1.0, 2.0), (0, 5, 10, 15)
    plateaus, excesses = (0.005, 0.01, 0.015), (0.03, 0.035, 0.04, 0.045, 0.05, 0.06)
    gaps = {(b, lag): [] for b in blurs for lag in lags}
    deviance_gaps = {(p_, e): [] for p_ in plateaus for e in excesses}
    print("clip: best fixed count of 10..200 (at) | agreement peak (r there) | peak + 10 (r there) | deviance "
          "stopper's choice (r there)")
    for name, ref, movie, responses, behavior in design_clips(args.clips):
        n = responses.shape[0]
        neurons = np.sort(np.random.default_rng(0).permutation(n)[:max(1, round(args.neuron_fraction * n))])
        looks, truth, agreement, ratios = traces(ref, movie, responses, behavior, blurs, neurons)
        fixed = (looks >= 10) & (looks % 10 == 0)
        best = int(np.argmax(np.where(fixed, truth, -np.inf)))
        r_at = dict(zip(looks.tolist(), truth))
        for b in blurs:
            for lag in lags:
                gaps[(b, lag)].append(truth[best] - r_at[chosen(looks, agreement[b], lag)])
        for p_, e in deviance_gaps:
            deviance_gaps[(p_, e)].append(truth[best] - r_at[chosen_by_deviance(looks, ratios, p_, e, len(neurons))])
        peak = int(looks[np.nanargmax(agreement[0.0])])
        c = chosen(looks, agreement[0.0], 10)
        d = chosen_by_deviance(looks, ratios, 0.01, 0.045, len(neurons))
        print(f"{name}: {truth[best]:.3f} ({looks[best]}) | {peak} ({r_at[peak]:.3f}) | {c} ({r_at[c]:.3f}) | "
              f"{d} ({r_at[d]:.3f})", flush=True)
    for (b, lag), g in gaps.items():
        print(f"agreement, blur {b:g} px, lag {lag:2d}: at most {max(g):.3f} below the best fixed count (mean "
              f"{np.mean(g):.4f})")
    for (p_, e), g in deviance_gaps.items():
        print(f"deviance, plateau {p_:g}, excess {e:g} (x sqrt(2000 / {len(neurons)})): at most {max(g):.3f} below "
              f"the best fixed count (mean {np.mean(g):.4f}, {sum(x > 0.01 for x in g)} clip(s) over 0.01)")


if __name__ == "__main__":
    main()
