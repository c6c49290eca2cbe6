"""characterize decoder fit"""

import click

from .common import DnemkitGroup, encoder_options, print_results, quiet_option, user_errors


def register(main):
    @main.group(cls=DnemkitGroup)
    def decoder():
        """The linear decoder: movies read directly from responses (the baseline and warm start of a
        reconstruction)."""

    @decoder.command()
    @encoder_options
    @click.option("--data", type=click.Path(), default=None,
                  help="Sensorium mouse folder: fit on its recorded training trials (default: the encoder's own "
                       "Poisson responses to library movies).")
    @click.option("--out", type=click.Path(file_okay=False), default="decoder-out", show_default=True)
    @quiet_option
    @user_errors
    def fit(encoder_spec, mouse, data, out, quiet):
        """Fit the linear decoder now (ridge from responses at frames t..t+L to each pixel of frame t; L and the
        penalty chosen by cross-validation over clips) and cache it for `--start decoder`.

        Writes OUT/decoder.nc (weights, cross-validated error per lag count and penalty).
        """
        from pathlib import Path

        from ..decoders import make_decoder
        from ..encoders.ref import EncoderRef
        from ..io.results import write_dataset

        ds = make_decoder(EncoderRef(encoder_spec, mouse), data, progress=not quiet)
        click.echo(ds.attrs["summary"])
        click.echo(f"decoder fitted in {ds.attrs['seconds']:.1f} s")
        path = Path(out) / "decoder.nc"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_dataset(ds, path)
        click.echo(f"results: {path} (cached for --start decoder)")
