"""Fixtures of the experiments' tests."""

import pytest


@pytest.fixture(scope="module")
def sim_root(tmp_path_factory):
    """A simulated Sensorium-layout dataset (6 trials, 2000 neurons) and simulate()'s summary: (root, summary)."""
    from dnemkit.experiments.simulate import simulate

    root = tmp_path_factory.mktemp("sim")
    summary = simulate(root, seed=0, trials=6, n_neurons=2000, frames=100)
    return root, summary
