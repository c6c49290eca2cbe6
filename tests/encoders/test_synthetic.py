"""Tests of dnemkit.encoders.synthetic: the synthetic mouse's seeding, exported truth, tuning and temporal
filter."""

import numpy as np
import torch

from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.stimuli import drifting_grating


def test_synthetic_mouse_is_seeded_and_exports_its_truth():
    a, b = SyntheticMouse(3, SyntheticMouseConfig(n_neurons=50)), SyntheticMouse(3, SyntheticMouseConfig(n_neurons=50))
    np.testing.assert_array_equal(a.properties()["center_x"], b.properties()["center_x"])
    props = a.properties()
    assert set(props["cell_type"].values) <= {"on", "off", "complex"}
    assert props["center_y"].min() >= 12 and props["center_y"].max() <= 24  # smaller than the screen
    assert 0.02 <= props["sf_cpd"].min() and props["sf_cpd"].max() <= 0.1
    assert 1 <= props["tf_hz"].min() and props["tf_hz"].max() <= 4
    # the exported temporal kernels' spectral peaks follow the nominal TF preferences
    assert np.corrcoef(props["tf_hz"], props["tf_peak_hz"])[0, 1] > 0.8


def test_synthetic_mouse_follows_its_tuning_and_behaviour():
    """A neuron responds more to a grating at its preferred SF and orientation than far from it."""
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=200))
    props = mouse.properties()
    k = int(np.argmax(props["sf_cpd"].values * (props["cell_type"].values == "complex")))
    sf, ori, tf = (float(props[v][k]) for v in ("sf_cpd", "orientation_deg", "tf_hz"))
    def response(sf_cpd, direction, behavior=None):
        g = torch.from_numpy(drifting_grating(sf_cpd, tf, direction, n_frames=90).values)[None]
        with torch.no_grad():
            return float(mouse(g, behavior)[0, k, 30:].mean())
    preferred = response(sf, ori)
    assert preferred > response(sf, ori + 90)
    assert preferred > response(min(sf * 4, 0.14), ori)
    running = torch.tensor([15.0, 30.0, 0.0, 0.0]).view(1, 4, 1).expand(1, 4, 90)
    assert response(sf, ori, running) > preferred  # running raises the gain


def test_synthetic_temporal_filter_is_a_causal_convolution():
    from dnemkit.encoders.synthetic import causal_filter
    gen = torch.Generator().manual_seed(0)
    x, k = torch.randn(2, 5, 40, generator=gen, dtype=torch.float64), torch.randn(5, 31, generator=gen,
                                                                                   dtype=torch.float64)
    slow = torch.zeros_like(x)
    for t in range(40):
        for lag in range(min(31, t + 1)):
            slow[..., t] += k[:, lag] * x[..., t - lag]
    torch.testing.assert_close(causal_filter(x, k), slow)
