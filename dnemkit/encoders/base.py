"""The encoder protocol every part of dnemkit talks to.

An encoder is a ``torch.nn.Module`` mapping a video to firing rates::

    rates = enc(video, behavior=None)
    video:    (B, T, 36, 64) float32, grey levels 0..255, 30 Hz
    behavior: (B, 4, T) float32 (pupil dilation, running speed, pupil centre x, y) or None (the encoder's defaults)
    rates:    (B, N, T) >= 0, differentiable w.r.t. ``video``

It exposes ``n_neurons`` and ``first_valid_frame`` (the first frame with a full input history; 30 for
DwiseNeuro). Reconstruction also uses the *stacked-input* hooks below, so that input gradients can be
normalised over exactly the tensor the model sees (for DwiseNeuro: all five channels of the padded 64 x 64
input, as the paper did). Encoders that do not override them normalise over the video alone.
"""

import torch
from torch import nn

from ..errors import DnemkitError
from ..stimuli.geometry import HEIGHT, WIDTH


class Encoder(nn.Module):
    """Base class: subclasses implement ``forward`` and set ``n_neurons``, ``first_valid_frame``."""

    n_neurons: int = 0
    first_valid_frame: int = 0
    #: what this encoder is, for `characterize encoders info` and result provenance
    description: str = ""

    def default_behavior(self):
        """(4,) float32 tensor: behaviour used when none is given (per-mouse means)."""
        return torch.zeros(4)

    def expand_behavior(self, behavior, batch, frames, device=None):
        """Return behaviour as (B, 4, T), filling in defaults and checking the shape."""
        if behavior is None:
            return self.default_behavior().to(device).view(1, 4, 1).expand(batch, 4, frames)
        if behavior.dim() == 2:
            behavior = behavior.unsqueeze(0).expand(batch, -1, -1)
        if tuple(behavior.shape) != (batch, 4, frames):
            raise DnemkitError(
                f"behavior has shape {tuple(behavior.shape)}; expected ({batch}, 4, {frames}) "
                "(pupil dilation, running speed, pupil x, pupil y per frame)"
            )
        return behavior.to(device=device, dtype=torch.float32)

    # --- stacked-input hooks used by the reconstruction loop -------------------------------------------
    def stack_inputs(self, video, behavior=None):
        """The tensor whose gradient the reconstruction normalises; default: the video itself."""
        return video

    def forward_stacked(self, stacked, behavior=None):
        """Rates (B, N, T) from ``stack_inputs``' output."""
        return self(stacked, behavior)

    def video_grad(self, stacked_grad):
        """The video part (B, T, 36, 64) of a gradient w.r.t. ``stack_inputs``' output."""
        return stacked_grad

    def info(self):
        """A plain dict describing the encoder (neurons, parameters, input geometry)."""
        return {
            "class": type(self).__name__,
            "description": self.description,
            "neurons": int(self.n_neurons),
            "parameters": int(sum(p.numel() for p in self.parameters())),
            "input": f"video (B, T, {HEIGHT}, {WIDTH}) 0..255 at 30 Hz, behavior (B, 4, T)",
            "first_valid_frame": int(self.first_valid_frame),
        }


class Ensemble(Encoder):
    """Several encoders of the same neurons; ``forward`` is the mean of their predictions."""

    def __init__(self, members, description=""):
        super().__init__()
        members = list(members)
        if not members:
            raise DnemkitError("an ensemble needs at least one encoder")
        counts = {m.n_neurons for m in members}
        if len(counts) != 1:
            raise DnemkitError(f"ensemble members predict different neuron counts {sorted(counts)}; expected one")
        self.members = nn.ModuleList(members)
        self.n_neurons = members[0].n_neurons
        self.first_valid_frame = max(m.first_valid_frame for m in members)
        self.description = description or f"ensemble of {len(members)} x {type(members[0]).__name__}"

    def default_behavior(self):
        return self.members[0].default_behavior()

    def forward(self, video, behavior=None):
        return torch.stack([m(video, behavior) for m in self.members]).mean(0)

    def info(self):
        out = super().info()
        out["models"] = len(self.members)
        out["member"] = self.members[0].info()
        return out


def _encoder_name(encoder):
    return getattr(encoder, "description", "") or f"encoder {type(encoder).__name__}"


def check_rates(rates, encoder, video=None, need_grad=False):
    """The one guard on an encoder's output, used wherever dnemkit first uses it. Returns ``rates``.

    rates must be a tensor (B, N, T) (B, T those of ``video`` (B, T, 36, 64) when given), finite and >= 0, and,
    with ``need_grad``, connected to the autograd graph (reconstruction and masks differentiate it w.r.t. the
    video). Raises DnemkitError naming the encoder (its ``description``) otherwise.
    """
    name = _encoder_name(encoder)
    if not torch.is_tensor(rates):
        raise DnemkitError(f"{name} returned a {type(rates).__name__}; expected a torch tensor of rates (B, N, T)")
    if video is not None:
        b, t = int(video.shape[0]), int(video.shape[1])
        if rates.dim() != 3 or rates.shape[0] != b or rates.shape[2] != t:
            raise DnemkitError(f"{name} returned rates of shape {tuple(rates.shape)}; expected (B, N, T) = "
                               f"({b}, N, {t}) for a video of shape {tuple(video.shape)}")
    elif rates.dim() != 3:
        raise DnemkitError(f"{name} returned rates of shape {tuple(rates.shape)}; expected (B, N, T)")
    if rates.numel():
        with torch.no_grad():
            finite = torch.isfinite(rates)
            if not bool(finite.all()):
                bad = int((~finite).sum())
                raise DnemkitError(f"{name} returned {bad} NaN/inf rate(s) of {rates.numel()}; expected finite "
                                   "firing rates >= 0 (the encoder's output, not the recorded data)")
            low = float(rates.min())
            if low < 0:
                raise DnemkitError(f"{name} returned negative rates (min {low:.4g}); expected firing rates >= 0 "
                                   "(end the model with e.g. softplus, exp or ELU + 1)")
    if need_grad and not rates.requires_grad:
        raise DnemkitError(f"{name} returned rates that do not depend on the video (no gradient reaches them); "
                           "expected rates computed from the video with differentiable torch operations "
                           "(no .detach(), numpy or torch.no_grad inside forward)")
    return rates


def _trusted(encoder):
    """dnemkit's own encoder classes (DwiseNeuro, the synthetic mouse), alone or as an ensemble."""
    return all(type(m).__module__.startswith("dnemkit.encoders.") and not isinstance(m, CallableEncoder)
               for m in members_of(encoder))


def probe_encoder(encoder, need_grad=True, seed=0):
    """Check an encoder once, before heavy compute, with the guard of :func:`check_rates`.

    dnemkit's own encoders only have their weights checked (finite); any other encoder predicts a short random
    video (1, max(first_valid_frame + 2, 32), 36, 64), and with ``need_grad`` the gradient of its rates must reach
    the video. Raises DnemkitError naming the encoder.
    """
    name = _encoder_name(encoder)
    for label, t in list(encoder.named_parameters()) + list(encoder.named_buffers()):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise DnemkitError(f"{name} has NaN/inf weights ({label}); expected a finite model (a diverged training "
                               "run or a damaged checkpoint?)")
    if _trusted(encoder):
        return encoder
    device = next((t.device for t in list(encoder.parameters()) + list(encoder.buffers())), torch.device("cpu"))
    frames = max(int(getattr(encoder, "first_valid_frame", 0)) + 2, 32)
    gen = torch.Generator().manual_seed(seed)
    video = (torch.rand((1, frames, HEIGHT, WIDTH), generator=gen) * 255).to(device)
    video.requires_grad_(need_grad)
    try:
        with torch.set_grad_enabled(need_grad):
            rates = encoder(video)
    except DnemkitError:
        raise
    except Exception as exc:  # noqa: BLE001 -- a user model failing on a valid video is the user's to fix
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise DnemkitError(f"{name} failed on a valid test video of shape {tuple(video.shape)} ("
                           f"{type(exc).__name__}: {text[:300]}); expected rates (B, N, T)") from None
    check_rates(rates, encoder, video, need_grad=need_grad)
    if need_grad:
        (grad,) = torch.autograd.grad(rates.sum(), video, allow_unused=True)
        if grad is None:
            raise DnemkitError(f"{name} returned rates that do not depend on the video (no gradient reaches it); "
                               "expected rates computed from the video with differentiable torch operations")
    return encoder


def members_of(encoder):
    """The list of models behind an encoder (itself unless it is an Ensemble)."""
    return list(encoder.members) if isinstance(encoder, Ensemble) else [encoder]


def model_names(models, ensembling="reconstruction"):
    """The names results give the reconstructed videos of an ensemble's ``models`` (a list, or an encoder).

    One per model, its ``description`` (``model k`` when it has none), under reconstruction ensembling (one video
    per model); ``['gradient ensemble']`` under gradient ensembling (one video from all models). Names are labels
    (a ``model_name`` coordinate beside the integer ``model``), not unique keys: an ensemble of one architecture's
    folds may share a description.
    """
    if ensembling != "reconstruction":
        return ["gradient ensemble"]
    models = models if isinstance(models, (list, tuple)) else members_of(models)
    return [str(getattr(m, "description", "") or f"model {k}") for k, m in enumerate(models)]


def select_models(encoder, models):
    """The first ``models`` members of an ensemble (all when None) as one encoder (`--models K`)."""
    if models is None:
        return encoder
    members = members_of(encoder)
    if isinstance(models, bool) or not isinstance(models, int) or not 1 <= models <= len(members):
        raise DnemkitError(f"models is {models!r}; expected an integer from 1 to {len(members)} "
                           f"(the encoder has {len(members)} model{'s' if len(members) > 1 else ''})")
    if models == len(members):
        return encoder
    if models == 1:
        return members[0]
    return Ensemble(members[:models], description=f"first {models} of {encoder.description}")


class CallableEncoder(Encoder):
    """Adapts any user module/callable ``f(video (B,T,36,64), behavior (B,4,T) or None) -> (B,N,T)``."""

    def __init__(self, fn, description=""):
        super().__init__()
        self.fn = fn
        if isinstance(fn, nn.Module):
            self.add_module("module", fn)
        self.first_valid_frame = int(getattr(fn, "first_valid_frame", 0))
        self.description = description or f"user encoder {type(fn).__name__}"
        n = getattr(fn, "n_neurons", None)
        if n is None:
            with torch.no_grad():
                probe = torch.full((1, max(self.first_valid_frame + 2, 32), HEIGHT, WIDTH), 127.5)
                n = self._call(probe, None).shape[1]
        self.n_neurons = int(n)
        if self.n_neurons < 1:
            raise DnemkitError(f"{self.description} predicts {self.n_neurons} neurons; expected at least one")

    def _call(self, video, behavior):
        rates = self.fn(video, behavior)
        if not torch.is_tensor(rates) or rates.dim() != 3 or rates.shape[0] != video.shape[0] \
                or rates.shape[2] != video.shape[1]:
            shape = tuple(rates.shape) if torch.is_tensor(rates) else type(rates).__name__
            raise DnemkitError(
                f"{self.description} returned {shape}; expected a tensor (B, N, T) = "
                f"({video.shape[0]}, N, {video.shape[1]})"
            )
        return check_rates(rates, self, video)

    def forward(self, video, behavior=None):
        return self._call(video, behavior)
