"""Tests of dnemkit.experiments.mei against the synthetic mouse's truth (issue 21).

The synthetic mouse's neurons are linear-nonlinear Gabor cells whose centre, orientation, SF, temporal kernel and
ON/OFF polarity are known; for a simple cell the most exciting image under an L2 (RMS-contrast) budget is its own
Gabor filter scaled to the budget (clipped at the screen's range), an analytic optimum to compare with. Two
populations drawn like `synthetic:0` and `synthetic:1` but with 300 neurons keep the tests fast (the encoder's cost
grows with its neurons; the full-size numbers are benchmarks/mei.py's).
"""

import numpy as np
import pytest
import torch

from dnemkit.analysis.tuning import orientation_error
from dnemkit.encoders.ref import EncoderRef
from dnemkit.encoders.synthetic import SyntheticMouse, SyntheticMouseConfig
from dnemkit.errors import DnemkitError
from dnemkit.experiments.mei import MeiConfig, parse_neurons, run
from dnemkit.reconstruction.constraints import project_to_budget
from dnemkit.reconstruction.stoppers import PlateauStopper
from dnemkit.io.results import read_dataset
from dnemkit.stimuli.geometry import GREY
from dnemkit.units import stray_units

N_MEI = 24


def _mouse(seed, n=300):
    return SyntheticMouse(seed, SyntheticMouseConfig(n_neurons=n))


@pytest.fixture(scope="module", params=[0, 1])
def images(request, tmp_path_factory):
    mouse = _mouse(request.param)
    out = tmp_path_factory.mktemp(f"mei{request.param}")
    ds = run(MeiConfig(encoder=EncoderRef(mouse), neurons=tuple(range(N_MEI))), out=out, progress=False)
    return mouse, ds, out


def test_image_meis_match_the_synthetic_truth(images):
    mouse, ds, _ = images
    p = mouse.properties_
    sel = ds["neuron"].values
    centre = np.hypot(ds["center_y"].values - p["center_y"][sel], ds["center_x"].values - p["center_x"][sel])
    assert np.mean(centre <= 2.0) >= 0.9
    # every synthetic neuron is a Gabor with a defined orientation (about one carrier cycle under its envelope)
    assert np.mean(orientation_error(ds["orientation"].values, p["orientation_deg"][sel]) <= 15.0) >= 0.85
    ratio = ds["sf"].values / p["sf_cyc_per_px"][sel]
    assert np.mean((ratio >= 0.5) & (ratio <= 2.0)) >= 0.7
    cell = p["cell_type"][sel]
    simple = cell != "complex"
    right = np.where(cell == "on", ds["polarity"].values > 0, ds["polarity"].values < 0)[simple]
    assert simple.sum() >= 5 and right.mean() >= 0.95
    assert np.mean(ds["activation"].values >= ds["grating_activation"].values) >= 0.95


def test_image_meis_reach_the_analytic_optimum(images):
    """The neuron's own filter at the budget: the MEI must come close (a poor optimiser would not)."""
    mouse, ds, _ = images
    sel = ds["neuron"].values
    simple = mouse.properties_["cell_type"][sel] != "complex"
    g = mouse.filters[:mouse.n_neurons].numpy().reshape(-1, 36, 64)[sel]
    t = int(ds.attrs["n_frames"])
    video = torch.from_numpy((GREY + GREY * g).astype(np.float32))[:, None].expand(-1, t, -1, -1).contiguous()
    project_to_budget(video, float(ds.attrs["contrast_budget"]))
    with torch.no_grad():
        best = mouse(video)[:, :, int(ds.attrs["first_frame"]):].mean(-1).numpy()[np.arange(len(sel)), sel]
    ratio = ds["activation"].values[simple] / best[simple]
    assert np.median(ratio) >= 0.95
    assert ratio.min() >= 0.85


def test_results_are_labelled_and_written(images):
    mouse, ds, out = images
    assert ds.attrs["dnemkit_kind"] == "mei"
    assert ds["mei"].dims == ("neuron", "y", "x")
    assert not stray_units(ds)
    for name in ("activation", "grating_activation", "natural_activation", "center_x", "orientation", "sf_cpd"):
        assert "units" in ds[name].attrs, name
    c = (ds["mei"].values.astype(np.float64) - GREY) / GREY
    rms = np.sqrt((c ** 2).mean(axis=(1, 2)))
    assert np.all(rms <= ds.attrs["contrast_budget"] * (1 + 1e-4))
    assert np.all(rms >= 0.9 * ds.attrs["contrast_budget"])
    back = read_dataset(out / "mei.nc", kind="mei")
    assert np.array_equal(back["neuron"].values, ds["neuron"].values)
    assert (out / "mei.png").stat().st_size > 10_000


def test_video_meis_have_the_temporal_kernel_frequency():
    mouse = _mouse(0)
    ds = run(MeiConfig(encoder=EncoderRef(mouse), kind="video", neurons=tuple(range(8))), progress=False)
    p = mouse.properties_
    sel = ds["neuron"].values
    assert ds["mei"].dims == ("neuron", "frame", "y", "x")
    ratio = ds["tf"].values / p["tf_peak_hz"][sel]
    # 32 frames at 30 Hz: about 1 Hz resolution (zero-padded); the kernels peak at 0.8-4 Hz
    assert np.mean(np.abs(ratio - 1) <= 0.3) >= 0.75
    complex_ = p["cell_type"][sel] == "complex"
    # a simple cell's MEI is its filter times its kernel, a standing pattern: no direction
    assert np.all(np.abs(ds["direction_index"].values[~complex_]) < 0.2)
    assert np.mean(ds["activation"].values >= ds["grating_activation"].values) >= 0.95


def test_top_by_response_picks_the_strongest_grating_responders():
    mouse = _mouse(1, 100)
    ds = run(MeiConfig(encoder=EncoderRef(mouse), n_top=3, iterations=2), progress=False)
    assert ds.sizes["neuron"] == 3
    gain = ds["grating_activation"].values - ds["grey_activation"].values
    assert np.all(np.diff(gain) <= 1e-12)  # ranked, strongest first
    osi = run(MeiConfig(encoder=EncoderRef(mouse), top_by="osi", n_top=3, iterations=2), progress=False)
    assert np.all(np.diff(osi["atlas_osi"].values) <= 1e-12) and osi["atlas_responsive"].values.all()


def test_stopper_ends_at_a_plateau():
    stop = PlateauStopper(patience=2, tolerance=0.01)
    losses = [-1.0, -2.0, -2.5, -2.51, -2.515, -2.516]
    stopped = [stop(i + 1, np.array([v])) for i, v in enumerate(losses)]
    assert stopped.index(True) == 4 and stop.stopped_at == 5
    never = PlateauStopper(patience=0)
    assert not any(never(i + 1, np.array([-1.0])) for i in range(10))


def test_budget_projection():
    gen = torch.Generator().manual_seed(0)
    v = GREY + 30 * torch.randn(3, 32, 36, 64, generator=gen)
    v[2] = GREY
    project_to_budget(v, 0.05)
    c = (v - GREY) / GREY
    rms = c.flatten(1).pow(2).mean(1).sqrt()
    assert torch.allclose(rms[:2], torch.tensor(0.05), rtol=1e-4) and rms[2] == 0
    big = project_to_budget(GREY + 100 * torch.randn(1, 32, 36, 64, generator=gen), 0.9)
    assert big.min() >= 0 and big.max() <= 255


def test_bad_input_is_one_clear_error():
    mouse = _mouse(0)
    with pytest.raises(DnemkitError, match="out of range; expected indices 0..299"):
        run(MeiConfig(encoder=EncoderRef(mouse), neurons=(3, 300)), progress=False)
    with pytest.raises(DnemkitError, match="empty selection"):
        parse_neurons(" , ")
    with pytest.raises(DnemkitError, match="empty selection"):
        MeiConfig(neurons=())
    for bad in (0, -0.1, 1.5, float("nan")):
        with pytest.raises(DnemkitError, match="contrast is"):
            MeiConfig(contrast=bad)
    with pytest.raises(DnemkitError, match="kind is"):
        MeiConfig(kind="sound")
    assert parse_neurons("3, 7,10-12") == (3, 7, 10, 11, 12) and parse_neurons("all") is None
