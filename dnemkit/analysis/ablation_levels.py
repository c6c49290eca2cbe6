"""The levels of a population ablation: which fractions of the population enter the loss, and what a subject is.

Kept apart from :mod:`dnemkit.analysis.ablation` (numpy, statistics) so that the ablation's config, and with it
`characterize --help`, imports no numpy.
"""

from collections.abc import Iterable

from ..errors import DnemkitError

DEFAULT_KEEP_FRACTIONS = (1.0, 0.5, 0.25, 0.125)
MOVIE_SEED_OFFSET = 5000  #: ablation movies are natural_movie(seed=5000 + k): held out from training and masks
SUBJECTS = ("movie", "movie_seed", "mouse")


def check_keep_fractions(fractions):
    """Keep fractions as a tuple of distinct floats in (0, 1], sorted from large to small.

    Parameters
    ----------
    fractions : float or iterable of float
        One keep fraction or several, each in (0, 1] (dimensionless fractions of the population); a string is
        read as one value.

    Returns
    -------
    tuple of float
        The distinct fractions, sorted from large to small.
    """
    try:
        one = isinstance(fractions, (str, bytes)) or not isinstance(fractions, Iterable) \
            or getattr(fractions, "ndim", 1) == 0
        values = [float(f) for f in ([fractions] if one else list(fractions))]
    except (TypeError, ValueError):
        raise DnemkitError(f"keep fractions {fractions!r} are not numbers; expected values in (0, 1]") from None
    if not values:
        raise DnemkitError("keep fractions are empty; expected at least one value in (0, 1]")
    bad = [f for f in values if not (0 < f <= 1)]
    if bad:
        raise DnemkitError(f"keep fraction {bad[0]:g} is outside (0, 1]; expected fractions of the population, "
                           "e.g. 1,0.5,0.25,0.125")
    return tuple(sorted(set(values), reverse=True))
