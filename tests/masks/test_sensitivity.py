"""Tests of dnemkit.masks.sensitivity: the input-sensitivity mask covers the synthetic mouse's receptive
fields."""

import numpy as np

from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.masks import sensitivity_mask


def test_sensitivity_mask_covers_the_synthetic_rf_centres():
    for seed in (0, 4):
        mouse = SyntheticMouse(seed, SyntheticMouseConfig(n_neurons=400))
        mask = sensitivity_mask(mouse)
        props = mouse.properties()
        cy, cx = np.round(props["center_y"].values).astype(int), np.round(props["center_x"].values).astype(int)
        assert mask.train[cy, cx].mean() >= 0.99 and mask.eval[cy, cx].mean() >= 0.95
        assert not mask.train[:3, :3].any() and not mask.train[-3:, -3:].any()
        assert not mask.train[:3, -3:].any() and not mask.train[-3:, :3].any()
        assert mask.eval.sum() < mask.train.sum() < 36 * 64 / 2
