"""characterize mei"""

from pathlib import Path

import click

from .common import encoder_options, execution_options, print_results, quiet_option, user_errors


def _run_mei(config, out, quiet):
    """Compute the MEIs of ``config`` into the folder ``out`` and print the results and the files written."""
    from ..experiments.mei import run

    ds = run(config, out=out, progress=not quiet, log=None if quiet else click.echo)
    print_results(ds, ds.encoding["files"])


def register(main):
    """Add `characterize mei` to ``main``.

    Long because the command is declared as one decorator per option (20 options with their help texts, the
    execution's through the shared stack); the command body only builds the MeiConfig and hands it to
    :func:`_run_mei`.
    """
    from ..experiments.contract import field_defaults
    from ..experiments.mei.config import INITIALS, KINDS, TOP_BY, MeiConfig

    d = field_defaults(MeiConfig)  # the command's only defaults (importing the config loads no torch)

    @main.command()
    @encoder_options
    @click.option("--models", type=click.IntRange(min=1), default=None,
                  help="Use the first K models of an ensemble (default: all; one MEI for the ensemble, its models' "
                       "normalised gradients averaged).")
    @click.option("--kind", type=click.Choice(KINDS), default=d["kind"], show_default=True,
                  help="image: one frame held for the whole clip; video: every frame free.")
    @click.option("--neurons", "neurons_text", default=None, metavar="LIST|all",
                  help="Neuron indices, e.g. 3,7,10-19, or all (default: the --n neurons ranked first by --top-by).")
    @click.option("--top-by", type=click.Choice(TOP_BY), default=d["top_by"], show_default=True,
                  help="Rank neurons by their best grating's response above grey, or by the atlas' OSI.")
    @click.option("--n", "n_top", type=click.IntRange(min=0), default=d["n_top"], show_default=True,
                  help="How many neurons --top-by picks (0 = every neuron).")
    @click.option("--contrast", type=float, default=d["contrast"], show_default=True,
                  help="Contrast budget: RMS of (v - 127.5) / 127.5 over every pixel and frame, in (0, 1]; MEIs, "
                       "gratings and natural clips are all projected to it.")
    @click.option("--initial", type=click.Choice(INITIALS), default=d["initial"], show_default=True,
                  help="Start: seeded white noise at a tenth of the budget, or uniform grey.")
    @click.option("--blur", type=float, default=d["blur"], show_default=True,
                  help="Gaussian sigma (pixels) of the gradient blur (0 = none).")
    @click.option("--iterations", type=click.IntRange(min=1), default=d["iterations"], show_default=True,
                  help="At most this many steps (the stopper usually ends earlier).")
    @click.option("--lr", type=float, default=d["lr"], show_default=True,
                  help="Peak step of the per-pixel Adam (grey levels per unit frame-normalised gradient).")
    @click.option("--patience", type=click.IntRange(min=0), default=d["patience"], show_default=True,
                  help="Stop once the mean activation rose by < 0.1 %% over this many steps (0 = never early).")
    @click.option("--n-frames", type=click.IntRange(min=2), default=d["n_frames"],
                  help="Clip length (default: the encoder's first valid frame + 2, at least 32).")
    @click.option("--batch", type=click.IntRange(min=1), default=d["batch"], show_default=True,
                  help="Neurons (inputs) per batched optimisation.")
    @click.option("--tuning", type=click.Path(dir_okay=False), default=d["tuning"],
                  help="A tuning.nc (`characterize tuning`) to compare the descriptors with (default: the atlas of "
                       "the comparison gratings at the budget).")
    @click.option("--seed", type=click.IntRange(min=0), default=d["seed"], show_default=True)
    @execution_options
    @click.option("--out", type=click.Path(file_okay=False), default="mei-out", show_default=True,
                  help="Folder for mei.nc and mei.png.")
    @quiet_option
    @user_errors
    def mei(encoder_spec, mouse, models, kind, neurons_text, top_by, n_top, contrast, initial, blur, iterations, lr,
            patience, n_frames, batch, tuning, seed, execution, out, quiet):
        """Most exciting inputs: for each neuron, the image or video that drives it most at a fixed contrast.

        One input per neuron, --batch neurons per batched optimisation (the reconstruction loop with the
        objective "the neuron's mean rate over the analysed frames", the per-pixel Adam, the gradient averaged
        over frames for images and blurred, every step projected to the contrast budget, stopped at a plateau).
        For comparison every neuron's response to the tuning grid's gratings (plus static ones, 4 phases) and to
        held-out natural clips at the same budget is measured. Writes OUT/mei.nc (MEIs, activations, the best
        grating and natural clip, descriptors measured on each MEI: centre, size, orientation, SF, polarity,
        for videos TF and direction, and the atlas' values) and OUT/mei.png.

        Budget of the default run (demo encoder, 12 image MEIs): about 1.5 minutes on a 2-core CPU (measured
        83 s: about 57 s for the 595 comparison clips, 20 s for the MEIs at 0.6 per second); the synthetic
        mouse makes about 7 MEIs per second (python benchmarks/mei.py). On a CPU shared with other jobs it takes
        longer (the same run took 5.8 minutes with 16 neurons at a load of 4).
        """
        from ..encoders.ref import EncoderRef
        from ..experiments.mei import parse_neurons

        config = MeiConfig(encoder=EncoderRef(encoder_spec, mouse, models), kind=kind,
                           neurons=None if neurons_text is None else parse_neurons(neurons_text), top_by=top_by,
                           n_top=n_top, contrast=contrast, initial=initial, blur=blur, iterations=iterations, lr=lr,
                           patience=patience, n_frames=n_frames, batch=batch, tuning=tuning, seed=seed,
                           execution=execution)
        _run_mei(config, Path(out), quiet)
