"""Tests of dnemkit.analysis.ablation_levels: the keep fractions' checks, and that the module loads without numpy
(the ablation's config and `characterize --help` import it)."""

import subprocess
import sys

import numpy as np
import pytest

from dnemkit.analysis.ablation_levels import check_keep_fractions
from dnemkit.errors import DnemkitError


def test_check_keep_fractions_sorts_dedups_and_refuses():
    assert check_keep_fractions([0.25, 1, 0.5, 0.25]) == (1.0, 0.5, 0.25)
    assert check_keep_fractions(0.5) == (0.5,)
    assert check_keep_fractions("0.5") == (0.5,)  # a string is one value, not its characters
    assert check_keep_fractions(np.float64(1.0)) == (1.0,)
    assert check_keep_fractions(np.array([0.125, 1.0])) == (1.0, 0.125)
    for bad, match in (([], "empty"), ([0.0], "outside"), ([1.5], "outside"), ([-0.5], "outside"),
                       (["x"], "not numbers"), (None, "not numbers")):
        with pytest.raises(DnemkitError, match=match):
            check_keep_fractions(bad)


def test_importing_the_levels_loads_no_numpy():
    code = "import sys, dnemkit.analysis.ablation_levels; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
