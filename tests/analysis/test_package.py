"""The dnemkit.analysis package: what it re-exports."""

import dnemkit.analysis as A


def test_reexports():
    for name in A.__all__:
        assert callable(getattr(A, name)) or name == "CUTOFF_STATUSES"
