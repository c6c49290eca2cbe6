"""The one exception type for user mistakes.

Library functions raise :class:`DnemkitError` (a ``ValueError``) with one line that names what was wrong and
what was expected; the CLI prints that line and exits with status 2, without a traceback.
"""


class DnemkitError(ValueError):
    """A user mistake: bad argument, bad file, bad shape. The message is one line meant for the user."""


def say(log, message, *, warning=False, notice=False):
    """The one voice of dnemkit's library code: ``message`` as one line for the user.

    Parameters
    ----------
    log : callable or None
        Where a run's lines go (a command's echo, a test's ``list.append``): the line goes there as it is. None:
        a note is dropped (the Python caller asked for silence).
    message : str
        One line, no trailing newline.
    warning : bool
        Something suspicious but allowed: without a ``log`` it is printed on stderr as 'Warning: ...', never
        dropped.
    notice : bool
        Something the user should see though nothing is wrong (a fallback, a retry): without a ``log`` it is
        printed on stderr as 'dnemkit: ...', never dropped.

    Lines on stderr go through ``tqdm.write``, so that they do not break a progress bar (tqdm is imported here,
    when a line is written, so that importing dnemkit stays light).
    """
    if log is not None:
        log(message)
    elif warning or notice:
        import sys

        from tqdm.auto import tqdm

        tqdm.write(f"Warning: {message}" if warning else f"dnemkit: {message}", file=sys.stderr)
        sys.stderr.flush()


def check_int(value, name, minimum=None, meaning=""):
    """``value`` as an int, or DnemkitError "NAME is VALUE; expected an integer >= MINIMUM (MEANING)" (bools are
    refused)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (minimum is not None and value < minimum):
        expected = "an integer" + (f" >= {minimum}" if minimum is not None else "")
        expected += f" ({meaning})" if meaning else ""
        raise DnemkitError(f"{name} is {value!r}; expected {expected}")
    return int(value)


def check_number(value, name, expected="a finite number"):
    """``value`` as a finite float, or DnemkitError "NAME is VALUE; expected EXPECTED" (bools are refused)."""
    import math

    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DnemkitError(f"{name} is {value!r}; expected {expected}") from None
    if isinstance(value, bool) or not math.isfinite(out):
        raise DnemkitError(f"{name} is {value!r}; expected {expected}")
    return out


def check_generator(rng, name="rng"):
    """``rng`` if it is a ``numpy.random.Generator``, else DnemkitError naming it.

    Randomness below the boundary of a run takes a Generator: a seed is turned into one once, where the run is
    configured (``np.random.default_rng(config.seed)``), so a caller can share or split one stream.
    """
    import numpy as np

    if not isinstance(rng, np.random.Generator):
        raise DnemkitError(f"{name} is {rng!r}; expected a numpy Generator (np.random.default_rng(seed))")
    return rng


def check_numbers(values, name, unit=""):
    """``values`` (one number, or an iterable of them) as a non-empty list of finite floats, or DnemkitError
    "NAME holds VALUE; expected finite numbers in UNIT" (a missing, empty or text value is named as such)."""
    from collections.abc import Iterable

    where = f" in {unit}" if unit else ""
    if values is None or isinstance(values, (str, bytes)):
        raise DnemkitError(f"{name} is {values!r}; expected a list of numbers{where}")
    one = not isinstance(values, Iterable) or getattr(values, "ndim", 1) == 0
    values = [values] if one else list(values)
    if not values:
        raise DnemkitError(f"{name} is empty; expected at least one value{where}")
    out = []
    for v in values:
        try:
            out.append(check_number(v, name))
        except DnemkitError:
            raise DnemkitError(f"{name} holds {v!r}; expected finite numbers{where}") from None
    return out
