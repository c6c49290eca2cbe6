"""characterize ablation"""


import click

from .common import (encoder_options, mask_option, movie_run_options, parse_list, print_results, quiet_option,
                     save_results, user_errors)


def register(main):
    @main.command()
    @encoder_options
    @click.option("--keep-fraction", "keep_fraction", default="1,0.5,0.25,0.125", show_default=True,
                  help="Comma-separated fractions of the population kept in the loss, each in (0, 1].")
    @click.option("--movies", type=click.IntRange(min=1), default=3, show_default=True,
                  help="Held-out natural movies (natural_movie seeds --movie-seed, +1, ...).")
    @click.option("--seeds", type=click.IntRange(min=1), default=2, show_default=True,
                  help="Seeded neuron subsets per keep fraction (nested: 12.5 % inside 25 % inside 50 %).")
    @movie_run_options(frames=150, iterations=20)
    @click.option("--predicted", is_flag=True, help="Targets: the encoder's own predicted activity.")
    @click.option("--subjects", type=click.Choice(["movie", "movie_seed"]), default="movie", show_default=True,
                  help="Statistics subjects: movies (seeds averaged) or movie x seed pairs.")
    @mask_option
    @click.option("--out", type=click.Path(file_okay=False), default="ablation-out", show_default=True)
    @quiet_option
    @user_errors
    def ablation(encoder_spec, mouse, keep_fraction, movies, seeds, iterations, frames, movie_seed, ground_truth,
                 predicted, models, subjects, mask, out, quiet):
        """Population ablation: reconstruct with seeded subsets of the neurons (the rest leave the loss).

        Writes OUT/ablation.nc (video correlation per keep fraction, movie and seed; a one-way repeated-measures
        ANOVA across fractions and Bonferroni-corrected paired t-tests between adjacent fractions) and
        OUT/ablation.png.
        """
        from ..experiments.ablation import AblationConfig, run_ablation

        fractions = parse_list(keep_fraction, "--keep-fraction")
        bad = [f for f in fractions if not 0 < f <= 1]
        if bad:
            raise click.BadParameter(f"{bad[0]:g} is outside (0, 1]; expected fractions of the population such "
                                     "as 1,0.5,0.25,0.125", param_hint="--keep-fraction")
        config = AblationConfig(encoder=encoder_spec, mouse=mouse, models=models, keep_fractions=fractions,
                                movies=movies, seeds=seeds, iterations=iterations, frames=frames,
                                ground_truth=ground_truth, predicted=predicted, mask=mask, subjects=subjects,
                                movie_seed=movie_seed)
        ds = run_ablation(config, progress=not quiet, log=click.echo)
        print_results(ds, save_results(ds, out))
