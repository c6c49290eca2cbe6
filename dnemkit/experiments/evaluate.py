"""`characterize evaluate`: the metrics between two movie files (a ground truth and a reconstruction)."""

from pathlib import Path

import numpy as np

from ..errors import DnemkitError
from ..video import EVAL_FIRST_FRAME

MIN_EVALUATED = 2  #: evaluated frames the metrics need (motion energy and frame statistics need two)


def read_video(path, variable):
    """A movie file as (T, 36, 64); from a results .nc that holds ``variable`` (e.g. 'ground_truth'), that one."""
    from ..io.movies import read_movie

    if str(path).endswith(".nc") and Path(path).is_file():
        import xarray as xr

        try:
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                has = variable in ds
        except Exception:  # noqa: BLE001 -- not netCDF4: read_movie says what is wrong with it
            has = False
        if has:
            return read_movie(path, variable=variable)
    return read_movie(path)


def evaluation_mask(path, gt_path, recon_path):
    """(the evaluation mask (36, 64) bool or None, where it came from): ``path`` (a mask file), else the
    ``eval_mask`` of a results .nc given as GT or RECON, else every pixel."""
    from ..masks import load_mask_file

    if path is not None:
        return load_mask_file(path).eval, str(path)
    import xarray as xr

    for candidate in (recon_path, gt_path):
        if str(candidate).endswith(".nc"):
            with xr.open_dataset(candidate, engine="h5netcdf") as ds:
                if "eval_mask" in ds:
                    return ds["eval_mask"].values.astype(bool), f"eval_mask of {candidate}"
    return None, "none (all pixels)"


def _constant(video, mask, first_frame):
    v = video[first_frame:]
    v = v[:, mask] if mask is not None else v
    return bool(v.size) and float(np.nanmax(v) - np.nanmin(v)) == 0.0


def _reason(name, value):
    if name == "psnr" and np.isinf(value):
        return "RECON equals GT: no error, infinite PSNR"
    if name == "frame_correlation":
        return "every evaluated frame is uniform in GT or RECON: frame correlations are undefined"
    return "undefined for these videos"


def evaluate_files(gt, recon, *, mask=None, first_frame=EVAL_FIRST_FRAME):
    """The metrics of :func:`dnemkit.analysis.metrics.quality_metrics` between the movie files ``gt`` and ``recon``.

    mask: a mask file (its eval mask), or None (a results .nc's eval_mask, else every pixel). Frames >=
    ``first_frame`` are evaluated. Returns a dict: ``metrics`` {name: float}, ``reasons`` {name: why it is not
    finite} for the metrics that are NaN or inf, ``mask`` (where the mask came from), ``frames`` (T).
    Raises DnemkitError when the shapes differ, too few frames are evaluated, or the video correlation is
    undefined (a constant video).
    """
    from ..analysis.metrics import quality_metrics

    g, r = read_video(gt, "ground_truth"), read_video(recon, "reconstruction")
    if g.shape != r.shape:
        raise DnemkitError(f"GT has shape {g.shape} but RECON has {r.shape}; expected the same frames")
    if g.shape[0] < first_frame + MIN_EVALUATED:
        raise DnemkitError(
            f"GT and RECON have {g.shape[0]} frames; expected at least {first_frame + MIN_EVALUATED} (frames "
            f">= --first-frame {first_frame} are evaluated, and the metrics need {MIN_EVALUATED} of them)")
    m, mask_source = evaluation_mask(mask, gt, recon)
    metrics = {k: float(v) for k, v in quality_metrics(g, r, mask=m, first_frame=first_frame).items()}
    if not np.isfinite(metrics["video_correlation"]):
        constant = [name for name, v in (("GT", g), ("RECON", r)) if _constant(v, m, first_frame)]
        what = " and ".join(constant) or "GT or RECON"
        raise DnemkitError(
            f"{what} {'is' if len(constant) < 2 else 'are'} constant over the evaluated frames "
            f"({first_frame}..{g.shape[0] - 1}) and pixels (mask: {mask_source}): correlations are undefined; "
            "expected videos that vary")
    reasons = {k: _reason(k, v) for k, v in metrics.items() if not np.isfinite(v)}
    return {"metrics": metrics, "reasons": reasons, "mask": mask_source, "frames": int(g.shape[0])}
