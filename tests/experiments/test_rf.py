"""Receptive-field mapping: validation against the synthetic mouse's true RFs, every model kept, the CLI.

Formula-level checks of rf_maps / rf_centres / fits live in tests/analysis/test_receptive_fields.py; here the whole
mapping pipeline.
"""

import numpy as np
import pytest
import torch

from dnemkit.analysis import rf_maps
from dnemkit.analysis.receptive_fields import compare_to_truth, receptive_fields
from dnemkit.experiments.rf import map_receptive_fields, sparse_noise_responses
from dnemkit.encoders import Ensemble, SyntheticMouse, SyntheticMouseConfig
from dnemkit.encoders.base import Encoder


@pytest.fixture(scope="module")
def synthetic_rf():
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=200))
    # RF centres lie in rows 12-24, columns 22-42 and RFs have sigma <= 3 px: flashing rows 4-31 and columns
    # 14-49 (8+ px margin) maps every RF at 44 % of the cost; the full screen is mapped in the CLI test below
    positions = np.array([[r, c] for r in range(4, 32) for c in range(14, 50)])
    ds = map_receptive_fields(mouse, fit_max=25, positions=positions, progress=False)
    return mouse, compare_to_truth(ds, mouse.properties())


def test_rf_centres_match_the_synthetic_truth(synthetic_rf):
    mouse, ds = synthetic_rf
    assert ds["responsive"].dtype == bool and ds["fit_success"].dtype == bool  # stored as booleans
    responsive = ds["responsive"].values
    assert responsive.mean() >= 0.9
    err = ds["center_error"].values[responsive]
    assert np.mean(err <= 1.0) >= 0.95, np.percentile(err, [50, 90, 95, 99])
    # the lead-in gives every analysed frame a full history
    assert ds.attrs["lead_in_frames"] == mouse.first_valid_frame == 30
    # Gaussian fits of the strongest responders land on the true centres too
    fitted = ds["fit_success"].values
    assert fitted.sum() >= 20
    fit_err = np.hypot(ds["fit_center_y"].values - ds["true_center_y"].values,
                       ds["fit_center_x"].values - ds["true_center_x"].values)[fitted]
    assert np.median(fit_err) < 0.5
    assert ds["population_rf_on"].shape == (36, 64) and np.isfinite(ds["on_plus_off"].values).all()


def test_rf_polarity_of_on_and_off_cells(synthetic_rf):
    """ON cells: ON map > OFF map at the true centre (and vice versa for OFF cells).

    Compared on the un-normalised maps (rf * rf_peak): docs/method.md, "Analyses" divides every map by its own maximum, and an ON
    cell's OFF map (driven by the RF's OFF side lobes, merged over the centre by the 2 px smoothing) then also
    reaches 1 at the centre for about one ON cell in five - the normalised maps alone cannot carry polarity.
    """
    _, ds = synthetic_rf
    types = ds["true_cell_type"].values.astype(str)
    responsive = ds["responsive"].values
    i = np.arange(ds.sizes["neuron"])
    cy = np.clip(np.rint(ds["true_center_y"].values).astype(int), 0, 35)
    cx = np.clip(np.rint(ds["true_center_x"].values).astype(int), 0, 63)
    on = np.nan_to_num(ds["rf_on"].values[i, cy, cx]) * ds["rf_on_peak"].values
    off = np.nan_to_num(ds["rf_off"].values[i, cy, cx]) * ds["rf_off_peak"].values
    pref = ds["preferred_polarity"].values.astype(str)
    for kind in ("on", "off"):
        sel = responsive & (types == kind)
        assert sel.sum() >= 30
        assert (pref[sel] == kind).all()
        assert ((on > off) if kind == "on" else (off > on))[sel].all()


class _Scaled(Encoder):
    """Another model of the same neurons: the synthetic mouse's rates times a factor."""

    def __init__(self, base, factor):
        super().__init__()
        self.base, self.factor = base, factor
        self.n_neurons, self.first_valid_frame = base.n_neurons, base.first_valid_frame

    def forward(self, video, behavior=None):
        return self.factor * self.base(video, behavior) + 0.05 * (self.factor - 1)


def test_every_model_is_kept_and_averaged_explicitly():
    base = SyntheticMouse(1, SyntheticMouseConfig(n_neurons=6))
    ensemble = Ensemble([base, _Scaled(base, 2.0)])
    positions = np.array([[r, c] for r in range(14, 22, 2) for c in range(26, 38, 3)])
    resp = sparse_noise_responses(ensemble, positions=positions, progress=False)
    assert resp["r_pre"].dims == ("model", "polarity", "neuron", "y", "x")
    assert resp.sizes["model"] == 2
    ys, xs = positions[:, 0], positions[:, 1]
    a, b = resp["r_flash"].values[0][..., ys, xs], resp["r_flash"].values[1][..., ys, xs]
    np.testing.assert_allclose(b, 2 * a + 0.05, rtol=1e-5)  # each model's own responses
    assert np.isnan(resp["r_pre"].values[0, 0, 0, 0, 0])  # an unmapped position
    ds = receptive_fields(resp, fit=False)
    # the ensemble maps are the method's maps of the models' averaged responses (unmapped positions: no response)
    pre = np.nan_to_num(resp["r_pre"].values.astype(float), nan=1.0).mean(0)
    flash = np.nan_to_num(resp["r_flash"].values.astype(float), nan=1.0).mean(0)
    np.testing.assert_allclose(ds["rf_on"].values, rf_maps(pre[0], flash[0]), atol=1e-6, equal_nan=True)
    # the Ensemble's own prediction is the same mean
    with torch.no_grad():
        clip = torch.full((1, 75, 36, 64), 127.5)
        clip[0, 45:60, ys[0], xs[0]] = 255.0
        mean_rate = ensemble(clip)[0, :, 45:60].mean(-1).numpy()
    np.testing.assert_allclose(flash[0][:, ys[0], xs[0]], mean_rate, rtol=1e-5)


def test_rf_cli_writes_dataset_and_figures(tmp_path, run_cli, factories_file):
    out = tmp_path / "rf"
    # every pixel, both polarities; no lead-in here to save time (the truth test above uses the default 30)
    result = run_cli("rf", "--encoder", f"{factories_file}:tiny", "--mask", "none", "--lead-in", 0,
                     "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    from dnemkit.io.results import read_dataset

    ds = read_dataset(out / "rf.nc", kind="rf")
    assert ds["rf_on"].dims == ("neuron", "y", "x") and ds["rf_off"].shape == (12, 36, 64)
    assert {"center_y", "center_x", "fit_sigma_x", "fit_amplitude", "r_pre", "center_error"} <= set(ds.data_vars)
    for name in ("rf_examples", "rf_population", "rf_centres", "rf_mask"):
        assert (out / f"{name}.png").stat().st_size > 1000
    assert "within 1 px" in result.output
    assert ds.attrs["lead_in_frames"] == 0 and ds.attrs["positions_mapped"] == 36 * 64


def test_rf_cli_user_errors(tmp_path, run_cli, assert_one_line_error, factories_file):
    assert_one_line_error(run_cli("rf", "--encoder", f"{factories_file}:empty", "--out", tmp_path),
                          "0 neurons")
    assert_one_line_error(run_cli("rf", "--encoder", "synthetic", "--ground-truth", "synthetic:1:2",
                                  "--out", tmp_path), "synthetic")
