"""characterize ablation"""


import click
from click.core import ParameterSource

from .common import (EchoLog, encoder_options, execution_options, mask_option, method_options, movie_run_options,
                     parse_list, print_results, quiet_option, stack_options, user_errors, with_method)


def data_options(config_cls, default_trials):
    """--data, --tier, --trials and --trial: recorded trials of Sensorium mouse folders (ablation, errormap)."""
    from ..experiments.contract import field_defaults

    defaults = field_defaults(config_cls)
    options = [
        click.option("--data", type=click.Path(), default=defaults["data"],
                     help="A Sensorium-layout mouse folder, or a folder of them: reconstruct recorded trials "
                          "(instead of the synthetic mouse's responses to held-out natural movies). Simulated mice "
                          "with --encoder synthetic use their own synthetic:SEED; several mice of another encoder "
                          "use the readouts its encoder.json names them with (as `characterize study`)."),
        click.option("--tier", "tiers", default=",".join(defaults["tiers"]), show_default=True,
                     help="With --data: comma-separated tiers the clips are drawn from."),
        click.option("--trials", type=click.IntRange(min=1), default=None,
                     help=f"With --data: the first N labelled trials (by id) of the tiers, per mouse "
                          f"[default: {default_trials}]."),
        click.option("--trial", "trial_ids", type=click.IntRange(min=0), multiple=True,
                     help="With --data: a trial id (repeat the option for several), per mouse."),
    ]

    return stack_options(options)


def unused_with_data(ctx, data, names):
    """A UsageError when --data is given with options that only make sense without it (explicitly set)."""
    if data is None:
        return
    given = [f"--{n.replace('_', '-')}" for n in names
             if ctx.get_parameter_source(n) not in (None, ParameterSource.DEFAULT)]
    if given:
        raise click.UsageError(f"{', '.join(given)} cannot be used with --data (the recorded trials are the movies "
                               "and the recorded responses the targets); expected --trials N or --trial ID instead")


def register(main):
    from ..experiments.ablation.config import AblationConfig
    from ..experiments.contract import field_defaults

    d = field_defaults(AblationConfig)

    @main.command()
    @encoder_options
    @click.option("--keep-fraction", "keep_fraction", default=",".join(f"{f:g}" for f in d["keep_fractions"]),
                  show_default=True, help="Comma-separated fractions of the population kept in the loss, each in "
                                          "(0, 1].")
    @click.option("--movies", type=click.IntRange(min=1), default=d["movies"], show_default=True,
                  help="Held-out natural movies (natural_movie seeds --movie-seed, +1, ...).")
    @click.option("--seeds", type=click.IntRange(min=1), default=d["seeds"], show_default=True,
                  help="Seeded neuron subsets per keep fraction (nested: 12.5 % inside 25 % inside 50 %).")
    @movie_run_options(AblationConfig)
    @method_options
    @click.option("--predicted", is_flag=True, help="Targets: the encoder's own predicted activity.")
    @click.option("--subjects", type=click.Choice(["movie", "movie_seed", "mouse"]), default=None,
                  help="Statistics subjects: movies or clips (seeds averaged), movie x seed pairs, or mice "
                       "(--data with several mice, clips and seeds averaged) [default: mouse with several mice, "
                       "else movie].")
    @mask_option
    @data_options(AblationConfig, default_trials=3)
    @click.option("--out", type=click.Path(file_okay=False), default="ablation-out", show_default=True)
    @execution_options
    @quiet_option
    @user_errors
    @click.pass_context
    def ablation(ctx, encoder_spec, mouse, keep_fraction, movies, seeds, recipe, frames, movie_seed,
                 ground_truth, method, predicted, models, subjects, mask, data, tiers, trials, trial_ids, out,
                 execution, quiet):
        """Population ablation: reconstruct with seeded subsets of the neurons (the rest leave the loss).

        Writes OUT/ablation.nc (video correlation per keep fraction, movie and seed; a one-way repeated-measures
        ANOVA across fractions and Bonferroni-corrected paired t-tests between adjacent fractions) and
        OUT/ablation.png. With --data, recorded trials (each cut to --frames) of every mouse; the statistics'
        subjects are the mice (the paper's Fig. 5), or the clips of a single mouse.
        """
        from ..encoders.ref import EncoderRef
        from ..experiments.ablation import run

        unused_with_data(ctx, data, ("movies", "movie_seed", "ground_truth"))
        fractions = parse_list(keep_fraction, "--keep-fraction")
        bad = [f for f in fractions if not 0 < f <= 1]
        if bad:
            raise click.BadParameter(f"{bad[0]:g} is outside (0, 1]; expected fractions of the population such "
                                     "as 1,0.5,0.25,0.125", param_hint="--keep-fraction")
        recipe = with_method(recipe, method, ctx.params.get("iterations") is not None)
        config = AblationConfig(encoder=EncoderRef(encoder_spec, mouse, models), keep_fractions=fractions,
                                movies=movies, seeds=seeds, recipe=recipe, execution=execution, frames=frames,
                                ground_truth=ground_truth, predicted=predicted, mask=mask, subjects=subjects,
                                movie_seed=movie_seed, data=data, tiers=tiers, trials=trials, trial_ids=trial_ids)
        log = EchoLog()
        ds = run(config, out=out, progress=not quiet, log=log)
        print_results(ds, ds.encoding["files"], said=log)
