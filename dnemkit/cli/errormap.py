"""characterize errormap"""

from pathlib import Path

import click

from .common import encoder_options, quiet_option, user_errors


def register(main):
    @main.command()
    @encoder_options
    @click.option("--movie-seed", type=click.IntRange(min=0), default=5000, show_default=True,
                  help="natural_movie seed of the movie (held out: 5000+).")
    @click.option("--frames", type=click.IntRange(min=32), default=300, show_default=True,
                  help="Frames of the movie (30 Hz).")
    @click.option("--iterations", type=click.IntRange(min=1), default=40, show_default=True,
                  help="Optimisation steps (CPU budget; the paper: 1000).")
    @click.option("--ground-truth", default="synthetic", show_default=True,
                  help="Mouse whose Poisson responses are the recorded activity (must have the encoder's neurons).")
    @click.option("--models", type=click.IntRange(min=1), default=1, show_default=True,
                  help="Use the first K models of an ensemble.")
    @click.option("--mask", default="auto", show_default=True,
                  help="auto (shipped or cached, else the encoder's input sensitivity: seconds), alpha (the paper's "
                       "trained mask), sensitivity, none, or a mask.nc/.npy file.")
    @click.option("--out", type=click.Path(file_okay=False), default="errormap-out", show_default=True)
    @click.option("--no-video", is_flag=True, help="Skip the MP4 overlay.")
    @quiet_option
    @user_errors
    def errormap(encoder_spec, mouse, movie_seed, frames, iterations, ground_truth, models, mask, out, no_video,
                 quiet):
        """Error maps between reconstructions from recorded and from predicted activity.

        One movie is reconstructed from the ground-truth mouse's Poisson responses and from the encoder's
        prediction (one batched call); E+ = max(E, 0) and E- = max(-E, 0) with E = recorded - predicted, both
        smoothed and masked. Writes OUT/errormap.nc, OUT/errormap.png and OUT/errormap.mp4 (reconstruction from
        recorded | from predicted | ground truth with E+ in red and E- in blue).
        """
        from ..experiments.errormap import run_errormap
        from ..io.results import write_dataset
        from ..io.movies import write_movie
        from ..viz.errors import errormap_movie_frames
        from ..viz.kinds import echo_headline, write_figures

        ds = run_errormap(encoder_spec, mouse, movie_seed=movie_seed, frames=frames, iterations=iterations,
                          ground_truth=ground_truth, models=models, mask=mask, progress=not quiet)
        out = Path(out)
        write_dataset(ds, out / "errormap.nc")
        files = [out / "errormap.nc", *write_figures(ds, out)]
        if not no_video:
            files.append(write_movie(out / "errormap.mp4", errormap_movie_frames(ds)))
        echo_headline(ds, click.echo)
        click.echo("results: " + ", ".join(str(f) for f in files))
