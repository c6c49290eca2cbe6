"""characterize evaluate GT RECON"""

import json

import click
import numpy as np

from .common import user_errors


def _read(path, variable):
    from ..videoio import read_movie

    if str(path).endswith(".nc"):
        import xarray as xr

        with xr.open_dataset(path, engine="h5netcdf") as ds:
            if variable in ds:
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
        m, mask_source = _mask_from(mask, gt, recon)
        metrics = {k: float(v) for k, v in run(g, r, m, first_frame).items()}
        if as_json:
            click.echo(json.dumps({**metrics, "mask": mask_source, "first_frame": first_frame,
                                   "frames": int(g.shape[0])}))
            return
        click.echo(f"frames {first_frame}..{g.shape[0] - 1}, mask: {mask_source}")
        for k, v in metrics.items():
            click.echo(f"{k:>20}: {v:.4f}" if np.isfinite(v) else f"{k:>20}: {v}")
