"""Tests of dnemkit.reconstruction.config: Recipe's and Execution's checks."""

import pytest

from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import Execution, Recipe


def test_zero_iterations_is_rejected():
    with pytest.raises(DnemkitError, match="iterations is 0"):
        Recipe(iterations=0)
    with pytest.raises(DnemkitError, match="iterations is 0"):
        Recipe().replace(iterations=0)


def test_execution_options_are_checked():
    with pytest.raises(DnemkitError, match="precision is 'fp16'"):
        Execution(precision="fp16")
    with pytest.raises(DnemkitError, match="subbatches_per_pass"):
        Execution(subbatches_per_pass=0)
