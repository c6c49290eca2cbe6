"""characterize natural"""

from pathlib import Path

import click

from .common import (compute_options, encoder_options, mask_option, print_results, quiet_option,
                     save_results, user_errors)


def register(main):
    @main.command()
    @encoder_options
    @click.option("--data", type=click.Path(), default=None, help="Sensorium-layout mouse folder (or its root).")
    @click.option("--trial", type=int, default=None, help="Trial id within --data (default: an oracle/test trial).")
    @click.option("--movie", type=click.Path(), default=None, help="A movie file (.npy .mp4 .gif .tif .nc).")
    @click.option("--predicted", is_flag=True, help="Reconstruct from the encoder's predicted activity.")
    @click.option("--models", type=click.IntRange(min=1), default=None,
                  help="Use the first K models of an ensemble (default: all of them, at most 7).")
    @click.option("--recipe", type=click.Choice(["fast", "paper"]), default="fast", show_default=True,
                  help="fast: per-pixel Adam, non-overlapping sub-batches, 40 iterations; paper: the paper's "
                       "exact recipe (1000 iterations).")
    @click.option("--iterations", type=click.IntRange(min=1), default=None,
                  help="Optimisation steps (default: the recipe's, 40 fast / 1000 paper).")
    @mask_option
    @click.option("--gradient-ensembling", is_flag=True, help="Average gradients over models instead of videos.")
    @click.option("--keep-fraction", type=float, default=1.0, show_default=True,
                  help="Fraction of neurons in the loss (ablation; the rest leave the loss).")
    @click.option("--seed", type=int, default=0, show_default=True, help="Movie, Poisson and subset seed.")
    @click.option("--paper", is_flag=True,
                  help="The paper's exact recipe with its trained alpha mask: 7 models x 1000 iterations.")
    @click.option("--out", type=click.Path(file_okay=False), default="natural-out", show_default=True)
    @click.option("--no-video", is_flag=True, help="Skip the MP4 of ground truth beside reconstruction.")
    @compute_options
    @quiet_option
    @user_errors
    def natural(encoder_spec, mouse, data, trial, movie, predicted, models, recipe, iterations, mask,
                gradient_ensembling, keep_fraction, seed, paper, out, no_video, device, precision, compile_encoder,
                quiet):
        """Reconstruct a natural movie from neural activity.

        With no arguments: the synthetic mouse's Poisson responses to a held-out natural movie are reconstructed
        by the demo encoder with the fast recipe. Writes OUT/natural.nc, OUT/natural.png and OUT/natural.mp4.
        """
        from ..experiments.natural import NaturalConfig, natural_recipe, run_natural

        if not 0 < keep_fraction <= 1:
            raise click.BadParameter(f"is {keep_fraction}; expected a value in (0, 1]", param_hint="--keep-fraction")
        if paper:
            recipe = "paper"
            mask = "alpha" if mask == "auto" else mask
        config = NaturalConfig(encoder=encoder_spec, mouse=mouse, data=data, trial=trial, movie=movie,
                               predicted=predicted, models=models, keep_fraction=keep_fraction, seed=seed, mask=mask,
                               reconstruction=natural_recipe(recipe, iterations, gradient_ensembling,
                                                             device=device, precision=precision,
                                                             compile=compile_encoder))
        ds = run_natural(config, progress=not quiet, log=click.echo)
        out = Path(out)
        files = save_results(ds, out)
        if not no_video:
            from ..io.movies import side_by_side, write_movie

            files.append(write_movie(out / "natural.mp4",
                                     side_by_side(ds["ground_truth"].values, ds["reconstruction"].values)))
        print_results(ds, files)
