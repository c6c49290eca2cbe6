"""Shared pieces of the command line: the group that turns user mistakes into one line, common options."""

import functools

import click

from ..errors import DnemkitError


class UserError(click.ClickException):
    """A user mistake reported as one 'Error: ...' line, exit status 2 (as click's usage errors)."""

    exit_code = 2


class DnemkitGroup(click.Group):
    """A click group whose commands report DnemkitError as one 'Error: ...' line (exit 2), no traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DnemkitError as exc:
            raise UserError(str(exc)) from None


def encoder_options(f):
    """--encoder and --mouse, as every command that runs an encoder takes them."""
    f = click.option("--mouse", type=click.IntRange(min=0), default=None,
                     help="Readout (mouse) index of a multi-mouse DwiseNeuro checkpoint (default 0).")(f)
    f = click.option("--encoder", "encoder_spec", default="demo", show_default=True,
                     help="demo | synthetic[:seed] | model.pth | folder of .pth | file.py:factory | "
                          "package.module:factory")(f)
    return f


def mask_option(f):
    """--mask auto|alpha|sensitivity|none|FILE, as every command that reconstructs takes it."""
    return click.option(
        "--mask", default="auto", show_default=True, metavar="auto|alpha|sensitivity|none|FILE",
        help="Where the gradients act and metrics are computed. auto: shipped or cached, else the encoder's input "
             "sensitivity (seconds, cached); alpha: the paper's trained mask (trained now if not cached: "
             "minutes); none: every pixel; FILE: mask.nc from `characterize mask`, or a (36, 64) .npy.")(f)


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
