"""The batched gradient passes of one reconstruction iteration.

Every sub-batch (a window of ``recipe.subbatch_frames`` frames) of every item goes through the encoder in
batched passes (:func:`members_input_gradient`; :func:`input_gradient` for one encoder); the arithmetic equals the
sequential schedule because the encoder is frozen in eval mode and samples are independent.
:class:`MemberGradients` runs every ensemble member's pass with the loop's fallbacks (out of memory, compile,
vmap); :func:`tiled_rates` is the forward-only counterpart at a fixed offset.
"""

import torch

from ..errors import DnemkitError, say
from .execution import EncoderPass, stackable
from .objectives import make_objective
from .schedule import subbatch_starts


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
        say(None, "members_in_one_pass: the ensemble's members differ in structure; running them one after another",
            notice=True)
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
            say(None, f"out of memory with {size} {unit} per pass; retrying with {self.pass_size}", notice=True)
        elif self.one_pass:
            self.one_pass, self.pass_size = False, 1
            self._build()
            say(None, "out of memory with the members in one pass; retrying with one member at a time", notice=True)
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
                    say(None, f"torch.compile failed ({_first_line(exc)}); running the encoder eagerly", notice=True)
                    self.compile = False
                    for runner in self.runners:
                        runner.fall_back()
                elif self.one_pass:
                    say(None, f"members in one pass failed ({_first_line(exc)}); running them one after another",
                        notice=True)
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
