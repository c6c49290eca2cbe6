"""Tests of dnemkit.reconstruction.config: ReconstructionConfig's checks."""

import pytest

from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import ReconstructionConfig


def test_zero_iterations_is_rejected():
    with pytest.raises(DnemkitError, match="iterations is 0"):
        ReconstructionConfig(iterations=0)
