"""The error-map experiment (dnemkit.experiments.errormap), on the session's ``errormap`` result
(tests/conftest.py)."""

import numpy as np


def test_error_maps_are_the_difference_of_the_stored_reconstructions(errormap, box_mask):
    ds = errormap
    diff = ds["recon_recorded"].values.astype(float) - ds["recon_predicted"].values.astype(float)
    e = ds["e_plus"].values.astype(float) - ds["e_minus"].values.astype(float)
    np.testing.assert_allclose(e[:, box_mask], diff[:, box_mask], atol=1e-4)
    assert (ds["e_plus"].values >= 0).all() and (ds["e_minus"].values >= 0).all()
    assert (ds["e_plus"].values[:, ~box_mask] == 0).all() and (ds["e_minus"].values[:, ~box_mask] == 0).all()
    assert (ds["recon_recorded"].values[:, ~box_mask] == 127.5).all()  # grey outside the mask
    assert np.abs(e).max() > 0  # recorded and predicted targets differ
    assert ds["mean_e_plus"].dims == ("y", "x")
