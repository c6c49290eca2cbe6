"""Small stand-ins, written for dnemkit's tests, of two foreign encoders' *calls*: the Sensorium 2023 baseline and
ViV1T. They are not those models (no trained weights, tiny networks); what they reproduce exactly is what a
declared adapter must get right: the forward signature, the input and output layouts, how behaviour and pupil
centre enter, the readout key, frames dropped by valid temporal convolutions, the returned tuple.

Sources read (2026-12; nothing copied):

* Sensorium 2023 baseline, ``sensorium/models/video_encoder.py`` (ecker-lab/sensorium_2023, the challenge's
  baseline repository): ``VideoFiringRateEncoder.forward(inputs, *args, targets=None, data_key=None,
  behavior=None, pupil_center=None, trial_idx=None, shift=None, detach_core=False, **kwargs)``; ``inputs``
  [B, C, T, H, W]; the core's output is transposed to [B, T', C', H', W'] and flattened over (B, T') for the
  readout; a shifter, when present, takes ``pupil_center[:, :, -T':]`` (and raises "pupil_center is not given"
  without it); the output is ``elu(x + offset) + 1`` reshaped to [B, T', N]. The data loaders append behaviour
  (pupil dilation, running speed) and then pupil centre (x, y) to the video as constant channels
  (neuralpredictors' ``AddBehaviorAsChannels``, ``AddPupilCenterAsChannels``): C = 5. The factorised 3-D core
  (neuralpredictors ``Factorized3dCore``) convolves space and then time, without temporal padding, so T' < T.
* ViV1T (bryanlimy/ViV1T-closed-loop, ``Model.forward``): ``forward(inputs, mouse_id, behaviors, pupil_centers,
  activate=True)`` with ``inputs`` [B, C, T, H, W], ``behaviors`` [B, 2, T], ``pupil_centers`` [B, 2, T], a string
  ``mouse_id`` choosing the readout; it returns ``(outputs [B, N, T], core_outputs.detach())``, outputs after an
  ELU + 1 style activation when ``activate``.
"""

import torch
import torch.nn.functional as F
from torch import nn


class FactorizedCore(nn.Module):
    """A factorised 3-D core in miniature: per layer a spatial (1, k, k) convolution padded in space, then a
    temporal (kt, 1, 1) convolution without temporal padding, then ELU. [B, C, T, H, W] -> [B, hidden,
    T - sum(kt - 1), H, W]: the output's frame t is the input's frame t + lag, causally."""

    def __init__(self, in_channels, hidden, spatial_kernels, temporal_kernels):
        super().__init__()
        layers = []
        channels = in_channels
        for k, kt in zip(spatial_kernels, temporal_kernels):
            layers += [nn.Conv3d(channels, hidden, (1, k, k), padding=(0, k // 2, k // 2)),
                       nn.Conv3d(hidden, hidden, (kt, 1, 1)), nn.ELU()]
            channels = hidden
        self.features = nn.Sequential(*layers)
        self.lag = sum(kt - 1 for kt in temporal_kernels)

    def forward(self, x):
        return self.features(x)


class GaussianPointReadout(nn.Module):
    """One mouse's readout: each neuron samples the core's features at its position (bilinear, grid_sample),
    optionally shifted by the shifter, and weighs them. (B', F, H, W) -> (B', N)."""

    def __init__(self, n_neurons, features, generator):
        super().__init__()
        self.mu = nn.Parameter(torch.rand((n_neurons, 2), generator=generator) * 1.2 - 0.6)
        self.features = nn.Parameter(torch.randn((n_neurons, features), generator=generator) / features ** 0.5)
        self.bias = nn.Parameter(torch.zeros(n_neurons))

    def forward(self, x, shift=None):
        grid = self.mu[None].expand(x.shape[0], -1, -1)
        if shift is not None:
            grid = grid + shift[:, None, :]
        sampled = F.grid_sample(x, grid[:, :, None, :], align_corners=True)[..., 0]  # (B', F, N)
        return torch.einsum("bfn,nf->bn", sampled, self.features) + self.bias


class MultiReadout(nn.ModuleDict):
    """Readouts by data key, as neuralpredictors' multi-readouts: ``data_key=None`` works only with one."""

    def forward(self, x, data_key=None, **kwargs):
        if data_key is None:
            if len(self) != 1:
                raise KeyError("data_key is None but there are several readouts")
            data_key = next(iter(self.keys()))
        return self[data_key](x, **kwargs)


class Shifter(nn.ModuleDict):
    """Per data key, pupil centre (B', 2) -> a readout shift (B', 2) in grid units."""

    def __init__(self, keys, generator):
        super().__init__({k: nn.Linear(2, 2) for k in keys})
        with torch.no_grad():
            for layer in self.values():
                layer.weight.copy_(torch.randn((2, 2), generator=generator) * 0.5)
                layer.bias.zero_()

    def forward(self, pupil_center, trial_idx=None, data_key=None):
        return torch.tanh(self[data_key](pupil_center)) * 0.2


class VideoFiringRateEncoderStandIn(nn.Module):
    """The Sensorium 2023 baseline's call (see the module docstring): ``inputs`` [B, C, T, H, W] -> rates
    [B, T', N] with T' = T - lag, ``data_key=`` per mouse, ``pupil_center=`` [B, 2, T] for the shifter."""

    def __init__(self, core, readout, shifter=None, elu_offset=0.0):
        super().__init__()
        self.core = core
        self.readout = readout
        self.shifter = shifter
        self.offset = elu_offset

    def forward(self, inputs, *args, targets=None, data_key=None, behavior=None, pupil_center=None, trial_idx=None,
                shift=None, detach_core=False, **kwargs):
        x = self.core(inputs)
        if detach_core:
            x = x.detach()
        x = torch.transpose(x, 1, 2)  # [B, T', F, H, W]
        batch_size, time_points = x.shape[:2]
        if self.shifter:
            if pupil_center is None:
                raise ValueError("pupil_center is not given")
            pupil_center = torch.transpose(pupil_center[:, :, -time_points:], 1, 2).reshape(-1, 2)
            shift = self.shifter(pupil_center, trial_idx, data_key=data_key)
        x = x.reshape((-1,) + x.shape[2:])
        x = self.readout(x, data_key=data_key, shift=shift)
        x = F.elu(x + self.offset) + 1
        return x.reshape((batch_size, time_points) + x.shape[1:])


def make_sensorium_2023(n_neurons=None, in_channels=5, hidden=8, spatial_kernels=(5, 3), temporal_kernels=(5, 3),
                        use_shifter=True, seed=0):
    """A Sensorium-2023-style model with random weights (``n_neurons``: data key -> neurons)."""
    n_neurons = n_neurons or {"dynamic29515": 30, "dynamic29623": 20}
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # the convolutions' default initialisation, without touching the global RNG
        torch.manual_seed(seed)
        core = FactorizedCore(in_channels, hidden, spatial_kernels, temporal_kernels)
    readout = MultiReadout({k: GaussianPointReadout(n, hidden, gen) for k, n in n_neurons.items()})
    shifter = Shifter(list(n_neurons), gen) if use_shifter else None
    return VideoFiringRateEncoderStandIn(core, readout, shifter).eval()


class ViV1TStandIn(nn.Module):
    """ViV1T's call (see the module docstring): ``model(inputs [B, 1, T, H, W], mouse_id, behaviors [B, 2, T],
    pupil_centers [B, 2, T]) -> (responses [B, N, T], core_outputs)``.

    Inside, in miniature: a patch embedding of every frame, behaviour and pupil centre added to every token of a
    frame, one non-causal self-attention over time per patch (the factorised temporal transformer), per-mouse
    point readouts, ELU + 1."""

    def __init__(self, n_neurons=None, patch=4, dim=12, seed=0):
        super().__init__()
        n_neurons = n_neurons or {"A": 25, "B": 15}
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.embed = nn.Conv2d(1, dim, patch, stride=patch)
            self.behavior_encoder = nn.Linear(4, dim)
            self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.readouts = nn.ModuleDict({k: GaussianPointReadout(n, dim, gen) for k, n in n_neurons.items()})

    def core(self, inputs, behaviors, pupil_centers):
        b, c, t, h, w = inputs.shape
        tokens = self.embed(inputs.transpose(1, 2).reshape(b * t, c, h, w))  # (B*T, D, h', w')
        d, hp, wp = tokens.shape[1:]
        tokens = tokens.reshape(b, t, d, hp * wp).permute(0, 3, 1, 2)  # (B, P, T, D)
        state = torch.cat([behaviors, pupil_centers], dim=1).transpose(1, 2)  # (B, T, 4)
        tokens = tokens + self.behavior_encoder(state)[:, None]
        q, k, v = self.query(tokens), self.key(tokens), self.value(tokens)
        attention = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5, dim=-1)  # (B, P, T, T): every frame
        tokens = tokens + attention @ v
        return tokens.permute(0, 3, 2, 1).reshape(b, d, t, hp, wp)  # (B, D, T, h', w')

    def forward(self, inputs, mouse_id, behaviors, pupil_centers, activate=True):
        core_outputs = self.core(inputs, behaviors, pupil_centers)
        b, d, t = core_outputs.shape[:3]
        flat = core_outputs.transpose(1, 2).reshape(b * t, d, *core_outputs.shape[3:])
        outputs = self.readouts[mouse_id](flat).reshape(b, t, -1).transpose(1, 2)  # (B, N, T)
        if activate:
            outputs = F.elu(outputs) + 1
        return outputs, core_outputs.detach()


def make_viv1t(n_neurons=None, patch=4, dim=12, seed=0):
    """A ViV1T-call model with random weights (``n_neurons``: mouse id -> neurons)."""
    return ViV1TStandIn(n_neurons, patch, dim, seed).eval()
