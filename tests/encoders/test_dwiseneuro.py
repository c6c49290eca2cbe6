"""Tests of dnemkit.encoders.dwiseneuro (network and encoder): trial inference against the reference
frame-by-frame predictor, gradients, the layer rewrites, the full model's size."""

import numpy as np
import pytest
import torch

from dnemkit.encoders import DwiseNeuro, DwiseNeuroEncoder, MAIN_CONFIG
from dnemkit.encoders.dwiseneuro.checkpoint import default_params
from dnemkit.errors import DnemkitError


def slow_predictor(model, mouse, video, behavior, fill=0.0):
    """The reference Predictor, frame by frame: one batch-1 window per frame i >= 30, blended by counts."""
    t = video.shape[0]
    n = model.readout_outputs[mouse]
    total = torch.zeros(n, t, dtype=torch.float64)
    counts = torch.zeros(t, dtype=torch.float64)
    for i in range(30, t):
        frames = list(range(i - 30, i + 1, 2))
        x = torch.full((1, 5, 16, 64, 64), fill)
        for k, f in enumerate(frames):
            x[0, 0, k, 14:50, :] = video[f]
            for c in range(4):
                x[0, 1 + c, k] = behavior[c, f]
        with torch.no_grad():
            pred = model(x, mouse)[0].double()
        for k, f in enumerate(frames):
            total[:, f] += pred[:, k]
            counts[f] += 1
    return (total / counts.clamp(min=1)).float()


def test_batched_trial_inference_equals_frame_by_frame_predictor(perturbed_dwiseneuro):
    model = perturbed_dwiseneuro(1)
    gen = torch.Generator().manual_seed(0)
    video = torch.rand(2, 41, 36, 64, generator=gen) * 255
    behavior = torch.randn(2, 4, 41, generator=gen)
    enc = DwiseNeuroEncoder(model, mouse=1, window_batch=5)
    with torch.no_grad():
        fast = enc(video, behavior)
    for b in range(2):
        slow = slow_predictor(model, 1, video[b], behavior[b])
        rel = (fast[b] - slow).abs().max() / slow.abs().max()
        assert rel < 1e-5
    # every frame is covered: the first frame only by the window ending at 30
    assert torch.all(fast > 0)


def test_trial_inference_is_differentiable_wrt_video(perturbed_dwiseneuro):
    enc = DwiseNeuroEncoder(perturbed_dwiseneuro(2), mouse=0)
    video = (torch.rand(1, 33, 36, 64) * 255).requires_grad_()
    enc(video).sum().backward()
    assert video.grad is not None and video.grad.abs().sum() > 0
    # the encoder is frozen
    assert all(p.grad is None and not p.requires_grad for p in enc.model.parameters())


def test_depthwise_conv2d_rewrite_equals_conv3d(perturbed_dwiseneuro):
    model = perturbed_dwiseneuro(3)
    block = model.core.blocks[1]
    x = torch.randn(2, block.spat_covn_dw[0].in_channels, 7, 32, 32)
    from dnemkit.encoders.dwiseneuro.network import spatial_depthwise, temporal_depthwise
    torch.testing.assert_close(spatial_depthwise(block.spat_covn_dw[0], x), block.spat_covn_dw[0](x),
                               rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(temporal_depthwise(block.temp_covn_dw[0], x), block.temp_covn_dw[0](x),
                               rtol=1e-6, atol=1e-6)


def test_positional_encoding_layout():
    from dnemkit.encoders.dwiseneuro.network import PositionalEncoding3D
    pe = PositionalEncoding3D(10)  # c = ceil(10/6)*2 = 4 channels per axis, truncated to 10
    emb = pe.encoding(3, 4, 5, "cpu", torch.float32)
    assert emb.shape == (10, 3, 4, 5)
    f = 1 / 10000 ** (np.arange(0, 4, 2) / 4)
    t, h, w = 2, 3, 4
    expected = np.concatenate([np.sin(t * f), np.cos(t * f), np.sin(h * f), np.cos(h * f),
                               np.sin(w * f)[:2]])
    np.testing.assert_allclose(emb[:, t, h, w].numpy(), expected, rtol=1e-6)


def test_full_size_model_parameter_count():
    model = DwiseNeuro(**MAIN_CONFIG)
    assert sum(p.numel() for p in model.parameters()) == 170_656_070
    assert len(model.readouts) == 10
    assert len(model.state_dict()) == 365
    assert [r.out_features for r in model.readouts] == [7863, 7908, 8202, 7939, 8122, 7440, 7928, 8285, 7671, 7495]
    # argus params round-trip as plain python containers that weights_only loading accepts
    params = default_params(model.config)
    assert params["nn_module"][1]["core_features"] == MAIN_CONFIG["core_features"]


def test_too_short_video_is_rejected(small_model):
    enc = DwiseNeuroEncoder(small_model)
    with pytest.raises(DnemkitError, match="at least 31 frames"):
        enc(torch.zeros(1, 20, 36, 64))
