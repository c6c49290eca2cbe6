"""Tests of dnemkit.encoders.dwiseneuro.checkpoint: argus DwiseNeuro checkpoints written and loaded back; foreign and
broken files refused."""

import pytest
import torch

from dnemkit.encoders import DwiseNeuroEncoder, load_encoder, save_checkpoint
from dnemkit.encoders.dwiseneuro.checkpoint import read_checkpoint
from dnemkit.errors import DnemkitError


def test_checkpoint_round_trip(tmp_path, perturbed_dwiseneuro):
    model = perturbed_dwiseneuro(4)
    path = save_checkpoint(tmp_path / "model-003-0.250000.pth", model)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model_name", "params", "nn_state_dict"}
    assert raw["model_name"] == "MouseModel"
    assert raw["params"]["nn_module"][0] == "dwiseneuro"
    assert raw["params"]["frame_stack"] == {"size": 16, "step": 2, "position": "last"}
    assert all(v.dtype == torch.float32 for v in raw["nn_state_dict"].values() if v.is_floating_point())
    assert "core.blocks.1.spat_covn_dw.0.weight" in raw["nn_state_dict"]
    enc = load_encoder(str(path), mouse=1)
    video = torch.rand(1, 35, 36, 64) * 255
    with torch.no_grad():
        torch.testing.assert_close(enc(video), DwiseNeuroEncoder(model, 1)(video), rtol=0, atol=0)


@pytest.mark.parametrize("payload, message", [
    ({"weights": 1}, "missing key"),
    ({"model_name": "X", "params": {"nn_module": ("resnet", {})}, "nn_state_dict": {}}, "dwiseneuro"),
    ([1, 2, 3], "holds a list"),
])
def test_foreign_checkpoints_are_rejected(tmp_path, payload, message):
    path = tmp_path / "x.pth"
    torch.save(payload, path)
    with pytest.raises(DnemkitError, match=message):
        read_checkpoint(path)


def test_checkpoint_errors(tmp_path, small_model):
    with pytest.raises(DnemkitError, match="does not exist"):
        load_encoder(str(tmp_path / "missing.pth"))
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(DnemkitError, match="not a readable torch checkpoint"):
        load_encoder(str(tmp_path / "text.pth"))
    path = save_checkpoint(tmp_path / "m.pth", small_model)
    with pytest.raises(DnemkitError, match=r"mouse index 2 is out of range.*0\.\.1"):
        load_encoder(str(path), mouse=2)
