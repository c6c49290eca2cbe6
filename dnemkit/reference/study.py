"""`characterize study --from-reference DIR`: the paper's own reconstructions through dnemkit's study, nothing
reconstructed.

Each clip's summary files (one per model, :mod:`.summary`) become what a `characterize study` run stores for a
clip: the ground truth, recorded responses and behaviour (a :class:`~dnemkit.experiments.study.plan.Clip`), each
model's reconstruction clipped to [0, 255] (the notebooks clip before averaging), the activity the models predicted
for the true movie (the mean over the files of ``responses_predicted_gt``) and for their eval-masked
reconstructions (the mean of ``responses_predicted_full``), and the file's alpha mask with its thresholds. The
study's own assembly (:func:`~dnemkit.experiments.study.assemble.assemble_study`) then computes every statistic
exactly as it does for dnemkit's reconstructions -- the smoothed mean of the models, frames from 30, the tests
against random videos, the ensemble-size curve, predictors, the ethogram, the unsmoothed variation and the
evaluation-threshold sweep -- so ``study.nc`` and its figures read like any study's, with the paper's reported
values beside ours (attributes ``paper_*``).

When DIR also holds the population-ablation set (``characterize fetch paper-reconstructions --set ablation``: the
folders ``modelfold[K]_datafold_0_pop{50,25,12}_hpc_round4_popreduc``), ``ablation.nc`` is written too: the video
r of every clip at 100, 50, 25 and 12.5 % of the neurons, and the repeated-measures ANOVA over the five mice that
the population-reduction notebook computes.
"""

from pathlib import Path

import numpy as np

from ..errors import DnemkitError, say
from ..video import EVAL_FIRST_FRAME
from .summary import TOP, HEIGHT, clip_files, read_summary

#: the paper's reported values (eLife 105081: Fig. 2, its supplements, Fig. 5) beside which ours are printed
PAPER = {"video_r": (0.569, 0.542, 0.596), "frame_r": (0.512, 0.481, 0.543), "video_vs_random_p": 6.69e-49,
         "frame_vs_random_p": 4.29e-45, "ensemble_anova_p": 1.11e-16, "unsmoothed_change_percent": -6.28,
         "unsmoothed_p": 6.26e-6, "ablation_anova_p": 5.70e-13}
#: the ablation set's folders (after ``modelfold[K]``) and the fraction of neurons each kept
ABLATION_SUFFIXES = (("_datafold_0_pop50_hpc_round4_popreduc", 0.5), ("_datafold_0_pop25_hpc_round4_popreduc", 0.25),
                     ("_datafold_0_pop12_hpc_round4_popreduc", 0.125))
SIGMA = 0.5


#: beside summaries dnemkit wrote (`study --reference-format`): the study's mouse names by index
MOUSE_NAMES = "reference_mice.json"


def write_mouse_names(folder, names, clips):
    """Write ``folder/reference_mice.json``: the mouse name of each index m of the summary files' names and the
    clips [(m, trial)] in the study's order (the reference's files name neither)."""
    import json

    path = Path(folder) / MOUSE_NAMES
    path.write_text(json.dumps({"mice": {str(i): str(n) for i, n in enumerate(names)},
                                "clips": [[int(m), int(t)] for m, t in clips]}, indent=1) + "\n")
    return path


def mouse_names(folder):
    """({index: name}, clip order [(m, trial)] or None) of the summaries in ``folder``: ``reference_mice.json``
    when dnemkit wrote the files, else DwiseNeuro's order of the mice (the five paper mice first, then the five
    older ones) and the reference's trial lists."""
    import json

    from ..fetch.catalogue import NEW_MICE, OLD_MICE

    path = Path(folder) / MOUSE_NAMES
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            return ({int(k): str(v) for k, v in data["mice"].items()},
                    [(int(m), int(t)) for m, t in data["clips"]])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DnemkitError(f"{path} is not the JSON object `characterize study --reference-format` writes "
                               "(mice: index -> name, clips: [index, trial] pairs)") from None
    return dict(enumerate(NEW_MICE + OLD_MICE)), None


def read_clip(paths, *, activity=True, names=None):
    """One clip from its summary files (one per model, in model order).

    Returns (clip, stored, mask): a :class:`~dnemkit.experiments.study.plan.Clip` (``video`` (T, 36, 64) grey
    levels, ``responses`` (N, T), ``behavior`` (4, T)); the Dataset a study stores for a clip (``model_reconstruction``
    (model, frame, y, x) clipped to [0, 255]; with ``activity``, ``predicted_true`` and ``predicted_reconstruction``
    (neuron, frame)); and the file's :class:`~dnemkit.masks.screen.ScreenMask` (alpha, the file's thresholds).
    ``names``: {mouse index: name} (:func:`mouse_names`; a missing index is called ``m{index}``).
    Without ``activity`` the responses are an empty (0, T) array (the ablation needs only the videos).
    """
    import xarray as xr

    from ..experiments.study.plan import Clip
    from ..masks.screen import ScreenMask

    head, videos, true_rates, recon_rates = None, [], [], []
    for path in paths:
        d = read_summary(path)
        if head is None:
            head = d
        elif not np.array_equal(d["video_gt"], head["video_gt"]):
            raise DnemkitError(f"{path}: 'video_gt' differs from {paths[0]}'s; expected every model's file of a "
                               "clip to hold the same ground truth")
        videos.append(np.clip(d["video_pred"], 0, 255))
        if activity:
            true_rates.append(np.asarray(d["responses_predicted_gt"], np.float64).mean(axis=2))
            recon_rates.append(np.asarray(d["responses_predicted_full"], np.float64))
    gt = np.ascontiguousarray(head["video_gt"], np.float32)
    behavior = np.concatenate([head["behavior"], head["pupil_center"]]).astype(np.float32)
    responses = np.asarray(head["responses"], np.float32) if activity else np.zeros((0, len(gt)), np.float32)
    index = int(head["mouse_index"])
    mouse, trial = (names or {}).get(index, f"m{index}"), int(head["trial"])
    clip = Clip(mouse, trial, "test", gt, responses, behavior)
    clip.meta["mouse_index"] = int(head["mouse_index"])
    data = {"model_reconstruction": (("model", "frame", "y", "x"), np.asarray(videos, np.float32))}
    if activity:
        data["predicted_true"] = (("neuron", "frame"), np.mean(true_rates, axis=0).astype(np.float32))
        data["predicted_reconstruction"] = (("neuron", "frame"), np.mean(recon_rates, axis=0).astype(np.float32))
    mask = ScreenMask(np.asarray(head["mask"], np.float32)[TOP:TOP + HEIGHT], "alpha", float(head["mask_update_th"]),
                      float(head["mask_eval_th"]))
    return clip, xr.Dataset(data), mask


def read_clips(folder, *, suffix=None, activity=True, progress=True, desc="reading summaries"):
    """Every clip of one set in ``folder`` (:func:`read_clip`): ([Clip], [stored Dataset], {mouse: ScreenMask},
    model indices). A mouse's clips must have the same mask (clips may differ in length, as recorded trials do)."""
    from tqdm.auto import tqdm

    from .summary import NATURAL_SUFFIX

    files, models, keys = clip_files(folder, suffix or NATURAL_SUFFIX)
    names, order = mouse_names(folder)
    if order is not None:  # the study's own order (clips it does not list, after them)
        rank = {key: i for i, key in enumerate(order)}
        keys = sorted(keys, key=lambda key: (rank.get(key, len(rank)), key))
    clips, stored, masks = [], [], {}
    for m, t in tqdm(keys, desc=desc, unit="clip", disable=not progress, leave=False):
        clip, ds, mask = read_clip([files[k, m, t] for k in models], activity=activity, names=names)
        if clip.mouse in masks and not np.array_equal(masks[clip.mouse].level, mask.level):
            raise DnemkitError(f"{files[models[0], m, t]}: its mask differs from the other files of mouse {m}; "
                               "expected one alpha mask per mouse")
        masks.setdefault(clip.mouse, mask)
        clips.append(clip)
        stored.append(ds)
    return clips, stored, masks, models


def reference_study(folder, *, out=None, ethogram_clips=1, progress=True, log=None):
    """The study of the paper's natural-movie reconstructions in ``folder`` (and its ablation when the folder
    holds that set); see the module docstring.

    Parameters
    ----------
    folder : path
        ``characterize fetch paper-reconstructions`` output (or any folder of ``modelfold[K]_...`` folders, or one
        such folder).
    out : path or None
        Where ``study.nc``, ``study*.png`` (and ``ablation.nc``, ``ablation.png``) are written; None: nothing.
    ethogram_clips : int
        Clips drawn in the ethogram (those nearest the median video r).

    Returns
    -------
    (study, ablation) : xarray.Dataset, xarray.Dataset or None
    """
    from ..experiments.contract import write_outputs
    from ..experiments.study.assemble import assemble_study
    from ..experiments.study.config import StudyConfig
    from ..experiments.study.variations import add_variations, parse_variations
    from ..io.results import provenance

    folder = Path(folder)
    clips, stored, masks, models = read_clips(folder, progress=progress)
    say(log, f"the paper's reconstructions: {len(clips)} clips of {len(masks)} mice, {len(models)} models each, "
             f"from {folder}")
    config = StudyConfig(ethogram_clips=ethogram_clips, keep_duplicates=True)
    duplicates = {(c.mouse, c.trial): (-1, np.nan, False) for c in clips}
    attrs = provenance("study", None, "the paper's DwiseNeuros (their reconstructions, read from the summaries)",
                       None, data=str(folder), source="reference summaries", mask_scale="alpha",
                       mask_scale_note="thresholds on the alpha scale (the paper's transparency masks)",
                       recipe="the paper's, as its files hold it (1000 iterations, each model on its own)",
                       selection="the paper's 10 clips per mouse (its duplicates already replaced by the authors)",
                       duplicates="the authors' selection, their duplicates already replaced (the files hold no "
                       "training clips to search)", duplicates_checked=0,
                       predicted_reconstruction_note="mean over models of the activity each predicted for its own "
                       "eval-masked reconstruction (the files' responses_predicted_full)",
                       **{f"paper_{k}": (list(v) if isinstance(v, tuple) else v) for k, v in PAPER.items()})
    study = assemble_study(clips, stored, masks, duplicates, config, EVAL_FIRST_FRAME, SIGMA, attrs)
    add_variations(study, clips, stored_standard=stored, stored_variations={},
                   variations=parse_variations(["unsmoothed"]), masks=masks, first=EVAL_FIRST_FRAME,
                   sigma=SIGMA, thresholds=None)
    ablation = reference_ablation(folder, natural=(clips, stored, masks), progress=progress, log=log)
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_outputs(study, out)
        if ablation is not None:
            write_outputs(ablation, out)
    return study, ablation


def find_summaries_or_none(folder, suffix):
    """The summaries of one set in ``folder``, or None when it holds none of that set."""
    from .summary import find_summaries

    try:
        return find_summaries(folder, suffix)
    except DnemkitError:
        return None


def reference_ablation(folder, *, natural=None, progress=True, log=None):
    """The population ablation of the paper's files, or None when ``folder`` holds none of the ablation set: video
    and frame r of every clip's smoothed ensemble at each fraction of neurons kept (1 from the natural-movie set,
    0.5 / 0.25 / 0.125 from the ablation set), as the population-reduction notebook scores them, and its
    statistics over mice (:func:`dnemkit.analysis.ablation.ablation_statistics`). ``natural``: the natural set's
    (clips, stored, masks) when already read. Returns an ``ablation.nc`` Dataset (dims keep_fraction, movie
    (clip), seed)."""
    import xarray as xr

    from ..analysis.ablation import ablation_statistics
    from ..experiments.study.variations import clip_scores, ensemble_videos
    from ..io.results import provenance

    present = [find_summaries_or_none(folder, suffix) is not None for suffix, _ in ABLATION_SUFFIXES]
    if not any(present):
        return None
    if not all(present):
        missing = next(suffix for (suffix, _), here in zip(ABLATION_SUFFIXES, present) if not here)
        raise DnemkitError(f"{folder} holds part of the ablation set but no modelfold[K]{missing} folder; expected "
                           "all three levels (characterize fetch paper-reconstructions --set ablation)")
    levels = [(1.0, natural or read_clips(folder, activity=False, progress=progress)[:3])]
    levels += [(fraction, read_clips(folder, suffix=suffix, activity=False, progress=progress,
                                     desc=f"reading the {fraction:g} ablation")[:3])
               for suffix, fraction in ABLATION_SUFFIXES]
    keys = [(c.mouse, c.trial) for c in levels[0][1][0]]
    scores = np.full((2, len(levels), len(keys), 1), np.nan)
    for i, (fraction, (clips, stored, masks)) in enumerate(levels):
        if [(c.mouse, c.trial) for c in clips] != keys:
            raise DnemkitError(f"the {fraction:g} ablation set of {folder} holds other clips than the natural set "
                               f"({len(clips)} vs {len(keys)}); expected the same 50 clips at every level")
        scores[0, i, :, 0], scores[1, i, :, 0] = clip_scores(clips, ensemble_videos(stored, SIGMA), masks,
                                                             EVAL_FIRST_FRAME)
    dims = ("keep_fraction", "movie", "seed")
    ds = xr.Dataset({"video_correlation": (dims, scores[0], {"units": "1", "long_name": "video r of the smoothed "
                                                             "ensemble (frames from 30, eval mask)"}),
                     "frame_correlation": (dims, scores[1], {"units": "1", "long_name": "mean frame r"})},
                    coords={"keep_fraction": [f for f, _ in levels], "movie": np.arange(len(keys)), "seed": [0],
                            "mouse": ("movie", [m for m, _ in keys]), "trial": ("movie", [t for _, t in keys])})
    ds["keep_fraction"].attrs.update(units="1", long_name="fraction of the neurons in the loss")
    ds.attrs.update(provenance("ablation", None, "the paper's DwiseNeuros (their reconstructions)", None,
                               data=str(folder), source="reference summaries", paper_anova_p=PAPER["ablation_anova_p"],
                               neurons_note="the reference multiplied the dropped neurons' targets and predictions "
                               "by 0 (a new seeded subset per clip), dnemkit's ablation leaves them out of the loss"))
    ds = ablation_statistics(ds, subjects="mouse")
    say(log, f"the paper's ablation: {len(keys)} clips at {', '.join(f'{f:g}' for f, _ in levels)} of the neurons")
    return ds


def paper_lines(study, ablation=None):
    """Lines to print after the study's own rows: each of the paper's reported values beside ours."""
    a = study.attrs

    def ci(name):
        v = study[f"mean_{name}_correlation"]
        return f"{float(v):.3f} ({v.attrs.get('ci95_low', np.nan):.3f}-{v.attrs.get('ci95_high', np.nan):.3f})"

    p = PAPER
    lines = ["the paper (eLife 105081) beside these files' numbers:",
             f"  video r   ours {ci('video')}   paper {p['video_r'][0]} ({p['video_r'][1]}-{p['video_r'][2]})",
             f"  frame r   ours {ci('frame')}   paper {p['frame_r'][0]} ({p['frame_r'][1]}-{p['frame_r'][2]})"]
    for what in ("video", "frame"):
        lines.append(f"  {what} r vs random videos (two-sample t-test)   ours p = "
                     f"{float(study[f'{what}_vs_random_p']):.3g}   paper p = {p[f'{what}_vs_random_p']:.3g}")
    if "ensemble_anova_p" in study:
        lines.append(f"  ensemble size (RM-ANOVA over mice)   ours p = {float(study['ensemble_anova_p']):.3g}   paper "
                     "p = 1.11e-16 (its floor: p <= 1.1e-16)")
    if "variation" in study.dims and "unsmoothed" in study["variation"].values:
        v = study.sel(variation="unsmoothed")
        lines.append(f"  no smoothing   ours {float(v['variation_change_percent']):+.2f} % (p = "
                     f"{float(v['variation_p']):.3g})   paper {p['unsmoothed_change_percent']:+.2f} % (p = "
                     f"{p['unsmoothed_p']:.3g})")
    if ablation is not None:
        lines.append(f"  population ablation (RM-ANOVA over mice)   ours p = {float(ablation['anova_p']):.3g}   paper "
                     f"p = {p['ablation_anova_p']:.3g}")
    lines.append(f"  (n = {a.get('n_clips')} clips of {a.get('n_mice')} mice, {a.get('n_models')} models; the paper: "
                 "50 clips of 5 mice, 7 models)")
    return lines
