import numpy as np
import pytest

from dnemkit.encoders.dwiseneuro import MAIN_CONFIG, random_dwiseneuro

# a scaled-down DwiseNeuro with every structural feature of the main one (strides, channel tiling, groups,
# odd neuron counts that need readout padding); keeps the suite fast
SMALL_CONFIG = dict(MAIN_CONFIG, readout_outputs=(37, 20), core_features=(8, 8, 16, 16), spatial_strides=(2, 1, 2, 1),
                    expansion_ratio=2, se_reduce_ratio=4, cortex_features=(32, 64))


def perturbed_dwiseneuro(seed=0, config=SMALL_CONFIG):
    """Random weights and non-trivial BatchNorm statistics, in eval mode."""
    return random_dwiseneuro(config, seed)


@pytest.fixture
def small_model():
    return perturbed_dwiseneuro()


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


def run_cli(*args):
    """Invoke `characterize ARGS` in-process; returns click's Result."""
    from click.testing import CliRunner

    from dnemkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_error(result, *fragments):
    """Exit status != 0, exactly one 'Error:' line naming the problem, and no traceback."""
    assert result.exit_code != 0, result.output
    out = result.output
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, out
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


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


def write_factories(folder):
    """factories.py with `tiny` (a 12-neuron synthetic mouse) and `empty` (an encoder with no neurons)."""
    (folder / "factories.py").write_text(FACTORIES)
    return folder / "factories.py"
