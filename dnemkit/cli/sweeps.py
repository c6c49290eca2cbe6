"""characterize gratings / characterize noise: synthetic-stimulus resolution sweeps (resumable, local or Dask)."""

import time

import click

from .common import (encoder_options, execution_options, mask_option, method_options, parse_list, print_results,
                     quiet_option, recipe_options, stack_options, user_errors, with_method)
from .executor import executor_options

EPILOG = """\b
Results in --out: <kind>.nc (xarray Dataset), <kind>.png (heatmap), <kind>.store/ (one file per
finished condition). Re-running the same command computes only the conditions not stored yet (and
rewrites <kind>.nc, complete once every condition is stored); an interrupted sweep (Ctrl-C, kill -9)
keeps everything finished but may lose the batch in flight (up to --batch conditions), which the next
run computes again. A changed encoder, config or mask gives new condition ids, so stale results are
never reused. A condition whose result is NaN is never stored as done.

\b
Dask: --executor dask starts a LocalCluster (--workers processes); --scheduler tcp://host:8786 uses a
running cluster. SLURM, 4 jobs of one GPU each (a pre-empted job is replaced; rerun to finish):
    characterize gratings --executor slurm --workers 4
        --slurm gres=gpu:1,memory=32GB,walltime=04:00:00,partition=gpu --out results/
"""


def sweep_options(f):
    from ..experiments.contract import field_defaults
    from ..experiments.sweeps.config import EXECUTORS, SweepConfig
    from ..experiments.sweeps.defaults import N_FRAMES, QUICK_ITERATIONS

    d = field_defaults(SweepConfig)
    quick = " / ".join(f"{v} {k}" for k, v in QUICK_ITERATIONS.items())
    options = [
        click.option("--models", type=click.IntRange(min=1), default=None,
                     help="Use the first K members of an ensemble encoder (default: all)."),
        recipe_options(SweepConfig),
        click.option("--out", "out", type=click.Path(file_okay=False), default="characterize-out",
                     show_default=True, help="Results folder."),
        click.option("--quick", is_flag=True,
                     help=f"A small grid and few iterations ({quick}): about a minute on a 2-core CPU. Explicit "
                          "options win."),
        click.option("--batch", type=click.IntRange(min=1), default=d["batch"], show_default=True,
                     help="Conditions per reconstruct call (and per Dask task)."),
        executor_options(EXECUTORS, d["executor"], d["scheduler"], d["workers"]),
        click.option("--threshold", type=float, default=d["threshold"], show_default=True,
                     help="Correlation threshold of the resolution cut-offs."),
        click.option("--seed", type=click.IntRange(min=0), default=d["seed"], show_default=True,
                     help="Seed of the random-stimulus baseline (and of the noise movies)."),
        click.option("--frames", type=click.IntRange(min=34), default=N_FRAMES, show_default=True,
                     help="Frames per stimulus (frames >= 30 are evaluated)."),
    ]
    return method_options(quiet_option(execution_options(mask_option(encoder_options(stack_options(options)(f))))))


def _explicit(ctx, name):
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _run(ctx, grid, o):
    from ..encoders.ref import EncoderRef
    from ..experiments.runs import Interrupted
    from ..experiments.sweeps import SweepConfig, run, summary
    from ..experiments.sweeps.defaults import QUICK_ITERATIONS

    recipe = o["recipe"]
    if o["quick"] and ctx.params.get("iterations") is None:
        recipe = recipe.replace(iterations=QUICK_ITERATIONS[recipe.name])
    recipe = with_method(recipe, o["method"], ctx.params.get("iterations") is not None)
    config = SweepConfig(grid=grid, encoder=EncoderRef(o["encoder_spec"], o["mouse"], o["models"]), recipe=recipe,
                         execution=o["execution"], batch=o["batch"], executor=o["executor"],
                         scheduler=o["scheduler"], workers=o["workers"], threshold=o["threshold"], seed=o["seed"],
                         mask=o["mask"])
    started = time.perf_counter()
    try:
        ds = run(config, out=o["out"], progress=not o["quiet"])
    except Interrupted as exc:
        click.echo(f"Interrupted: {exc.done} of {exc.total} conditions are stored in {exc.path}; "
                   "run the same command again to compute the rest.", err=True)
        ctx.exit(130)
    click.echo(summary(ds))
    click.echo(f"computed {ds.attrs['conditions_computed']} condition(s), reused {ds.attrs['conditions_reused']} "
               f"in {time.perf_counter() - started:.1f} s ({recipe.iterations} iterations each)")
    print_results(ds, ds.encoding["files"])


def _joined(values):
    return ",".join(f"{v:g}" for v in values)


def _grating_grid(ctx, sf, sf_units, tf, directions, repeats, o):
    """The GratingGrid of the `gratings` options (texts as given); with --quick, the quick grid's values for the
    options not given explicitly."""
    from ..experiments.sweeps import GratingGrid
    from ..experiments.sweeps.defaults import QUICK_GRATINGS

    if o["quick"]:
        q = QUICK_GRATINGS
        sf = sf if _explicit(ctx, "sf") else _joined(q["sf"])
        tf = tf if _explicit(ctx, "tf") else _joined(q["tf"])
        directions = directions if _explicit(ctx, "directions") else _joined(q["directions"])
        repeats = repeats if _explicit(ctx, "repeats") else q["repeats"]
    return GratingGrid(sf=parse_list(sf, "--sf"), tf=parse_list(tf, "--tf"),
                       directions=parse_list(directions, "--directions"), repeats=repeats, sf_units=sf_units,
                       n_frames=o["frames"])


def _noise_grid(ctx, sigma_space, sigma_time, repeats, patch, o):
    """The NoiseGrid of the `noise` options (texts as given); with --quick, the quick grid's values for the
    options not given explicitly."""
    from ..experiments.sweeps import NoiseGrid
    from ..experiments.sweeps.defaults import QUICK_NOISE

    if o["quick"]:
        q = QUICK_NOISE
        sigma_space = sigma_space if _explicit(ctx, "sigma_space") else _joined(q["sigma_space"])
        sigma_time = sigma_time if _explicit(ctx, "sigma_time") else _joined(q["sigma_time"])
        repeats = repeats if _explicit(ctx, "repeats") else q["repeats"]
    return NoiseGrid(sigma_space=parse_list(sigma_space, "--sigma-space"),
                     sigma_time=parse_list(sigma_time, "--sigma-time"), repeats=repeats, patch=patch,
                     seed=o["seed"], n_frames=o["frames"])


def register(main):
    """Add `characterize gratings` and `characterize noise` to ``main``; each command body only builds its grid
    (:func:`_grating_grid`, :func:`_noise_grid`) and runs the sweep (:func:`_run`)."""
    from ..experiments.sweeps.defaults import PAPER_DIRECTIONS, PAPER_SF_CPD, PAPER_SIGMAS, PAPER_TF_HZ


    @main.command("gratings", epilog=EPILOG)
    @click.option("--sf", default=_joined(PAPER_SF_CPD), show_default=True,
                  help="Spatial frequencies (comma-separated; units: --sf-units).")
    @click.option("--sf-units", type=click.Choice(["cpd", "cyc/px"]), default="cpd", show_default=True,
                  help="Units of --sf: cycles/degree or cycles/pixel (0.5 cyc/px = 0.143 cpd).")
    @click.option("--tf", default=_joined(PAPER_TF_HZ), show_default=True,
                  help="Temporal frequencies in Hz, 0..15 (15 = counter-phase flicker at 30 Hz).")
    @click.option("--directions", default=_joined(PAPER_DIRECTIONS), show_default=True,
                  help="Drift directions in degrees (0 = rightwards, 90 = upwards).")
    @click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
                  help="Repeats per grating (they differ in spatial phase).")
    @sweep_options
    @click.pass_context
    @user_errors
    def gratings(ctx, sf, sf_units, tf, directions, repeats, **o):
        """Reconstruct drifting gratings (and their phase-inverted twins) from the encoder's predicted activity.

        Measures per condition: video correlation per model and of the ensemble, ensembling gain, entropy and
        motion energy, phase-inversion and random-stimulus baselines. Prints the resolution table and the sf / tf
        cut-offs (highest frequency with ensemble r above --threshold, log-interpolated).
        """
        _run(ctx, _grating_grid(ctx, sf, sf_units, tf, directions, repeats, o), o)

    @main.command("noise", epilog=EPILOG)
    @click.option("--sigma-space", default=_joined(PAPER_SIGMAS), show_default=True,
                  help="Spatial Gaussian sigmas in pixels (0 = unfiltered; 1 px = 3.5 degrees).")
    @click.option("--sigma-time", default=_joined(PAPER_SIGMAS), show_default=True,
                  help="Temporal Gaussian sigmas in frames (0 = unfiltered; 1 frame = 33.3 ms).")
    @click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True,
                  help="Noise seeds per (sigma_space, sigma_time).")
    @click.option("--patch", is_flag=True, help="Show the noise in the paper's 36 x 36 patch (columns 11-46).")
    @sweep_options
    @click.pass_context
    @user_errors
    def noise(ctx, sigma_space, sigma_time, repeats, patch, **o):
        """Reconstruct Gaussian-filtered noise movies (and their phase-inverted twins) from predicted activity.

        Same measures as `gratings`; cut-offs are the finest sigma (degrees, ms) at which the ensemble r stays
        above --threshold.
        """
        _run(ctx, _noise_grid(ctx, sigma_space, sigma_time, repeats, patch, o), o)
