"""characterize mask"""

import click

from .common import encoder_options, print_results, quiet_option, user_errors


def register(main):
    @main.command()
    @encoder_options
    @click.option("--data", type=click.Path(), default=None,
                  help="Sensorium mouse folder: train on recorded responses (default: the encoder's predictions "
                       "for built-in natural movies).")
    @click.option("--out", type=click.Path(file_okay=False), default="mask-out", show_default=True)
    @click.option("--method", type=click.Choice(["alpha", "sensitivity"]), default="alpha", show_default=True,
                  help="alpha: the paper's trained transparency mask (1000 iterations, minutes); sensitivity: the "
                       "encoder's input-gradient sensitivity to built-in movies (seconds).")
    @click.option("--iterations", type=click.IntRange(min=1), default=1000, show_default=True,
                  help="Alpha-mask training iterations.")
    @click.option("--seed", type=int, default=0, show_default=True)
    @quiet_option
    @user_errors
    def mask(encoder_spec, mouse, data, out, method, iterations, seed, quiet):
        """Make the encoder's mask (the paper's alpha training, or input sensitivity); later commands reuse it
        from the cache (their --mask auto).

        Writes OUT/mask.nc (mask_level, train mask = level >= 0.5, eval mask = level >= 1) and OUT/mask.png.
        """
        from ..encoders.ref import EncoderRef
        from ..masks import make_mask

        if method == "sensitivity" and data is not None:
            raise click.BadParameter("a sensitivity mask uses built-in movies, not recorded data; expected "
                                     "--method alpha with --data", param_hint="--data")
        ds = make_mask(EncoderRef(encoder_spec, mouse), method, data, iterations, seed, progress=not quiet)
        click.echo(f"{method} mask made in {ds.attrs['seconds']:.1f} s")
        from ..experiments.contract import write_outputs

        print_results(ds, write_outputs(ds, out), note="cached for later commands")
