"""characterize simulate"""

import click

from .common import quiet_option, user_errors


def register(main):
    @main.command()
    @click.option("--out", type=click.Path(file_okay=False), required=True, help="Dataset root to write into.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Synthetic mouse (and movie) seed.")
    @click.option("--trials", type=click.IntRange(min=2), default=20, show_default=True, help="Trials to record.")
    @click.option("--neurons", type=click.IntRange(min=1), default=None, help="Population size (default 2000).")
    @click.option("--frames", type=click.IntRange(min=82), default=300, show_default=True, help="Frames per trial.")
    @click.option("--overwrite", is_flag=True, help="Replace an existing mouse folder.")
    @quiet_option
    @user_errors
    def simulate(out, seed, trials, neurons, frames, overwrite, quiet):
        """Record the synthetic mouse's responses to natural movies in the Sensorium 2023 layout.

        Writes OUT/<mouse>/ (videos, responses, behaviour, pupil centre, tiers, statistics, NaN padding) and
        OUT/<mouse>.truth.nc with every neuron's true RF centre, size, type, SF/TF tuning and gains.
        """
        from tqdm.auto import tqdm

        from ..experiments.simulate import simulate as run

        with tqdm(total=trials, desc="simulate", disable=quiet, leave=False) as bar:
            summary = run(out, seed, trials, neurons, frames, overwrite,
                          progress=lambda done, total: bar.update(1))
        click.echo(f"mouse folder: {summary['mouse']}")
        click.echo(f"ground truth: {summary['truth']}")
        click.echo(f"{summary['trials']} trials, {summary['neurons']} neurons; single-trial noise ceiling "
                   f"r = {summary['noise_ceiling']:.3f} (true rate vs Poisson sample, frames >= 50)")
