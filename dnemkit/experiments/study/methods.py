"""Methods side by side in a study (`characterize study --methods`): each clip reconstructed (or decoded) by
several methods, each method a unit per clip in the same store, scored like the standard run and tested, paired
over clips (over mice with two or more), against ``fast``.

Names: ``paper`` (the paper's recipe at its budget, 1000 iterations, or the study's --iterations when given),
``fast`` (the fast recipe at 40 iterations or the study's --iterations; when the study's recipe is that recipe,
its units *are* the standard run's: nothing is reconstructed twice), ``fast+heldout`` (fast with the held-out
stopper, a budget of 200 iterations unless --iterations is given), ``fast+agreement`` (fast with the agreement
stopper: it watches the video r with the decoder's movie; the same budget; its seconds include the decoding),
``fast+deviance`` (fast with the deviance stopper: it watches the fit to the responses; the same budget),
``decoder`` (the linear decoder's movie alone: no reconstruction; its seconds are the decoding time) and
``decoder+fast`` (fast started from the decoder's movie; its seconds include the decoding). ``fast`` is always
there, first: the reference of the paired tests.

The decoder: one per mouse, fitted on that mouse folder's labelled 'train' trials *outside* the study's
selection (the fold, or the tiers' trials: the decoder never sees a clip it is scored on), cached beside the
decoders of `characterize decoder fit`; its identity (mouse, trials, decoder options) enters the ids of the units
that use it. The reconstructions are scored as the standard run (the smoothed mean of the models' videos, the
evaluation mask, frames >= 30); the decoder's movie is scored as it is (not smoothed again).
"""

from dataclasses import dataclass

import numpy as np

from ...errors import DnemkitError
from ...units import DIMENSIONLESS, PERCENT, SECOND

NAMES = ("paper", "fast", "fast+heldout", "fast+agreement", "fast+deviance", "decoder", "decoder+fast")
REFERENCE = "fast"
#: the stoppers' budget of the fast recipe (as `characterize natural --stopper heldout|agreement|deviance`)
STOPPER_BUDGET = 200


@dataclass(frozen=True)
class Method:
    """One named method: its recipe (None: the decoder alone) and whether it uses the decoder (its movie is the
    start, the result, or what the agreement stopper watches)."""

    name: str
    recipe: object = None
    decoder: bool = False

    @property
    def reconstructs(self):
        return self.recipe is not None


def parse_methods(names):
    """The method names of ``names`` in order, ``fast`` first (the reference) when any is given; () for none;
    one clear error for an unknown name."""
    out = []
    for name in names:
        name = str(name).strip()
        if not name:
            continue
        if name not in NAMES:
            raise DnemkitError(f"method {name!r} is unknown; expected {', '.join(NAMES)} (comma-separated)")
        if name not in out:
            out.append(name)
    if out and REFERENCE not in out:
        out.insert(0, REFERENCE)
    elif out:
        out.insert(0, out.pop(out.index(REFERENCE)))
    return tuple(out)


def build_methods(names, recipe, iterations_default):
    """(Method, ...) of ``names`` (:func:`parse_methods`) for a study whose recipe is ``recipe``;
    ``iterations_default`` {recipe name: budget}: the study's iterations count as given when they differ from
    its recipe's default, and then every method runs them (the stopper's budget included)."""
    from ...reconstruction.config import Recipe

    given = recipe.iterations != iterations_default.get(recipe.name)

    def named(name):
        return Recipe.named(name, iterations=recipe.iterations if given else iterations_default[name],
                            seed=recipe.seed)

    fast = named("fast")
    budget = fast.iterations if given else max(fast.iterations, STOPPER_BUDGET)
    recipes = {"paper": named("paper"), "fast": fast,
               "fast+heldout": fast.replace(stopper="heldout", iterations=budget),
               "fast+agreement": fast.replace(stopper="agreement", iterations=budget),
               "fast+deviance": fast.replace(stopper="deviance", iterations=budget),
               "decoder": None, "decoder+fast": fast.replace(start="decoder")}
    return tuple(Method(n, recipes[n], decoder=n.startswith("decoder") or n == "fast+agreement")
                 for n in parse_methods(names))


def decoder_trials(mouse, exclude):
    """The labelled 'train' trial ids of ``mouse`` the study's decoder is fitted on: all but ``exclude``."""
    exclude = set(int(t) for t in exclude)
    return [t for t in mouse.trials("train") if t not in exclude and mouse.is_labeled(t)]


def decoder_identity(mouse, trials, config=None):
    """The content id of a mouse's study decoder: the mouse folder, its training trials' arrays and the
    decoder's options."""
    from dataclasses import asdict

    from ...decoders.linear import DecoderConfig
    from ..runs.ids import fingerprint_array, stable_hash

    config = config or DecoderConfig()
    arrays = [fingerprint_array(mouse.video(t)[:1]) for t in trials]
    return stable_hash({"kind": "study-decoder", "mouse": mouse.name, "trials": [int(t) for t in trials],
                        "first_frames": arrays, "config": asdict(config)})


def study_decoder(mouse, trials, identity, config=None):
    """(LinearDecoder, line): the study's decoder of ``mouse``, from the cache, else fitted on ``trials`` now
    and cached (an unwritable cache costs a refit next time)."""
    import time

    from ...decoders.linear import DecoderConfig, LinearDecoder, fit_linear_decoder
    from ...decoders.resolve import cache_dir
    from ...io.results import provenance, read_dataset, write_dataset

    config = config or DecoderConfig()
    path = cache_dir() / f"study-{identity[:16]}-decoder.nc"
    if path.exists():
        try:
            decoder = LinearDecoder.from_dataset(read_dataset(path, "decoder"))
            return decoder, f"{mouse.name}: decoder cached ({path.name}); {decoder.summary()}"
        except (DnemkitError, KeyError, ValueError):
            pass
    started = time.perf_counter()
    videos, responses = [], []
    for t in trials:
        tr = mouse.trial(t)
        if tr.responses is not None and np.isfinite(tr.responses).all() and tr.length >= 32:
            videos.append(tr.video)
            responses.append(tr.responses)
    decoder = fit_linear_decoder(videos, responses, f"{len(videos)} recorded training trials of {mouse.name} "
                                 "outside the study's selection", config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_dataset(decoder.to_dataset(**provenance("decoder", config, "study", config.seed,
                                                      data=str(mouse.path))), path)
    except OSError:
        pass
    return decoder, (f"{mouse.name}: decoder fitted now in {time.perf_counter() - started:.0f} s and cached; "
                     f"{decoder.summary()}")


def method_iterations(stored):
    """Iterations run of a stored unit (the stopper's chosen iteration for a held-out stop; 0: the decoder)."""
    if "iterations" in stored.attrs:
        return int(stored.attrs["iterations"])
    return int(stored.sizes.get("iteration", 0))


def add_methods(ds, clips, *, stored, methods, masks, first, sigma):
    """Add the methods' per-clip scores, seconds and iterations and their tests against ``fast`` to the study
    Dataset ``ds`` (in place). stored: {method name: [stored clip Dataset per clip]}."""
    from ...analysis.study import compare_with_first
    from .variations import clip_scores, ensemble_videos

    names = [m.name for m in methods]
    video_r, frame_r, seconds, iterations = [], [], [], []
    for m in methods:
        videos = ensemble_videos(stored[m.name], sigma if m.reconstructs else 0.0)
        v, f = clip_scores(clips, videos, masks, first)
        video_r.append(v)
        frame_r.append(f)
        seconds.append([float(s.attrs["seconds"]) for s in stored[m.name]])
        iterations.append([method_iterations(s) for s in stored[m.name]])
    ds.coords["method"] = names
    ds["method_video_correlation"] = (("method", "clip"), np.array(video_r),
                                      {"units": DIMENSIONLESS, "long_name": "video r of each method"})
    ds["method_frame_correlation"] = (("method", "clip"), np.array(frame_r),
                                      {"units": DIMENSIONLESS, "long_name": "frame r of each method"})
    ds["method_seconds"] = (("method", "clip"), np.array(seconds),
                            {"units": SECOND, "long_name": "seconds of each method per clip (a batch's time, shared "
                             "by its clips; the decoder: decoding, without fitting)"})
    ds["method_iterations"] = (("method", "clip"), np.array(iterations, dtype=np.int64),
                               {"units": DIMENSIONLESS, "long_name": "iterations run (a stopper: the chosen "
                                "iteration; the decoder: 0)"})
    included = ds["included"].values.astype(bool)
    res = compare_with_first(np.array(video_r).T[included], np.asarray([c.mouse for c in clips])[included])
    table, kind, change, p = res["table"], res["subjects"], res["change_percent"], res["p"]
    mean = np.nanmean(table, 0)
    ds["method_mean_video_correlation"] = ("method", mean, {"units": DIMENSIONLESS,
                                                            "long_name": f"mean video r over {kind}"})
    ds["method_change_percent"] = ("method", change, {"units": PERCENT, "long_name": "100 x (mean r - mean r fast) / "
                                                      f"mean r fast, means over {kind}"})
    ds["method_p"] = ("method", p, {"units": DIMENSIONLESS, "long_name": f"paired t-test against fast over {kind}"})
    ds.attrs["method_subjects"] = kind
    ds.attrs["method_recipes"] = "; ".join(
        f"{m.name}: " + ("the decoder's movie" if m.recipe is None else
                         f"{m.recipe.name} {m.recipe.iterations} iterations, start {m.recipe.start}, "
                         f"stopper {m.recipe.stopper}") for m in methods)
