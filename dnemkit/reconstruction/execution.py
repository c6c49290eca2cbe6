"""How a reconstruction runs (:class:`~dnemkit.reconstruction.config.Execution`), not what it computes.

The encoder pass (:class:`EncoderPass`: one model, or ensemble members stacked with ``torch.func.vmap``; bf16
autocast; ``torch.compile``), which members can share it (:func:`stackable`), the members as run (BatchNorm folded,
:func:`prepare_members`), the pass size a device takes (:func:`auto_subbatches_per_pass`), the bf16 self-check
(:func:`check_bf16`) and cuDNN's benchmark mode for one loop (:class:`cudnn_benchmark`).
"""

import itertools
from dataclasses import is_dataclass

import numpy as np
import torch
from torch import nn

from ..errors import DnemkitError
from ..stimuli.geometry import HEIGHT, WIDTH
from .objectives import make_objective


def auto_subbatches_per_pass(encoder, device, frames=32):
    """Sub-batches per encoder pass for this device.

    CPU: small passes for CNNs (large ones thrash the cache of a 2-core machine; measured in benchmarks/), or
    the encoder's own ``cpu_subbatches_per_pass``.
    GPU: as many as fit in half the free memory, measured with a one-sub-batch probe.
    """
    if device.type != "cuda":
        return getattr(encoder, "cpu_subbatches_per_pass", 2)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    probe = torch.full((1, frames, HEIGHT, WIDTH), 127.5, device=device)
    x = encoder.stack_inputs(probe, None).detach().requires_grad_()
    torch.autograd.grad(encoder.forward_stacked(x, None).sum(), x)
    per = max(torch.cuda.max_memory_allocated(device) - before, 1)
    free, _ = torch.cuda.mem_get_info(device)
    return int(max(1, min(128, 0.5 * free // per)))


#: attributes that may differ between members run in one pass (they do not enter the forward computation)
_FREE_ATTRIBUTES = ("description", "seed", "training")


def _plain_attributes(module):
    return {k: v for k, v in vars(module).items() if not k.startswith("_") and k not in _FREE_ATTRIBUTES
            and (isinstance(v, (bool, int, float, str, tuple, type(None))) or is_dataclass(v))}


def stackable(models):
    """True when ``models`` (two or more) can run in one vmapped pass: one class, the same parameter and buffer
    names, shapes and dtypes, and the same plain attributes (readout index, padding fill, ...) in every
    submodule."""
    if len(models) < 2 or any(type(m) is not type(models[0]) for m in models):
        return False

    def signature(model):
        tensors = [(n, tuple(t.shape), t.dtype, t.device) for n, t in
                   itertools.chain(model.named_parameters(), model.named_buffers())]
        return tensors, [(n, type(s), _plain_attributes(s)) for n, s in model.named_modules()]

    first = signature(models[0])
    return all(signature(m) == first for m in models[1:])


class _StackedForward(nn.Module):
    """``forward`` = the encoder's ``forward_stacked``, so ``functional_call`` can swap in each member's state."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x, behavior):
        return self.encoder.forward_stacked(x, behavior)


class EncoderPass:
    """The encoder part of one reconstruction pass: stacked inputs (M, S, ...) -> rates (M, S, N, F) in x's dtype.

    models: one encoder (M = 1), or M ensemble members of one structure (:func:`stackable`) evaluated together
    with ``torch.func.vmap`` over their stacked parameters and buffers (``functional_call``); tensors equal in
    every member stay unbatched. precision: "fp32" | "bf16" (autocast around the forward only). compile:
    ``torch.compile`` the forward; the caller disables it with :meth:`fall_back` when compilation fails.
    """

    def __init__(self, models, precision="fp32", compile=False, compile_mode="default"):
        self.models = list(models)
        self.precision = precision
        if len(self.models) == 1:
            model = self.models[0]
            self._eager = lambda x, behavior: model.forward_stacked(x[0], behavior)[None]
        else:
            self._eager = self._vmapped()
        self._compiled = torch.compile(self._eager, mode=compile_mode) if compile else None

    @property
    def n_models(self):
        return len(self.models)

    @property
    def compiled(self):
        return self._compiled is not None

    def fall_back(self):
        self._compiled = None

    def _vmapped(self):
        from torch.func import functional_call, vmap

        wrapper = _StackedForward(self.models[0])
        states = [dict(itertools.chain(_StackedForward(m).named_parameters(), _StackedForward(m).named_buffers()))
                  for m in self.models]
        batched, shared = {}, {}
        for name, first in states[0].items():
            values = [s[name].detach() for s in states]
            if all(torch.equal(first.detach(), v) for v in values[1:]):
                shared[name] = first.detach()
            else:
                batched[name] = torch.stack(values)

        def one(state, x, behavior):
            return functional_call(wrapper, (state, shared), (x, behavior))

        run = vmap(one, in_dims=(0, 0, None))
        return lambda x, behavior: run(batched, x, behavior)

    def __call__(self, x, behavior):
        fn = self._compiled or self._eager
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            rates = fn(x, behavior)
        return rates.to(x.dtype)


def prepare_members(models, execution, device=torch.device("cpu")):
    """The members as ``execution`` runs them on ``device``: with BatchNorm folded into the convolutions when
    asked and the encoder offers it (``with_batchnorm_folded()``: a copy; the caller's encoder is left as it is).

    On a CPU the folded copy is put in the channels-last layout (NDHWC): with no BatchNorm between them, oneDNN
    runs the chain of 3-D convolutions without reordering, 1.3x faster than the folded copy in NCDHW on the demo
    (``benchmarks/execution_options.py``); on a GPU the layout is left as it is (not timed there).
    """
    if not execution.fold_batchnorm:
        return list(models)
    out = []
    for m in models:
        if hasattr(m, "with_batchnorm_folded"):
            m = m.with_batchnorm_folded()
            if torch.device(device).type == "cpu":
                m = m.to(memory_format=torch.channels_last_3d)
        out.append(m)
    return out


#: the largest relative error of bf16 rates and the smallest cosine of bf16 vs fp32 input gradients accepted by
#: the self-check (a correct bf16 forward measures ~1e-2 and > 0.99 on DwiseNeuro; a wrong kernel is far off)
BF16_RATE_TOLERANCE, BF16_MIN_COSINE = 0.05, 0.95


def check_bf16(model, video, behavior, target, recipe, device):
    """Refuse bf16 (DnemkitError, one line) when its first sub-batch disagrees with fp32 on this machine.

    Some cuDNN releases have returned wrong bf16 3-D convolutions without an error; this compares one sub-batch's
    rates and input gradient in both precisions before the reconstruction starts."""
    size = min(recipe.subbatch_frames, video.shape[1])
    clip, beh, tgt = video[:1, :size], behavior[:1, :, :size], target[:1, :, :size]
    out = {}
    for precision in ("fp32", "bf16"):
        runner = EncoderPass([model], precision=precision)
        x = model.stack_inputs(clip, beh)[None].detach().requires_grad_(True)
        rates = runner(x, beh)
        loss = make_objective(None)(rates, tgt, recipe).sum()
        (g,) = torch.autograd.grad(loss, x)
        out[precision] = rates.detach().double(), g.detach().double().flatten()
    (r32, g32), (r16, g16) = out["fp32"], out["bf16"]
    rel = float((r16 - r32).norm() / (r32.norm() + 1e-12))
    cos = float(g16 @ g32 / (g16.norm() * g32.norm() + 1e-30))
    if not (np.isfinite(rel) and np.isfinite(cos)) or rel > BF16_RATE_TOLERANCE or cos < BF16_MIN_COSINE:
        raise DnemkitError(f"bf16 disagrees with fp32 on {device} (rates off by {rel:.1%}, gradient cosine "
                           f"{cos:.3f}; expected <= {BF16_RATE_TOLERANCE:.0%} and >= {BF16_MIN_COSINE}): this "
                           "torch/cuDNN gives wrong bf16 results here; use precision fp32")


class cudnn_benchmark:
    """torch.backends.cudnn.benchmark set for the loop (CUDA only) and restored after it."""

    def __init__(self, execution, device):
        self.wanted = execution.cudnn_benchmark if device.type == "cuda" else None

    def __enter__(self):
        self.was = torch.backends.cudnn.benchmark
        if self.wanted is not None:
            torch.backends.cudnn.benchmark = self.wanted

    def __exit__(self, *exc):
        torch.backends.cudnn.benchmark = self.was
