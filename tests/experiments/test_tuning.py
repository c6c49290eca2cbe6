"""`characterize tuning` (dnemkit.experiments.tuning): the config's checks, the atlas against the synthetic
mouse's truth, resuming from the condition store, the CLI and the report.

The pure measures against analytic answers: tests/analysis/test_tuning.py.
"""

import numpy as np
import pytest
import torch

from dnemkit.analysis.tuning import orientation_error
from dnemkit.encoders import Ensemble, SyntheticMouse, SyntheticMouseConfig
from dnemkit.encoders.base import Encoder
from dnemkit.errors import DnemkitError
from dnemkit.experiments.tuning import DEFAULT_DIRECTIONS, DEFAULT_N_FRAMES, DEFAULT_SF, DEFAULT_TF, TuningConfig, run
from dnemkit.stimuli.geometry import GREY, HEIGHT, WIDTH, cpd_to_cyc_per_px


DIRS12 = np.arange(0.0, 360.0, 30.0)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(sf=()), "sf is empty"),
    (dict(tf=(1.0, 20.0)), "expected at most 15 Hz"),
    (dict(directions=(0, 90, 180)), "expected at least 4"),
    (dict(contrast=0.0), "expected a number in (0, 1]"),
    (dict(contrast=1.5), "expected a number in (0, 1]"),
    (dict(sf=(0.05, 0.2)), "expected at most 0.143 cpd"),
    (dict(directions=(0, 90, 180, 360)), "repeats"),
])
def test_config_validation(kwargs, fragment):
    with pytest.raises(DnemkitError) as exc:
        TuningConfig(**kwargs)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


# ---------------------------------------------------------------------------------------------------------------
# the atlas against the synthetic mouse's truth
# ---------------------------------------------------------------------------------------------------------------
TRUTH_GRID = TuningConfig(sf=(0.018, 0.036, 0.071, 0.143), tf=(0.5, 1.0, 2.0, 4.0, 8.0), directions=tuple(DIRS12),
                          n_frames=90, batch=16)


@pytest.mark.parametrize("seed", [0, 1])
def test_atlas_matches_the_synthetic_truth(seed):
    mouse = SyntheticMouse(seed, SyntheticMouseConfig(n_neurons=300))
    truth = mouse.properties()
    ds = run(TRUTH_GRID.replace(encoder=mouse, examples=0), progress=False)
    assert ds["responsive"].dtype == bool
    ok = ds["responsive"].values
    assert ok.mean() >= 0.9  # every synthetic cell is driven by some grating at contrast 0.8

    # orientation: the Gabor's wave-vector angle is the grating's drift axis (same u = x cos - y sin); on a 30 deg
    # grid the argmax is within 15 deg when the curve peaks at the nearest grid direction (found: >= 99 %)
    tuned = ok & (ds["osi"].values >= 0.3)
    assert tuned.sum() >= 0.5 * ok.sum()
    err = orientation_error(ds["preferred_orientation"].values, truth["orientation_deg"].values)[tuned]
    assert np.mean(err <= 15.0) >= 0.9, np.percentile(err, [50, 90, 100])
    # the vector-sum orientation is continuous: much closer than the grid
    verr = orientation_error(ds["vector_orientation"].values, truth["orientation_deg"].values)[tuned]
    assert np.median(verr) < 2.0
    # separable space x time filters respond equally to both directions of an axis: no direction selectivity
    assert np.nanmax(ds["gdsi"].values[ok]) < 0.05 and np.nanmax(ds["dsi"].values[ok]) < 0.05

    # SF and TF: the grid peak within one grid step (1 octave) of the truth for >= 80 % (found: 100 %, and 85-90 %
    # within half a step); TF truth = the peak of the temporal kernel's amplitude spectrum
    octaves = {d: np.abs(np.log2(ds[f"preferred_{d}"].values / truth[t].values))[ok]
               for d, t in (("sf", "sf_cpd"), ("tf", "tf_peak_hz"))}
    for d, e in octaves.items():
        assert np.mean(e <= 1.0) >= 0.8, (d, np.percentile(e, [50, 80, 100]))
        assert np.mean(e <= 0.5) >= 0.7, (d, np.percentile(e, [50, 80, 100]))
    # the log-Gaussian fits: SF within an octave for >= 90 % (found 100 %). The TF curves are asymmetric (the
    # damped-sine kernels pass a lot of low TF), so the fitted centre sits ~0.6 octave below the spectral peak
    # (found: 72-78 % within 1 octave, all within 1.5): only 1.5 octaves holds for >= 90 %
    for d, t, limit in (("sf", "sf_cpd", 1.0), ("tf", "tf_peak_hz", 1.5)):
        fit = ds[f"preferred_{d}_fit"].values[ok]
        assert np.isfinite(fit).mean() >= 0.9
        e = np.abs(np.log2(fit / truth[t].values[ok]))[np.isfinite(fit)]
        assert np.mean(e <= limit) >= 0.9, (d, np.percentile(e, [50, 90, 100]))

    # F1/F0: linear ON/OFF cells follow the grating's phase (rectified: ~1.6); the quadrature-energy complex
    # cells do not (their F1 is ~0)
    types = truth["cell_type"].values.astype(str)
    ratio = ds["f1_f0"].values
    simple, complex_ = ok & (types != "complex"), ok & (types == "complex")
    assert simple.sum() > 50 and complex_.sum() > 50
    assert np.mean(ratio[simple] > 1) >= 0.9
    assert np.mean(ratio[complex_] < 1) >= 0.9
    assert np.mean(ds["cell_class"].values.astype(str)[simple] == "simple") >= 0.9


class _DirectionSelective(Encoder):
    """Motion-energy-like neurons preferring known drift directions (the generator's convention).

    Neuron k projects each frame on cos and sin of 2 pi sf u_k (u_k = x cos(theta_k) - y sin(theta_k), the
    grating's own coordinate); d90(t) d0(t-1) - d0(t) d90(t-1) is + sin(2 pi tf / 30) for a grating drifting
    along theta_k and - sin(...) for the opposite direction, rectified.
    """

    first_valid_frame = 1

    def __init__(self, directions_deg, sf_cpd=0.071):
        super().__init__()
        th = np.deg2rad(np.asarray(directions_deg, np.float64))[:, None, None]
        y, x = np.mgrid[:HEIGHT, :WIDTH]
        u = x[None] * np.cos(th) - y[None] * np.sin(th)
        k = 2 * np.pi * cpd_to_cyc_per_px(sf_cpd)
        self.register_buffer("g", torch.tensor(np.stack([np.cos(k * u), np.sin(k * u)], 1), dtype=torch.float32))
        self.n_neurons = len(directions_deg)

    def forward(self, video, behavior=None):
        c = (video - GREY) / GREY
        d = torch.einsum("btyx,nqyx->bnqt", c, self.g) / (HEIGHT * WIDTH)
        prev = torch.cat([d[..., :1], d[..., :-1]], -1)
        motion = d[:, :, 1] * prev[:, :, 0] - d[:, :, 0] * prev[:, :, 1]
        return 0.1 + torch.relu(40.0 * motion)


def test_preferred_direction_follows_the_grating_convention():
    prefs = [0.0, 45.0, 90.0, 135.0, 210.0, 300.0]
    enc = _DirectionSelective(prefs)
    cfg = TuningConfig(sf=(0.036, 0.071, 0.143), tf=(2.0, 4.0), directions=tuple(range(0, 360, 15)), n_frames=40)
    ds = run(cfg.replace(encoder=enc, examples=0), progress=False)
    assert ds["responsive"].values.all()
    np.testing.assert_allclose(ds["preferred_direction"].values, [p % 360 for p in prefs])
    np.testing.assert_allclose(ds["preferred_orientation"].values, [p % 180 for p in prefs])
    assert (ds["dsi"].values > 0.9).all() and (ds["gdsi"].values > 0.5).all()
    np.testing.assert_allclose(ds["preferred_sf"].values, 0.071)


# ---------------------------------------------------------------------------------------------------------------
# every model kept; resuming
# ---------------------------------------------------------------------------------------------------------------
SMALL_GRID = TuningConfig(sf=(0.036, 0.071), tf=(1.0, 4.0), directions=(0, 90, 180, 270), n_frames=40, batch=3)


def test_every_model_is_kept_and_averaged_explicitly():
    cfg = SyntheticMouseConfig(n_neurons=20)
    enc = Ensemble([SyntheticMouse(0, cfg), SyntheticMouse(1, cfg)])
    ds = run(SMALL_GRID.replace(encoder=enc, examples=2), progress=False)
    assert ds.sizes["model"] == 2 and ds["model_response"].dims[0] == "model"
    np.testing.assert_allclose(ds["response"].values, ds["model_response"].values.mean(0), rtol=1e-6)
    assert not np.allclose(ds["model_response"].values[0], ds["model_response"].values[1])
    np.testing.assert_allclose(ds["baseline"].values, ds["model_baseline"].values.mean(0))
    assert ds["example_trace"].dims == ("example", "frame") and ds.sizes["frame"] == SMALL_GRID.n_frames
    assert ds.attrs["dnemkit_kind"] == "tuning" and ds["preferred_direction"].attrs["units"] == "degree"


def test_a_killed_run_recomputes_only_the_missing_conditions(tmp_path):
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=20))
    calls = {"n": 0}
    real_forward = mouse.forward

    def dying_forward(video, behavior=None):  # killed during the third encoder pass
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_forward(video, behavior)

    mouse.forward = dying_forward
    config = SMALL_GRID.replace(encoder=mouse, examples=0)
    with pytest.raises(KeyboardInterrupt):
        run(config, out=tmp_path, progress=False)
    stored = len(list((tmp_path / "tuning.store").glob("*.nc")))
    assert stored == 2 * SMALL_GRID.batch  # grey + 16 gratings = 17 movies; two passes of 3 finished
    del mouse.forward
    ds = run(config, out=tmp_path, progress=False)
    assert ds.attrs["conditions_reused"] == stored and ds.attrs["conditions_computed"] == 17 - stored
    fresh = run(config, progress=False)
    np.testing.assert_allclose(ds["response"].values, fresh["response"].values, rtol=1e-6)
    assert (tmp_path / "tuning.nc").exists()
    # another contrast makes other gratings: only the grey movie is reused
    other = config.replace(contrast=0.5)
    assert run(other, out=tmp_path, progress=False).attrs["conditions_reused"] == 1


# ---------------------------------------------------------------------------------------------------------------
# CLI and report
# ---------------------------------------------------------------------------------------------------------------
def test_cli_help_shows_the_experiments_defaults(run_cli):
    """The CLI reads its defaults from TuningConfig (no copies): what --help shows is the config's."""
    import re

    from click.testing import CliRunner

    from dnemkit.cli import main

    text = CliRunner().invoke(main, ["tuning", "--help"], terminal_width=400, max_content_width=400).output

    def shown(option):
        found = re.search(rf"^\s*{option}\b.*\[default: ([^\]]+)\]", text, re.M)
        assert found, (option, text)
        return found.group(1)

    assert tuple(float(v) for v in shown("--sf").split(",")) == DEFAULT_SF == TuningConfig().sf
    assert tuple(float(v) for v in shown("--tf").split(",")) == DEFAULT_TF == TuningConfig().tf
    assert tuple(float(v) for v in shown("--directions").split(",")) == DEFAULT_DIRECTIONS == TuningConfig().directions
    assert int(shown("--n-frames")) == DEFAULT_N_FRAMES == TuningConfig().n_frames


@pytest.mark.parametrize("args, fragment", [
    (["--tf", "1,20"], "at most 15 Hz"),
    (["--directions", "0,90,180"], "at least 4"),
    (["--contrast", "0"], "(0, 1]"),
    (["--contrast", "1.5"], "(0, 1]"),
    (["--sf", "0.2"], "at most 0.143 cpd"),
    (["--sf", ","], "--sf"),
    (["--tf", "1,fast"], "'fast' is not a number"),
    (["--n-frames", "32"], "n_frames is 32"),  # the synthetic mouse's first valid frame is 30
    (["--models", "2"], "expected an integer from 1 to 1"),
])
def test_cli_bad_input_is_one_error_line(tmp_path, args, fragment, run_cli, assert_one_line_error):
    result = run_cli("tuning", "--encoder", "synthetic", "--out", tmp_path / "out", "--quiet", *args)
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "out" / "tuning.nc").exists()


def test_cli_writes_the_atlas_and_the_report_shows_it(tmp_path, run_cli, factories_file):
    out = tmp_path / "out"
    result = run_cli("tuning", "--encoder", f"{factories_file}:tiny", "--sf", "0.036,0.071", "--tf", "1,4",
                     "--directions", "0,90,180,270", "--n-frames", "40", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "responsive neurons:" in result.output and "simple (F1/F0 > 1):" in result.output
    assert "median over responsive: OSI" in result.output
    for name in ("tuning.nc", "tuning_population.png", "tuning_examples.png", "tuning_polar.png"):
        assert (out / name).stat().st_size > 1000, name
    from dnemkit.viz.report import build_report, headline_numbers
    from dnemkit.io.results import read_dataset

    ds = read_dataset(out / "tuning.nc", kind="tuning")
    assert ds.sizes["neuron"] == 12 and set(ds["response"].dims) == {"neuron", "sf", "tf", "direction"}
    assert ds["preferred_sf"].attrs["units"] == "cycles/degree" and "long_name" in ds["osi"].attrs
    labels = [label for label, _ in headline_numbers(ds)]
    assert "responsive neurons" in labels and "median over responsive" in labels
    page = build_report([out / "tuning.nc"], tmp_path / "report.html").read_text()
    assert page.count("<img") == 3 and "generic view" not in page
