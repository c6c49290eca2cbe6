"""The reconstruction loop: optimise input videos until the encoder predicts the target responses.

What it computes is one frozen :class:`Recipe`, how it runs one :class:`Execution`; masks, ensembling, smoothing,
predicted targets, neuron subsets and trackers are options of this one loop (:func:`reconstruct`). Its gradients
come from :mod:`.passes`, how they run from :mod:`.execution`.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..device import resolve_device
from ..encoders.base import members_of, model_names
from ..errors import DnemkitError
from ..losses import poisson_nll
from ..stimuli.geometry import HEIGHT, WIDTH
from ..video import EVAL_FIRST_FRAME, smooth_video as smooth
from .config import Execution, Recipe
from .execution import auto_subbatches_per_pass, check_bf16, cudnn_benchmark, prepare_members
from .optimizers import make_optimizer
from .passes import MemberGradients, tiled_rates
from .schedule import make_schedule
from .stoppers import StopAt, make_stopper


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
    returned when a watching stopper chose it (0 = the start; None without one), with its watched trace (per
    watched iteration) under its ``trace`` name in traces and tracked_iterations ('heldout_loss' of the held-out
    stopper, 'decoder_agreement' of the agreement stopper, 'deviance_ratio' of the deviance stopper); iterations_run: the iterations the loop ran.
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
                precondition=None, constraint=None, stopper=None, decoder=None, eval_mask=None):
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
        videos is watched, the best watched videos are returned; ``stopped_at`` says which) or
        :class:`~dnemkit.reconstruction.stoppers.AgreementStopper` (the agreement with the decoder's movie is
        watched). None: the recipe's ``start`` and ``stopper`` ("grey" and "none" are the paper's;
        ``recipe.start == "decoder"`` needs the decoder's movie given as ``start``:
        :func:`dnemkit.decoders.decoder_start`; ``recipe.stopper == "agreement"`` needs the stopper given:
        ``make_stopper(recipe, decoded=movie, mask=eval_mask)``).
    decoder : LinearDecoder, optional
        The linear decoder (:mod:`dnemkit.decoders`) whose movie of ``responses`` is the start when the recipe
        starts from the decoder and ``start`` is None, and what the agreement stopper watches (inside
        ``eval_mask``) when the recipe names it and ``stopper`` is None: the way experiments give both.

    Returns
    -------
    ReconstructionResult
    """
    if not isinstance(recipe, Recipe):
        raise DnemkitError(f"recipe is a {type(recipe).__name__}; expected a dnemkit Recipe (Recipe.named(...))")
    if not isinstance(execution, Execution):
        raise DnemkitError(f"execution is a {type(execution).__name__}; expected a dnemkit Execution")
    if decoder is not None and (recipe.start == "decoder" and start is None
                                or recipe.stopper == "agreement" and stopper is None):
        decoded = decoder.decode(np.asarray(responses.detach().cpu() if torch.is_tensor(responses) else responses,
                                            np.float32))
        decoded = decoded if decoded.ndim == 4 else decoded[None]
        if recipe.start == "decoder" and start is None:
            start = decoded
        if recipe.stopper == "agreement" and stopper is None:
            stopper = make_stopper(recipe, decoded=decoded, mask=eval_mask)
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
    watching, held = hasattr(stopper, "observe"), None
    if watching:
        stopper.reset()
        if hasattr(stopper, "check"):
            stopper.check(b, t)  # before any work, as the trackers
    if hasattr(stopper, "split"):
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

    pairs = list(enumerate(models)) if n_videos == len(models) else [(0, m) for m in models]  # (video, model)
    if held is not None:
        held = held.to(device)

        def look():  # per held-out neuron: its Poisson loss on the current videos, mean over the rest
            rates = [tiled_rates(m, videos[v], behavior, recipe.subbatch_frames, per_pass) for v, m in pairs]
            values = [poisson_nll(r[:, held, first:], target[:, held, first:], recipe.loss_eps).mean(dim=(0, 2))
                      for r in rates]
            return torch.stack(values).mean(0).cpu().numpy()
    elif hasattr(stopper, "fit_value"):
        fitted = target if neurons is None else target[:, neurons]
        stopper.neurons = fitted.shape[1]  # its allowed excess depends on how many neurons the videos fit

        def look():  # the fit of the neurons in the loss to their targets, frames `first` on, per model
            rates = [tiled_rates(m, videos[v], behavior, recipe.subbatch_frames, per_pass) for v, m in pairs]
            rates = [(r if neurons is None else r[:, neurons])[..., first:] for r in rates]
            return stopper.fit_value(rates, fitted[..., first:])
    elif watching:
        def look():  # the stopper measures the videos itself (the agreement with the decoder's movie)
            return stopper.measure(videos, first)

    started = time.perf_counter()
    tracking(0, videos)
    if watching:
        stopper.observe(0, look(), videos.clone)
    done = recipe.iterations
    with cudnn_benchmark(execution, device):
        for i in tqdm(range(1, recipe.iterations + 1), desc=description, disable=not progress, leave=False):
            grads, loss, rcorr = gradients(videos, behavior, target, neurons, schedule(t), response_correlation)
            loss_trace[i - 1], rcorr_trace[i - 1] = loss.cpu().numpy(), rcorr.cpu().numpy()
            _step(videos, grads, optimisers, i, recipe, mask, precondition, constraint)
            if watching:
                stop = stopper.due(i, recipe.iterations) and stopper.observe(i, look(), videos.clone)
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
    name = stopper.trace
    traces[name] = np.asarray(stopper.values, np.float32)
    tracking.iterations[name] = list(stopper.iterations)
    if stopper.best_iteration is None:  # no look was ever a best (a constant video throughout): the last videos
        stopper.best_iteration, stopper.best_videos = done, videos
    result = _result(stopper.best_videos, traces, tracking, recipe, execution, time.perf_counter() - started, models)
    tracking.iterations.pop(name)
    result.stopped_at, result.iterations_run = stopper.best_iteration, done
    if stopper.rerun and stopper.best_iteration > 0:
        # every neuron back in the loss, the same recipe (schedule, step sizes) stopped at the chosen iteration
        again = reconstruct(encoder, **{**given, "recipe": recipe.replace(stopper="none")},
                            stopper=StopAt(stopper.best_iteration))
        again.traces[name] = result.traces[name]
        again.tracked_iterations[name] = result.tracked_iterations[name]
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
