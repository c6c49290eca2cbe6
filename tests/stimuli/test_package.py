"""The dnemkit.stimuli package: what it re-exports."""

from dnemkit import stimuli
from dnemkit.stimuli import gaussian_noise, geometry


def test_package_reexports():
    assert stimuli.gaussian_noise is gaussian_noise and stimuli.geometry is geometry
    for name in ("drifting_grating", "sparse_noise", "iter_sparse_noise", "phase_invert", "natural_movie"):
        assert callable(getattr(stimuli, name))
