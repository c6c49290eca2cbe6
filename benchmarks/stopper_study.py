"""The agreement stopper against the best fixed iteration count on the 5-mouse simulated study's clips.

For every clip `characterize study --data /work/runs/sim --encoder synthetic` selects (its masks, each mouse's
study decoder): one fast run over the stoppers' budget (200 iterations) with the video r against the truth and the
agreement with the decoder's movie (unblurred and blurred 1-3 px) every 5 iterations, written to OUT (JSON) after
each clip. The agreement stopper follows that run's trajectory (every neuron stays in the loss), so its choice is
replayed on the agreement trace (`stopper_design.chosen`). With --paper: the paper recipe's final r on the first
clip of each mouse instead (370-500 s a clip on a shared 2-core CPU).

    python benchmarks/stopper_study.py oracle.json
    python benchmarks/stopper_study.py paper.json --paper
"""
import sys, time, json
import numpy as np, torch
torch.set_num_threads(1)
from scipy.ndimage import gaussian_filter
from dnemkit.analysis.metrics import video_correlation
from dnemkit.experiments.study import StudyConfig
from dnemkit.experiments.study.experiment import prepare
from dnemkit.experiments.study.methods import decoder_identity, decoder_trials, study_decoder
from dnemkit.reconstruction import Recipe, reconstruct

DATA = "/work/runs/sim"


class Trace:
    every = 5
    def __init__(self, name, fn): self.name, self.fn = name, fn
    def __call__(self, videos, ensemble, first):
        return np.full((videos.shape[0] + 1, videos.shape[1]), self.fn(ensemble[0]), np.float32)

config = StudyConfig(data=DATA, encoder="synthetic", methods=("fast",))
plans, masks, _, clips, *_ = prepare(config, progress=False)
paper = "--paper" in sys.argv
out = {}
decoders = {}
for mp in plans:
    trials = decoder_trials(mp.mouse, mp.selected)
    decoders[mp.name] = study_decoder(mp.mouse, trials, decoder_identity(mp.mouse, trials))[0]
refs = {mp.name: mp.ref for mp in plans}
seen = set()
for c in clips:
    if paper and c.mouse in seen:
        continue
    seen.add(c.mouse)
    m = masks[c.mouse]
    dec = decoders[c.mouse].decode(c.responses)
    dec = dec.reshape((-1,) + c.video.shape)[0]
    trs = [Trace("truth", lambda e: video_correlation(c.video, e, mask=m.eval, first_frame=30))]
    for b in (0, 1, 2, 3):
        db = gaussian_filter(dec, (0, b, b)) if b else dec
        trs.append(Trace(f"ag{b}", lambda e, b=b, db=db: video_correlation(db, gaussian_filter(e, (0, b, b)) if b else e, mask=m.eval, first_frame=30)))
    recipe = Recipe.named("paper") if paper else Recipe.named("fast", iterations=200)
    if paper:
        trs = trs[:1]
        trs[0].every = 100
    t0 = time.perf_counter()
    res = reconstruct(refs[c.mouse].encoder, c.responses, c.behavior, recipe, train_mask=m.train, trackers=trs, progress=False)
    key = f"{c.mouse[:17]}-{c.trial}"
    out[key] = {"its": res.tracked_iterations["truth"].tolist(),
                **{t.name: res.traces[t.name][:, -1, 0].tolist() for t in trs},
                "decoder_r": video_correlation(c.video, dec, mask=m.eval, first_frame=30),
                "final": video_correlation(c.video, res.ensemble[0], mask=m.eval, first_frame=30)}
    print(key, f"{time.perf_counter() - t0:.0f}s final {out[key]['final']:.3f}", flush=True)
    json.dump(out, open(sys.argv[1], "w"))
