"""Where the linear decoder comes from: fitted on a dataset's training trials or on the encoder's own Poisson
responses to a library of movies, and cached like masks (``$DNEMKIT_CACHE/decoders``).

- :func:`decoder_for`: the cached decoder of (encoder, data), else fitted now and cached (first use);
- :func:`make_decoder`: `characterize decoder fit`: fitted now (never from the cache), cached, as a Dataset;
- :func:`decoder_start`: the decoder's movie for some responses, as a reconstruction's ``start``.
"""

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from ..errors import DnemkitError
from ..io.results import provenance, read_dataset, write_dataset
from .linear import DecoderConfig, LinearDecoder, fit_linear_decoder


def cache_dir():
    """Where decoders are cached: $DNEMKIT_CACHE/decoders, else ~/.cache/dnemkit/decoders."""
    root = os.environ.get("DNEMKIT_CACHE") or Path.home() / ".cache" / "dnemkit"
    return Path(root) / "decoders"


def cached_path(ref, data=None, config=DecoderConfig()):
    """The cache file of the decoder of encoder ``ref`` (an EncoderRef) and ``data``: the masks' key (spec,
    mouse, data, file sizes and times) plus a digest of the decoder's config."""
    from ..masks.resolve import mask_key

    digest = hashlib.sha1(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    return cache_dir() / f"{mask_key(ref.mask_key, ref.mouse, data)}-decoder-{digest}.nc"


def data_clips(data, config=DecoderConfig()):
    """(videos, responses, description) of the labelled 'train' trials of the Sensorium mouse folder ``data``
    (at most ``config.max_clips``, a seeded choice; trials with NaN inside are passed over)."""
    from ..data import find_mouse

    mouse = find_mouse(data)
    ids = [t for t in mouse.trials("train") if mouse.is_labeled(t)]
    rng = np.random.default_rng(config.seed)
    if len(ids) > config.max_clips:
        ids = sorted(rng.choice(ids, config.max_clips, replace=False).tolist())
    videos, responses = [], []
    for tid in ids:
        trial = mouse.trial(tid)
        if trial.responses is None or not np.isfinite(trial.responses).all() or trial.length < 32:
            continue
        videos.append(trial.video)
        responses.append(trial.responses)
    return videos, responses, f"{len(videos)} recorded training trials of {mouse.name}"


def library_clips(encoder, config=DecoderConfig(), progress=False):
    """(videos, responses, description): ``config.library_movies`` natural movies and the encoder's own Poisson
    responses to them (its rates by 32-frame sub-batches, mean over ensemble members; behaviour: its defaults)."""
    import torch

    from ..encoders.base import members_of
    from ..reconstruction.config import Execution
    from ..reconstruction.execution import prepare_members
    from ..reconstruction.passes import tiled_rates
    from ..encoders.synthetic import sample_responses
    from ..stimuli.natural import natural_movie

    device = next((b.device for b in encoder.buffers()), torch.device("cpu")) if hasattr(encoder, "buffers") \
        else torch.device("cpu")
    members = prepare_members(members_of(encoder), Execution(fold_batchnorm=True), device)
    videos = [natural_movie(seed=config.library_seed + k, n_frames=config.library_frames).values.astype(np.float32)
              for k in range(config.library_movies)]
    rng = np.random.default_rng(config.seed)
    responses = []
    for video in videos:
        v = torch.from_numpy(video)[None].to(device)
        rates = torch.stack([tiled_rates(m.eval(), v, per_pass=16)[0] for m in members]).mean(0)
        responses.append(sample_responses(rates.clamp(min=0), rng))
    return videos, responses, (f"the encoder's own Poisson responses to {len(videos)} library movies (natural "
                               f"movies, seeds {config.library_seed}..{config.library_seed + len(videos) - 1}; "
                               "no recorded data)")


def fit_decoder(ref, data=None, config=DecoderConfig(), progress=False):
    """The decoder of ``ref`` fitted now: on the training trials of ``data``, else on the library."""
    if data is not None:
        videos, responses, source = data_clips(data, config)
    else:
        videos, responses, source = library_clips(ref.full, config, progress)
    return fit_linear_decoder(videos, responses, source, config)


def decoder_for(ref, data=None, config=DecoderConfig(), progress=False):
    """(decoder, one line saying where it came from): cached, else fitted now and cached."""
    path = cached_path(ref, data, config)
    if path.exists():
        try:
            decoder = LinearDecoder.from_dataset(read_dataset(path, "decoder"))
            return decoder, f"decoder: cached ({path.name}); {decoder.summary()}"
        except (DnemkitError, KeyError, ValueError):
            pass  # a bad cache file is refitted, not fatal
    started = time.perf_counter()
    decoder = fit_decoder(ref, data, config, progress)
    _store(decoder, path, ref, data, config)
    return decoder, f"decoder: fitted now in {time.perf_counter() - started:.0f} s and cached; {decoder.summary()}"


def _store(decoder, path, ref, data, config, **attrs):
    ds = decoder.to_dataset(**provenance("decoder", config, ref.name, config.seed, data=str(data or ""), **attrs))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_dataset(ds, path)
    except OSError:
        pass  # an unwritable cache costs a refit next time, nothing else
    return ds


def make_decoder(ref, data=None, config=DecoderConfig(), progress=False):
    """`characterize decoder fit`: fit the decoder now (never from the cache), cache it, return its Dataset (kind
    'decoder', with ``seconds``)."""
    started = time.perf_counter()
    decoder = fit_decoder(ref, data, config, progress)
    return _store(decoder, cached_path(ref, data, config), ref, data, config,
                  seconds=round(time.perf_counter() - started, 2))


def decoder_start(ref, responses, data=None, config=DecoderConfig(), progress=False):
    """(start movies (B, T, 36, 64) grey levels, one line): the decoder's movies for ``responses`` (N, T) or
    (B, N, T), the ``start`` of a reconstruction that starts from the decoder (recipe start 'decoder')."""
    decoder, line = decoder_for(ref, data, config, progress)
    r = np.asarray(responses, np.float32)
    if r.shape[-2] != decoder.n_neurons:
        raise DnemkitError(f"the responses have {r.shape[-2]} neurons but the decoder was fitted on "
                           f"{decoder.n_neurons} ({decoder.source}); expected the same neurons (--data of the "
                           "recording the targets come from)")
    movie = decoder.decode(r)
    return (movie[None] if r.ndim == 2 else movie), line
