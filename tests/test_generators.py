"""Randomness below a run's configuration takes a numpy Generator, not a seed: an int is refused in one line, equal
generators give equal draws, and one shared generator gives a caller independent consecutive draws."""

import numpy as np
import pytest

from dnemkit.analysis.ablation import nested_subsets
from dnemkit.encoders.synthetic import sample_responses
from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import Recipe
from dnemkit.reconstruction.schedule import make_schedule

RATES = np.full((20, 50), 3.0)


def _draws():
    return {
        "sample_responses": lambda rng: sample_responses(RATES, rng),
        "nested_subsets": lambda rng: nested_subsets(100, fractions=(1, 0.5, 0.25), rng=rng)[0.25],
        "make_schedule": lambda rng: np.asarray(make_schedule(Recipe(schedule="tiled"), rng)(300)),
    }


@pytest.mark.parametrize("name", sorted(_draws()))
def test_an_int_seed_is_refused_in_one_line(name):
    with pytest.raises(DnemkitError, match=r"^rng is 3; expected a numpy Generator \(np.random.default_rng\(seed\)\)$"):
        _draws()[name](3)


@pytest.mark.parametrize("name", sorted(_draws()))
def test_equal_generators_draw_equally_and_a_shared_one_moves_on(name):
    draw = _draws()[name]
    np.testing.assert_array_equal(draw(np.random.default_rng(7)), draw(np.random.default_rng(7)))
    shared = np.random.default_rng(7)
    assert not np.array_equal(draw(shared), draw(shared))


def test_nested_subsets_of_one_generator_are_nested():
    subsets = nested_subsets(200, fractions=(1, 0.5, 0.1), rng=np.random.default_rng(0))
    assert set(subsets[0.1]) <= set(subsets[0.5]) <= set(subsets[1]) and len(subsets[0.5]) == 100
