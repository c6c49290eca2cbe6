"""EncoderRef: what names an encoder in a command (spec or object, mouse readout, first K models), passed instead
of the three values side by side. It loads the encoder once, describes it, fingerprints its weights and gives
the key under which its masks are cached."""

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from ..errors import DnemkitError
from .base import CallableEncoder, Encoder, members_of, select_models

__all__ = ["EncoderRef", "fingerprint_encoder"]


def fingerprint_encoder(encoder):
    """A stable hex digest of an encoder's classes, parameters and buffers (what its predictions depend on)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(type(encoder).__name__.encode())
    for m in members_of(encoder):
        h.update(type(m).__name__.encode())
        h.update(repr(getattr(m, "config", "")).encode())
        for name, t in sorted(m.state_dict().items()):
            arr = t.detach().cpu().contiguous()
            h.update(f"{name}:{arr.dtype}:{tuple(arr.shape)}".encode())
            if arr.dtype == torch.bfloat16:
                arr = arr.float()
            h.update(arr.numpy().tobytes())
        for attr in ("mouse", "fill"):
            if hasattr(m, attr):
                h.update(f"{attr}={getattr(m, attr)}".encode())
    return h.hexdigest()


def _whole_number(value):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


@dataclass(frozen=True)
class EncoderRef:
    """An encoder as a command names it.

    spec: a spec string ('demo', 'synthetic[:seed]', a .pth, a folder, 'file.py:factory'; see
        :func:`dnemkit.encoders.load_encoder`), an Encoder object, or any torch module
        ``enc(video, behavior) -> rates`` (wrapped as a CallableEncoder).
    mouse: which readout of a multi-mouse checkpoint (None = the encoder's default).
    models: use the first K members of an ensemble (None = all).

    ``full`` is the loaded encoder with all its members (masks belong to it), ``encoder`` the one used (its
    first ``models`` members); both are loaded once, on first use. Pickling keeps only the three fields, so a
    Dask task receives the spec, not the weights (an Encoder object travels as it is).
    """

    spec: object = "demo"
    mouse: int | None = None
    models: int | None = None

    def __post_init__(self):
        spec = str(self.spec) if isinstance(self.spec, Path) else self.spec
        if isinstance(spec, torch.nn.Module) and not isinstance(spec, Encoder):
            spec = CallableEncoder(spec)  # any module enc(video, behavior) -> rates, as 'file.py:factory' gives
        if not isinstance(spec, (str, Encoder)):
            raise DnemkitError(f"encoder is a {type(spec).__name__}; expected a spec string or an Encoder")
        object.__setattr__(self, "spec", spec)
        if self.mouse is not None and (not _whole_number(self.mouse) or self.mouse < 0):
            raise DnemkitError(f"mouse is {self.mouse!r}; expected an integer >= 0 (a readout index)")
        if self.models is not None and (not _whole_number(self.models) or self.models < 1):
            raise DnemkitError(f"models is {self.models!r}; expected an integer >= 1")

    @classmethod
    def of(cls, encoder, mouse=None, models=None):
        """``encoder`` itself when it is an EncoderRef (mouse and models must then be None), else a new one."""
        if isinstance(encoder, EncoderRef):
            if mouse is not None or models is not None:
                raise DnemkitError("mouse and models are set twice; expected them in the EncoderRef only")
            return encoder
        return cls(encoder, mouse, models)

    def with_models(self, models):
        """The same encoder with ``models`` members used (the loaded encoder is shared, not loaded again)."""
        ref = EncoderRef(self.spec, self.mouse, models)
        if "full" in self.__dict__:
            ref.__dict__["full"] = self.full
        return ref

    def __getstate__(self):
        return {"spec": self.spec, "mouse": self.mouse, "models": self.models}

    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def has_spec(self):
        """True when the encoder is named by a spec string (not given as an object)."""
        return isinstance(self.spec, str)

    @cached_property
    def full(self):
        """The loaded encoder, every member."""
        if not self.has_spec:
            return self.spec
        from .spec import load_encoder

        return load_encoder(self.spec, self.mouse)

    @cached_property
    def encoder(self):
        """The encoder used: the first ``models`` members of :attr:`full`."""
        return select_models(self.full, self.models)

    @cached_property
    def full_fingerprint(self):
        """Hex digest of every member's weights (:func:`fingerprint_encoder` of :attr:`full`)."""
        return fingerprint_encoder(self.full)

    @cached_property
    def fingerprint(self):
        """Hex digest of the used encoder's weights (:func:`fingerprint_encoder`)."""
        return self.full_fingerprint if self.encoder is self.full else fingerprint_encoder(self.encoder)

    @property
    def name(self):
        """The spec string, or the object's description."""
        return self.spec if self.has_spec else (getattr(self.spec, "description", "") or type(self.spec).__name__)

    @property
    def mask_key(self):
        """The name masks are cached under: the spec string, or a digest of an object's weights."""
        return self.spec if self.has_spec else f"encoder-{self.full_fingerprint[:16]}"

    def describe(self):
        """One line: name, description, models used."""
        n = len(members_of(self.encoder))
        return f"{self.name} ({self.encoder.description}; {n} model{'s' if n != 1 else ''})"
