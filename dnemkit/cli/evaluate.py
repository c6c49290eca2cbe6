"""characterize evaluate GT RECON"""

import json
from pathlib import Path

import click
import numpy as np

from .common import user_errors


def _read(path, variable):
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


def _mask_from(path, gt_path, recon_path):
    """The evaluation mask: --mask, else a natural.nc's eval_mask, else every pixel."""
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


def register(main):
    @main.command()
    @click.argument("gt", type=click.Path())
    @click.argument("recon", type=click.Path())
    @click.option("--mask", type=click.Path(), default=None,
                  help="mask.nc from `characterize mask` (its eval mask, alpha >= 1) or a (36, 64) .npy.")
    @click.option("--first-frame", type=click.IntRange(min=0), default=30, show_default=True,
                  help="First evaluated frame (earlier frames lack a full encoder window).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @user_errors
    def evaluate(gt, recon, mask, first_frame, as_json):
        """Metrics between a ground-truth video GT and a reconstruction RECON (.npy .nc .mp4 .gif .tif).

        From a natural.nc, GT reads 'ground_truth' and RECON reads 'reconstruction'.
        """
        from ..analysis.metrics import evaluate as run
        from ..errors import DnemkitError

        g, r = _read(gt, "ground_truth"), _read(recon, "reconstruction")
        if g.shape != r.shape:
            raise DnemkitError(f"GT has shape {g.shape} but RECON has {r.shape}; expected the same frames")
        if g.shape[0] < first_frame + MIN_EVALUATED:
            raise DnemkitError(
                f"GT and RECON have {g.shape[0]} frames; expected at least {first_frame + MIN_EVALUATED} (frames "
                f">= --first-frame {first_frame} are evaluated, and the metrics need {MIN_EVALUATED} of them)")
        m, mask_source = _mask_from(mask, gt, recon)
        metrics = {k: float(v) for k, v in run(g, r, m, first_frame).items()}
        if not np.isfinite(metrics["video_correlation"]):
            constant = [name for name, v in (("GT", g), ("RECON", r)) if _constant(v, m, first_frame)]
            what = " and ".join(constant) or "GT or RECON"
            raise DnemkitError(
                f"{what} {'is' if len(constant) < 2 else 'are'} constant over the evaluated frames "
                f"({first_frame}..{g.shape[0] - 1}) and pixels (mask: {mask_source}): correlations are undefined; "
                "expected videos that vary")
        reasons = {k: _reason(k, v) for k, v in metrics.items() if not np.isfinite(v)}
        if as_json:  # NaN / Infinity are not JSON: null with the reason
            values = {k: (None if k in reasons else v) for k, v in metrics.items()}
            extra = {"reason": reasons} if reasons else {}
            click.echo(json.dumps({**values, **extra, "mask": mask_source, "first_frame": first_frame,
                                   "frames": int(g.shape[0])}))
            return
        click.echo(f"frames {first_frame}..{g.shape[0] - 1}, mask: {mask_source}")
        for k, v in metrics.items():
            click.echo(f"{k:>20}: {v:.4f}" if np.isfinite(v) else f"{k:>20}: {v} ({reasons[k]})")


MIN_EVALUATED = 2  #: evaluated frames the metrics need (motion energy and frame statistics need two)


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
