"""The synthetic mouse: a differentiable ground-truth V1 population with known, exportable properties.

Each neuron is a linear-nonlinear cell on the 36 x 64 screen:

    contrast c(t, y, x) = (video - 127.5) / 127.5
    simple (ON/OFF):  d(t) = sum_tau k(tau) <G_phi, c(t - tau)>        phi = 0 (ON centre) or pi (OFF centre)
    complex:          d(t) = sqrt(d_0(t)^2 + d_90(t)^2 + eps)           (energy model, quadrature Gabor pair)
    rate(t) = baseline + gain * m(t) * softplus(drive_scale * d(t) - threshold)

G is a Gabor (isotropic Gaussian envelope sigma px, carrier sf cycles/px at orientation theta) at the RF centre;
k is a causal 31-frame (1 s) damped-sine temporal kernel tuned near tf Hz; m(t) is the behavioural gain
(running raises it, pupil dilation scales it mildly). The pupil centre channels do not affect this mouse.
Frames before 30 lack a full kernel history (``first_valid_frame`` = 30, as for DwiseNeuro).

RF centres cover a retinotopic region smaller than the screen, so masks matter; SF preferences are
log-uniform over 0.02-0.1 cpd, TF over 1-4 Hz.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from ..errors import DnemkitError, check_generator
from ..stimuli.geometry import DEG_PER_PIXEL, FPS, GREY, HEIGHT, WIDTH, cpd_to_cyc_per_px
from .base import Encoder
from ..units import FRAME

KERNEL_FRAMES = 31
CELL_TYPES = ("on", "off", "complex")


@dataclass(frozen=True)
class SyntheticMouseConfig:
    """How the synthetic population is drawn. Lengths in pixels, frequencies in cpd / Hz."""

    n_neurons: int = 2000
    region_rows: tuple = (12.0, 24.0)  #: RF centres drawn uniformly in these rows ...
    region_cols: tuple = (22.0, 42.0)  #: ... and columns (the screen is 36 x 64)
    sf_cpd: tuple = (0.02, 0.1)  #: log-uniform preferred spatial frequency
    tf_hz: tuple = (1.0, 4.0)  #: log-uniform preferred temporal frequency
    type_fractions: tuple = (0.35, 0.3, 0.35)  #: ON, OFF, complex
    baseline: tuple = (0.05, 0.4)  #: spontaneous rate, counts per frame
    gain_log_mean: float = -1.5  #: with the baseline: median 0.5, 95th percentile 3 counts/frame to natural movies
    gain_log_sd: float = 0.4
    drive_scale: float = 3.0
    threshold: float = 1.0
    run_coupling: tuple = (0.0, 0.6)  #: gain increase at fast running
    pupil_coupling: tuple = (0.0, 0.2)
    running_scale: float = 10.0  #: cm/s at which the running effect is ~76 % saturated
    behavior_mean: tuple = (15.0, 3.0, 0.0, 0.0)  #: pupil dilation, running speed (cm/s), pupil x, pupil y
    pupil_sd: float = 4.0


def _loguniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _temporal_kernels(tf_hz):
    """(N, 31) causal damped sines, unit L2 norm, lag 0 first; a small sustained part keeps TF=0 responses."""
    t = np.arange(KERNEL_FRAMES) / FPS
    tau = np.clip(0.35 / tf_hz, 0.08, 0.3)[:, None]
    k = np.exp(-t[None] / tau) * np.sin(2 * np.pi * tf_hz[:, None] * t[None] + 0.5)
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    return k


def _kernel_peak_hz(kernels):
    spec = np.abs(np.fft.rfft(kernels, n=1024, axis=1))
    return np.fft.rfftfreq(1024, 1 / FPS)[spec.argmax(axis=1)]


def _gabors(cy, cx, sigma, sf_px, theta, phase):
    """(N, 36, 64) Gabors with unit L2 norm."""
    y = np.arange(HEIGHT)[None, :, None] - cy[:, None, None]
    x = np.arange(WIDTH)[None, None, :] - cx[:, None, None]
    along = x * np.cos(theta)[:, None, None] - y * np.sin(theta)[:, None, None]
    env = np.exp(-(x ** 2 + y ** 2) / (2 * sigma[:, None, None] ** 2))
    g = env * np.cos(2 * np.pi * sf_px[:, None, None] * along + phase[:, None, None])
    g = g / np.linalg.norm(g.reshape(len(g), -1), axis=1)[:, None, None]
    # Far tails of the envelope (below 1e-20 of the peak, invisible in a float32 sum) become subnormal floats in
    # float32, and x86 arithmetic on subnormals is ~100x slower: one matmul took 5 s instead of 0.04 s.
    return np.where(np.abs(g) < 1e-20, 0.0, g)


def causal_filter(x, kernels):
    """y[..., f, t] = sum_tau kernels[f, tau] * x[..., f, t - tau] (zero before t = 0), via FFT.

    x (B, F, T), kernels (F, L) with lag 0 first. A grouped conv1d over thousands of channels is slow to
    differentiate on CPU; the FFT product is the same linear convolution at a fraction of the cost.
    """
    t, lags = x.shape[-1], kernels.shape[-1]
    n = 1 << (t + lags - 1 - 1).bit_length()
    spectrum = torch.fft.rfft(x, n=n) * torch.fft.rfft(kernels, n=n)
    return torch.fft.irfft(spectrum, n=n)[..., :t]


class SyntheticMouse(Encoder):
    """Ground-truth population drawn from ``seed``; an encoder like any other (video 0..255 -> rates)."""

    first_valid_frame = KERNEL_FRAMES - 1
    #: a linear-nonlinear model is cheapest in one large pass, unlike a CNN on a CPU
    cpu_subbatches_per_pass = 64

    def __init__(self, seed=0, config=SyntheticMouseConfig()):
        super().__init__()
        if config.n_neurons < 1:
            raise DnemkitError(f"n_neurons is {config.n_neurons}; expected at least 1")
        self.seed, self.config = int(seed), config
        rng = np.random.default_rng(self.seed)
        n = config.n_neurons
        self.n_neurons = n
        p = {}
        p["center_y"] = rng.uniform(*config.region_rows, n)
        p["center_x"] = rng.uniform(*config.region_cols, n)
        p["sf_cpd"] = _loguniform(rng, *config.sf_cpd, n)
        p["sf_cyc_per_px"] = cpd_to_cyc_per_px(p["sf_cpd"])
        # about one carrier cycle under the envelope, as in V1 simple cells; 1-3 px
        p["sigma_px"] = np.clip(0.25 / p["sf_cyc_per_px"], 1.0, 3.0)
        p["orientation_deg"] = rng.uniform(0, 180, n)
        p["cell_type"] = rng.choice(np.array(CELL_TYPES), n, p=np.asarray(config.type_fractions))
        p["tf_hz"] = _loguniform(rng, *config.tf_hz, n)
        p["baseline"] = rng.uniform(*config.baseline, n)
        p["gain"] = np.exp(rng.normal(config.gain_log_mean, config.gain_log_sd, n))
        p["run_coupling"] = rng.uniform(*config.run_coupling, n)
        p["pupil_coupling"] = rng.uniform(*config.pupil_coupling, n)
        kernels = _temporal_kernels(p["tf_hz"])
        p["tf_peak_hz"] = _kernel_peak_hz(kernels)
        self.properties_ = p

        theta = np.deg2rad(p["orientation_deg"])
        phase = np.where(p["cell_type"] == "off", np.pi, 0.0)
        g0 = _gabors(p["center_y"], p["center_x"], p["sigma_px"], p["sf_cyc_per_px"], theta, phase)
        complex_ = p["cell_type"] == "complex"
        g90 = _gabors(p["center_y"][complex_], p["center_x"][complex_], p["sigma_px"][complex_],
                      p["sf_cyc_per_px"][complex_], theta[complex_], np.full(complex_.sum(), np.pi / 2))
        f32 = dict(dtype=torch.float32)
        # filters for the simple part and the quadrature part, stacked: (N + n_complex, 36*64)
        self.register_buffer("filters", torch.tensor(np.concatenate([g0, g90]).reshape(-1, HEIGHT * WIDTH), **f32))
        self.register_buffer("complex_index", torch.tensor(np.flatnonzero(complex_), dtype=torch.long))
        self.register_buffer("kernels", torch.tensor(np.concatenate([kernels, kernels[complex_]]), **f32))
        for name in ("baseline", "gain", "run_coupling", "pupil_coupling"):
            self.register_buffer(name, torch.tensor(p[name], **f32))
        self.register_buffer("_behavior_mean", torch.tensor(config.behavior_mean, **f32))
        self.temporal_kernels = kernels
        self.description = f"synthetic mouse (seed {self.seed}, {n} neurons)"

    def default_behavior(self):
        return self._behavior_mean

    def behavioral_gain(self, behavior):
        """(B, 4, T) behaviour -> (B, N, T) multiplicative gain (1 at rest and mean pupil)."""
        c = self.config
        pupil = (behavior[:, 0:1] - c.behavior_mean[0]) / c.pupil_sd
        running = torch.tanh(behavior[:, 1:2].clamp(min=0) / c.running_scale)
        g = 1 + self.run_coupling[None, :, None] * running + self.pupil_coupling[None, :, None] * torch.tanh(pupil)
        return g.clamp(min=0.1)

    def drive(self, video):
        """(B, T, 36, 64) -> (B, N, T) linear-energy drive before the output nonlinearity."""
        b, t = video.shape[:2]
        contrast = (video.reshape(b, t, -1) - GREY) / GREY
        proj = torch.matmul(contrast, self.filters.T).transpose(1, 2).float()  # (B, F, T); the FFT stays fp32
        filt = causal_filter(proj, self.kernels)
        n = self.n_neurons
        d = filt[:, :n]
        quad = filt[:, n:]
        if quad.shape[1]:
            energy = torch.sqrt(d[:, self.complex_index] ** 2 + quad ** 2 + 1e-4)
            d = d.index_copy(1, self.complex_index, energy)
        return d

    def forward(self, video, behavior=None):
        b, t = video.shape[:2]
        behavior = self.expand_behavior(behavior, b, t, video.device)
        c = self.config
        nl = F.softplus(c.drive_scale * self.drive(video) - c.threshold)
        return self.baseline[None, :, None] + self.gain[None, :, None] * self.behavioral_gain(behavior) * nl

    def properties(self):
        """xr.Dataset over ``neuron`` with every true property (units in attrs) and the temporal kernels."""
        p = self.properties_
        units = dict(center_y="pixel", center_x="pixel", sigma_px="pixel", sf_cpd="cycles/degree",
                     sf_cyc_per_px="cycles/pixel", orientation_deg="degree", tf_hz="Hz", tf_peak_hz="Hz",
                     baseline="counts/frame", gain="counts/frame", run_coupling="1", pupil_coupling="1")
        ds = xr.Dataset({k: ("neuron", np.asarray(v)) for k, v in p.items()},
                        coords={"neuron": np.arange(self.n_neurons)})
        for k, u in units.items():
            ds[k].attrs["units"] = u
        ds["cell_type"].attrs["long_name"] = "cell type: on | off | complex"
        ds["temporal_kernel"] = (("neuron", "lag"), self.temporal_kernels)
        ds["lag"] = np.arange(KERNEL_FRAMES)
        ds["lag"].attrs.update(units=FRAME, long_name="kernel lag (30 Hz frames)")
        ds.attrs.update(seed=self.seed, deg_per_pixel=DEG_PER_PIXEL, model=__doc__.strip().splitlines()[0],
                        config=repr(asdict(self.config)))
        return ds

    def info(self):
        out = super().info()
        out.update(seed=self.seed, cell_types={t: int((self.properties_["cell_type"] == t).sum()) for t in CELL_TYPES},
                   mice=1)
        return out


def simulate_behavior(n_frames, rng, config=SyntheticMouseConfig()):
    """(4, T) plausible behaviour: running bouts, pupil following running, pupil centre jitter."""
    t = n_frames
    bouts = (rng.random(t) < 0.01).astype(float)
    state = np.convolve(bouts, np.ones(90), mode="full")[:t] > 0  # ~3 s bouts
    speed = np.where(state, rng.uniform(5, 25), 0.0) + np.abs(rng.normal(0, 0.5, t))
    speed = np.convolve(speed, np.ones(10) / 10, mode="same")
    pupil = config.behavior_mean[0] + 0.3 * speed + np.cumsum(rng.normal(0, 0.1, t))
    centre = np.cumsum(rng.normal(0, 0.2, (2, t)), axis=1)
    return np.vstack([pupil, speed, centre]).astype(np.float32)


def sample_responses(rates, rng):
    """Poisson counts (float32, the shape of ``rates``: any shape, numpy or tensor, counts/frame) drawn from the
    numpy Generator ``rng``."""
    rates = rates.detach().cpu().numpy() if torch.is_tensor(rates) else np.asarray(rates)
    return check_generator(rng).poisson(np.clip(rates, 0, None)).astype(np.float32)
