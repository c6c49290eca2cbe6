import json

import numpy as np
import pytest
import torch

from conftest import assert_one_line_error, perturbed_dwiseneuro, run_cli
from dnemkit.encoders import (CallableEncoder, Ensemble, SyntheticMouse, SyntheticMouseConfig,
                              load_encoder, save_checkpoint)
from dnemkit.errors import DnemkitError
from dnemkit.stimuli import drifting_grating

USER_ENCODER = '''
import torch

class Linear(torch.nn.Module):
    first_valid_frame = 0
    def __init__(self, n):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(n, 36 * 64) / 48)
    def forward(self, video, behavior=None):
        b, t = video.shape[:2]
        drive = video.reshape(b, t, -1) @ self.w.T / 255
        return torch.nn.functional.softplus(drive).transpose(1, 2)

def make():
    torch.manual_seed(0)
    return Linear(7)

def empty():
    class Nothing(torch.nn.Module):
        def forward(self, video, behavior=None):
            return video.new_zeros(video.shape[0], 0, video.shape[1])
    return Nothing()
'''


def test_user_encoder_from_file_and_module(tmp_path, monkeypatch):
    (tmp_path / "myenc.py").write_text(USER_ENCODER)
    enc = load_encoder(f"{tmp_path / 'myenc.py'}:make")
    assert isinstance(enc, CallableEncoder) and enc.n_neurons == 7
    video = (torch.rand(2, 40, 36, 64) * 255).requires_grad_()
    rates = enc(video)
    assert rates.shape == (2, 7, 40)
    rates.sum().backward()
    assert video.grad.abs().sum() > 0
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_encoder("myenc:make").n_neurons == 7
    with pytest.raises(DnemkitError, match="predicts 0 neurons"):
        load_encoder("myenc:empty")
    with pytest.raises(DnemkitError, match="'missing' is not a callable"):
        load_encoder("myenc:missing")


def test_folder_of_checkpoints_is_an_ensemble_with_sidecar_behaviour(tmp_path):
    for k in range(2):
        save_checkpoint(tmp_path / f"model-{k:03d}-0.100000.pth", perturbed_dwiseneuro(k))
    (tmp_path / "encoder.json").write_text(json.dumps({"behavior_mean": [1, 2, 3, 4]}))
    enc = load_encoder(str(tmp_path), mouse=1)
    assert isinstance(enc, Ensemble) and len(enc.members) == 2
    assert enc.n_neurons == 20 and enc.first_valid_frame == 30
    np.testing.assert_array_equal(enc.default_behavior().numpy(), [1, 2, 3, 4])
    video = torch.rand(1, 33, 36, 64) * 255
    with torch.no_grad():
        expected = (enc.members[0](video) + enc.members[1](video)) / 2
        torch.testing.assert_close(enc(video), expected)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DnemkitError, match="holds no .pth files"):
        load_encoder(str(tmp_path / "empty"))


@pytest.mark.parametrize("spec, message", [
    ("nonsense", "unknown encoder spec 'nonsense'"),
    ("synthetic:x", "bad synthetic spec"),
    ("missing.pth", "does not exist"),
    ("nowhere/enc.py:make", "does not exist"),
    ("no_such_module_xyz:make", "cannot import module"),
])
def test_bad_specs(spec, message):
    with pytest.raises(DnemkitError, match=message):
        load_encoder(spec)


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


def test_encoders_info_cli():
    result = run_cli("encoders", "info", "synthetic:1", "--json")
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["neurons"] == 2000 and info["first_valid_frame"] == 30 and info["seed"] == 1
    assert_one_line_error(run_cli("encoders", "info", "bogus"), "unknown encoder spec")
    assert_one_line_error(run_cli("encoders", "info", "missing.pth"), "does not exist")


def test_cli_checkpoint_errors(tmp_path, small_model):
    bad = tmp_path / "notargus.pth"
    torch.save({"state_dict": {}}, bad)
    assert_one_line_error(run_cli("encoders", "info", bad), "not an argus DwiseNeuro checkpoint")
    good = save_checkpoint(tmp_path / "m.pth", small_model)
    assert_one_line_error(run_cli("encoders", "info", good, "--mouse", "5"), "mouse index 5 is out of range")
    result = run_cli("encoders", "info", good, "--mouse", "1")
    assert result.exit_code == 0 and "neurons: 20" in result.output


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
