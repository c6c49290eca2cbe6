"""characterize tuning"""

from pathlib import Path

import click

from .common import encoder_options, parse_list, print_results, quiet_option, user_errors


def _run_tuning(config, out, quiet):
    """Run the tuning atlas of ``config`` into the folder ``out`` and print the grid and the results; exit
    status 130 (the finished gratings kept, the command to resume printed) when interrupted."""
    from ..experiments.runs import Interrupted
    from ..experiments.tuning import run

    try:
        ds = run(config, out=out, progress=not quiet)
    except KeyboardInterrupt as exc:  # the engine's Interrupted counts what is kept; a Ctrl-C after it, not
        kept = (f"{exc.done} of {exc.total} (grating, model) pairs are stored" if isinstance(exc, Interrupted)
                else "the finished gratings are kept")
        click.echo(f"interrupted: {kept} in {out / 'tuning.store'}; run the same command again to resume", err=True)
        raise SystemExit(130) from None
    files = ds.encoding["files"]
    n_cond = len(config.sf) * len(config.tf) * len(config.directions)
    click.echo(f"{n_cond} gratings x {config.n_frames} frames, contrast {config.contrast:g}, frames "
               f"{ds.attrs['first_frame']}-{config.n_frames - 1} analysed")
    print_results(ds, files)


def register(main):
    """Add `characterize tuning` to ``main``; the command body only builds the TuningConfig and hands it to
    :func:`_run_tuning`."""
    from ..experiments.contract import field_defaults
    from ..experiments.tuning.config import TuningConfig

    d = field_defaults(TuningConfig)

    def joined(values):
        return ",".join(f"{v:g}" for v in values)

    @main.command()
    @encoder_options
    @click.option("--models", type=click.IntRange(min=1), default=None,
                  help="Use the first K models of an ensemble (default: every model; each model's responses are "
                       "kept, the measures use their mean).")
    @click.option("--sf", "sf_text", default=joined(d["sf"]), show_default=True,
                  help="Spatial frequencies, cycles/degree (at most 0.143 = 0.5 cycles/pixel).")
    @click.option("--tf", "tf_text", default=joined(d["tf"]), show_default=True,
                  help="Temporal frequencies, Hz (at most 15, the Nyquist frequency at 30 frames/s; 0 = static: "
                       "its response depends on where the bars fall on the RF; left out of the TF fit and F1/F0).")
    @click.option("--directions", "directions_text", default=joined(d["directions"]), show_default=True,
                  help="Drift directions in degrees, 0 = rightwards, 90 = upwards; at least 4.")
    @click.option("--contrast", type=float, default=d["contrast"], show_default=True, help="Michelson contrast in (0, 1].")
    @click.option("--n-frames", type=int, default=d["n_frames"], show_default=True,
                  help="Frames per grating (30 Hz); frames from the encoder's first valid frame (30) on are analysed.")
    @click.option("--batch", type=int, default=d["batch"], show_default=True, help="Movies per encoder pass.")
    @click.option("--device", default=d["device"], show_default=True, help="auto | cpu | cuda[:k]")
    @click.option("--examples", type=click.IntRange(min=0), default=d["examples"], show_default=True,
                  help="Example neurons whose response traces are kept and drawn.")
    @click.option("--out", type=click.Path(file_okay=False), default="tuning-out", show_default=True,
                  help="Folder for tuning.nc, the figures and tuning.store/ (finished gratings: a rerun resumes).")
    @quiet_option
    @user_errors
    def tuning(encoder_spec, mouse, models, sf_text, tf_text, directions_text, contrast, n_frames, batch, device,
               examples, out, quiet):
        """Per-neuron SF / TF / direction tuning atlas from the encoder's predicted responses to gratings.

        Every drifting grating of the grid SF x TF x DIRECTIONS (full field, N-FRAMES frames) and a uniform grey
        movie go through every model; the mean response over the analysed frames gives tuning curves, preferred
        direction / orientation, OSI and DSI (peak and global vector-sum definitions), preferred SF and TF (grid
        peak and log-Gaussian fit), F1/F0 (simple > 1, complex < 1) and a responsive flag. Writes OUT/tuning.nc
        and OUT/tuning_population.png, tuning_examples.png, tuning_polar.png. The default grid (128 gratings)
        takes the demo encoder about 3 minutes of CPU time on a 2-core CPU; an interrupted run resumes where it
        stopped.
        """
        from ..encoders.ref import EncoderRef

        config = TuningConfig(encoder=EncoderRef(encoder_spec, mouse, models), sf=parse_list(sf_text, "--sf"),
                              tf=parse_list(tf_text, "--tf"), directions=parse_list(directions_text, "--directions"),
                              contrast=contrast, n_frames=n_frames, batch=batch, device=device, examples=examples)
        _run_tuning(config, Path(out), quiet)
