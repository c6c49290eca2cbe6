"""Masks: where on the screen an encoder looks. One object (:class:`AlphaMask`), two ways to make one (the paper's
alpha training, input-gradient sensitivity), one resolver and cache (:func:`resolve_mask`), and `characterize mask` (:func:`make_mask`)."""

from .alpha import AlphaMask, MaskConfig, builtin_clips, dataset_clips, load_mask_file, train_alpha_mask
from .cache import CHOICES, cache_dir, cache_key, cached_path, make_mask, mask_for, resolve_mask, store_mask
from .sensitivity import SensitivityConfig, sensitivity_map, sensitivity_mask

__all__ = ["AlphaMask", "CHOICES", "MaskConfig", "SensitivityConfig", "builtin_clips", "cache_dir", "cache_key",
           "cached_path", "dataset_clips", "load_mask_file", "make_mask", "mask_for", "resolve_mask", "sensitivity_map",
           "sensitivity_mask", "store_mask", "train_alpha_mask"]
