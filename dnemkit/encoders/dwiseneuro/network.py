"""DwiseNeuro (Sensorium 2023 winner), exactly as the reference defines it (docs/method.md, "Encoders").

Module and parameter names reproduce the reference state dict (including its spelling ``covn``), so argus
checkpoints load and models saved here load in the original code. Input (B, 5, 16, 64, 64): raw pixel values,
two behaviour channels and two pupil-centre channels broadcast over the plane, 16 frames taken every 2nd frame.

The depthwise convolutions are evaluated as 2-D convolutions (the (1,3,3) kernel over B*T frames, the (5,1,1)
kernel as a (5,1) kernel over (T, H*W)): the arithmetic is identical and it is several times faster than
PyTorch's depthwise Conv3d on CPU and GPU. Weights stay in Conv3d modules so the state dict is unchanged.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

MAIN_CONFIG = dict(
    readout_outputs=(7863, 7908, 8202, 7939, 8122, 7440, 7928, 8285, 7671, 7495),
    in_channels=5,
    core_features=(64, 64, 64, 64, 128, 128, 128, 256, 256),
    spatial_strides=(2, 1, 1, 1, 2, 1, 1, 2, 1),
    spatial_kernel=3,
    temporal_kernel=5,
    expansion_ratio=7,
    se_reduce_ratio=32,
    cortex_features=(1024, 2048, 4096),
    groups=2,
    softplus_beta=0.07,
    drop_rate=0.4,
    drop_path_rate=0.1,
)


class BatchNormAct(nn.Module):
    """BatchNorm (3-D or 1-D) optionally followed by SiLU; the wrapper gives the reference's ``.bn`` names."""

    def __init__(self, features, bn_layer=nn.BatchNorm3d, apply_act=True):
        super().__init__()
        self.bn = bn_layer(features)
        self.act = nn.SiLU() if apply_act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(x))


class DropPath(nn.Module):
    """Stochastic depth: drop whole residual branches per sample while training."""

    def __init__(self, rate=0.0):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class PositionalEncoding3D(nn.Module):
    """3-D sinusoidal encoding added to (B, C, T, H, W); channel blocks time | height | width.

    ``inv_freq`` is a persistent buffer so a checkpoint's stored frequencies are used as they are.
    """

    def __init__(self, channels):
        super().__init__()
        self.orig_channels = channels
        c = int(math.ceil(channels / 6) * 2)
        self.axis_channels = c
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, c, 2).float() / c)))

    def encoding(self, t, h, w, device, dtype):
        def axis(n):
            f = torch.outer(torch.arange(n, device=device, dtype=self.inv_freq.dtype), self.inv_freq)
            return torch.cat((f.sin(), f.cos()), dim=-1)  # all sines, then all cosines

        c = self.axis_channels
        emb = torch.zeros((t, h, w, 3 * c), device=device, dtype=self.inv_freq.dtype)
        emb[..., :c] = axis(t)[:, None, None]
        emb[..., c:2 * c] = axis(h)[None, :, None]
        emb[..., 2 * c:] = axis(w)[None, None, :]
        return emb[..., :self.orig_channels].permute(3, 0, 1, 2).to(dtype)

    def forward(self, x):
        _, _, t, h, w = x.shape
        return x + self.encoding(t, h, w, x.device, x.dtype).unsqueeze(0)


class SqueezeExcite3d(nn.Module):
    def __init__(self, features, reduce_ratio):
        super().__init__()
        reduced = features // reduce_ratio
        self.conv_reduce = nn.Conv3d(features, reduced, 1, bias=True)
        self.act1 = nn.SiLU()
        self.conv_expand = nn.Conv3d(reduced, features, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = x.mean((2, 3, 4), keepdim=True)
        return x * self.gate(self.conv_expand(self.act1(self.conv_reduce(s))))


def spatial_depthwise(conv, x):
    """Depthwise Conv3d with kernel (1,k,k) evaluated as a Conv2d over every frame."""
    b, c, t, h, w = x.shape
    frames = x.transpose(1, 2).reshape(b * t, c, h, w)
    y = F.conv2d(frames, conv.weight.squeeze(2), conv.bias, conv.stride[1:], conv.padding[1:], groups=c)
    return y.reshape(b, t, c, y.shape[-2], y.shape[-1]).transpose(1, 2)


def temporal_depthwise(conv, x):
    """Depthwise Conv3d with kernel (k,1,1) evaluated as a Conv2d with a (k,1) kernel over (T, H*W)."""
    b, c, t, h, w = x.shape
    y = F.conv2d(x.reshape(b, c, t, h * w), conv.weight.squeeze(-1), conv.bias,
                 (1, 1), (conv.padding[0], 0), groups=c)
    return y.reshape(b, c, t, h, w)


class InvertedResidual3d(nn.Module):
    #: evaluate the depthwise convolutions as 2-D convolutions (identical numbers, faster); False runs the
    #: Conv3d modules as the reference did (used by benchmarks/ to time the reference schedule)
    depthwise_as_2d = True

    def __init__(self, in_features, out_features, spatial_kernel, temporal_kernel, spatial_stride,
                 expansion_ratio, se_reduce_ratio, drop_path_rate):
        super().__init__()
        mid = in_features * expansion_ratio
        self.in_features, self.out_features, self.spatial_stride = in_features, out_features, spatial_stride
        self.conv_pw = nn.Sequential(nn.Conv3d(in_features, mid, 1, bias=False), BatchNormAct(mid))
        self.spat_covn_dw = nn.Sequential(
            nn.Conv3d(mid, mid, (1, spatial_kernel, spatial_kernel), stride=(1, spatial_stride, spatial_stride),
                      padding=(0, spatial_kernel // 2, spatial_kernel // 2), groups=mid, bias=False),
            BatchNormAct(mid),
        )
        self.temp_covn_dw = nn.Sequential(
            nn.Conv3d(mid, mid, (temporal_kernel, 1, 1), padding=(temporal_kernel // 2, 0, 0), groups=mid,
                      bias=False),
            BatchNormAct(mid),
        )
        self.se = SqueezeExcite3d(mid, se_reduce_ratio)
        self.conv_pwl = nn.Sequential(nn.Conv3d(mid, out_features, 1, bias=False),
                                      BatchNormAct(out_features, apply_act=False))
        self.drop_path = DropPath(drop_path_rate)
        self.bn_sc = BatchNormAct(out_features, apply_act=False)

    def shortcut(self, x):
        _, _, t, h, w = x.shape
        if self.spatial_stride > 1:
            size = (t, math.ceil(h / self.spatial_stride), math.ceil(w / self.spatial_stride))
            x = F.interpolate(x, size=size, mode="nearest")
        if self.in_features != self.out_features:
            x = torch.tile(x, (1, math.ceil(self.out_features / self.in_features), 1, 1, 1))[:, :self.out_features]
        return x

    def forward(self, x):
        y = self.conv_pw(x)
        if self.depthwise_as_2d:
            y = self.spat_covn_dw[1](spatial_depthwise(self.spat_covn_dw[0], y))
            y = self.temp_covn_dw[1](temporal_depthwise(self.temp_covn_dw[0], y))
        else:
            y = self.temp_covn_dw(self.spat_covn_dw(y))
        y = self.conv_pwl(self.se(y))
        return self.drop_path(y) + self.bn_sc(self.shortcut(x))


class DepthwiseCore(nn.Module):
    def __init__(self, in_channels, features, spatial_strides, spatial_kernel, temporal_kernel,
                 expansion_ratio, se_reduce_ratio, drop_path_rate):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(in_channels, features[0], 1, bias=False),
                                  BatchNormAct(features[0], apply_act=False))
        n = len(features)
        blocks = []
        for i in range(n):
            blocks.append(PositionalEncoding3D(features[i]))
            blocks.append(InvertedResidual3d(features[i], features[min(i + 1, n - 1)], spatial_kernel,
                                             temporal_kernel, spatial_strides[i], expansion_ratio,
                                             se_reduce_ratio, drop_path_rate * i / n))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(self.stem(x))


class ChannelShuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c, t = x.shape
        return x.view(b, self.groups, c // self.groups, t).transpose(1, 2).reshape(b, c, t)


class CortexLayer(nn.Module):
    def __init__(self, in_features, out_features, groups, drop_path_rate):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.conv = nn.Conv1d(in_features, out_features, 1, groups=groups, bias=False)
        self.bn = BatchNormAct(out_features, bn_layer=nn.BatchNorm1d)
        self.shuffle = ChannelShuffle(groups)
        self.drop_path = DropPath(drop_path_rate)
        self.bn_sc = BatchNormAct(out_features, bn_layer=nn.BatchNorm1d, apply_act=False)

    def forward(self, x):
        y = self.drop_path(self.shuffle(self.bn(self.conv(x))))
        sc = torch.tile(x, (1, math.ceil(self.out_features / self.in_features), 1))[:, :self.out_features]
        return y + self.bn_sc(sc)


class Cortex(nn.Module):
    def __init__(self, in_features, features, groups, drop_path_rate):
        super().__init__()
        sizes = (in_features,) + tuple(features)
        self.layers = nn.Sequential(*[
            CortexLayer(sizes[j], sizes[j + 1], groups, drop_path_rate) for j in range(len(features))
        ])

    def forward(self, x):
        return self.layers(x)


class Readout(nn.Module):
    def __init__(self, in_features, out_features, groups, softplus_beta, drop_rate):
        super().__init__()
        self.out_features = out_features
        padded = math.ceil(out_features / groups) * groups
        self.layer = nn.Sequential(nn.Dropout1d(drop_rate), nn.Conv1d(in_features, padded, 1, groups=groups))
        self.gate = nn.Softplus(beta=softplus_beta, threshold=20)

    def forward(self, x):
        return self.gate(self.layer(x)[:, :self.out_features])


class DwiseNeuro(nn.Module):
    """(B, 5, 16, 64, 64) -> (B, n_mouse, 16) for one readout ``index`` (or a list over all readouts)."""

    def __init__(self, readout_outputs, in_channels, core_features, spatial_strides, spatial_kernel,
                 temporal_kernel, expansion_ratio, se_reduce_ratio, cortex_features, groups, softplus_beta,
                 drop_rate, drop_path_rate):
        super().__init__()
        self.config = dict(readout_outputs=tuple(readout_outputs), in_channels=in_channels,
                           core_features=tuple(core_features), spatial_strides=tuple(spatial_strides),
                           spatial_kernel=spatial_kernel, temporal_kernel=temporal_kernel,
                           expansion_ratio=expansion_ratio, se_reduce_ratio=se_reduce_ratio,
                           cortex_features=tuple(cortex_features), groups=groups, softplus_beta=softplus_beta,
                           drop_rate=drop_rate, drop_path_rate=drop_path_rate)
        self.readout_outputs = tuple(readout_outputs)
        self.core = DepthwiseCore(in_channels, core_features, spatial_strides, spatial_kernel, temporal_kernel,
                                  expansion_ratio, se_reduce_ratio, drop_path_rate)
        self.pool = nn.AdaptiveAvgPool3d((None, 1, 1))
        self.cortex = Cortex(core_features[-1], cortex_features, groups, drop_path_rate)
        self.readouts = nn.ModuleList([
            Readout(cortex_features[-1], n, groups, softplus_beta, drop_rate) for n in readout_outputs
        ])

    def features(self, x):
        x = self.pool(self.core(x))
        return self.cortex(x.squeeze(-1).squeeze(-1))

    def forward(self, x, index=None):
        x = self.features(x)
        if index is None:
            return [readout(x) for readout in self.readouts]
        return self.readouts[index](x)


def _bn_scale_shift(bn):
    """(scale, shift) with bn(x) == x * scale + shift per channel, for a BatchNorm in eval mode."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def _fold_into(conv, norm):
    """Fold ``norm`` (a BatchNormAct) into the convolution before it: conv's weight scaled per output channel,
    the shift as its bias, the BatchNorm replaced by the identity (the activation stays)."""
    scale, shift = _bn_scale_shift(norm.bn)
    shape = (-1,) + (1,) * (conv.weight.dim() - 1)
    conv.weight.data = conv.weight.data * scale.view(shape)
    bias = shift if conv.bias is None else conv.bias.data * scale + shift
    conv.bias = nn.Parameter(bias.detach().clone(), requires_grad=conv.weight.requires_grad)
    norm.bn = nn.Identity()


class ChannelAffine(nn.Module):
    """x * scale + shift per channel (dim 1): an eval-mode BatchNorm with no convolution before it to fold into."""

    def __init__(self, bn):
        super().__init__()
        scale, shift = _bn_scale_shift(bn)
        self.register_buffer("scale", scale.detach().clone())
        self.register_buffer("shift", shift.detach().clone())

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return torch.addcmul(self.shift.view(shape), x, self.scale.view(shape))


@torch.no_grad()
def fold_batchnorm(model):
    """Fold every eval-mode BatchNorm of a DwiseNeuro into the convolution before it, in place; returns it.

    Each BatchNorm follows a convolution (stem, expansion, both depthwise convolutions, projection, cortex) except
    the shortcut's (``bn_sc``), which becomes a per-channel affine. The arithmetic is the same up to float
    round-off (tests/encoders/test_dwiseneuro.py); one pass over the activations less per BatchNorm, forward
    and backward. Only for inference: the folded model is not the reference's and cannot be trained or saved as
    a checkpoint of it.
    """
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (BatchNorm running statistics)")
    core = model.core
    _fold_into(core.stem[0], core.stem[1])
    for block in core.blocks:
        if isinstance(block, InvertedResidual3d):
            for seq in (block.conv_pw, block.spat_covn_dw, block.temp_covn_dw, block.conv_pwl):
                _fold_into(seq[0], seq[1])
            block.bn_sc.bn = ChannelAffine(block.bn_sc.bn)
    for layer in model.cortex.layers:
        _fold_into(layer.conv, layer.bn)  # conv -> bn -> shuffle: the shuffle only permutes channels after it
        layer.bn_sc.bn = ChannelAffine(layer.bn_sc.bn)
    model.batchnorm_folded = True
    return model


def random_dwiseneuro(config, seed=0):
    """A DwiseNeuro with random weights and non-trivial BatchNorm statistics (running mean U(-0.5, 0.5), variance
    U(0.5, 2), affine weight U(0.5, 1.5), bias U(-0.2, 0.2)), in eval mode: for tests and benchmarks, where
    default BatchNorm statistics would hide mistakes in how they are applied."""
    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's generator
        torch.manual_seed(seed)
        model = DwiseNeuro(**config)
        return _random_statistics(model)


@torch.no_grad()
def _random_statistics(model):
    """Draw the BatchNorm statistics of :func:`random_dwiseneuro` (from the current generator); eval mode."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm3d)):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.uniform_(0.5, 1.5)
            module.bias.uniform_(-0.2, 0.2)
    return model.eval()
