"""Fixtures shared by the whole suite. Tests ask for them by name; nothing here is imported by a test module.

Helpers come as fixtures that return a function: ``run_cli``, ``assert_one_line_error``, ``perturbed_dwiseneuro``.
"""

import numpy as np
import pytest

from dnemkit.encoders.dwiseneuro.network import MAIN_CONFIG, random_dwiseneuro

# a scaled-down DwiseNeuro with every structural feature of the main one (strides, channel tiling, groups,
# odd neuron counts that need readout padding); keeps the suite fast
SMALL_CONFIG = dict(MAIN_CONFIG, readout_outputs=(37, 20), core_features=(8, 8, 16, 16), spatial_strides=(2, 1, 2, 1),
                    expansion_ratio=2, se_reduce_ratio=4, cortex_features=(32, 64))


def _perturbed_dwiseneuro(seed=0, config=SMALL_CONFIG):
    """Random weights and non-trivial BatchNorm statistics, in eval mode."""
    return random_dwiseneuro(config, seed)


def _run_cli(*args):
    """Invoke `characterize ARGS` in-process; returns click's Result."""
    from click.testing import CliRunner

    from dnemkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _assert_one_line_error(result, *fragments):
    """Exit status != 0, exactly one 'Error:' line naming the problem, and no traceback."""
    assert result.exit_code != 0, result.output
    out = result.output
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, out
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


# `tiny` (a 12-neuron synthetic mouse) and `empty` (an encoder with no neurons), as a user's factory file
FACTORIES = '''
import torch
from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig

def tiny():
    return SyntheticMouse(0, SyntheticMouseConfig(n_neurons=12))

class _Silent(torch.nn.Module):
    def forward(self, video, behavior=None):
        return video.new_zeros(video.shape[0], 0, video.shape[1])

def empty():
    return _Silent()
'''


# ------------------------------------------------------------------------------------------------ helpers
@pytest.fixture(scope="session")
def perturbed_dwiseneuro():
    """``perturbed_dwiseneuro(seed=0, config=SMALL_CONFIG)``: a small DwiseNeuro with random weights, in eval mode."""
    return _perturbed_dwiseneuro


@pytest.fixture(scope="session")
def run_cli():
    """``run_cli(*args)``: invoke `characterize ARGS` in-process; returns click's Result."""
    return _run_cli


@pytest.fixture(scope="session")
def assert_one_line_error():
    """``assert_one_line_error(result, *fragments)``: exit status != 0, exactly one 'Error:' line holding every
    fragment, and no traceback."""
    return _assert_one_line_error


@pytest.fixture(scope="session")
def factories_source():
    """The text of a factory file with `tiny` (a 12-neuron synthetic mouse) and `empty` (an encoder with no
    neurons)."""
    return FACTORIES


@pytest.fixture
def factories_file(tmp_path, factories_source):
    """``tmp_path / "factories.py"`` holding ``factories_source``; encoder specs read ``f"{factories_file}:tiny"``
    and ``f"{factories_file}:empty"``."""
    path = tmp_path / "factories.py"
    path.write_text(factories_source)
    return path


# ------------------------------------------------------------------------------------------------ models, data
@pytest.fixture
def small_model():
    return _perturbed_dwiseneuro()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session", autouse=True)
def mask_cache(tmp_path_factory):
    """A private mask cache, pre-filled for the synthetic mouse with a short (100-step) training to stay fast."""
    import os

    from dnemkit.encoders import SyntheticMouse
    from dnemkit.masks import MaskConfig, mask_for

    root = tmp_path_factory.mktemp("dnemkit-cache")
    old = os.environ.get("DNEMKIT_CACHE")
    os.environ["DNEMKIT_CACHE"] = str(root)
    mask_for(SyntheticMouse(0), "synthetic", config=MaskConfig(iterations=100), progress=False)
    yield root
    if old is None:
        os.environ.pop("DNEMKIT_CACHE", None)
    else:
        os.environ["DNEMKIT_CACHE"] = old


# ------------------------------------------------------------------------------------------------ ablation and
# error-map results of a 40-neuron synthetic mouse: tests/experiments (the experiments), tests/viz (figures, report)
@pytest.fixture(scope="session")
def results_mouse():
    """The 40-neuron synthetic mouse behind the ``ablation`` and ``errormap`` results."""
    from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig

    return SyntheticMouse(0, SyntheticMouseConfig(n_neurons=40))


@pytest.fixture(scope="session")
def box_mask():
    m = np.zeros((36, 64), bool)
    m[6:30, 14:50] = True
    return m


@pytest.fixture(scope="session")
def ablation(results_mouse):
    """A tiny population ablation (3 keep fractions x 3 movies x 2 seeds, 2 iterations) of ``results_mouse``."""
    from dnemkit.experiments.ablation import AblationConfig, run

    mouse = results_mouse
    return run(AblationConfig(encoder=mouse, keep_fractions=(1, 0.5, 0.25), movies=3, seeds=2,
                              recipe=AblationConfig.recipe_named("paper", 2), frames=40, ground_truth=mouse,
                              mask="none"), progress=False)


@pytest.fixture(scope="session")
def errormap(results_mouse, box_mask):
    """Error maps of one 40-frame movie (3 iterations) of ``results_mouse``, with provenance."""
    import torch

    from dnemkit.encoders import sample_responses
    from dnemkit.experiments.errormap import error_map_analysis
    from dnemkit.io.results import provenance
    from dnemkit.reconstruction import Execution, Recipe
    from dnemkit.stimuli import natural_movie

    mouse = results_mouse
    movie = natural_movie(seed=5100, n_frames=40).values
    with torch.no_grad():
        recorded = sample_responses(mouse(torch.from_numpy(movie)[None])[0], np.random.default_rng(1))
    ds = error_map_analysis(mouse, movie, recorded, None, Recipe(iterations=3), Execution(), box_mask, box_mask,
                            progress=False)
    ds.attrs.update(provenance("errormap", {"iterations": 3}, "synthetic-40", 0))
    return ds


@pytest.fixture(scope="session")
def small_decoder():
    """A linear decoder (dnemkit.decoders) of 40 neurons, fitted in a second on random clips whose movies are a
    linear function of the responses: for tests that need a decoder's movie, not a good one."""
    from dnemkit.decoders.linear import DecoderConfig, fit_linear_decoder

    rng = np.random.default_rng(0)
    n, t = 40, 64
    mix = rng.normal(size=(n, 36 * 64)) * 0.02
    responses = [rng.poisson(2.0, size=(n, t)).astype(np.float32) for _ in range(6)]
    videos = [np.clip(127.5 + (r.T - 2.0) @ mix * 40, 0, 255).reshape(t, 36, 64).astype(np.float32)
              for r in responses]
    return fit_linear_decoder(videos, responses, "test clips", DecoderConfig(components=20, lags=(0, 1), folds=3))
