"""The reconstruction loop: optimise input videos until the encoder predicts the target responses.

Options are one frozen :class:`ReconstructionConfig`; masks, ensembling, smoothing, predicted targets and neuron
subsets are options of this one loop. Every sub-batch of every item (and, with ``batch`` items, of every
condition) goes through the encoder in batched passes; the arithmetic equals the sequential schedule because
the encoder is frozen in eval mode and samples are independent.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from tqdm.auto import tqdm

from ..encoders.base import members_of
from ..errors import DnemkitError
from ..stimuli.geometry import HEIGHT, WIDTH
from .config import ReconstructionConfig
from .recipes import make_optimizer, make_schedule
from .schedule import subbatch_starts


def resolve_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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


def _gather_frames(tensor, items, frame_index):
    """tensor (B, C, T) -> (S, C, F) picking item ``items[s]`` and frames ``frame_index[s]``."""
    picked = tensor[items]
    return torch.gather(picked, 2, frame_index[:, None, :].expand(-1, picked.shape[1], -1))


def input_gradient(encoder, video, behavior, target, config, neurons=None, per_pass=None, starts=None):
    """One iteration's gradient of the paper's schedule, batched.

    video (B, T, 36, 64), behavior (B, 4, T), target (B, N, T) (already relu'd).
    For every 32-frame sub-batch: Poisson loss (mean over neurons x frames), gradient w.r.t. the encoder's
    stacked input divided by its L2 norm (all input channels), video part kept, averaged per frame over the
    sub-batches that contain the frame. ``neurons`` (index tensor) restricts the loss to a subset. ``starts``:
    the sub-batches' first frames (default: the paper's dense schedule); frames no sub-batch covers get 0.
    Returns (grad (B, T, 36, 64), loss (B,) mean over sub-batches, rates (B, N_used, T) averaged over
    sub-batches, detached).
    """
    b, t = video.shape[:2]
    size = config.subbatch_frames
    if starts is None:
        starts = subbatch_starts(t, size, config.subbatch_stride)
    jobs = [(i, s) for i in range(b) for s in starts]
    per_pass = per_pass or len(jobs)
    device = video.device
    offsets = torch.arange(size, device=device)
    grad = torch.zeros_like(video)
    loss = torch.zeros(b, device=device)
    n_used = target.shape[1] if neurons is None else len(neurons)
    rates_sum = torch.zeros((b, n_used, t), device=device)
    for k in range(0, len(jobs), per_pass):
        chunk = jobs[k:k + per_pass]
        items = torch.tensor([j[0] for j in chunk], device=device)
        frame_index = torch.tensor([j[1] for j in chunk], device=device)[:, None] + offsets
        clips = video.detach()[items[:, None], frame_index]
        beh = _gather_frames(behavior, items, frame_index)
        tgt = _gather_frames(target, items, frame_index)
        x = encoder.stack_inputs(clips, beh).detach().requires_grad_(True)
        rates = encoder.forward_stacked(x, beh)
        if neurons is not None:
            rates, tgt = rates[:, neurons], tgt[:, neurons]
        per_sub = (rates - tgt * torch.log(rates + config.loss_eps)).mean(dim=(1, 2))
        (g,) = torch.autograd.grad(per_sub.sum(), x)
        g = g / (g.flatten(1).norm(dim=1) + config.grad_norm_eps).view(-1, *([1] * (g.dim() - 1)))
        grad.index_put_((items[:, None], frame_index), encoder.video_grad(g), accumulate=True)
        loss.index_add_(0, items, per_sub.detach())
        rates_sum.index_put_((items[:, None, None], torch.arange(n_used, device=device)[None, :, None],
                              frame_index[:, None, :]), rates.detach(), accumulate=True)
    count = torch.zeros(t, device=device)
    for s in starts:
        count[s:s + size] += 1
    count.clamp_(min=1)  # frames outside every sub-batch (a sparse schedule) keep their zero gradient
    grad /= count.view(1, t, 1, 1)
    return grad, loss / len(starts), rates_sum / count.view(1, 1, t)


def _pearson_rows(a, b):
    """Pearson r per row of two (B, K) tensors."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-12)


def smooth(videos, sigma):
    """Gaussian filter over (frame, y, x) of (..., T, 36, 64) numpy videos; sigma in frames/pixels."""
    if sigma <= 0:
        return videos.copy()
    sig = (0,) * (videos.ndim - 3) + (sigma,) * 3
    return gaussian_filter(videos, sig).astype(np.float32)


@dataclass
class ReconstructionResult:
    """What :func:`reconstruct` returns (numpy, float32, grey levels).

    videos: (M, B, T, 36, 64) each model's reconstruction (reconstruction ensembling), or (1, B, ...) holding the
    gradient-ensembled video. ensemble: (B, T, 36, 64) the mean over models, smoothed. ensemble_raw: before
    smoothing. traces: 'loss' and 'response_correlation' (iteration, model, item) for iterations 1..n;
    'video_correlation' (eval_iteration, model + ensemble, item) when a ground truth was given.
    """

    videos: np.ndarray
    ensemble: np.ndarray
    ensemble_raw: np.ndarray
    traces: dict
    eval_iterations: np.ndarray
    config: ReconstructionConfig
    seconds: float
    model_names: list = field(default_factory=list)


def _check_inputs(encoder, responses, behavior, train_mask, neurons, ground_truth):
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
    if ground_truth is not None:
        gt = np.asarray(ground_truth, dtype=np.float32)
        if gt.ndim == 3:
            gt = gt[None]
        if gt.shape != (b, t, HEIGHT, WIDTH):
            raise DnemkitError(f"ground truth has shape {gt.shape[1:]}; the responses have {t} frames, "
                               f"expected ({t}, {HEIGHT}, {WIDTH})")
        ground_truth = gt
    return responses, behavior, train_mask, neurons, ground_truth


def reconstruct(encoder, responses, behavior=None, config=ReconstructionConfig(), train_mask=None, neurons=None,
                ground_truth=None, eval_mask=None, progress=True, description="reconstruct"):
    """Reconstruct the video(s) that make ``encoder`` predict ``responses``.

    encoder: an Encoder (an Ensemble reconstructs with every member). responses: (N, T) or (B, N, T) targets
    (recorded responses or predicted activity; negative values are set to 0 as in training). behavior: (4, T)
    or (B, 4, T), None = the encoder's defaults. train_mask: (36, 64) bool, gradients outside are zeroed.
    neurons: indices of the neurons that enter the loss (the rest leave it entirely). ground_truth:
    (T, 36, 64) or (B, T, 36, 64) for evaluation traces, inside ``eval_mask`` (36, 64 bool) and frames >=
    config.eval_first_frame. Returns a :class:`ReconstructionResult`.
    """
    from ..analysis.metrics import video_correlation

    responses, behavior, train_mask, neurons, ground_truth = _check_inputs(
        encoder, responses, behavior, train_mask, neurons, ground_truth)
    device = resolve_device(config.device)
    encoder = encoder.to(device).eval()
    models = members_of(encoder)
    b, n, t = responses.shape
    target = responses.to(device).clamp(min=0)
    if behavior is None:
        behavior = encoder.default_behavior().to(device).view(1, 4, 1).expand(b, 4, t)
    behavior = behavior.to(device)
    mask = None if train_mask is None else torch.as_tensor(train_mask, dtype=torch.float32, device=device)
    neurons = None if neurons is None else neurons.to(device)
    per_pass = config.subbatches_per_pass or auto_subbatches_per_pass(models[0], device, config.subbatch_frames)

    n_videos = len(models) if config.ensembling == "reconstruction" else 1
    videos = torch.full((n_videos, b, t, HEIGHT, WIDTH), config.start_value, device=device)
    optimisers = [make_optimizer(config) for _ in range(n_videos)]
    schedule = make_schedule(config, config.seed)
    first = min(config.eval_first_frame, t - 1)
    loss_trace = np.zeros((config.iterations, len(models), b), np.float32)
    rcorr_trace = np.zeros_like(loss_trace)
    eval_its, vcorr = [], []

    def evaluate(i):
        if ground_truth is None:
            return
        raw = videos.cpu().numpy()
        combined = smooth(raw.mean(0), config.smoothing_sigma)
        rows = [[video_correlation(ground_truth[k], v[k], eval_mask, first) for k in range(b)] for v in raw]
        rows.append([video_correlation(ground_truth[k], combined[k], eval_mask, first) for k in range(b)])
        eval_its.append(i)
        vcorr.append(rows)

    started = time.perf_counter()
    evaluate(0)
    for i in tqdm(range(1, config.iterations + 1), desc=description, disable=not progress, leave=False):
        grads = []
        starts = schedule(t)
        for m, model in enumerate(models):
            video = videos[m] if n_videos > 1 else videos[0]
            g, loss, rates = input_gradient(model, video, behavior, target, config, neurons, per_pass, starts)
            loss_trace[i - 1, m] = loss.cpu().numpy()
            tgt = target if neurons is None else target[:, neurons]
            rcorr_trace[i - 1, m] = _pearson_rows(rates[..., first:].flatten(1), tgt[..., first:].flatten(1)).cpu()
            grads.append(g)
        if n_videos == 1:
            grads = [torch.stack(grads).mean(0)]
        for m, g in enumerate(grads):
            if mask is not None:
                g = g * mask
            optimisers[m].step(videos[m], g.clamp(-config.grad_clip, config.grad_clip), i)
        if config.eval_every and i % config.eval_every == 0 and i != config.iterations:
            evaluate(i)
    evaluate(config.iterations)
    seconds = time.perf_counter() - started

    raw = videos.cpu().numpy().astype(np.float32)
    traces = {"loss": loss_trace, "response_correlation": rcorr_trace}
    if vcorr:
        traces["video_correlation"] = np.asarray(vcorr, np.float32)
    names = [getattr(m, "description", f"model {k}") for k, m in enumerate(models)]
    return ReconstructionResult(videos=raw, ensemble=smooth(raw.mean(0), config.smoothing_sigma),
                                ensemble_raw=raw.mean(0), traces=traces, eval_iterations=np.asarray(eval_its),
                                config=config, seconds=seconds, model_names=names)
