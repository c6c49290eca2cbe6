"""characterize natural"""

import click

from .common import (EchoLog, encoder_options, execution_options, mask_option, method_options, print_results,
                     quiet_option, recipe_options, user_errors, with_method)


def _natural_recipe(ctx, recipe, paper, gradient_ensembling):
    """The Recipe the options ask for: with --paper the paper's (click.BadParameter for another --recipe;
    --iterations still applies), with --gradient-ensembling gradient ensembling."""
    from ..experiments.natural.config import NaturalConfig

    if paper:
        from click.core import ParameterSource

        if ctx.get_parameter_source("recipe_name") != ParameterSource.DEFAULT and recipe.name != "paper":
            raise click.BadParameter("--paper runs the paper recipe; expected no --recipe other than paper",
                                     param_hint="--paper")
        recipe = NaturalConfig.recipe_named("paper", ctx.params.get("iterations"))
    if gradient_ensembling:
        recipe = recipe.replace(ensembling="gradient")
    return recipe


def register(main):
    """Add `characterize natural` to ``main``; the command body only builds the NaturalConfig (the recipe
    through :func:`_natural_recipe`) and runs it."""
    from ..experiments.contract import field_defaults
    from ..experiments.natural.config import NaturalConfig

    d = field_defaults(NaturalConfig)

    @main.command()
    @encoder_options
    @click.option("--data", type=click.Path(), default=d["data"], help="Sensorium-layout mouse folder (or its root).")
    @click.option("--trial", type=int, default=d["trial"],
                  help="Trial id within --data (default: an oracle/test trial).")
    @click.option("--movie", type=click.Path(), default=d["movie"], help="A movie file (.npy .mp4 .gif .tif .nc).")
    @click.option("--predicted", is_flag=True, default=d["predicted"],
                  help="Reconstruct from the encoder's predicted activity.")
    @click.option("--models", type=click.IntRange(min=1), default=None,
                  help="Use the first K models of an ensemble (default: all of them, at most 7).")
    @recipe_options(NaturalConfig)
    @method_options
    @mask_option
    @click.option("--gradient-ensembling", is_flag=True, help="Average gradients over models instead of videos.")
    @click.option("--keep-fraction", type=click.FloatRange(0, 1, min_open=True), default=d["keep_fraction"], show_default=True,
                  help="Fraction of neurons in the loss (ablation; the rest leave the loss).")
    @click.option("--seed", type=click.IntRange(min=0), default=d["seed"], show_default=True,
                  help="Movie, Poisson and subset seed.")
    @click.option("--paper", is_flag=True,
                  help="The paper's exact run: its recipe (1000 iterations) with its trained alpha mask, all models "
                       "up to 7.")
    @click.option("--out", type=click.Path(file_okay=False), default="natural-out", show_default=True)
    @click.option("--no-video", is_flag=True, default=not d["video"],
                  help="Skip the MP4 of ground truth beside reconstruction.")
    @click.option("--reference-format", is_flag=True, default=d["reference_format"],
                  help="Also write each model's reconstruction as the reference's reconstruction_summary file "
                       "(OUT/modelfold[K]_datafold_0_pop100_hpc_round5/), which its analysis notebooks read.")
    @execution_options
    @quiet_option
    @user_errors
    @click.pass_context
    def natural(ctx, encoder_spec, mouse, data, trial, movie, predicted, models, recipe, method, mask,
                gradient_ensembling, keep_fraction, seed, paper, out, no_video, reference_format, execution, quiet):
        """Reconstruct a natural movie from neural activity.

        With no arguments: the synthetic mouse's Poisson responses to a held-out natural movie are reconstructed
        by the demo encoder with the fast recipe. Writes OUT/natural.nc, OUT/natural.png and OUT/natural.mp4.
        """
        from ..encoders.ref import EncoderRef
        from ..experiments.natural import run

        recipe = with_method(_natural_recipe(ctx, recipe, paper, gradient_ensembling), method,
                             ctx.params.get("iterations") is not None)
        options = dict(encoder=EncoderRef(encoder_spec, mouse, models), data=data, trial=trial, movie=movie,
                       predicted=predicted, keep_fraction=keep_fraction, seed=seed, mask=mask, recipe=recipe,
                       execution=execution, video=not no_video, reference_format=reference_format)
        config = NaturalConfig.paper(**options) if paper else NaturalConfig(**options)
        log = EchoLog()
        ds = run(config, out=out, progress=not quiet, log=log)
        print_results(ds, ds.encoding["files"], said=log)
