"""characterize mask"""

from dataclasses import replace
from pathlib import Path

import click

from .common import encoder_options, quiet_option, user_errors


def register(main):
    @main.command()
    @encoder_options
    @click.option("--data", type=click.Path(), default=None,
                  help="Sensorium mouse folder: train on recorded responses (default: the encoder's predictions "
                       "for built-in natural movies).")
    @click.option("--out", type=click.Path(file_okay=False), default="mask-out", show_default=True)
    @click.option("--iterations", type=click.IntRange(min=1), default=1000, show_default=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @quiet_option
    @user_errors
    def mask(encoder_spec, mouse, data, out, iterations, seed, quiet):
        """Train the encoder's alpha (transparency) mask; later commands reuse it from the cache.

        Writes OUT/mask.nc (alpha, train mask = alpha >= 0.5, eval mask = alpha >= 1) and OUT/mask.png.
        """
        from ..encoders import load_encoder
        from ..reconstruction.masks import MaskConfig, cache_dir, cache_key, mask_for
        from ..results import provenance, write_dataset
        from ..viz.masks import mask_figure
        from ..viz.natural import save_figure

        encoder = load_encoder(encoder_spec, mouse)
        config = replace(MaskConfig(), iterations=iterations, seed=seed)
        alpha = mask_for(encoder, encoder_spec, mouse, data, config, use_cache=False, progress=not quiet)
        ds = alpha.to_dataset(**provenance("mask", config, encoder_spec, seed, data=str(data or "")))
        out = Path(out)
        write_dataset(ds, out / "mask.nc")
        write_dataset(ds, cache_dir() / f"{cache_key(encoder_spec, mouse, data)}.nc")
        save_figure(mask_figure(ds), out / "mask.png")
        click.echo(f"alpha range {alpha.alpha.min():.2f}..{alpha.alpha.max():.2f}")
        for name, m in (("train mask (alpha >= 0.5)", alpha.train), ("eval mask (alpha >= 1)", alpha.eval)):
            rows, cols = m.any(1).sum(), m.any(0).sum()
            click.echo(f"{name}: {int(m.sum())} px, extent {rows} x {cols} px (the screen: 36 x 64 px)")
        click.echo(f"results: {out / 'mask.nc'}, {out / 'mask.png'} (cached for later commands)")
