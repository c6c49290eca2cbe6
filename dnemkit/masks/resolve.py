"""The one place masks come from: shipped, cached, trained or computed now, or a file; and their cache.

Every command that reconstructs resolves its ``--mask`` here (:func:`resolve_mask`):

- ``auto``: the shipped mask (the demo's sensitivity mask), else a cached alpha mask (``characterize mask`` trains one), else a
  cached sensitivity mask, else a sensitivity mask computed now (seconds) and cached.
- ``alpha``: the paper's trained alpha mask: cached, else trained now (1000 iterations) and cached.
- ``sensitivity``: a cached sensitivity mask, else one computed now and cached.
- ``none``: every pixel trains and is evaluated.
- a path: a mask file (``mask.nc`` from ``characterize mask``, or a (36, 64) ``.npy`` alpha/boolean array, or a
  (64, 64) one on the encoder's padded frame).
- a folder of ``mask_m{i}.npy`` (the paper's masks, `characterize fetch paper-masks`): readout i's alpha mask.

A mask that selects no pixel or holds NaN is never cached: it is an error that names its source.
"""

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from ..errors import DnemkitError
from ..io.results import provenance, write_dataset
from ..stimuli.geometry import HEIGHT, WIDTH
from .alpha import MaskConfig, builtin_clips, dataset_clips, train_alpha_mask
from .screen import ScreenMask, is_paper_masks, load_mask_file, load_paper_mask
from .sensitivity import SensitivityConfig, sensitivity_mask

SHIPPED_MASKS = Path(__file__).resolve().parent.parent / "assets" / "masks"
CHOICES = ("auto", "alpha", "sensitivity", "none")


def cache_dir():
    """Where masks are cached: $DNEMKIT_CACHE/masks, else ~/.cache/dnemkit/masks."""
    root = os.environ.get("DNEMKIT_CACHE") or Path.home() / ".cache" / "dnemkit"
    return Path(root) / "masks"


def mask_key(spec, mouse=None, data=None):
    """A file-name-safe key for an encoder spec; files enter with their size and modification time."""
    parts = [str(spec), f"mouse={mouse}", f"data={Path(data).resolve() if data else None}"]
    path = Path(str(spec).rsplit(":", 1)[0])
    if path.exists():
        files = sorted(path.glob("*.pth")) if path.is_dir() else [path]
        parts += [f"{f.resolve()}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    digest = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    stem = "".join(c if c.isalnum() else "-" for c in Path(str(spec)).name)[:40]
    return f"{stem}-{digest}"


def cached_path(spec, mouse=None, data=None, method="alpha"):
    """The cache file of an encoder's mask made by ``method`` ('alpha' keeps the historical name)."""
    key = mask_key(spec, mouse, data)
    return cache_dir() / (f"{key}.nc" if method == "alpha" else f"{key}-{method}.nc")


def shipped_path(spec, mouse=None):
    """The mask shipped with an encoder (the demo's), or None. It belongs to the encoder, whatever the data."""
    if spec == "demo" and mouse in (None, 0) and (SHIPPED_MASKS / "demo.nc").exists():
        return SHIPPED_MASKS / "demo.nc"
    return None


def store_mask(mask, path, source, **attrs):
    """Cache ``mask`` at ``path`` (atomically). Refuses a mask that selects no pixel or holds NaN; returns
    False (and writes nothing) when the cache cannot be written."""
    if not mask.selects_pixels:
        raise DnemkitError(f"the {source} selects no pixel or holds NaN; it was not cached ({path}); expected a "
                           "mask with pixels above both thresholds (train longer, or check the encoder)")
    try:
        write_dataset(mask.to_dataset(**attrs), path)
        return True
    except OSError:
        return False


def _load_cached(path):
    """A cached mask, or None when it is missing or unusable (a bad cache file is recomputed, not fatal)."""
    if path is None or not Path(path).exists():
        return None
    try:
        mask = load_mask_file(path)
    except DnemkitError:
        return None
    return mask if mask.selects_pixels else None


def mask_for(encoder, spec, mouse=None, data=None, config=MaskConfig(), use_cache=True, progress=True):
    """The paper's alpha mask of an encoder: cached, or trained now and cached.

    data: a Sensorium mouse folder (recorded responses as targets); None = built-in natural movies and the
    encoder's predictions.
    """
    if use_cache:
        found = _load_cached(cached_path(spec, mouse, data))
        if found is not None:
            return found
    if data is not None:
        from ..data import find_mouse

        clips, targets, behaviors = dataset_clips(find_mouse(data), config)
    else:
        clips, targets, behaviors = builtin_clips(encoder, config)
    mask = train_alpha_mask(encoder, clips, targets, behaviors, config, progress)
    if use_cache:
        store_mask(mask, cached_path(spec, mouse, data), f"alpha mask of {spec}",
                   **provenance("mask", config, spec, config.seed, method="alpha"))
    elif not mask.selects_pixels:
        raise DnemkitError(f"the alpha mask of {spec} selects no pixel or holds NaN; it was not cached or "
                           "written; expected more iterations or an encoder that sees the video")
    return mask


def sensitivity_for(encoder, spec, mouse=None, config=SensitivityConfig(), use_cache=True):
    """The encoder's sensitivity mask: cached, or computed now and cached."""
    path = cached_path(spec, mouse, None, "sensitivity")
    if use_cache:
        found = _load_cached(path)
        if found is not None:
            return found, True
    mask = sensitivity_mask(encoder, config)
    if use_cache:
        store_mask(mask, path, f"sensitivity mask of {spec}",
                   **provenance("mask", config, spec, config.seed, method="sensitivity"))
    return mask, False


def _describe(mask):
    return f"train {int(mask.train.sum())} px, eval {int(mask.eval.sum())} px"


def resolve_mask(choice, ref, data=None, progress=True):
    """(ScreenMask, one line saying what was done and how long it took) for ``--mask CHOICE`` (module doc).

    ref: the :class:`dnemkit.encoders.ref.EncoderRef` (its full encoder, all models: a mask belongs to the
    encoder, not to a subset; its mask key and mouse). data: a Sensorium mouse folder whose recorded responses
    train an alpha mask. 'none' gives a mask of ones (every pixel).
    """
    started = time.perf_counter()
    encoder, spec, mouse = ref.full, ref.mask_key, ref.mouse
    choice = "auto" if choice is None else choice
    if isinstance(choice, ScreenMask):
        return choice, "mask: given"
    if isinstance(choice, np.ndarray):
        if choice.shape != (HEIGHT, WIDTH):
            raise DnemkitError(f"mask has shape {choice.shape}; expected ({HEIGHT}, {WIDTH}) (alpha or boolean)")
        return ScreenMask(choice.astype(np.float32), "given"), "mask: given array"
    choice = str(choice)
    if choice == "none":
        mask = ScreenMask(np.ones((HEIGHT, WIDTH), np.float32), "given")
        return mask, "mask: none (every pixel trains and is evaluated)"
    if choice not in CHOICES and is_paper_masks(choice):
        mask = load_paper_mask(choice, mouse)
        name = f"mask_m{0 if mouse is None else mouse}.npy"
        return mask, f"mask: the paper's alpha mask {name} from {choice} ({_describe(mask)})"
    if choice not in CHOICES:
        mask = load_mask_file(choice)
        if not mask.selects_pixels:
            raise DnemkitError(f"mask file {choice} selects no pixel or holds NaN; expected a usable mask")
        return mask, f"mask: {choice} ({_describe(mask)})"
    if choice in ("auto", "alpha"):
        places = [(cached_path(spec, mouse, data), "cached alpha")]
        if choice == "auto":  # an alpha mask trained on these recordings comes before the shipped one
            places.insert(0 if data is None else 1, (shipped_path(spec, mouse), "shipped"))
        for path, what in places:
            found = _load_cached(path)
            if found is not None:
                return found, f"mask: {what} ({path.name}; {_describe(found)})"
    if choice == "alpha":
        mask = mask_for(encoder, spec, mouse, data, progress=progress)
        return mask, (f"mask: alpha, trained now ({MaskConfig().iterations} iterations, "
                      f"{time.perf_counter() - started:.0f} s; {_describe(mask)}; cached)")
    mask, cached = sensitivity_for(encoder, spec, mouse)
    how = "cached" if cached else f"computed now in {time.perf_counter() - started:.1f} s and cached"
    return mask, f"mask: input sensitivity, {how} ({_describe(mask)})"


def make_mask(ref, method="alpha", data=None, iterations=None, seed=0, progress=True):
    """`characterize mask`: make the encoder's mask now (never from the cache), cache it for later commands and
    return it as a results Dataset (kind 'mask': alpha, train_mask, eval_mask, provenance, ``seconds``).

    ref: the EncoderRef. method: 'alpha' (the paper's trained mask; ``iterations`` default MaskConfig's, on the
    recorded responses of the Sensorium folder ``data`` if given) or 'sensitivity' (input sensitivity to
    built-in movies; ``data`` must be None).
    """
    from dataclasses import replace

    from ..encoders.base import probe_encoder

    if method not in ("alpha", "sensitivity"):
        raise DnemkitError(f"method is {method!r}; expected 'alpha' or 'sensitivity'")
    if method == "sensitivity" and data is not None:
        raise DnemkitError("a sensitivity mask uses built-in movies, not recorded data; expected method 'alpha' "
                           "with data")
    encoder = ref.full
    probe_encoder(encoder, need_grad=True)  # masks differentiate the encoder w.r.t. its input
    started = time.perf_counter()
    if method == "alpha":
        config = replace(MaskConfig(), seed=seed, **({} if iterations is None else {"iterations": iterations}))
        mask = mask_for(encoder, ref.mask_key, ref.mouse, data, config, use_cache=False, progress=progress)
    else:
        config = SensitivityConfig(seed=seed)
        mask = sensitivity_mask(encoder, config)
    ds = mask.to_dataset(**provenance("mask", config, ref.name, seed, data=str(data or ""), method=method,
                                      seconds=round(time.perf_counter() - started, 2)))
    store_mask(mask, cached_path(ref.mask_key, ref.mouse, data, method), f"{method} mask of {ref.name}", **ds.attrs)
    return ds
