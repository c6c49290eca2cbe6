"""Receptive-field mapping of an encoder with on/off sparse noise (docs/method.md, "Stimuli", §7).

Every one of the 36 x 64 pixels is flashed ON (255) and OFF (0) on grey: 15 grey frames (``pre``), 15 flash
frames, 15 grey frames (``post``). The clips go through every model of the encoder in chunks of positions, and
each model's mean rate over the pre frames and over the flash frames is kept (docs/method.md, "Deviations from the reference, chosen": the reference kept only
the last model's responses). From those:

- ensemble responses: the plain mean of the models' ``r_pre`` / ``r_flash`` over ``model`` (an explicit average
  of the models' responses; it equals the :class:`~dnemkit.encoders.Ensemble`'s own prediction, which is the
  mean of its members' rates, averaged over the same frames);
- ON and OFF maps per neuron: :func:`dnemkit.analysis.rf_maps` ((r_flash - r_pre) / r_pre, values < 0.1 set to 0,
  Gaussian sigma 2 px, divided by the maximum) of the ensemble responses;
- the preferred polarity of a neuron: the one with the larger peak relative response (before thresholding and
  smoothing); a neuron is *responsive* when that map is not empty (some relative response >= 0.1);
- RF centres (the maximum of each map, and of the preferred one), 2-D Gaussian fits of the preferred map,
  population RFs (nan-mean over neurons) and their ON - OFF / ON + OFF combinations.

Polarity: every map is divided by its own maximum, so the normalised maps do not carry a neuron's polarity. An
ON cell's OFF map (excited by the OFF-preferring side lobes of its RF, which the 2 px smoothing merges over the
centre) is also 1 at its own maximum, which can be the centre. Compare polarities with ``preferred_polarity``
or the un-normalised maps ``rf_on * rf_on_peak`` and ``rf_off * rf_off_peak``.

Lead-in: encoders with a temporal history (``first_valid_frame`` = 30 for DwiseNeuro and the synthetic mouse)
predict the first frames of a clip from an incomplete history. Every clip is therefore preceded by
``lead_in`` grey frames (default: the encoder's ``first_valid_frame``), so that every analysed frame (pre and
flash) has a full history of real (grey) input. The lead-in frames are not analysed.
"""

import time

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from ...analysis.receptive_fields import (COMPRESSION, POLARITIES, RF_SIGMA_PX, RF_THRESHOLD, compare_to_truth,
                                          receptive_fields)
from ...device import resolve_device
from ...encoders.base import members_of
from ...errors import DnemkitError, check_int
from ...stimuli.geometry import HEIGHT, WIDTH
from ...stimuli.sparse import all_positions, sparse_noise
from ...errors import say
from ..contract import check_config, write_outputs
from .config import RFConfig
from ...units import COUNTS_PER_FRAME

__all__ = ["auto_chunk", "sparse_noise_responses", "map_receptive_fields", "run", "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 64  #: positions per encoder call (x 2 polarities = 128 clips of 75 frames, ~90 MB of video)


def auto_chunk(models, device):
    """Positions per encoder call: DEFAULT_CHUNK for light encoders; few for DwiseNeuro-like ones.

    A DwiseNeuro clip of 75 frames is 45 windows of 5 x 16 x 64 x 64 inputs (about 60 MB per clip before the
    network's activations), so on a CPU one position (2 clips) per call, on a GPU 16.
    """
    heavy = any(hasattr(m, "model") for m in models)
    if not heavy:
        return DEFAULT_CHUNK
    return 16 if device.type == "cuda" else 1


def sparse_noise_responses(encoder, chunk=None, lead_in=None, pre=15, flash=15, post=15, positions=None,
                           device="auto", progress=True):
    """Every model's mean responses to on/off single-pixel flashes.

    encoder: an Encoder (an Ensemble is run member by member). chunk: positions per encoder call (each position
    makes two clips, ON and OFF, of ``lead_in + pre + flash + post`` frames); None: :func:`auto_chunk`.
    lead_in: grey frames put before each clip (None: the encoder's ``first_valid_frame``; see the module
    docstring). pre, flash, post: docs/method.md, "Stimuli" timing.
    positions: (K, 2) int (row, col) pixels, None = all 36 x 64. Behaviour: the encoder's defaults (per-mouse
    means, docs/method.md, "Stimuli").

    Returns an xr.Dataset with ``r_pre`` and ``r_flash`` float32 (model, polarity, neuron, y, x): each model's
    rate averaged over the pre frames / the flash frames for a flash at (y, x) (NaN at positions not mapped).
    """
    from ...encoders.base import probe_encoder
    from ...encoders.responses import predict_responses

    models = members_of(encoder)
    probe_encoder(encoder, need_grad=False)
    device = resolve_device(device)
    chunk = auto_chunk(models, device) if chunk is None else check_int(chunk, "chunk", 1)
    lead = int(getattr(encoder, "first_valid_frame", 0)) if lead_in is None else check_int(lead_in, "lead_in", 0)
    pre, flash, post = (check_int(v, n, m) for v, n, m in ((pre, "pre", 1), (flash, "flash", 1), (post, "post", 0)))
    positions = all_positions() if positions is None else np.asarray(positions)
    n = int(encoder.n_neurons)
    if n < 1:
        raise DnemkitError(f"the encoder predicts {n} neurons; expected at least one")
    shape = (len(models), len(POLARITIES), n, HEIGHT, WIDTH)
    r_pre = np.full(shape, np.nan, np.float32)
    r_flash = np.full(shape, np.nan, np.float32)
    starts = range(0, len(positions), chunk)
    total = len(models) * len(starts)
    bar = tqdm(total=total, desc="rf mapping", disable=not progress, leave=False)
    started = time.perf_counter()
    pre_frames = slice(lead, lead + pre)
    flash_frames = slice(lead + pre, lead + pre + flash)
    def windows(rates):  # (clips, N, 2): the mean rate before and during the flash
        return torch.stack([rates[..., pre_frames].mean(-1), rates[..., flash_frames].mean(-1)], -1).float()

    for m, model in enumerate(models):
        model = model.to(device).eval()
        for start in starts:
            # the lead-in is more grey before the flash: one clip of lead + pre grey frames
            clips = sparse_noise(positions[start:start + chunk], POLARITIES, lead + pre, flash, post)
            means = predict_responses(model, clips.values, device=device, reduce=windows, n_neurons=n)
            pol = np.array([POLARITIES.index(p) for p in clips["polarity"].values])
            ys, xs = clips["pos_y"].values, clips["pos_x"].values
            r_pre[m, pol, :, ys, xs] = means[..., 0]
            r_flash[m, pol, :, ys, xs] = means[..., 1]
            bar.update(1)
    bar.close()
    coords = {"model": np.arange(len(models)), "polarity": list(POLARITIES), "neuron": np.arange(n),
              "y": np.arange(HEIGHT), "x": np.arange(WIDTH)}
    dims = ("model", "polarity", "neuron", "y", "x")
    ds = xr.Dataset({"r_pre": (dims, r_pre), "r_flash": (dims, r_flash)}, coords=coords)
    ds["r_pre"].attrs.update(units=COUNTS_PER_FRAME,
                             long_name=f"mean rate over the {pre} grey frames before the flash")
    ds["r_flash"].attrs.update(units=COUNTS_PER_FRAME,
                               long_name=f"mean rate over the {flash} flash frames")
    for name in ("r_pre", "r_flash"):
        ds[name].encoding.update(COMPRESSION)
    ds["model_name"] = ("model", [str(getattr(mm, "description", "") or type(mm).__name__) for mm in models])
    ds.attrs.update(lead_in_frames=lead, pre_frames=pre, flash_frames=flash, post_frames=post,
                    positions_mapped=int(len(positions)), chunk=chunk,
                    mapping_seconds=float(time.perf_counter() - started))
    return ds


def map_receptive_fields(encoder, mouse=None, chunk=None, lead_in=None, fit=True, fit_max=None, positions=None,
                         device="auto", progress=True):
    """Map the ON and OFF receptive fields of every neuron of ``encoder`` (see the module docstring).

    encoder: an Encoder or a spec string ('demo', 'synthetic:0', a .pth, a folder, 'file.py:factory').
    mouse: readout index for checkpoints.
    chunk: positions per encoder call (memory: 2 * chunk clips of lead_in + 45 frames; None: 64 for light
        encoders, 1 for DwiseNeuro on a CPU).
    lead_in: grey frames before each clip (None: the encoder's first_valid_frame).
    fit, fit_max: Gaussian fits of responsive neurons (at most fit_max, strongest first; None = all).
    positions: (K, 2) int (row, col) pixels to flash, None = every pixel (unmapped pixels count as no response).
    device: 'auto', 'cpu', 'cuda'.

    Returns an xr.Dataset (see :func:`sparse_noise_responses` and :func:`receptive_fields`) with dnemkit
    provenance attrs (kind 'rf').
    """
    from ...encoders import load_encoder
    from ...io.results import provenance

    spec = encoder if isinstance(encoder, str) else None
    enc = load_encoder(encoder, mouse) if isinstance(encoder, str) else encoder
    config = dict(chunk=chunk, lead_in=lead_in, fit=fit, fit_max=fit_max, pre=15, flash=15, post=15,
                  positions="all" if positions is None else f"{len(positions)} given",
                  threshold=RF_THRESHOLD, sigma_px=RF_SIGMA_PX)
    responses = sparse_noise_responses(enc, chunk=chunk, lead_in=lead_in, positions=positions, device=device,
                                       progress=progress)
    ds = receptive_fields(responses, fit=fit, fit_max=fit_max)
    name = spec or getattr(enc, "description", type(enc).__name__)
    ds.attrs.update(provenance("rf", config, name, encoder_description=str(getattr(enc, "description", ""))))
    return ds


def truth_for(ground_truth, encoder, spec):
    """(true neuron properties to compare with or None, its name).

    'auto': the encoder's own properties() when it has them (the synthetic mouse), the synthetic mouse (seed 0)
    for the demo encoder when the neuron counts match (the demo is trained on it); 'none': no comparison; any
    other spec: that encoder's properties() (it must have the encoder's neurons).
    """
    from ...encoders import SyntheticMouse, load_encoder

    choice = str(ground_truth).strip()
    if choice.lower() == "none":
        return None, ""
    if choice.lower() == "auto":
        if hasattr(encoder, "properties"):
            return encoder.properties(), f"the true RFs of {spec}"
        if spec == "demo":
            truth = SyntheticMouse(0)
            return (truth.properties(), "synthetic:0") if truth.n_neurons == encoder.n_neurons else (None, "")
        return None, ""
    truth = load_encoder(choice)
    if not hasattr(truth, "properties"):
        raise DnemkitError(f"--ground-truth {choice} has no known neuron properties; expected 'auto', 'none' or "
                           "'synthetic[:seed]'")
    if truth.n_neurons != encoder.n_neurons:
        raise DnemkitError(f"--ground-truth {choice} has {truth.n_neurons} neurons; the encoder predicts "
                           f"{encoder.n_neurons}; expected the same neurons")
    return truth.properties(), choice


def run(config=None, *, out=None, progress=True, log=None):
    """The `characterize rf` pipeline: map, compare with the truth, attach the mask. Returns the Dataset.

    config: an :class:`RFConfig` (None: the demo encoder, every pixel). out: folder for rf.nc and the figures
    (None: nothing written). log: receives one line saying where the mask came from ('none': no mask, no line).
    """
    from ...encoders.base import probe_encoder
    from ...masks import resolve_mask

    config = check_config(config, RFConfig)
    ref = config.encoder
    encoder = ref.encoder
    want_mask = str(config.mask).lower() != "none"
    # the mask ('auto' may compute one) differentiates the encoder; the flashes only need its rates
    probe_encoder(encoder, need_grad=want_mask and str(config.mask).lower() in ("auto", "alpha", "sensitivity"))
    truth, truth_name = truth_for(config.ground_truth, encoder, ref.name)
    mask = None
    if want_mask:
        mask, line = resolve_mask(config.mask, ref, progress=progress)
        say(log, line)
    ds = map_receptive_fields(encoder, chunk=config.chunk, lead_in=config.lead_in, fit=config.fit,
                              fit_max=config.fit_max, positions=config.positions(), device=config.device,
                              progress=progress)
    ds.attrs["position_step"] = config.step
    ds.attrs.update(encoder=ref.name, mouse="" if ref.mouse is None else int(ref.mouse), mask=str(config.mask),
                    ground_truth=truth_name)
    if truth is not None:
        ds = compare_to_truth(ds, truth)
    if mask is not None:
        mask.attach_to(ds)
    if out is not None:
        write_outputs(ds, out)
    return ds
