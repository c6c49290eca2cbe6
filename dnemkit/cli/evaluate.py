"""characterize evaluate GT RECON"""

import json
import math

import click

from ..video import EVAL_FIRST_FRAME
from .common import user_errors


def register(main):
    @main.command()
    @click.argument("gt", type=click.Path())
    @click.argument("recon", type=click.Path())
    @click.option("--mask", type=click.Path(), default=None,
                  help="mask.nc from `characterize mask` (its eval mask, level >= 1) or a (36, 64) .npy.")
    @click.option("--first-frame", type=click.IntRange(min=0), default=EVAL_FIRST_FRAME, show_default=True,
                  help="First evaluated frame (the reference's analyses skip 30, one second; frames before 30 lack a full encoder window).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @user_errors
    def evaluate(gt, recon, mask, first_frame, as_json):
        """Metrics between a ground-truth video GT and a reconstruction RECON (.npy .nc .mp4 .gif .tif).

        From a natural.nc, GT reads 'ground_truth' and RECON reads 'reconstruction'.
        """
        from ..experiments.evaluate import evaluate_files

        result = evaluate_files(gt, recon, mask=mask, first_frame=first_frame)
        metrics, reasons, mask_source = result["metrics"], result["reasons"], result["mask"]
        if as_json:  # NaN / Infinity are not JSON: null with the reason
            values = {k: (None if k in reasons else v) for k, v in metrics.items()}
            extra = {"reason": reasons} if reasons else {}
            click.echo(json.dumps({**values, **extra, "mask": mask_source, "first_frame": first_frame,
                                   "frames": result["frames"]}))
            return
        click.echo(f"frames {first_frame}..{result['frames'] - 1}, mask: {mask_source}")
        for k, v in metrics.items():
            click.echo(f"{k:>20}: {v:.4f}" if math.isfinite(v) else f"{k:>20}: {v} ({reasons[k]})")
