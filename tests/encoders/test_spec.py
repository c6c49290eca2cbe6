"""Tests of dnemkit.encoders.spec: encoders loaded by spec string (factory files, modules, folders of
checkpoints) and bad specs."""

import json

import numpy as np
import pytest
import torch

from dnemkit.encoders import CallableEncoder, Ensemble, load_encoder, save_checkpoint
from dnemkit.errors import DnemkitError


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


def test_folder_of_checkpoints_is_an_ensemble_with_sidecar_behaviour(tmp_path, perturbed_dwiseneuro):
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
