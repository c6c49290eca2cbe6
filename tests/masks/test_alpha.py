"""Tests of dnemkit.masks.alpha: the paper's trained alpha mask covers the synthetic mouse's receptive fields."""

import numpy as np

from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.masks import MaskConfig, builtin_clips, train_alpha_mask


def test_eval_mask_covers_the_synthetic_rf_centres():
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=400))
    config = MaskConfig(iterations=1000, n_movies=4)
    clips, targets, behaviors = builtin_clips(mouse, config)
    mask = train_alpha_mask(mouse, clips, targets, behaviors, config, progress=False)
    props = mouse.properties()
    cy, cx = np.round(props["center_y"].values).astype(int), np.round(props["center_x"].values).astype(int)
    assert mask.eval[cy, cx].mean() >= 0.99
    assert mask.train[cy, cx].all()
    # ... and masks matter: the screen's far corners, where no RF reaches, stay outside the evaluation mask
    assert not mask.eval[:3, :3].any() and not mask.eval[-3:, -3:].any()
    assert mask.eval.sum() < mask.train.sum() < 36 * 64
    assert mask.method == "alpha" and mask.level.max() > 1.0  # unbounded, as in the paper (~1.4 there)
