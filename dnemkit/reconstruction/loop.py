"""The reconstruction loop: optimise input videos until the encoder predicts the target responses.

What it computes is one frozen :class:`Recipe`, how it runs one :class:`Execution`; masks, ensembling, smoothing,
predicted targets, neuron subsets and trackers are options of this one loop. Every sub-batch of every item (and, with ``batch`` items, of every
condition) goes through the encoder in batched passes; the arithmetic equals the sequential schedule because
the encoder is frozen in eval mode and samples are independent.
"""

import itertools
import sys
import time
from dataclasses import dataclass, field, is_dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..device import resolve_device
from ..encoders.base import members_of, model_names
from ..errors import DnemkitError
from ..stimuli.geometry import HEIGHT, WIDTH
from .config import Execution, Recipe
from .optimizers import make_optimizer
from .objectives import make_objective
from .schedule import make_schedule, subbatch_starts
from .stoppers import StopAt, make_stopper
from ..losses import poisson_nll
from ..video import EVAL_FIRST_FRAME, smooth_video as smooth


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


def say(message):
    """One line on stderr that does not break a progress bar (fallbacks, retries)."""
    tqdm.write(f"dnemkit: {message}", file=sys.stderr)


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


def _gather_frames(tensor, items, frame_index):
    """tensor (B, C, T) -> (S, C, F) picking item ``items[s]`` and frames ``frame_index[s]``."""
    picked = tensor[items]
    return torch.gather(picked, 2, frame_index[:, None, :].expand(-1, picked.shape[1], -1))


def input_gradient(encoder, video, behavior, target, recipe, neurons=None, per_pass=None, starts=None,
                   objective=None, precision="fp32"):
    """One iteration's gradient of the paper's schedule, batched.

    video (B, T, 36, 64), behavior (B, 4, T), target (B, N, T) (already relu'd).
    For every 32-frame sub-batch: Poisson loss (mean over neurons x frames), gradient w.r.t. the encoder's
    stacked input divided by its L2 norm (all input channels), video part kept, averaged per frame over the
    sub-batches that contain the frame. ``neurons`` (index tensor) restricts the loss to a subset. ``starts``:
    the sub-batches' first frames (default: the paper's dense schedule); frames no sub-batch covers get 0.
    ``precision`` applies to the encoder's forward. ``objective``: the loss per sub-batch
    (:data:`dnemkit.reconstruction.objectives.OBJECTIVES`; None = the paper's Poisson loss). Returns (grad
    (B, T, 36, 64), loss (B,) mean over sub-batches, rates (B, N_used, T) averaged over sub-batches, detached).
    """
    runner = EncoderPass([encoder], precision=precision)
    grad, loss, rates = members_input_gradient(runner, video[None], behavior, target, recipe, neurons, per_pass,
                                               starts, objective)
    return grad[0], loss[0], rates[0]


def members_input_gradient(runner, videos, behavior, target, recipe, neurons=None, per_pass=None, starts=None,
                           objective=None):
    """:func:`input_gradient` of every model of ``runner`` (an :class:`EncoderPass` of M models) at once.

    videos (V, B, T, 36, 64) with V = M (each model its own video) or 1 (all models the same video). A pass
    holds ``per_pass`` sub-batches of every model. Returns grad (M, B, T, 36, 64), loss (M, B), rates
    (M, B, N_used, T); model m's slices equal ``input_gradient(models[m], ...)``.
    """
    loss_of = make_objective(objective)
    n_models = runner.n_models
    n_videos, b, t = videos.shape[:3]
    size = recipe.subbatch_frames
    if starts is None:
        starts = subbatch_starts(t, size, recipe.subbatch_stride)
    jobs = [(i, s) for i in range(b) for s in starts]
    per_pass = per_pass or len(jobs)
    device = videos.device
    offsets = torch.arange(size, device=device)
    grad = videos.new_zeros((n_models,) + tuple(videos.shape[1:]))
    loss = videos.new_zeros((n_models, b))
    n_used = target.shape[1] if neurons is None else len(neurons)
    rates_sum = videos.new_zeros((n_models, b, n_used, t))
    for k in range(0, len(jobs), per_pass):
        chunk = jobs[k:k + per_pass]
        items = torch.tensor([j[0] for j in chunk], device=device)
        frame_index = torch.tensor([j[1] for j in chunk], device=device)[:, None] + offsets
        clips = videos.detach()[:, items[:, None], frame_index]  # (V, S, F, 36, 64)
        beh = _gather_frames(behavior, items, frame_index)
        tgt = _gather_frames(target, items, frame_index)
        if n_models == 1:
            x = runner.models[0].stack_inputs(clips[0], beh)[None]
        else:
            x = torch.stack([m.stack_inputs(clips[min(j, n_videos - 1)], beh) for j, m in enumerate(runner.models)])
        x = x.detach().requires_grad_(True)
        rates = runner(x, beh)  # (M, S, N, F)
        if neurons is not None:
            rates, tgt = rates[:, :, neurons], tgt[:, neurons]
        per_sub = loss_of(rates, tgt, recipe)  # (M, S); the paper's Poisson loss unless told otherwise
        (g,) = torch.autograd.grad(per_sub.sum(), x)
        g = g / (g.flatten(2).norm(dim=2) + recipe.grad_norm_eps).view(*g.shape[:2], *([1] * (g.dim() - 2)))
        video_g = torch.stack([m.video_grad(g[j]) for j, m in enumerate(runner.models)])
        rates = rates.detach()
        # one slice add per sub-batch, in job order: the same sums as an accumulating index_put, without its
        # sort of a (models x sub-batches x neurons x frames) index on every pass
        for j, (item, start) in enumerate(chunk):
            grad[:, item, start:start + size] += video_g[:, j]
            rates_sum[:, item, :, start:start + size] += rates[:, j]
        loss.index_add_(1, items, per_sub.detach())
    count = torch.zeros(t, device=device)
    for s in starts:
        count[s:s + size] += 1
    count.clamp_(min=1)  # frames outside every sub-batch (a sparse schedule) keep their zero gradient
    grad /= count.view(1, 1, t, 1, 1)
    return grad, loss / len(starts), rates_sum / count.view(1, 1, 1, t)


def tiled_rates(model, videos, behavior=None, size=32, per_pass=None):
    """The rates (B, N, T) ``model`` (one encoder, not an ensemble) predicts for ``videos`` (B, T, 36, 64), by
    non-overlapping ``size``-frame sub-batches from frame 0 (plus one ending at T; frames in two are averaged),
    forward only: the sub-batch predictions the loop's gradients come from, at a fixed offset, so that two
    calls on one video agree exactly. ~T/size sub-batches instead of the T windows of ``model(videos)``.

    behavior: (B, 4, T) or None (the encoder's defaults). per_pass: sub-batches per forward (None: all)."""
    b, t = videos.shape[:2]
    device = videos.device
    if behavior is None:
        behavior = model.default_behavior().to(device).view(1, 4, 1).expand(b, 4, t)
    starts = subbatch_starts(t, size, size)
    jobs = [(i, s) for i in range(b) for s in starts]
    per_pass = per_pass or len(jobs)
    offsets = torch.arange(size, device=device)
    out, count = None, torch.zeros(t, device=device)
    for s in starts:
        count[s:s + size] += 1
    with torch.no_grad():
        for k in range(0, len(jobs), per_pass):
            chunk = jobs[k:k + per_pass]
            items = torch.tensor([j[0] for j in chunk], device=device)
            frame_index = torch.tensor([j[1] for j in chunk], device=device)[:, None] + offsets
            clips = videos.detach()[items[:, None], frame_index]
            beh = _gather_frames(behavior, items, frame_index)
            rates = model.forward_stacked(model.stack_inputs(clips, beh), beh).float()  # (S, N, F)
            if out is None:
                out = videos.new_zeros((b, rates.shape[1], t))
            for j, (item, start) in enumerate(chunk):
                out[item, :, start:start + size] += rates[j]
    return out / count


def _first_line(exc, limit=160):
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text[:limit]}" if text else type(exc).__name__


def choose_members_in_one_pass(execution, models):
    """Whether ``reconstruct`` runs the ensemble members in one vmapped pass (``execution.members_in_one_pass``).

    None or False: the member loop, on every device; measured with benchmarks/device_check.py, the loop is the
    faster on a 2-core CPU and on an H100 (full-size DwiseNeuro, 300 frames: one pass of two members 0.44x the
    loop's speed; 7 models 9.8 s vs 4.1 s per iteration). True: one vmapped pass whenever the members are
    :func:`stackable` (else the loop, said in one line), for devices where it measures faster.
    """
    if len(models) < 2 or not execution.members_in_one_pass:
        return False
    ok = stackable(models)
    if not ok:
        say("members_in_one_pass: the ensemble's members differ in structure; running them one after another")
    return ok


class MemberGradients:
    """Every model's normalised input gradients for one iteration, with the loop's fallbacks.

    Runs the members one after another (the reference) or in one pass (:func:`choose_members_in_one_pass`),
    in ``execution.precision``, compiled if ``execution.compile``. Out of memory: the pass size is halved and the
    iteration rerun (one line says so); members in one pass at one sub-batch per pass fall back to the loop.
    A failing ``torch.compile`` falls back to eager, and a failing vmapped pass to the loop, each with one line.
    """

    def __init__(self, models, recipe, execution, device, per_pass, objective=None):
        self.models, self.recipe, self.execution, self.device = list(models), recipe, execution, device
        self.objective = objective
        self.one_pass = choose_members_in_one_pass(execution, self.models)
        self.pass_size = max(1, per_pass // len(self.models)) if self.one_pass else per_pass
        self.compile = execution.compile
        self._build()

    def _build(self):
        groups = [self.models] if self.one_pass else [[m] for m in self.models]
        self.runners = [EncoderPass(g, self.execution.precision, self.compile, self.execution.compile_mode)
                        for g in groups]

    def _shrink(self, n_jobs):
        size = min(self.pass_size, n_jobs)
        unit = "sub-batches of every member" if self.one_pass else "sub-batches"
        if size > 1:
            self.pass_size = size // 2
            say(f"out of memory with {size} {unit} per pass; retrying with {self.pass_size}")
        elif self.one_pass:
            self.one_pass, self.pass_size = False, 1
            self._build()
            say("out of memory with the members in one pass; retrying with one member at a time")
        else:
            return False
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        return True

    def __call__(self, videos, behavior, target, neurons, starts, summarise):
        """videos (V, B, T, 36, 64) -> grads (M, B, T, 36, 64), loss (M, B), summarise(rates) per member."""
        n_jobs = videos.shape[1] * len(starts)
        while True:
            try:
                return self._compute(videos, behavior, target, neurons, starts, summarise)
            except torch.OutOfMemoryError:
                if not self._shrink(n_jobs):
                    raise
            except DnemkitError:
                raise
            except Exception as exc:  # noqa: BLE001 - compile / vmap failures fall back, anything else re-raises
                if self.compile:
                    say(f"torch.compile failed ({_first_line(exc)}); running the encoder eagerly")
                    self.compile = False
                    for runner in self.runners:
                        runner.fall_back()
                elif self.one_pass:
                    say(f"members in one pass failed ({_first_line(exc)}); running them one after another")
                    self.one_pass, self.pass_size = False, self.pass_size * len(self.models)
                    self._build()
                else:
                    raise

    def _compute(self, videos, behavior, target, neurons, starts, summarise):
        c = self.recipe
        if self.one_pass:
            g, loss, rates = members_input_gradient(self.runners[0], videos, behavior, target, c, neurons,
                                                    self.pass_size, starts, self.objective)
            return g, loss, summarise(rates)
        out = []
        for m, runner in enumerate(self.runners):
            video = videos[m:m + 1] if videos.shape[0] > 1 else videos
            g, loss, rates = members_input_gradient(runner, video, behavior, target, c, neurons, self.pass_size,
                                                    starts, self.objective)
            out.append((g, loss, summarise(rates)))
        return tuple(torch.cat(parts) for parts in zip(*out))


def _pearson_rows(a, b):
    """Pearson r per row of two (B, K) tensors."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-12)




@dataclass
class ReconstructionResult:
    """What :func:`reconstruct` returns (numpy, float32, grey levels).

    videos: (M, B, T, 36, 64) each model's reconstruction (reconstruction ensembling), or (1, B, ...) holding the
    gradient-ensembled video. ensemble: (B, T, 36, 64) the mean over models, smoothed. ensemble_raw: before
    smoothing. traces: 'loss' and 'response_correlation' (iteration, model, item) for iterations 1..n, and each
    tracker's scores (evaluation, model + ensemble, item) under its name; tracked_iterations: name -> the
    iterations (0 = the start) at which that tracker scored. recipe, execution: what ran. model_names: one per
    row of ``videos`` (:func:`dnemkit.encoders.base.model_names`). stopped_at: the iteration whose videos are
    returned when a held-out stopper chose it (0 = the start; None without one), with traces 'heldout_loss'
    (watched iteration) and tracked_iterations 'heldout_loss'; iterations_run: the iterations the loop ran.
    """

    videos: np.ndarray
    ensemble: np.ndarray
    ensemble_raw: np.ndarray
    traces: dict
    tracked_iterations: dict
    recipe: Recipe
    execution: Execution
    seconds: float
    model_names: list = field(default_factory=list)
    stopped_at: int | None = None
    iterations_run: int | None = None


def _check_inputs(encoder, responses, behavior, train_mask, neurons):
    responses = torch.as_tensor(np.asarray(responses, dtype=np.float32)) if not torch.is_tensor(responses) \
        else responses.detach().float()
    if responses.dim() == 2:
        responses = responses.unsqueeze(0)
    if responses.dim() != 3:
        raise DnemkitError(f"responses have shape {tuple(responses.shape)}; expected (neurons, frames) or "
                           "(batch, neurons, frames)")
    b, n, t = responses.shape
    if n != encoder.n_neurons:
        raise DnemkitError(f"responses have {n} neurons; the encoder predicts {encoder.n_neurons}")
    if not torch.isfinite(responses).all():
        raise DnemkitError("responses contain NaN or inf; expected finite values (cut NaN padding first)")
    if behavior is not None:
        behavior = torch.as_tensor(np.asarray(behavior, dtype=np.float32)) if not torch.is_tensor(behavior) \
            else behavior.detach().float()
        if behavior.dim() == 2:
            behavior = behavior.unsqueeze(0).expand(b, -1, -1)
        if tuple(behavior.shape) != (b, 4, t):
            raise DnemkitError(f"behavior has shape {tuple(behavior.shape)}; expected (4, {t}) or ({b}, 4, {t})")
        if not torch.isfinite(behavior).all():
            raise DnemkitError("behavior contains NaN or inf; expected finite values")
    if train_mask is not None:
        train_mask = np.asarray(train_mask)
        if train_mask.shape != (HEIGHT, WIDTH):
            raise DnemkitError(f"mask has shape {train_mask.shape}; expected ({HEIGHT}, {WIDTH})")
    if neurons is not None:
        neurons = torch.as_tensor(np.asarray(neurons), dtype=torch.long).reshape(-1)
        if len(neurons) == 0 or neurons.min() < 0 or neurons.max() >= n:
            raise DnemkitError(f"neuron subset must be a non-empty list of indices in 0..{n - 1}")
    return responses, behavior, train_mask, neurons


def _check_trackers(trackers, batch, frames):
    trackers = list(trackers or ())
    names = [getattr(tr, "name", None) for tr in trackers]
    for tr, name in zip(trackers, names):
        if not callable(tr) or not isinstance(name, str) or not name:
            raise DnemkitError(f"tracker {tr!r} is not a tracker; expected a callable with a .name "
                               "(dnemkit.analysis.tracking)")
        if name in ("loss", "response_correlation") or names.count(name) > 1:
            raise DnemkitError(f"tracker name {name!r} is taken; expected a name of its own per tracker")
        if hasattr(tr, "check"):
            tr.check(batch, frames)  # before any work: a mismatch is the caller's mistake, said at once
    return trackers


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


class _Tracking:
    """The trackers of one reconstruction: which are due at an iteration, their scores and iterations."""

    def __init__(self, trackers, n_videos, batch, first, smoothing_sigma):
        self.trackers, self.n_videos, self.batch = trackers, n_videos, batch
        self.first, self.sigma = first, smoothing_sigma
        self.scores = {tr.name: [] for tr in trackers}
        self.iterations = {tr.name: [] for tr in trackers}

    def __call__(self, i, videos, final=False):
        """Score ``videos`` (M, B, T, 36, 64) with the trackers due at iteration ``i`` (all at 0 and at the end)."""
        due = [tr for tr in self.trackers if (i == 0 or final or (getattr(tr, "every", 0) and i % tr.every == 0))
               and (not self.iterations[tr.name] or self.iterations[tr.name][-1] != i)]
        if not due:
            return
        raw = videos.cpu().numpy()
        ensemble = smooth(raw.mean(0), self.sigma)
        for tr in due:
            values = np.asarray(tr(raw, ensemble, self.first), np.float32)
            if values.shape != (self.n_videos + 1, self.batch):
                raise DnemkitError(f"tracker {tr.name!r} returned scores of shape {values.shape}; expected "
                                   f"({self.n_videos + 1}, {self.batch})")
            self.scores[tr.name].append(values)
            self.iterations[tr.name].append(i)


class _cudnn_benchmark:
    """torch.backends.cudnn.benchmark set for the loop (CUDA only) and restored after it."""

    def __init__(self, execution, device):
        self.wanted = execution.cudnn_benchmark if device.type == "cuda" else None

    def __enter__(self):
        self.was = torch.backends.cudnn.benchmark
        if self.wanted is not None:
            torch.backends.cudnn.benchmark = self.wanted

    def __exit__(self, *exc):
        torch.backends.cudnn.benchmark = self.was


def _start_videos(recipe, start, n_videos, b, t, device):
    """(V, B, T, 36, 64) grey levels: ``start`` (B, T, 36, 64) for every video, else ``recipe.start_value``."""
    videos = torch.full((n_videos, b, t, HEIGHT, WIDTH), recipe.start_value, device=device)
    if start is not None:
        start = torch.as_tensor(np.asarray(start, np.float32) if not torch.is_tensor(start) else start)
        if tuple(start.shape) != (b, t, HEIGHT, WIDTH):
            raise DnemkitError(f"start has shape {tuple(start.shape)}; expected ({b}, {t}, {HEIGHT}, {WIDTH})")
        videos[:] = start.to(device=device, dtype=videos.dtype)[None]
    return videos


def reconstruct(encoder, responses, behavior=None, recipe=Recipe(), *, execution=Execution(), train_mask=None,
                neurons=None, trackers=(), progress=True, description="reconstruct", objective=None, start=None,
                precondition=None, constraint=None, stopper=None):
    """Reconstruct the video(s) that make ``encoder`` predict ``responses``.

    Parameters
    ----------
    encoder : Encoder
        An encoder (an Ensemble reconstructs with every member).
    responses : array (N, T) or (B, N, T)
        Targets, counts/frame (recorded responses or predicted activity; negative values are set to 0 as in
        training).
    behavior : array (4, T) or (B, 4, T), optional
        None = the encoder's defaults.
    recipe : Recipe
        The arithmetic (default: the paper's recipe).
    execution : Execution
        Device, precision, compilation, pass size, BatchNorm folding.
    train_mask : bool array (36, 64), optional
        Gradients outside are zeroed.
    neurons : index array, optional
        The neurons that enter the loss (the rest leave it entirely).
    trackers : sequence of trackers
        Each scores the videos while they run (:mod:`dnemkit.analysis.tracking`): called as
        ``tracker(videos, ensemble, first_frame)`` at the start, every ``tracker.every`` iterations (0: never in
        between) and at the end; its (models + 1, B) scores become ``traces[tracker.name]``.
    objective, start, precondition, constraint, stopper
        Named parts (None, the default, is the reconstruction exactly as the paper's): ``objective`` the loss
        per sub-batch, a name of :data:`dnemkit.reconstruction.objectives.OBJECTIVES` or a callable
        ``loss(rates (M, S, N, F), target (S, N, F), recipe) -> (M, S)`` (with "activation" the responses are
        weights, see :func:`~dnemkit.reconstruction.objectives.negative_activation`); ``start`` the initial videos
        (B, T, 36, 64) grey levels (None = ``recipe.start_value`` everywhere); ``precondition`` ``g -> g``
        applied to each model's masked gradient (B, T, 36, 64) before the optimiser step (blur, a static
        frame); ``constraint`` ``video -> None`` projecting each model's videos in place after every step (a
        contrast budget); ``stopper`` ``stop(i, loss (M, B) numpy) -> bool`` after iteration i (True ends the
        loop there; the traces keep iterations 1..i), or a watching stopper such as
        :class:`~dnemkit.reconstruction.stoppers.HeldoutStopper` (its neurons leave the loss, their loss on the
        videos is watched, the best watched videos are returned; ``stopped_at`` says which). None: the recipe's
        ``start`` and ``stopper`` ("grey" and "none" are the paper's; ``recipe.start == "decoder"`` needs the
        decoder's movie given as ``start``: :func:`dnemkit.decoders.decoder_start`).

    Returns
    -------
    ReconstructionResult
    """
    if not isinstance(recipe, Recipe):
        raise DnemkitError(f"recipe is a {type(recipe).__name__}; expected a dnemkit Recipe (Recipe.named(...))")
    if not isinstance(execution, Execution):
        raise DnemkitError(f"execution is a {type(execution).__name__}; expected a dnemkit Execution")
    if recipe.start == "decoder" and start is None:
        raise DnemkitError("the recipe starts from the decoder but no start movie was given; expected "
                           "start=dnemkit.decoders.decoder_start(...)[0] (the commands that take --start do this)")
    if stopper is None:
        stopper = make_stopper(recipe)
    given = dict(responses=responses, behavior=behavior, recipe=recipe, execution=execution, train_mask=train_mask,
                 neurons=neurons, trackers=trackers, progress=progress, description=description, objective=objective,
                 start=start, precondition=precondition, constraint=constraint)
    responses, behavior, train_mask, neurons = _check_inputs(encoder, responses, behavior, train_mask, neurons)
    b, n, t = responses.shape
    watching = hasattr(stopper, "split")
    if watching:
        stopper.reset()
        keep, held = stopper.split(n, None if neurons is None else neurons.numpy())
        neurons, held = torch.as_tensor(keep), torch.as_tensor(held)
    trackers = _check_trackers(trackers, b, t)
    execution = execution.for_recipe(recipe)
    device = resolve_device(execution.device)
    encoder = encoder.to(device).eval()
    models = prepare_members(members_of(encoder), execution, device)
    target = responses.to(device).clamp(min=0)
    if behavior is None:
        behavior = encoder.default_behavior().to(device).view(1, 4, 1).expand(b, 4, t)
    behavior = behavior.to(device)
    mask = None if train_mask is None else torch.as_tensor(train_mask, dtype=torch.float32, device=device)
    neurons = None if neurons is None else neurons.to(device)
    n_videos = len(models) if recipe.ensembling == "reconstruction" else 1
    videos = _start_videos(recipe, start, n_videos, b, t, device)
    if execution.precision == "bf16":
        check_bf16(models[0], videos[0], behavior, target, recipe, device)
    per_pass = execution.subbatches_per_pass or auto_subbatches_per_pass(models[0], device, recipe.subbatch_frames)
    gradients = MemberGradients(models, recipe, execution, device, per_pass, objective=objective)
    optimisers = [make_optimizer(recipe) for _ in range(n_videos)]
    schedule = make_schedule(recipe, np.random.default_rng(recipe.seed))
    first = min(EVAL_FIRST_FRAME, t - 1)
    loss_trace = np.zeros((recipe.iterations, len(models), b), np.float32)
    rcorr_trace = np.zeros_like(loss_trace)
    tracking = _Tracking(trackers, n_videos, b, first, recipe.smoothing_sigma)
    tgt_used = (target if neurons is None else target[:, neurons])[..., first:].flatten(1)

    def response_correlation(rates):  # (M, B, N_used, T) -> (M, B) Pearson r from frame `first` on
        return torch.stack([_pearson_rows(r[..., first:].flatten(1), tgt_used) for r in rates])

    if watching:
        held = held.to(device)
        pairs = list(enumerate(models)) if n_videos == len(models) else [(0, m) for m in models]

        def heldout_loss():  # per held-out neuron: its Poisson loss on the current videos, mean over the rest
            rates = [tiled_rates(m, videos[v], behavior, recipe.subbatch_frames, per_pass) for v, m in pairs]
            values = [poisson_nll(r[:, held, first:], target[:, held, first:], recipe.loss_eps).mean(dim=(0, 2))
                      for r in rates]
            return torch.stack(values).mean(0).cpu().numpy()

    started = time.perf_counter()
    tracking(0, videos)
    if watching:
        stopper.observe(0, heldout_loss(), videos.clone)
    done = recipe.iterations
    with _cudnn_benchmark(execution, device):
        for i in tqdm(range(1, recipe.iterations + 1), desc=description, disable=not progress, leave=False):
            grads, loss, rcorr = gradients(videos, behavior, target, neurons, schedule(t), response_correlation)
            loss_trace[i - 1], rcorr_trace[i - 1] = loss.cpu().numpy(), rcorr.cpu().numpy()
            _step(videos, grads, optimisers, i, recipe, mask, precondition, constraint)
            if watching:
                stop = stopper.due(i, recipe.iterations) and stopper.observe(i, heldout_loss(), videos.clone)
            else:
                stop = stopper is not None and stopper(i, loss_trace[i - 1])
            if stop:
                done = i
                break
            if i < recipe.iterations:
                tracking(i, videos)
    tracking(done, videos, final=True)  # the trajectory's last videos; the result may return an earlier iterate
    traces = {"loss": loss_trace[:done], "response_correlation": rcorr_trace[:done]}
    if not watching:
        result = _result(videos, traces, tracking, recipe, execution, time.perf_counter() - started, models)
        result.iterations_run = done
        return result
    traces["heldout_loss"] = np.asarray(stopper.losses, np.float32)
    tracking.iterations["heldout_loss"] = list(stopper.iterations)
    result = _result(stopper.best_videos, traces, tracking, recipe, execution, time.perf_counter() - started, models)
    tracking.iterations.pop("heldout_loss")
    result.stopped_at, result.iterations_run = stopper.best_iteration, done
    if stopper.rerun and stopper.best_iteration > 0:
        # every neuron back in the loss, the same recipe (schedule, step sizes) stopped at the chosen iteration
        again = reconstruct(encoder, **{**given, "recipe": recipe.replace(stopper="none")},
                            stopper=StopAt(stopper.best_iteration))
        again.traces["heldout_loss"] = result.traces["heldout_loss"]
        again.tracked_iterations["heldout_loss"] = result.tracked_iterations["heldout_loss"]
        again.recipe, again.stopped_at = recipe, stopper.best_iteration
        again.seconds += result.seconds
        return again
    return result


def _step(videos, grads, optimisers, i, recipe, mask, precondition, constraint):
    """Iteration ``i``'s optimiser step of every video (M', B, T, 36, 64) in place: the gradients (M, B, ...) are
    averaged over models first under gradient ensembling (one video), masked, preconditioned, clipped to
    +-grad_clip; the constraint projects each stepped video."""
    if len(videos) == 1:
        grads = grads.mean(0, keepdim=True)
    for m, g in enumerate(grads):
        g = g if mask is None else g * mask
        g = g if precondition is None else precondition(g)
        optimisers[m].step(videos[m], g.clamp(-recipe.grad_clip, recipe.grad_clip), i)
        if constraint is not None:
            constraint(videos[m])


def _result(videos, traces, tracking, recipe, execution, seconds, models):
    """The :class:`ReconstructionResult` of the final videos (tensor (M', B, T, 36, 64)): per-model videos as
    float32 numpy, their mean smoothed and raw, the loop's and the trackers' traces."""
    raw = videos.cpu().numpy().astype(np.float32)
    traces.update({name: np.asarray(v, np.float32) for name, v in tracking.scores.items()})
    return ReconstructionResult(videos=raw, ensemble=smooth(raw.mean(0), recipe.smoothing_sigma),
                                ensemble_raw=raw.mean(0), traces=traces,
                                tracked_iterations={k: np.asarray(v) for k, v in tracking.iterations.items()},
                                recipe=recipe, execution=execution, seconds=seconds,
                                model_names=model_names(models, recipe.ensembling))
