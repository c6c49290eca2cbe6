"""Masks: where on the screen an encoder looks. One object (:class:`ScreenMask`, with the ``method`` that made
it), two ways to make one (the paper's alpha training, input-gradient sensitivity), one resolver and cache
(:func:`resolve_mask`, :mod:`dnemkit.masks.resolve`), and `characterize mask` (:func:`make_mask`)."""

from .alpha import MaskConfig, builtin_clips, dataset_clips, train_alpha_mask
from .resolve import CHOICES, cache_dir, cached_path, make_mask, mask_for, mask_key, resolve_mask, store_mask
from .screen import ScreenMask, load_mask_file, size_attrs
from .sensitivity import SensitivityConfig, sensitivity_map, sensitivity_mask

__all__ = ["CHOICES", "MaskConfig", "ScreenMask", "SensitivityConfig", "builtin_clips", "cache_dir", "cached_path",
           "dataset_clips", "load_mask_file", "make_mask", "mask_for", "mask_key", "resolve_mask", "sensitivity_map",
           "sensitivity_mask", "size_attrs", "store_mask", "train_alpha_mask"]
