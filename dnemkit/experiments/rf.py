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

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from scipy.ndimage import gaussian_filter
from tqdm.auto import tqdm

from ..device import resolve_device
from ..encoders.base import members_of
from ..errors import DnemkitError, check_int
from ..stimuli.geometry import HEIGHT, WIDTH
from ..stimuli.sparse import all_positions, sparse_noise
from ..analysis.receptive_fields import RF_SIGMA_PX, RF_THRESHOLD, fit_gaussians, on_off_maps, population_rf, rf_centres, rf_maps

__all__ = ["auto_chunk", "sparse_noise_responses", "receptive_fields", "map_receptive_fields", "compare_to_truth",
           "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 64  #: positions per encoder call (x 2 polarities = 128 clips of 75 frames, ~90 MB of video)
POLARITIES = ("on", "off")
#: netCDF encoding of the large (neuron, y, x) variables: gzip shrinks rf.nc about 8x (mostly zeros, grey pre)
COMPRESSION = {"zlib": True, "complevel": 4}
FIT_KEYS = ("center_y", "center_x", "sigma_y", "sigma_x", "amplitude", "offset")


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DnemkitError(f"{name} is {value!r}; expected an integer >= {minimum}")
    return int(value)


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
    from ..encoders.base import check_rates, probe_encoder

    models = members_of(encoder)
    probe_encoder(encoder, need_grad=False)
    device = resolve_device(device)
    chunk = auto_chunk(models, device) if chunk is None else _positive_int(chunk, "chunk")
    lead = int(getattr(encoder, "first_valid_frame", 0)) if lead_in is None else _positive_int(lead_in, "lead_in", 0)
    pre, flash, post = (_positive_int(v, n, m) for v, n, m in ((pre, "pre", 1), (flash, "flash", 1), (post, "post", 0)))
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
    with torch.no_grad():
        for m, model in enumerate(models):
            model = model.to(device).eval()
            for start in starts:
                # the lead-in is more grey before the flash: one clip of lead + pre grey frames
                clips = sparse_noise(positions[start:start + chunk], POLARITIES, lead + pre, flash, post)
                video = torch.from_numpy(clips.values)
                rates = model(video.to(device), None)
                if rates.dim() != 3 or rates.shape[1] != n or rates.shape[2] != video.shape[1]:
                    raise DnemkitError(f"model {m} returned rates of shape {tuple(rates.shape)}; expected "
                                       f"({video.shape[0]}, {n}, {video.shape[1]})")
                check_rates(rates, model, video)
                a = rates[..., pre_frames].mean(-1).float().cpu().numpy()  # (clips, N)
                b = rates[..., flash_frames].mean(-1).float().cpu().numpy()
                pol = np.array([POLARITIES.index(p) for p in clips["polarity"].values])
                ys, xs = clips["pos_y"].values, clips["pos_x"].values
                r_pre[m, pol, :, ys, xs] = a
                r_flash[m, pol, :, ys, xs] = b
                bar.update(1)
    bar.close()
    coords = {"model": np.arange(len(models)), "polarity": list(POLARITIES), "neuron": np.arange(n),
              "y": np.arange(HEIGHT), "x": np.arange(WIDTH)}
    dims = ("model", "polarity", "neuron", "y", "x")
    ds = xr.Dataset({"r_pre": (dims, r_pre), "r_flash": (dims, r_flash)}, coords=coords)
    ds["r_pre"].attrs.update(units="counts/frame",
                             long_name=f"mean rate over the {pre} grey frames before the flash")
    ds["r_flash"].attrs.update(units="counts/frame",
                               long_name=f"mean rate over the {flash} flash frames")
    for name in ("r_pre", "r_flash"):
        ds[name].encoding.update(COMPRESSION)
    ds["model_name"] = ("model", [str(getattr(mm, "description", "") or type(mm).__name__) for mm in models])
    ds.attrs.update(lead_in_frames=lead, pre_frames=pre, flash_frames=flash, post_frames=post,
                    positions_mapped=int(len(positions)), chunk=chunk,
                    mapping_seconds=float(time.perf_counter() - started))
    return ds


def _relative_peak(r_pre, r_flash, eps=1e-8):
    """(neuron,) maximum over positions of (r_flash - r_pre) / r_pre (NaN positions ignored)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = (r_flash - r_pre) / (r_pre + eps)
    rel = np.where(np.isfinite(rel), rel, -np.inf).reshape(rel.shape[0], -1)
    return rel.max(axis=1)


def _smoothed_peak(r_pre, r_flash, threshold, sigma, eps=1e-8):
    """(neuron,) the factor rf_maps divides by: the maximum of the thresholded, smoothed relative response."""
    rel = (r_flash - r_pre) / (r_pre + eps)
    rel[rel < threshold] = 0.0
    return gaussian_filter(rel, sigma=(0.0, sigma, sigma)).max(axis=(1, 2))


def receptive_fields(responses, fit=True, fit_max=None, threshold=RF_THRESHOLD, sigma=RF_SIGMA_PX):
    """RF maps, centres, Gaussian fits and population RFs from :func:`sparse_noise_responses`' dataset.

    responses: Dataset with r_pre, r_flash (model, polarity, neuron, y, x). fit: fit 2-D Gaussians to the
    preferred map of responsive neurons (about 18 ms per map); fit_max: fit at most this many (the strongest
    responders first), None = all. threshold, sigma: docs/method.md, "Analyses" (0.1, 2 px).

    Returns the input dataset plus (neuron dims (neuron, y, x) unless noted):
    rf_on, rf_off: docs/method.md, "Analyses" maps of the ensemble (model-averaged) responses, NaN for a neuron without any
    response above threshold in that polarity; response_on/off (neuron): peak relative response;
    rf_on_peak, rf_off_peak (neuron): the maps' normalisation factors (rf_on * rf_on_peak is the un-normalised
    smoothed map, comparable between polarities); preferred_polarity (neuron, 'on'/'off'); polarity_index
    (neuron, -1..1); responsive (neuron, bool); center_y, center_x (neuron, pixels): the maximum of the
    preferred map (NaN if unresponsive); center_{y,x}_{on,off}: of each map; model_center_{y,x}
    (model, neuron): the same from each model's own responses; fit_center_y, fit_center_x, fit_sigma_y,
    fit_sigma_x, fit_amplitude, fit_offset, fit_success, fitted (neuron): the Gaussian fits; population_rf_on,
    population_rf_off, on_minus_off, on_plus_off (y, x).
    """
    if not {"r_pre", "r_flash"} <= set(responses.data_vars):
        raise DnemkitError("responses lack r_pre / r_flash; expected the dataset of sparse_noise_responses()")
    if fit_max is not None:
        fit_max = _positive_int(fit_max, "fit_max", 0)
    ds = responses.copy()
    r_pre = ds["r_pre"].values.astype(np.float64)
    r_flash = ds["r_flash"].values.astype(np.float64)
    unmapped = np.isnan(r_pre) | np.isnan(r_flash)
    if unmapped.any():  # positions not mapped count as no response (relative response 0)
        r_pre, r_flash = np.where(unmapped, 1.0, r_pre), np.where(unmapped, 1.0, r_flash)
    mean_pre, mean_flash = r_pre.mean(axis=0), r_flash.mean(axis=0)  # explicit average over the models

    maps = {}
    peaks = {}
    for p, pol in enumerate(POLARITIES):
        maps[pol] = rf_maps(mean_pre[p], mean_flash[p], threshold=threshold, sigma=sigma)
        peaks[pol] = _relative_peak(mean_pre[p], mean_flash[p])
    prefer_on = peaks["on"] >= peaks["off"]
    preferred = np.where(prefer_on[:, None, None], maps["on"], maps["off"])
    responsive = ~np.isnan(preferred).all(axis=(1, 2))
    cy, cx = rf_centres(preferred)

    dims3 = ("neuron", "y", "x")
    ds["rf_on"] = (dims3, maps["on"].astype(np.float32))
    ds["rf_off"] = (dims3, maps["off"].astype(np.float32))
    for p, pol in enumerate(POLARITIES):
        ds[f"rf_{pol}"].attrs.update(
            units="1",
            long_name=f"{pol.upper()} receptive field: (r_flash - r_pre) / r_pre, < {threshold} -> 0, "
                      f"Gaussian sigma {sigma} px, normalised to the neuron's maximum; model-averaged responses")
        ds[f"rf_{pol}_peak"] = ("neuron", _smoothed_peak(mean_pre[p], mean_flash[p], threshold, sigma))
        ds[f"rf_{pol}_peak"].attrs.update(
            units="1", long_name=f"maximum of the {pol.upper()} map before the division by the maximum: "
                                 f"rf_{pol} * rf_{pol}_peak is the un-normalised map (comparable across polarities)")
        ds[f"response_{pol}"] = ("neuron", peaks[pol])
        ds[f"response_{pol}"].attrs.update(units="1", long_name=f"peak relative {pol.upper()} response "
                                                               "(r_flash - r_pre) / r_pre over positions")
        py, px = rf_centres(maps[pol])
        ds[f"center_y_{pol}"] = ("neuron", py)
        ds[f"center_x_{pol}"] = ("neuron", px)
        ds[f"center_y_{pol}"].attrs["units"] = ds[f"center_x_{pol}"].attrs["units"] = "pixel"
    ds["rf_on"].encoding.update(COMPRESSION)
    ds["rf_off"].encoding.update(COMPRESSION)
    ds["preferred_polarity"] = ("neuron", np.where(prefer_on, "on", "off"))
    ds["preferred_polarity"].attrs["long_name"] = "polarity of the larger peak relative response (ties: on)"
    with np.errstate(invalid="ignore", divide="ignore"):
        index = (peaks["on"] - peaks["off"]) / (np.abs(peaks["on"]) + np.abs(peaks["off"]))
    ds["polarity_index"] = ("neuron", index)
    ds["polarity_index"].attrs.update(units="1", long_name="(response_on - response_off) / (|response_on| + "
                                      "|response_off|): +1 ON only, -1 OFF only, 0 both (e.g. complex cells)")
    ds["responsive"] = ("neuron", responsive)
    ds["responsive"].attrs["long_name"] = f"some relative response >= {threshold} in the preferred polarity"
    ds["center_y"] = ("neuron", cy)
    ds["center_x"] = ("neuron", cx)
    ds["center_y"].attrs.update(units="pixel", long_name="row of the maximum of the preferred-polarity RF map")
    ds["center_x"].attrs.update(units="pixel", long_name="column of the maximum of the preferred-polarity RF map")

    # per-model centres: how well the models agree (maps of each model's own responses, not stored)
    n_models = r_pre.shape[0]
    mcy = np.full((n_models, preferred.shape[0]), np.nan)
    mcx = np.full_like(mcy, np.nan)
    if n_models > 1:
        for m in range(n_models):
            on = rf_maps(r_pre[m, 0], r_flash[m, 0], threshold=threshold, sigma=sigma)
            off = rf_maps(r_pre[m, 1], r_flash[m, 1], threshold=threshold, sigma=sigma)
            mon, moff = _relative_peak(r_pre[m, 0], r_flash[m, 0]), _relative_peak(r_pre[m, 1], r_flash[m, 1])
            mcy[m], mcx[m] = rf_centres(np.where((mon >= moff)[:, None, None], on, off))
    else:
        mcy[0], mcx[0] = cy, cx
    ds["model_center_y"] = (("model", "neuron"), mcy)
    ds["model_center_x"] = (("model", "neuron"), mcx)
    ds["model_center_y"].attrs["units"] = ds["model_center_x"].attrs["units"] = "pixel"

    # Gaussian fits of the preferred map, strongest responders first
    fits = {k: np.full(preferred.shape[0], np.nan) for k in FIT_KEYS}
    success = np.zeros(preferred.shape[0], bool)
    fitted = np.zeros(preferred.shape[0], bool)
    if fit:
        strength = np.maximum(peaks["on"], peaks["off"])
        order = np.flatnonzero(responsive)
        order = order[np.argsort(-strength[order], kind="stable")]
        if fit_max is not None:
            order = order[:fit_max]
        if len(order):
            result = fit_gaussians(preferred[order])
            for k in FIT_KEYS:
                fits[k][order] = result[k]
            success[order] = result["success"]
            fitted[order] = True
    for k in FIT_KEYS:
        ds[f"fit_{k}"] = ("neuron", fits[k])
        ds[f"fit_{k}"].attrs["units"] = "pixel" if k.startswith(("center", "sigma")) else "1 (map units)"
    ds["fit_success"] = ("neuron", success)
    ds["fitted"] = ("neuron", fitted)
    ds["fitted"].attrs["long_name"] = "a 2-D Gaussian was fitted to the preferred map (responsive, within fit_max)"

    pop_on, pop_off = population_rf(maps["on"]), population_rf(maps["off"])
    combos = on_off_maps(pop_on, pop_off)
    ds["population_rf_on"] = (("y", "x"), pop_on)
    ds["population_rf_off"] = (("y", "x"), pop_off)
    ds["on_minus_off"] = (("y", "x"), combos["on_minus_off"])
    ds["on_plus_off"] = (("y", "x"), combos["on_plus_off"])
    for name in ("population_rf_on", "population_rf_off", "on_minus_off", "on_plus_off"):
        ds[name].attrs["long_name"] = name.replace("_", " ") + " (nan-mean of the neurons' maps)"
    ds.attrs.update(rf_threshold=threshold, rf_sigma_px=sigma, n_neurons=int(preferred.shape[0]),
                    n_responsive=int(responsive.sum()), n_fitted=int(fitted.sum()), n_models=int(n_models),
                    fit_max=-1 if fit_max is None else int(fit_max),
                    ensemble_maps="mean of the models' r_pre and r_flash over the model dim, then the RF maps of docs/method.md (Analyses)")
    return ds


def compare_to_truth(ds, truth):
    """Add the true RF centres and cell types (an encoder's ``properties()``, e.g. the synthetic mouse's).

    truth: Dataset over ``neuron`` with center_y, center_x (pixels) and optionally cell_type. Adds true_center_y,
    true_center_x, true_cell_type, center_error (neuron, Euclidean distance in pixels of the preferred-map centre
    to the true centre) and attrs centre_error_median, within_1px_fraction (over responsive neurons).
    """
    if truth.sizes.get("neuron") != ds.sizes["neuron"]:
        raise DnemkitError(f"the ground truth has {truth.sizes.get('neuron')} neurons; the encoder predicts "
                           f"{ds.sizes['neuron']}; expected the same neurons")
    ds = ds.copy()
    ds["true_center_y"] = ("neuron", np.asarray(truth["center_y"].values, np.float64))
    ds["true_center_x"] = ("neuron", np.asarray(truth["center_x"].values, np.float64))
    if "cell_type" in truth:
        ds["true_cell_type"] = ("neuron", np.asarray(truth["cell_type"].values).astype(str))
    err = np.hypot(ds["center_y"].values - ds["true_center_y"].values,
                   ds["center_x"].values - ds["true_center_x"].values)
    ds["center_error"] = ("neuron", err)
    ds["center_error"].attrs.update(units="pixel", long_name="distance of the RF centre to the true centre")
    ok = ds["responsive"].values
    if ok.any():
        ds.attrs.update(centre_error_median=float(np.median(err[ok])),
                        within_1px_fraction=float(np.mean(err[ok] <= 1.0)))
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
    from ..encoders import load_encoder
    from ..io.results import provenance

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
    from ..encoders import SyntheticMouse, load_encoder

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


@dataclass(frozen=True)
class RFConfig:
    """Options of one receptive-field mapping (`characterize rf`), checked once here.

    encoder, mouse, models: the encoder (spec or Encoder), its readout and the first K members (None = all).
    chunk, lead_in, fit, fit_max: as :func:`map_receptive_fields`. step: flash every step-th row and column
    (>= 1). ground_truth: 'auto', 'none' or 'synthetic[:seed]' (:func:`truth_for`). mask: the mask drawn over the
    population RF: 'auto', 'alpha', 'sensitivity', 'none' or a mask file (dnemkit.masks).
    """

    encoder: object = "demo"
    mouse: int | None = None
    models: int | None = None
    chunk: int | None = None
    lead_in: int | None = None
    fit: bool = True
    fit_max: int | None = None
    step: int = 1
    ground_truth: str = "auto"
    mask: object = "auto"

    def __post_init__(self):
        object.__setattr__(self, "step", check_int(self.step, "step", 1))

    def positions(self):
        """(K, 2) (row, col) pixels flashed, or None for every pixel."""
        if self.step == 1:
            return None
        return np.array([[r, c] for r in range(self.step // 2, HEIGHT, self.step)
                         for c in range(self.step // 2, WIDTH, self.step)])


def run_rf(config=None, progress=True, log=None):
    """The `characterize rf` pipeline: map, compare with the truth, attach the mask. Returns the Dataset.

    log: called with one line saying where the mask came from ('none': no mask, no line).
    """
    from ..encoders.base import probe_encoder
    from ..encoders.ref import EncoderRef
    from ..masks import resolve_mask

    config = config if config is not None else RFConfig()
    if not isinstance(config, RFConfig):
        raise DnemkitError(f"config is a {type(config).__name__}; expected an RFConfig")
    ref = EncoderRef(config.encoder, config.mouse, config.models)
    encoder = ref.encoder
    want_mask = str(config.mask).lower() != "none"
    # the mask ('auto' may compute one) differentiates the encoder; the flashes only need its rates
    probe_encoder(encoder, need_grad=want_mask and str(config.mask).lower() in ("auto", "alpha", "sensitivity"))
    truth, truth_name = truth_for(config.ground_truth, encoder, ref.name)
    alpha = None
    if want_mask:
        alpha, line = resolve_mask(config.mask, ref, progress=progress)
        if log is not None:
            log(line)
    ds = map_receptive_fields(encoder, chunk=config.chunk, lead_in=config.lead_in, fit=config.fit,
                              fit_max=config.fit_max, positions=config.positions(), progress=progress)
    ds.attrs["position_step"] = config.step
    ds.attrs.update(encoder=ref.name, mouse="" if config.mouse is None else int(config.mouse), mask=str(config.mask),
                    ground_truth=truth_name)
    if truth is not None:
        ds = compare_to_truth(ds, truth)
    if alpha is not None:
        alpha.attach_to(ds)
    return ds
