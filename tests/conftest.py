import numpy as np
import pytest
import torch

from dnemkit.encoders.dwiseneuro import MAIN_CONFIG, DwiseNeuro

# a scaled-down DwiseNeuro with every structural feature of the main one (strides, channel tiling, groups,
# odd neuron counts that need readout padding); keeps the suite fast
SMALL_CONFIG = dict(MAIN_CONFIG, readout_outputs=(37, 20), core_features=(8, 8, 16, 16), spatial_strides=(2, 1, 2, 1),
                    expansion_ratio=2, se_reduce_ratio=4, cortex_features=(32, 64))


def perturbed_dwiseneuro(seed=0, config=SMALL_CONFIG):
    """Random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = DwiseNeuro(**config)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm3d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture
def small_model():
    return perturbed_dwiseneuro()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
