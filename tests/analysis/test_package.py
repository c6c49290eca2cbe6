"""The dnemkit.analysis package: what it re-exports."""

import pytest

import dnemkit.analysis as A


def test_reexports():
    import types

    for name in A.__all__:
        if name == "error_maps":
            continue  # a library bug, test_error_maps_is_the_function
        assert callable(getattr(A, name)) and not isinstance(getattr(A, name), types.ModuleType) \
            or name == "CUTOFF_STATUSES"


def test_error_maps_is_the_function():
    import numpy as np

    from dnemkit.analysis.errormaps import error_maps

    assert A.error_maps is error_maps
    e_plus, e_minus = A.error_maps(np.ones((36, 64)), np.zeros((36, 64)))
    assert (e_plus == 1).all() and (e_minus == 0).all()
