"""Shared pieces of the command line: the group that turns user mistakes into one line, common options."""

import functools
import os
import tempfile
from pathlib import Path

import click

from ..errors import DnemkitError


class UserError(click.ClickException):
    """A user mistake reported as one 'Error: ...' line, exit status 2 (as click's usage errors)."""

    exit_code = 2


class DnemkitGroup(click.Group):
    """A click group whose commands report DnemkitError as one 'Error: ...' line (exit 2), no traceback.

    Every command added to it that has an ``--out`` option (a click.Path) checks, before its own code runs, that
    the path can be written (:func:`check_writable_dir`, or :func:`check_writable_file` for a file option).
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DnemkitError as exc:
            raise UserError(str(exc)) from None

    def add_command(self, cmd, name=None):
        _guard_out_options(cmd)
        _check_device_options(cmd)
        super().add_command(cmd, name)


def _guard_out_options(cmd):
    """Wrap ``cmd``'s callback so its --out path is checked for writability before anything else runs."""
    if cmd.callback is None or getattr(cmd.callback, "_dnemkit_out_checked", False):
        return
    outs = [p for p in cmd.params if isinstance(p, click.Option) and "--out" in p.opts
            and isinstance(p.type, click.Path)]
    if not outs:
        return
    param = outs[0]
    callback = cmd.callback

    @functools.wraps(callback)
    def checked(*args, **kwargs):
        value = kwargs.get(param.name)
        if value is not None:
            try:
                if param.type.dir_okay:
                    check_writable_dir(value, option="--out")
                else:
                    check_writable_file(value, option="--out")
            except DnemkitError as exc:
                raise UserError(str(exc)) from None
        return callback(*args, **kwargs)

    checked._dnemkit_out_checked = True
    cmd.callback = checked


def _existing_ancestor(path):
    """The nearest existing path at or above ``path`` (never beyond the filesystem root)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def _probe_write(folder):
    """True when a file can be created (and removed) in the existing folder ``folder``."""
    try:
        fd, name = tempfile.mkstemp(prefix=".dnemkit-write-check.", dir=folder)
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        pass
    return True


def check_writable_dir(path, option="--out"):
    """Raise DnemkitError unless ``path`` is (or can be created as) a folder this process can write into.

    Nothing is created: the nearest existing folder at or above ``path`` must be a folder and writable (a file
    is created there and removed at once), and no component on the way may be a file.
    """
    if str(path).strip() == "":
        raise DnemkitError(f"{option} is empty; expected a folder to write the results into")
    path = Path(os.path.expanduser(str(path)))
    found = _existing_ancestor(path)
    if not found.is_dir():
        what = "is a file" if found.exists() else "is not a folder"
        if found == path:
            raise DnemkitError(f"{option} {path} {what}; expected a folder to write the results into")
        raise DnemkitError(f"{option} {path} cannot be created: {found} {what}; expected a writable folder")
    if not _probe_write(found):
        where = "" if found == path else f" (its existing parent {found} is not writable)"
        raise DnemkitError(f"{option} {path} is not writable{where}; expected a folder you can write into")
    return path


def check_writable_file(path, option="--out"):
    """Raise DnemkitError unless the file ``path`` can be written (its folder as in check_writable_dir)."""
    if str(path).strip() == "":
        raise DnemkitError(f"{option} is empty; expected a file name to write")
    path = Path(os.path.expanduser(str(path)))
    if path.is_dir():
        raise DnemkitError(f"{option} {path} is a folder; expected a file name to write (e.g. report.html)")
    found = _existing_ancestor(path.parent)
    if not found.is_dir():
        raise DnemkitError(f"{option} {path} cannot be written: {found} is a file, not a folder; expected a file "
                           "name in a writable folder")
    if not _probe_write(found):
        raise DnemkitError(f"{option} {path} cannot be written: folder {found} is not writable; expected a file "
                           "name in a folder you can write into")
    return path


def encoder_options(f):
    """--encoder and --mouse, as every command that runs an encoder takes them."""
    f = click.option("--mouse", type=click.IntRange(min=0), default=None,
                     help="Readout (mouse) index of a multi-mouse DwiseNeuro checkpoint (default 0).")(f)
    f = click.option("--encoder", "encoder_spec", default="demo", show_default=True,
                     help="demo | synthetic[:seed] | model.pth | folder of .pth | file.py:factory | "
                          "package.module:factory")(f)
    return f


def _check_mask(ctx, param, value):
    """--mask: a method name or an existing file, checked before anything runs."""
    if value is None or str(value) in ("auto", "alpha", "sensitivity", "none", "quick") \
            or os.path.isfile(value):
        return value
    if os.path.isdir(value) and any(n.startswith("mask_m") and n.endswith(".npy") for n in os.listdir(value)):
        return value  # the paper's per-mouse masks (characterize fetch paper-masks)
    what = "is a folder without mask_m*.npy" if os.path.isdir(value) else "is neither a method nor an existing file"
    raise click.BadParameter(f"{value!r} {what}; expected auto, alpha, sensitivity, none, a mask file "
                             "(mask.nc from `characterize mask`, or a (36, 64) .npy) or a folder of the paper's "
                             "mask_m{i}.npy", param_hint="--mask")


def mask_option(f):
    """--mask auto|alpha|sensitivity|none|FILE, as every command that reconstructs takes it."""
    return click.option(
        "--mask", default="auto", show_default=True, metavar="auto|alpha|sensitivity|none|FILE",
        callback=_check_mask,
        help="Where the gradients act and metrics are computed. auto: shipped or cached, else the encoder's input "
             "sensitivity (seconds, cached); alpha: the paper's trained mask (trained now if not cached: "
             "minutes); none: every pixel; FILE: mask.nc from `characterize mask`, or a (36, 64) .npy; a folder of the "
             "paper's mask_m{i}.npy (characterize fetch paper-masks): each mouse's own.")(f)


def quiet_option(f):
    return click.option("--quiet", is_flag=True, help="No progress bars; print only the results.")(f)


def parse_list(text, name, cast=float):
    """'1,2,3' -> [1.0, 2.0, 3.0] with one clear error naming the option."""
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    if not items:
        raise click.BadParameter("is empty; expected a comma-separated list of numbers", param_hint=name)
    try:
        return [cast(s) for s in items]
    except ValueError:
        bad = next(s for s in items if not _castable(s, cast))
        raise click.BadParameter(f"'{bad}' is not a number; expected a comma-separated list of numbers",
                                 param_hint=name) from None


def _castable(s, cast):
    try:
        cast(s)
        return True
    except ValueError:
        return False


def user_errors(f):
    """Decorator for command callbacks: DnemkitError -> one 'Error: ...' line, exit 2."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except DnemkitError as exc:
            raise UserError(str(exc)) from None
    return wrapper


def validate_device(ctx, param, value):
    """click callback of --device: the name is checked before the command runs (one 'Error:' line: unknown
    name, CUDA asked on a machine without it, GPU index out of range); the value is passed on as given."""
    from ..device import resolve_device

    if value is not None:
        try:
            resolve_device(value)
        except DnemkitError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


def _check_device_options(cmd):
    """Give every --device option of ``cmd`` (without a callback of its own) :func:`validate_device`."""
    for param in getattr(cmd, "params", ()):
        if isinstance(param, click.Option) and "--device" in param.opts and param.callback is None:
            param.callback = validate_device


def execution_options(f):
    """--device, --precision, --compile and --fold-batchnorm: the Execution of every command that reconstructs
    (defaults: the Execution dataclass's). The callback receives them as ``execution`` (an Execution)."""
    from ..experiments.contract import field_defaults
    from ..reconstruction.config import COMPILE_MODES, PRECISIONS, Execution

    d = field_defaults(Execution)
    options = [
        click.option("--device", default=d["device"], show_default=True,
                     help="Where the reconstruction runs: auto (a GPU when there is one) | cpu | cuda | cuda:K."),
        click.option("--precision", type=click.Choice(PRECISIONS), default=d["precision"], show_default=True,
                     help="Precision of the encoder's forward (bf16: autocast, for GPUs, checked against fp32 "
                          "first; the loss, gradients and optimiser stay fp32)."),
        click.option("--compile", "compile_encoder", is_flag=True, default=d["compile"],
                     help="torch.compile the encoder's forward (pays off on a GPU for long runs; falls back to "
                          "eager with one warning if compilation fails)."),
        click.option("--compile-mode", type=click.Choice(COMPILE_MODES), default=d["compile_mode"],
                     show_default=True, help="torch.compile's mode with --compile (reduce-overhead: CUDA graphs)."),
        click.option("--cudnn-benchmark", is_flag=True, default=d["cudnn_benchmark"],
                     help="Let cuDNN pick its fastest convolution algorithms for the fixed shapes (CUDA)."),
        click.option("--fold-batchnorm/--no-fold-batchnorm", default=d["fold_batchnorm"],
                     help="Fold BatchNorm into the convolutions before reconstructing (exact up to float "
                          "round-off; faster). Default: as the recipe, on for fast, off for paper."),
    ]

    @functools.wraps(f)
    def wrapper(*args, device, precision, compile_encoder, compile_mode, cudnn_benchmark, fold_batchnorm, **kwargs):
        execution = Execution(device=device, precision=precision, compile=compile_encoder, compile_mode=compile_mode,
                              cudnn_benchmark=cudnn_benchmark, fold_batchnorm=fold_batchnorm)
        return f(*args, execution=execution, **kwargs)

    return stack_options(options)(wrapper)


def recipe_options(config_cls):
    """--recipe and --iterations of a command whose experiment config is ``config_cls`` (its RECIPE and ITERATIONS
    are the defaults). The callback receives ``recipe`` (a Recipe from ``config_cls.recipe_named``)."""
    names = list(config_cls.ITERATIONS)
    budget = " / ".join(f"{v} {k}" for k, v in config_cls.ITERATIONS.items())

    def decorate(f):
        options = [
            click.option("--recipe", "recipe_name", type=click.Choice(names), default=config_cls.RECIPE,
                         show_default=True,
                         help="fast: per-pixel Adam on non-overlapping sub-batches; paper: the paper's exact "
                              "recipe."),
            click.option("--iterations", type=click.IntRange(min=1), default=None,
                         help=f"Optimisation steps (default: the recipe's here, {budget})."),
        ]

        @functools.wraps(f)
        def wrapper(*args, recipe_name, iterations, **kwargs):
            try:
                recipe = config_cls.recipe_named(recipe_name, iterations)
            except DnemkitError as exc:
                raise UserError(str(exc)) from None
            return f(*args, recipe=recipe, **kwargs)

        return stack_options(options)(wrapper)

    return decorate


class EchoLog:
    """The ``log`` a command gives its experiment: click.echo, remembering the lines, so that
    :func:`print_results` does not print a headline line the run already said (the mask's source, say)."""

    def __init__(self):
        self.lines = []

    def __call__(self, line):
        self.lines.append(str(line))
        click.echo(line)


def print_results(ds, files, note="", said=()):
    """Print the kind's headline numbers ('label: value' lines, but those in ``said``: an EchoLog or lines) and the
    files written."""
    from ..viz.kinds import headline_of

    said = set(getattr(said, "lines", said))
    for label, value in headline_of(ds):
        if f"{label}: {value}" not in said:
            click.echo(f"{label}: {value}")
    click.echo("results: " + ", ".join(str(f) for f in files) + (f" ({note})" if note else ""))


def stack_options(options):
    """One decorator applying click ``options`` in the order listed (first = first in --help)."""
    def decorate(f):
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def movie_run_options(config_cls):
    """--recipe, --iterations, --frames, --movie-seed, --ground-truth and --models of the commands that reconstruct
    held-out natural movies from a ground-truth mouse's Poisson responses (ablation, errormap); the defaults are
    ``config_cls``'s."""
    from ..experiments.contract import field_defaults

    d = field_defaults(config_cls)
    options = [
        recipe_options(config_cls),
        click.option("--frames", type=click.IntRange(min=32), default=d["frames"], show_default=True,
                     help="Frames per movie (30 Hz)."),
        click.option("--movie-seed", type=click.IntRange(min=0), default=d["movie_seed"], show_default=True,
                     help="natural_movie seed of the (first) movie; held out: 5000+."),
        click.option("--ground-truth", default=d["ground_truth"], show_default=True,
                     help="Mouse whose Poisson responses are the recorded activity (must have the encoder's "
                          "neurons)."),
        click.option("--models", type=click.IntRange(min=1), default=config_cls.DEFAULT_MODELS, show_default=True,
                     help="Use the first K models of an ensemble."),
    ]
    return stack_options(options)


#: the iterations of the fast recipe with --stopper heldout and no --iterations: a budget the stopper ends early
STOPPER_BUDGET = 200


def method_options(f):
    """--start, --stopper, --heldout-fraction, --stopper-min-z, --stopper-excess and --stopper-rerun: where the
    reconstruction starts and when it stops (Recipe fields ``start``, ``stopper``, ...; defaults: the paper's grey
    start, no stopper). The callback receives them as ``method`` (a dict); :func:`with_method` puts them into the
    recipe."""
    from ..reconstruction.config import METHOD_DEFAULTS, STARTS, STOPPERS

    options = [
        click.option("--start", "start_name", type=click.Choice(STARTS), default=METHOD_DEFAULTS["start"],
                     show_default=True,
                     help="grey: the recipe's grey video; decoder: the linear decoder's movie of the targets "
                          "(fitted on --data's training trials, else on the encoder's own responses to library "
                          "movies, on first use, and cached; `characterize decoder fit`)."),
        click.option("--stopper", "stopper_name", type=click.Choice(STOPPERS), default=METHOD_DEFAULTS["stopper"],
                     show_default=True,
                     help="none: run the iterations; heldout: leave a seeded fraction of neurons out of the loss, "
                          "watch their loss every 5 iterations, stop after 20 without improvement and return the "
                          "best videos; agreement: watch the video r of the result with the linear decoder's movie "
                          "of the targets (as --start decoder fits it) every 5 iterations, stop after 20 without "
                          "a rise and return the videos 10 iterations past the best; deviance: watch the Poisson "
                          "deviance of the targets relative to its noise level every 5 iterations, stop once it "
                          "levels off and return the first videos within 0.045 of its level (--iterations is "
                          f"then a budget; fast: {STOPPER_BUDGET})."),
        click.option("--heldout-fraction", type=float, default=None,
                     help=f"Fraction of neurons the held-out stopper leaves out of the loss, in (0, 1) (default "
                          f"{METHOD_DEFAULTS['heldout_fraction']})."),
        click.option("--stopper-min-z", type=float, default=None,
                     help="With --stopper heldout: a decrease of the held-out loss counts only beyond this many "
                          "standard errors across the held-out neurons (default 0: any decrease)."),
        click.option("--stopper-excess", type=float, default=None,
                     help=f"With --stopper deviance: how far above its lowest the deviance ratio of the returned "
                          f"look may be, at 2000 neurons in the loss (default {METHOD_DEFAULTS['stopper_excess']}; "
                          "0.035 suited the demo's imperfect encoder better: docs/method.md)."),
        click.option("--stopper-rerun", is_flag=True,
                     help="With --stopper heldout: reconstruct again with every neuron in the loss, stopping at the "
                          "chosen iteration."),
    ]

    @functools.wraps(f)
    def wrapper(*args, start_name, stopper_name, heldout_fraction, stopper_min_z, stopper_excess, stopper_rerun,
                **kwargs):
        from ..reconstruction.config import check_heldout_fraction, check_positive_ratio

        method = dict(start=start_name, stopper=stopper_name)
        if stopper_excess is not None:
            if stopper_name != "deviance":
                raise UserError("--stopper-excess applies to the deviance stopper; expected --stopper deviance "
                                "with it")
            try:
                method["stopper_excess"] = check_positive_ratio(stopper_excess, "--stopper-excess")
            except DnemkitError as exc:
                raise UserError(str(exc)) from None
        if heldout_fraction is not None or stopper_rerun or stopper_min_z is not None:
            if stopper_name != "heldout":
                raise UserError("--heldout-fraction, --stopper-min-z and --stopper-rerun apply to the held-out "
                                "stopper; expected --stopper heldout with them")
        if stopper_min_z is not None:
            if not stopper_min_z >= 0 or stopper_min_z == float("inf"):
                raise UserError(f"--stopper-min-z is {stopper_min_z}; expected a number of standard errors >= 0")
            method["stopper_min_z"] = float(stopper_min_z)
        if heldout_fraction is not None:
            try:
                method["heldout_fraction"] = check_heldout_fraction(heldout_fraction)
            except DnemkitError as exc:
                raise UserError(f"--heldout-fraction: {exc}") from None
        if stopper_rerun:
            method["stopper_rerun"] = True
        return f(*args, method=method, **kwargs)

    return stack_options(options)(wrapper)


def with_method(recipe, method, iterations_given):
    """``recipe`` with the start and stopper of ``method`` (from :func:`method_options`); with a
    stopper and no explicit --iterations the fast recipe's iterations become :data:`STOPPER_BUDGET`."""
    recipe = recipe.replace(**method)
    if recipe.stopper != "none" and not iterations_given and recipe.name == "fast":
        recipe = recipe.replace(iterations=max(recipe.iterations, STOPPER_BUDGET))
    return recipe
