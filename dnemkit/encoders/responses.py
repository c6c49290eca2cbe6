"""An encoder's responses to stimuli: the one way dnemkit shows movies to an encoder when it needs no gradient
(reconstruction targets, tuning, receptive fields, MEI comparisons), batched and checked.

Every pass goes through :func:`dnemkit.encoders.base.check_rates` (shape, finite, >= 0), so a broken encoder is
one line naming it wherever it is first used, and runs under ``torch.no_grad``.
"""

import numpy as np
import torch

from ..errors import DnemkitError
from .base import check_rates


def encoder_device(encoder):
    """The device of ``encoder``'s first buffer (else parameter); the CPU for one with neither."""
    for tensor in (*encoder.buffers(), *encoder.parameters()) if isinstance(encoder, torch.nn.Module) else ():
        return tensor.device
    return torch.device("cpu")


def predict_responses(encoder, videos, behavior=None, *, batch=None, device=None, reduce=None, n_neurons=None,
                      progress=False, desc="responses"):
    """The encoder's rates for ``videos``, ``batch`` movies per pass, without gradients.

    Parameters
    ----------
    encoder : Encoder
        Any encoder of the protocol (an Ensemble predicts its members' mean); it is neither moved nor switched to
        eval mode here (callers choose).
    videos : array_like or tuple
        (K, T, 36, 64) grey levels (numpy or torch), or a pair ``(K, make)`` with ``make(a, b)`` giving movies
        a..b-1 (made pass by pass, so a large grid never sits in memory at once).
    behavior : array_like, optional
        (K, 4, T) behaviour; None: the encoder's defaults.
    batch : int, optional
        Movies per pass (None: all K in one pass). Passes of other sizes may differ in float round-off.
    device : torch.device or str, optional
        Where the movies go (None: the encoder's, :func:`encoder_device`).
    reduce : callable, optional
        Applied on the device to each pass's rates (B, N, T), e.g. a mean over the analysed frames, before they
        are moved to the CPU; None keeps the rates as they are (float32).
    n_neurons : int, optional
        The neuron count the rates must have (DnemkitError otherwise).
    progress, desc : bool, str
        A progress bar over the passes (tqdm), and its label.

    Returns
    -------
    numpy.ndarray
        The passes' (reduced) rates concatenated along the first axis: (K, N, T) without ``reduce``.
    """
    count, make = videos if isinstance(videos, tuple) else (len(videos), lambda a, b: videos[a:b])
    batch = count if batch is None else int(batch)
    device = encoder_device(encoder) if device is None else torch.device(device)
    starts = range(0, count, max(batch, 1))
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, leave=False)
    parts = []
    with torch.no_grad():
        for a in starts:
            b = min(a + batch, count)
            video = _as_float32(make(a, b)).to(device)
            beh = None if behavior is None else _as_float32(behavior[a:b]).to(device)
            rates = check_rates(encoder(video, beh), encoder, video)
            if n_neurons is not None and rates.shape[1] != n_neurons:
                raise DnemkitError(f"{getattr(encoder, 'description', '') or type(encoder).__name__} returned rates "
                                   f"of shape {tuple(rates.shape)}; expected ({b - a}, {n_neurons}, "
                                   f"{video.shape[1]}) ({n_neurons} neurons)")
            parts.append((rates if reduce is None else reduce(rates)).cpu().numpy())
    if not parts:
        raise DnemkitError("no movies to show the encoder; expected at least one")
    return np.concatenate(parts)


def _as_float32(values):
    """A float32 tensor of numpy or torch ``values`` (no copy when they are one already)."""
    if torch.is_tensor(values):
        return values.to(torch.float32)
    return torch.as_tensor(np.asarray(values, np.float32))
