"""The reference's reconstruction summaries (``reconstruction_summary_m{m}_t{t}.npy``): read, check, assemble, write.

One file per clip and model, written by the reference's natural-movie script at the end of a reconstruction: a
dict with the run's settings, the ground-truth and reconstructed videos (T, 36, 64) in grey levels, the recorded
responses (N, T) (a torch tensor), the responses each model predicted for the true movie (N, T, M), the ensemble's
prediction for the masked reconstruction (N, T), behaviour (2, T), pupil centre (2, T), the 64 x 64 alpha mask,
and metrics tracked every ``track_itter`` iterations. :data:`FIELDS` lists every key with its shape.

:func:`read_summary` returns a checked dict of numpy values, :func:`read_summaries` a folder of them as one
``xarray.Dataset`` (dims ``model``, ``clip`` with ``mouse``/``trial`` coordinates, ``frame``, ``y``, ``x``,
``neuron``, ``iteration``), :func:`write_summary` a file the reference's notebooks read.
"""

import re
from pathlib import Path, PurePosixPath

from .. import units
from ..errors import DnemkitError
from .pickles import dump_pickle, load_pickle

HEIGHT, WIDTH, PADDED = 36, 64, 64
TOP = 14  # the 36 screen rows sit at rows 14..49 of the model's 64-row frame

# key -> shape (symbols: T frames, N neurons, M models predicting, I tracked iterations, E motion-energy steps,
# K models used, S stride steps; () a scalar; None: any value). The order is the save call's.
FIELDS = {
    "epochs": (), "strides": ("S",), "strides_switch": ("S",), "track_itter": (), "plot_itter": (), "lr": (),
    "loss_func": None, "response_dropout_rate": (), "mouse_index": (), "trial": (), "load_skip_frames": (),
    "eval_frame_skip": (), "video_length": (), "subbatch_size": (), "subbatch_shift": (), "model_paths": None,
    "model_list": ("K",), "data_fold": None, "save_path": None, "population_reduction": (), "population_mask": None,
    "vid_init": None, "lr_warmup_epochs": (), "use_adam": (), "adam_beta1": (), "adam_beta2": (), "adam_eps": (),
    "mask": (PADDED, WIDTH), "mask_update_th": (), "mask_eval_th": (), "with_gradnorm": (), "clip_grad": (),
    "device": None, "video_gt": ("T", HEIGHT, WIDTH), "video_pred": ("T", HEIGHT, WIDTH), "behavior": (2, "T"),
    "pupil_center": (2, "T"), "responses": ("N", "T"), "responses_predicted_gt": ("N", "T", "M"),
    "responses_predicted_full": ("N", "T"), "video_itter": ("I",), "response_loss_gt": (),
    "response_loss_full": ("I",), "response_corr_gt": (), "response_corr_full": ("I",), "video_corr": ("I",),
    "video_RMSE": ("I",), "motion_energy_gt": ("E",), "motion_energy_recon": ("E",), "training_time": (),
}
TEXT = ("loss_func", "data_fold", "save_path", "vid_init", "device")
NAME = re.compile(r"reconstruction_summary_m(\d+)_t(\d+)\.npy")
FOLDER = re.compile(r"modelfold\[(\d+)\]")
#: the end of the natural-movie set's folder names (model K's: ``modelfold[K]_datafold_0_pop100_hpc_round5``)
NATURAL_SUFFIX = "_datafold_0_pop100_hpc_round5"

# the paper's settings, as the natural-movie script saved them (what write_summary fills in when not given)
PAPER_SETTINGS = {
    "epochs": 1000, "strides": [8], "strides_switch": [1000], "track_itter": 10, "plot_itter": 10, "lr": 1000,
    "loss_func": "poisson", "response_dropout_rate": 0, "load_skip_frames": 0, "eval_frame_skip": 32,
    "subbatch_size": 32, "subbatch_shift": 8, "data_fold": "fold_0", "population_reduction": 0,
    "population_mask": None, "vid_init": "gray", "lr_warmup_epochs": 10, "use_adam": True, "adam_beta1": 0.9,
    "adam_beta2": 0.999, "adam_eps": 1e-8, "mask_update_th": 0.5, "mask_eval_th": 1, "with_gradnorm": True,
    "clip_grad": 1, "training_time": 0.0,
}


def _plain(value):
    """A value of the file as numpy/Python: tensors -> arrays, device and paths -> str, lists -> arrays."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, PurePosixPath) or type(value).__name__.endswith("Path"):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        if items and all(isinstance(v, str) for v in items):
            return items
        try:
            return np.asarray(items, dtype=np.float64 if any(isinstance(v, float) or getattr(v, "dtype", None) is
                                                             not None and v.dtype.kind == "f" for v in items)
                              else None)
        except (ValueError, TypeError):
            return items
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_summary(data, where="summary"):
    """Check a summary dict against :data:`FIELDS` (every key present, shapes consistent); returns the sizes
    {symbol: n}. DnemkitError names ``where`` and the first key that is missing or has the wrong shape."""
    import numpy as np

    if not isinstance(data, dict):
        raise DnemkitError(f"{where} holds a {type(data).__name__}; expected the dict of a reconstruction summary")
    sizes = {}
    for key, shape in FIELDS.items():
        if key not in data:
            raise DnemkitError(f"{where} has no key {key!r}; expected every key of the reference's save call")
        if shape is None:
            continue
        value = data[key]
        if isinstance(value, str):
            raise DnemkitError(f"{where}: {key!r} is text ({value[:40]!r}); expected a number or an array of shape "
                               f"{_show(shape)}")
        got = np.shape(value)
        ok = len(got) == len(shape)
        for want, n in zip(shape, got) if ok else ():
            if isinstance(want, str):
                ok = ok and sizes.setdefault(want, n) == n
            else:
                ok = ok and want == n
        if not ok:
            raise DnemkitError(f"{where}: {key!r} has shape {got}; expected {_show(shape, sizes)}")
    for key in TEXT:
        if data[key] is not None and not isinstance(data[key], str):
            raise DnemkitError(f"{where}: {key!r} is a {type(data[key]).__name__}; expected text")
    if data["population_mask"] is not None and np.size(data["population_mask"]) != sizes["N"]:
        raise DnemkitError(f"{where}: 'population_mask' has shape {np.shape(data['population_mask'])}; expected "
                           f"({sizes['N']}, 1) or None")
    return sizes


def _show(shape, sizes=None):
    sizes = sizes or {}
    return "(" + ", ".join(str(sizes.get(s, s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def read_summary(path):
    """One reference summary file as a dict of numpy values (tensors as arrays, the device and model paths as
    text), every key of :data:`FIELDS` checked. Read by :func:`dnemkit.reference.pickles.load_pickle`: nothing a
    file carries is run, torch storages saved on a GPU load on the CPU."""
    path = Path(path)
    raw = load_pickle(path)
    if not isinstance(raw, dict):
        raise DnemkitError(f"{path} holds a {type(raw).__name__}; expected the dict of a reconstruction summary")
    data = {key: _plain(value) for key, value in raw.items()}
    check_summary(data, str(path))
    return data


def find_summaries(folder, suffix=NATURAL_SUFFIX):
    """{(model, mouse, trial): path} of the summary files in ``folder``: one reference folder
    (``modelfold[K]_...``: model K) or a folder of them (e.g. ``paper-reconstructions/``, whose folders
    ``modelfold[K]<suffix>`` are taken: by default the natural-movie set's ``_datafold_0_pop100_hpc_round5``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DnemkitError(f"{folder} is not a folder; expected a folder of reconstruction_summary_m*_t*.npy files "
                           "(or of the reference's modelfold[K]_... folders)")
    found = {}

    def add(sub, model):
        for f in sorted(sub.iterdir()):
            m = NAME.fullmatch(f.name)
            if m:
                found[(model, int(m.group(1)), int(m.group(2)))] = f

    own = FOLDER.match(folder.name)
    add(folder, int(own.group(1)) if own else 0)
    if not found:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            m = FOLDER.match(sub.name)
            if m and sub.name.endswith(suffix):
                add(sub, int(m.group(1)))
    if not found:
        raise DnemkitError(f"{folder} holds no reconstruction_summary_m*_t*.npy files; expected the reference's "
                           "summaries (characterize fetch paper-reconstructions)")
    return found


def clip_files(folder, suffix=NATURAL_SUFFIX):
    """(files {(model, mouse, trial): path}, models [K], clips [(mouse, trial)]) of the summaries in ``folder``
    (:func:`find_summaries`): clips ordered by mouse, then as the reference's trial list has them; DnemkitError
    unless every clip has a file for every model."""
    from ..fetch.catalogue import NATURAL_TRIALS

    files = find_summaries(folder, suffix)
    models = sorted({k[0] for k in files})
    order = {(m, t): i for m, trials in enumerate(NATURAL_TRIALS) for i, t in enumerate(trials)}
    clips = sorted({k[1:] for k in files}, key=lambda c: (c[0], order.get(c, 100 + c[1]), c[1]))
    missing = [f"model {k} m{m}_t{t}" for k in models for m, t in clips if (k, m, t) not in files]
    if missing:
        raise DnemkitError(f"{folder} lacks {len(missing)} summary file(s) ({', '.join(missing[:3])}"
                           f"{', ...' if len(missing) > 3 else ''}); expected every clip for every model")
    return files, models, clips


def read_summaries(folder, activity=False):
    """Every summary in ``folder`` (:func:`find_summaries`) as one Dataset.

    Variables: ``video_gt`` (clip, frame, y, x) and ``video_pred`` (model, clip, frame, y, x) in grey levels;
    ``mask_level`` (clip, y, x): the alpha mask on the screen rows (the file's 64 x 64 rows 14..49);
    ``behavior`` (clip, channel, frame): pupil dilation, running speed, pupil x, pupil y; ``video_corr``,
    ``video_RMSE``, ``response_loss_full``, ``response_corr_full`` (model, clip, iteration) as tracked by the
    reference (its own frame skip, ``eval_frame_skip``); ``response_loss_gt``, ``response_corr_gt``,
    ``training_time`` (model, clip); ``n_neurons`` (clip). With ``activity``: ``responses`` (clip, neuron,
    frame), ``responses_predicted_gt`` (model, clip, neuron, frame; the mean over the file's predicting models)
    and ``responses_predicted_full`` (model, clip, neuron, frame), NaN beyond a mouse's neurons -- large: 50
    clips x 7 models x 8,000 neurons x 300 frames is 3.4 GB of float32. Clips are ordered by mouse, then in
    the order of the reference's trial list; every clip must have every model and the same frame count.
    """
    import numpy as np
    import xarray as xr

    files, models, clips = clip_files(folder)
    first = None
    per = {}
    for (k, m, t), path in sorted(files.items()):
        d = read_summary(path)
        if (d["mouse_index"], d["trial"]) != (m, t):
            raise DnemkitError(f"{path}: mouse_index {d['mouse_index']} and trial {d['trial']} disagree with its "
                               f"name (m{m}_t{t}); expected the file the reference wrote for that clip")
        n_frames = d["video_gt"].shape[0]
        first = n_frames if first is None else first
        if n_frames != first:
            raise DnemkitError(f"{path}: 'video_gt' has {n_frames} frames; expected {first} as every other clip")
        keep = {key: d[key] for key in ("video_pred", "video_corr", "video_RMSE", "response_loss_full",
                                        "response_corr_full", "video_itter", "response_loss_gt", "response_corr_gt",
                                        "training_time", "eval_frame_skip")}
        if k == models[0]:
            keep.update({key: d[key] for key in ("video_gt", "mask", "behavior", "pupil_center")})
            keep["n_neurons"] = d["responses"].shape[0]
            if activity:
                keep["responses"] = d["responses"]
        if activity:
            keep["responses_predicted_gt"] = d["responses_predicted_gt"].mean(axis=2)
            keep["responses_predicted_full"] = d["responses_predicted_full"]
        per[k, m, t] = keep
    head = (models[0],) + clips[0]
    iters = per[head]["video_itter"]
    for key, d in per.items():
        if not np.array_equal(d["video_itter"], iters):
            raise DnemkitError(f"{files[key]}: 'video_itter' differs from {files[head]}'s; "
                               "expected every file tracked at the same iterations")
    first_of = [per[models[0], m, t] for m, t in clips]
    n_max = max(d["n_neurons"] for d in first_of)

    def stack(key, dims, unit, long_name, by_model=True, pad=None):
        if by_model:
            rows = [[_pad(per[k, m, t][key], pad) for m, t in clips] for k in models]
        else:
            rows = [_pad(per[models[0], m, t][key], pad) for m, t in clips]
        dtype = np.float32 if len(dims) > 3 or key in ("video_gt", "responses") else np.float64
        return xr.Variable(dims, np.asarray(rows, dtype=dtype), {"units": unit, "long_name": long_name})

    g = units
    data = {
        "video_gt": stack("video_gt", ("clip", "frame", "y", "x"), g.GREY_LEVEL, "ground-truth movie", False),
        "video_pred": stack("video_pred", ("model", "clip", "frame", "y", "x"), g.GREY_LEVEL,
                            "reconstruction of each model (unsmoothed, full frame)"),
        "mask_level": xr.Variable(("clip", "y", "x"), np.asarray([d["mask"][TOP:TOP + HEIGHT] for d in first_of],
                                                                  np.float32),
                                  {"units": g.DIMENSIONLESS, "long_name": "alpha mask (train >= 0.5, eval >= 1)"}),
        "behavior": xr.Variable(("clip", "channel", "frame"),
                                np.asarray([np.concatenate([d["behavior"], d["pupil_center"]]) for d in first_of],
                                           np.float32), {"units": g.ARBITRARY, "long_name": "behaviour"}),
        "video_corr": stack("video_corr", ("model", "clip", "iteration"), g.DIMENSIONLESS,
                            "video r as tracked by the reference (its eval_frame_skip)"),
        "video_RMSE": stack("video_RMSE", ("model", "clip", "iteration"), g.GREY_LEVEL, "video RMSE (tracked)"),
        "response_loss_full": stack("response_loss_full", ("model", "clip", "iteration"), g.DIMENSIONLESS,
                                    "Poisson loss of the activity predicted from the masked reconstruction"),
        "response_corr_full": stack("response_corr_full", ("model", "clip", "iteration"), g.DIMENSIONLESS,
                                    "r of the activity predicted from the masked reconstruction"),
        "response_loss_gt": stack("response_loss_gt", ("model", "clip"), g.DIMENSIONLESS,
                                  "Poisson loss of the activity predicted from the true movie"),
        "response_corr_gt": stack("response_corr_gt", ("model", "clip"), g.DIMENSIONLESS,
                                  "r of the activity predicted from the true movie"),
        "training_time": stack("training_time", ("model", "clip"), g.SECOND, "reconstruction time"),
        "n_neurons": xr.Variable(("clip",), np.asarray([d["n_neurons"] for d in first_of], np.int64)),
    }
    if activity:
        data["responses"] = stack("responses", ("clip", "neuron", "frame"), g.COUNTS_PER_FRAME, "recorded activity",
                                  False, n_max)
        data["responses_predicted_gt"] = stack("responses_predicted_gt", ("model", "clip", "neuron", "frame"),
                                               g.COUNTS_PER_FRAME, "activity predicted from the true movie",
                                               pad=n_max)
        data["responses_predicted_full"] = stack("responses_predicted_full", ("model", "clip", "neuron", "frame"),
                                                 g.COUNTS_PER_FRAME, "activity predicted from the masked "
                                                 "reconstruction", pad=n_max)
    coords = {"model": models, "mouse": ("clip", [m for m, _ in clips]), "trial": ("clip", [t for _, t in clips]),
              "frame": np.arange(first), "y": np.arange(HEIGHT), "x": np.arange(WIDTH),
              "iteration": np.asarray(iters, np.int64),
              "channel": ["pupil dilation", "running speed", "pupil x", "pupil y"]}
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(source=str(folder), kind="reference-summaries", eval_frame_skip=int(per[head]["eval_frame_skip"]))
    return ds


def _pad(value, n):
    """``value`` with its first axis NaN-padded to ``n`` rows (neurons), or as it is."""
    import numpy as np

    value = np.asarray(value)
    if n is None or value.shape[0] == n:
        return value
    out = np.full((n, *value.shape[1:]), np.nan, np.float32)
    out[:value.shape[0]] = value
    return out


def summary_dict(*, video_gt, video_pred, responses, responses_predicted_gt, responses_predicted_full, behavior,
                 pupil_center, mask, mouse_index, trial, model_list=(0,), model_paths=None, video_itter=None,
                 **settings):
    """A complete summary dict as the reference's script saves it, from dnemkit's arrays.

    video_gt, video_pred: (T, 36, 64) grey levels; responses: (N, T) recorded; responses_predicted_gt: (N, T, M)
    (or (N, T): one model) predicted for the true movie; responses_predicted_full: (N, T) predicted for the
    eval-masked reconstruction; behavior, pupil_center: (2, T); mask: (64, 64) alpha (or (36, 64): padded with
    zeros to the model's frame). Settings default to :data:`PAPER_SETTINGS`; the tracked metrics (video r, RMSE,
    response loss and r, motion energy) are computed here for the final reconstruction, as the script computes
    them (eval mask level >= ``mask_eval_th``, frames from ``eval_frame_skip``), at ``video_itter`` (default
    [epochs - 1]). ``responses`` and ``response_loss_gt`` become torch tensors and ``device`` a torch.device,
    as in the reference's files.
    """
    import numpy as np
    import torch

    from ..fetch.catalogue import CHECKPOINT_DIR, CHECKPOINTS

    s = dict(PAPER_SETTINGS)
    unknown = set(settings) - set(FIELDS)
    if unknown:
        raise DnemkitError(f"summary settings {', '.join(sorted(unknown))} are not keys of a summary; expected "
                           f"some of {', '.join(PAPER_SETTINGS)}")
    s.update(settings)
    gt = np.asarray(video_gt, np.float32)
    pred = np.asarray(video_pred, np.float32)
    resp = np.asarray(responses, np.float32)
    pgt = np.asarray(responses_predicted_gt, np.float64)
    pgt = pgt[..., None] if pgt.ndim == 2 else pgt
    full = np.asarray(responses_predicted_full, np.float64)
    mask = np.asarray(mask, np.float32)
    if mask.shape == (HEIGHT, WIDTH):
        mask = np.pad(mask, ((TOP, PADDED - HEIGHT - TOP), (0, 0)))
    given = {"video_gt": gt, "video_pred": pred, "responses": resp, "responses_predicted_gt": pgt,
             "responses_predicted_full": full, "behavior": behavior, "pupil_center": pupil_center, "mask": mask}
    sizes = {}
    for key, value in given.items():  # the inputs' shapes, checked before anything is computed from them
        got, want = np.shape(value), FIELDS[key]
        if len(got) != len(want) or any(sizes.setdefault(w, n) != n if isinstance(w, str) else w != n
                                        for w, n in zip(want, got)):
            raise DnemkitError(f"the summary to write: {key!r} has shape {got}; expected {_show(want, sizes)}")
    skip = int(s["eval_frame_skip"])
    eval_mask = (mask[TOP:TOP + HEIGHT] >= s["mask_eval_th"])
    sel = np.broadcast_to(eval_mask, gt.shape).copy()
    sel[:skip] = False
    corr = float(np.corrcoef(gt[sel], pred[sel])[0, 1]) if sel.any() else float("nan")
    rmse = float(np.sqrt(np.mean((gt[sel] - pred[sel]) ** 2))) if sel.any() else float("nan")

    def energy(v):
        return np.mean(np.abs(np.diff(v[skip:][:, eval_mask], axis=0)), axis=1)

    def loss(pred_, target):
        return float(np.mean(pred_ - target * np.log(pred_ + 1e-8)))

    iters = [int(s["epochs"]) - 1] if video_itter is None else [int(i) for i in video_itter]
    paths = model_paths if model_paths is not None else [f"{CHECKPOINT_DIR}/fold_{k}/{n}"
                                                         for k, n in enumerate(CHECKPOINTS)]
    out = {key: s.get(key) for key in FIELDS}
    out.update(
        strides=np.asarray(s["strides"], np.int64), strides_switch=np.asarray(s["strides_switch"], np.int64),
        mouse_index=int(mouse_index), trial=int(trial), video_length=gt.shape[0],
        model_paths=[Path(p) for p in paths], model_list=np.asarray(model_list, np.int64),
        save_path=s.get("save_path") or f"reconstructions/modelfold{list(model_list)}_data{s['data_fold']}_pop100/",
        mask=mask, device=torch.device(s["device"]) if isinstance(s.get("device"), str) else torch.device("cpu"),
        video_gt=gt, video_pred=pred, behavior=np.asarray(behavior, np.float32),
        pupil_center=np.asarray(pupil_center, np.float32), responses=torch.from_numpy(resp),
        responses_predicted_gt=pgt, responses_predicted_full=full, video_itter=iters,
        response_loss_gt=torch.tensor(loss(pgt.mean(axis=2)[:, skip:], resp[:, skip:]), dtype=torch.float64),
        response_loss_full=[loss(full[:, skip:], resp[:, skip:])] * len(iters),
        response_corr_gt=np.float64(np.corrcoef(resp.ravel(), pgt.mean(axis=2).ravel())[0, 1]),
        response_corr_full=[np.float64(np.corrcoef(resp.ravel(), full.ravel())[0, 1])] * len(iters),
        video_corr=[np.float64(corr)] * len(iters), video_RMSE=[np.float64(rmse)] * len(iters),
        motion_energy_gt=energy(gt), motion_energy_recon=energy(pred),
    )
    if out["population_mask"] is not None:
        out["population_mask"] = torch.as_tensor(np.asarray(out["population_mask"], bool).reshape(-1, 1))
    check_summary({k: _plain(v) for k, v in out.items()}, "the summary to write")
    return out


def write_summary(path, **arrays):
    """Write a ``reconstruction_summary``-style file (the keys, shapes and dtypes of the reference's save call,
    numpy 1.x pickle names) that the reference's notebooks read; ``arrays`` as :func:`summary_dict` takes them.
    Atomic; returns the path."""
    return dump_pickle(summary_dict(**arrays), path)
