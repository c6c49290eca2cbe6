"""Synthetic-stimulus sweeps: grids, resolution vs. the synthetic mouse's known tuning, resume, CLI, Dask."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.stats import spearmanr

from dnemkit.cli import main
from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
from dnemkit.errors import DnemkitError
from dnemkit.reconstruction import Recipe
from dnemkit.reconstruction.config import result_key
from dnemkit.io.results import read_dataset
from dnemkit.stimuli.geometry import DEG_PER_PIXEL, MS_PER_FRAME
from dnemkit.experiments.sweeps import (
    GratingGrid,
    NoiseGrid,
    SweepConfig,
    plan,
    run,
    stimulus,
    synthetic_sf_sensitivity,
)
from dnemkit.experiments.runs import Interrupted
from dnemkit.experiments.runs.ids import unit_id as condition_id
from dnemkit.experiments.sweeps.experiment import choose_baselines
from dnemkit.experiments.sweeps.grids import QUICK_GRATINGS

QUICK_CONDITIONS = (len(QUICK_GRATINGS["sf"]) * len(QUICK_GRATINGS["tf"]) * len(QUICK_GRATINGS["directions"])
                    * QUICK_GRATINGS["repeats"])

TINY = 100  # neurons of the mouse used where only the plumbing is tested
FRAMES = 40  # two 32-frame sub-batches, frames 30..39 evaluated


def alpha_mask():
    """A mask over the synthetic mouse's RF region (centres in rows 12-24, columns 22-42)."""
    alpha = np.zeros((36, 64), np.float32)
    alpha[6:30, 16:48] = 0.7
    alpha[9:27, 20:44] = 1.2
    return alpha


def paper_sweep(grid, encoder, iterations, **options):
    """The SweepConfig of ``grid`` reconstructed with the paper's recipe at ``iterations`` (``options``: the other
    SweepConfig fields)."""
    return SweepConfig(grid=grid, encoder=encoder, recipe=SweepConfig.recipe_named("paper", iterations), **options)


@pytest.fixture(scope="module")
def tiny_mouse():
    return SyntheticMouse(0, SyntheticMouseConfig(n_neurons=TINY))


@pytest.fixture
def tiny_spec(tmp_path):
    """A spec string for the tiny mouse ('file.py:factory') and a mask file, as a user would pass them."""
    path = tmp_path / "tiny_encoder.py"
    path.write_text("from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig\n\n"
                    f"def make():\n    return SyntheticMouse(0, SyntheticMouseConfig(n_neurons={TINY}))\n")
    mask = tmp_path / "alpha.npy"
    np.save(mask, alpha_mask())
    return f"{path}:make", str(mask)


# ----------------------------------------------------------------------------------------------------------------
# grids and ids
# ----------------------------------------------------------------------------------------------------------------
def test_grids_units_and_validation():
    g = GratingGrid(sf=[0.143, 0.018], tf=[15, 0], directions=[0, 90], repeats=2)
    assert g.shape == (2, 2, 2, 2)
    assert np.allclose(g.sf_px, [0.5, 0.018 * DEG_PER_PIXEL])
    same = GratingGrid(sf=[0.5, 0.125], tf=[1], directions=[0], sf_units="cyc/px")
    assert np.allclose(same.sf_cpd, [0.143, 0.125 / DEG_PER_PIXEL])
    params = g.conditions()[-1][1]
    video = stimulus(params)
    assert video.shape == (60, 36, 64) and video.dtype == np.float32 and 0 <= video.min() <= video.max() <= 255
    for bad, match in [(dict(sf=[0]), "sf holds 0"), (dict(sf=[0.2]), "Nyquist"), (dict(tf=[20]), "tf holds 20"),
                       (dict(sf=[]), "sf is empty"), (dict(repeats=0), "repeats"), (dict(directions=["x"]), "x")]:
        with pytest.raises(DnemkitError, match=match):
            GratingGrid(**bad)
    n = NoiseGrid(sigma_space=[0, 2], sigma_time=[0], repeats=2, patch=True)  # sigma = 0 is allowed: unfiltered
    seeds = {p["seed"] for _, p in n.conditions()}
    assert len(seeds) == 4
    noise = stimulus(n.conditions()[0][1])
    assert np.all(noise[:, :, :11] == 127.5) and noise[:, :, 11:47].std() > 40
    coords = n.coords()
    assert np.allclose(coords["sigma_space_deg"][1], [0, 2 * DEG_PER_PIXEL])  # multiplied, not divided (docs/method.md, "Deviations from the reference, chosen")
    with pytest.raises(DnemkitError, match="sigma_space holds -1"):
        NoiseGrid(sigma_space=[-1])


def test_condition_ids_and_baseline_choice():
    grid = GratingGrid(sf=[0.143, 0.071, 0.036], tf=[1.875, 3.75], directions=[0])
    conds = grid.conditions()
    others = choose_baselines(conds, seed=0)
    assert all(o is not None and o != p for (_, p), o in zip(conds, others))
    assert others == choose_baselines(conds, seed=0)  # seeded
    assert others != choose_baselines(conds, seed=1)
    ctx = {"encoder": "abc", "recipe": result_key(Recipe(iterations=5))}
    a = condition_id("gratings", conds[0][1], others[0], ctx)
    assert a == condition_id("gratings", dict(conds[0][1]), others[0], dict(ctx))
    assert a != condition_id("gratings", conds[0][1], others[0], dict(ctx, encoder="abd"))
    cfg6 = dict(ctx, recipe=result_key(Recipe(iterations=6)))
    assert a != condition_id("gratings", conds[0][1], others[0], cfg6)
    # the execution is not part of the key, but for bf16 (it changes the numbers)
    from dnemkit.reconstruction import Execution

    assert result_key(Recipe(iterations=5), Execution(device="cpu", compile=True)) == ctx["recipe"]
    assert result_key(Recipe(iterations=5), Execution(precision="bf16")) != ctx["recipe"]
    # cpd and cyc/px spellings of the same grating are the same condition
    px = GratingGrid(sf=[0.5], tf=[1.875], directions=[0], sf_units="cyc/px").conditions()[0][1]
    assert condition_id("gratings", px, None, ctx) == condition_id("gratings", conds[0][1], None, ctx)


def test_sweep_config_defaults_to_the_fast_recipe():
    """Python and the command line default to the same recipe: the fast one at 60 iterations."""
    config = SweepConfig(grid=GratingGrid(sf=[0.036], tf=[1], directions=[0]), encoder="synthetic")
    assert config.recipe == Recipe.named("fast", iterations=60)
    assert SweepConfig.recipe_named("paper").iterations == 100
    with pytest.raises(DnemkitError, match="expected a Recipe"):
        SweepConfig(recipe=Recipe().to_dict())
    with pytest.raises(DnemkitError, match="n_frames is 31"):  # frames >= 30 are scored, in 32-frame sub-batches
        SweepConfig(grid=GratingGrid(sf=[0.036], tf=[1], directions=[0], n_frames=31))


# ----------------------------------------------------------------------------------------------------------------
# done-when: the synthetic mouse's grating resolution follows its known sf tuning
# ----------------------------------------------------------------------------------------------------------------
def test_grating_resolution_follows_synthetic_sf_tuning():
    """Reconstruction r falls with sf in the rank order of the analytic population sensitivity.

    Analytic expectation (dnemkit.experiments.sweeps.expectations): a neuron with a unit-norm Gabor (isotropic envelope sigma,
    carrier f0) is driven by a grating of spatial frequency f in proportion to its Fourier amplitude averaged over
    orientations, A(f) = sigma exp(-2 pi^2 sigma^2 (f^2 + f0^2)) I0(4 pi^2 sigma^2 f f0); the population
    sensitivity S(f) = mean over neurons of A(f) is about 0.52, 0.41, 0.16, 0.02 at 0.018, 0.036, 0.071,
    0.143 cpd - it falls sharply above ~0.04 cpd. The measured ensemble r (tf 1.875 Hz, inside the population's
    1-4 Hz passband) must be non-increasing with sf and rank-match S(f).
    """
    torch.manual_seed(0)
    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=300))
    sf = [0.143, 0.071, 0.036, 0.018]
    grid = GratingGrid(sf=sf, tf=[1.875], directions=[0], repeats=1, n_frames=FRAMES)
    ds = run(paper_sweep(grid, mouse, 30, mask=alpha_mask(), batch=4), progress=False)
    r = ds["resolution"].sel(tf=1.875).values  # ensemble r, mean over direction, repeat, phase; order of sf
    expected = synthetic_sf_sensitivity(mouse, sf)
    order = np.argsort(sf)  # ascending sf
    assert np.all(np.diff(expected[order]) < 0)  # the analytic curve falls over the whole grid
    assert np.all(np.diff(r[order]) <= 0.02), f"r not non-increasing with sf: {dict(zip(sf, r.round(3)))}"
    assert spearmanr(r, expected).correlation > 0.99
    assert r[order[:3]].min() > r[order[-1]] + 0.2  # low-sf rows beat the highest sf by a margin
    assert r[order[0]] > 0.4
    assert ds["cutoff_sf_best"].attrs["status"] == "interpolated"
    assert 0.071 < float(ds["cutoff_sf_best"]) < 0.143
    # the reconstruction follows the stimulus: its phase-inverted twin reconstructs as the negative
    low = ds["phase_inversion_correlation"].sel(sf=0.018).item()
    assert low < -0.5
    assert abs(ds["baseline_correlation"].sel(sf=0.018).mean().item()) < r[order[0]]


# ----------------------------------------------------------------------------------------------------------------
# results files, resume, interruption
# ----------------------------------------------------------------------------------------------------------------
def test_resume_after_interrupt_recomputes_nothing_stored(tmp_path, tiny_mouse):
    out = tmp_path / "res"
    grid = GratingGrid(sf=[0.143, 0.036], tf=[3.75, 1.875], directions=[0], repeats=1, n_frames=FRAMES)
    config = paper_sweep(grid, tiny_mouse, 2, mask=alpha_mask(), batch=2)
    calls = []

    def interrupt(line):  # Ctrl-C as the first batch is stored
        calls.append(line)
        if line.startswith("stored "):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        run(config, out=out, progress=False, log=interrupt)
    assert info.value.done == 2 and info.value.total == 4
    assert calls[-1] == "stored 2 condition(s) of 2 (2/4 done)"
    store = out / "gratings.store"
    first_batch = [it["id"] for it in plan(config, progress=False).items[:2]]
    assert sorted(p.stem for p in store.glob("*.nc")) == sorted(first_batch)
    partial = read_dataset(out / "gratings.nc", kind="gratings")  # valid file of what is done
    assert int(partial["computed"].sum()) == 2 and partial.attrs["complete"] == 0
    assert np.isfinite(partial["video_correlation_ensemble"]).sum() == 2 * 2  # 2 conditions x 2 phases

    # a killed writer's temporary is ignored; a damaged stored file is recomputed, not trusted
    (store / ".junk.abc123.tmp.nc").write_bytes(b"half a file")
    ds = run(config, out=out, progress=False)
    assert ds.attrs["conditions_computed"] == 2 and ds.attrs["conditions_reused"] == 2
    assert ds.attrs["complete"] == 1 and int(ds["computed"].sum()) == 4
    again = run(config, out=out, progress=False)
    assert again.attrs["conditions_computed"] == 0
    np.testing.assert_array_equal(again["video_correlation"].values, ds["video_correlation"].values)
    victim = sorted(p for p in store.glob("*.nc") if not p.name.startswith("."))[0]
    victim.write_bytes(b"not netcdf")
    with pytest.warns(UserWarning, match="unreadable"):
        healed = run(config, out=out, progress=False)
    assert healed.attrs["conditions_computed"] == 1
    # a changed config never reuses stale conditions
    changed = run(config.replace(recipe=config.recipe.replace(iterations=3)), out=out, progress=False)
    assert changed.attrs["conditions_computed"] == 4


def test_noise_results_layout(tmp_path, tiny_mouse):
    grid = NoiseGrid(sigma_space=[0, 2], sigma_time=[0, 4], repeats=1, n_frames=FRAMES)
    ds = run(paper_sweep(grid, tiny_mouse, 2, mask=alpha_mask(), batch=4), out=tmp_path, progress=False)
    on_disk = read_dataset(tmp_path / "noise.nc", kind="noise")
    v = on_disk["video_correlation"]
    assert v.dims == ("sigma_space", "sigma_time", "repeat", "phase", "model")
    assert list(on_disk["phase"].values) == ["original", "inverted"]
    assert on_disk["video_correlation_ensemble"].dims == ("sigma_space", "sigma_time", "repeat", "phase")
    assert np.allclose(on_disk["sigma_space_deg"], on_disk["sigma_space"] * DEG_PER_PIXEL)
    assert np.allclose(on_disk["sigma_time_ms"], on_disk["sigma_time"] * MS_PER_FRAME)
    assert on_disk["sigma_space"].attrs["units"] == "pixel" and on_disk["sigma_time_ms"].attrs["units"] == "ms"
    for name in ("ensembling_gain", "entropy_stimulus", "entropy_reconstruction", "motion_energy_stimulus",
                 "motion_energy_reconstruction", "baseline_correlation", "phase_inversion_correlation"):
        assert np.isfinite(on_disk[name]).all(), name
    # temporally white noise moves more than temporally smooth noise
    me = on_disk["motion_energy_stimulus"].sel(phase="original", repeat=0)
    assert (me.sel(sigma_time=0) > 2 * me.sel(sigma_time=4)).all()
    assert on_disk.attrs["threshold"] == 0.2 and "config" in on_disk.attrs and on_disk.attrs["seed"] == 0
    from dnemkit.viz.heatmaps import plot_resolution_heatmap
    from dnemkit.viz.save import save_figure

    # the experiment writes its own figures (the heatmap) beside the dataset, and lists them
    assert (tmp_path / "noise.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {tmp_path / "noise.nc", tmp_path / "noise.png"} <= set(ds.encoding["files"])
    png = save_figure(plot_resolution_heatmap(on_disk), tmp_path / "again.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert ds.attrs["complete"] == 1


# ----------------------------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------------------------
def test_cli_quick_gratings_writes_heatmap_and_resumes(tmp_path, tiny_spec):
    spec, mask = tiny_spec
    out = tmp_path / "out"
    args = ["gratings", "--quick", "--encoder", spec, "--mask", mask, "--iterations", "2", "--frames", "40",
            "--out", str(out), "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "cut-off (r > 0.2): sf" in result.output
    assert f"computed {QUICK_CONDITIONS} condition(s), reused 0" in result.output
    png = (out / "gratings.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert 600 <= width <= 2000 and 400 <= height <= 2000
    ds = read_dataset(out / "gratings.nc", kind="gratings")
    assert ds.sizes["sf"] == len(QUICK_GRATINGS["sf"]) and ds.sizes["tf"] == len(QUICK_GRATINGS["tf"])
    assert ds.sizes["direction"] == 1
    assert ds["sf"].attrs["units"] == "cycles/degree" and ds["tf"].attrs["units"] == "Hz"
    assert np.allclose(ds["sf_cyc_per_px"], ds["sf"] * DEG_PER_PIXEL)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and f"computed 0 condition(s), reused {QUICK_CONDITIONS}" in again.output


def test_cli_interrupted_sweep_resumes(tmp_path, tiny_spec, monkeypatch):
    import dnemkit.experiments.sweeps.experiment as run_module

    spec, mask = tiny_spec
    out = tmp_path / "out"
    args = ["gratings", "--quick", "--encoder", spec, "--mask", mask, "--iterations", "1", "--frames", "40",
            "--batch", "2", "--out", str(out), "--quiet"]
    real, calls = run_module.compute_batch, []

    def ctrl_c_on_second_batch(*a, **k):
        calls.append(len(a[1]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(run_module, "compute_batch", ctrl_c_on_second_batch)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 130 and f"Interrupted: 2 of {QUICK_CONDITIONS} conditions" in result.output
    assert "Traceback" not in result.output
    assert int(read_dataset(out / "gratings.nc")["computed"].sum()) == 2
    calls.clear()
    monkeypatch.setattr(run_module, "compute_batch", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    resumed = CliRunner().invoke(main, args)
    assert resumed.exit_code == 0 and f"computed {QUICK_CONDITIONS - 2} condition(s), reused 2" in resumed.output
    assert calls == [2] * ((QUICK_CONDITIONS - 2) // 2)  # only the remaining conditions, in batches of 2


@pytest.mark.parametrize("args, needle", [
    (["gratings", "--sf", "0,0.036"], "sf"),
    (["gratings", "--sf", "-0.1"], "sf"),
    (["gratings", "--tf", "3.75,20"], "tf holds 20"),
    (["gratings", "--sf", ""], "--sf"),
    (["gratings", "--sf", ","], "--sf"),
    (["gratings", "--directions", "0,north"], "north"),
    (["gratings", "--repeats", "0"], "--repeats"),
    (["noise", "--sigma-space=-1"], "sigma_space holds -1"),
    (["noise", "--sigma-time", "1,x"], "--sigma-time"),
    (["noise", "--repeats", "0"], "--repeats"),
    (["gratings", "--executor", "local", "--scheduler", "tcp://nowhere:1", "--sf", "0.036", "--tf", "1",
      "--directions", "0"], "scheduler"),
])
def test_cli_user_errors_are_one_line(args, needle, tmp_path, tiny_spec, assert_one_line_error):
    spec, mask = tiny_spec
    result = CliRunner().invoke(main, args + ["--encoder", spec, "--mask", mask, "--out", str(tmp_path)])
    assert_one_line_error(result, needle)
    assert not (tmp_path / "gratings.nc").exists()


# ----------------------------------------------------------------------------------------------------------------
# Dask
# ----------------------------------------------------------------------------------------------------------------
def test_dask_executor_matches_local(tmp_path, tiny_spec):
    from distributed import LocalCluster

    spec, mask = tiny_spec
    grid = GratingGrid(sf=[0.143, 0.036], tf=[1.875], directions=[0], repeats=1, n_frames=FRAMES)
    config = paper_sweep(grid, spec, 2, mask=mask, batch=1)
    local = run(config, out=tmp_path / "local", progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = run(config.replace(executor="dask", scheduler=cluster.scheduler_address), out=tmp_path / "dask",
                     progress=False)
    assert remote.attrs["conditions_computed"] == 2
    for name in ("video_correlation", "video_correlation_ensemble", "baseline_correlation",
                 "phase_inversion_correlation", "entropy_reconstruction", "motion_energy_reconstruction"):
        np.testing.assert_allclose(remote[name].values, local[name].values, rtol=1e-5, atol=1e-6, err_msg=name)
    assert sorted(p.name for p in (tmp_path / "dask" / "gratings.store").glob("*.nc")) == \
        sorted(p.name for p in (tmp_path / "local" / "gratings.store").glob("*.nc"))


def test_a_decoder_start_in_a_sweep_batch_starts_from_the_decoders_movies(small_decoder):
    from dnemkit.analysis.metrics import ensembling_gain
    from dnemkit.experiments.sweeps.compute import compute_batch, stimulus
    from dnemkit.experiments.targets import predicted_targets
    from dnemkit.reconstruction import reconstruct

    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=40))  # the small decoder's neurons
    grid = GratingGrid(sf=[0.1], sf_units="cyc/px", tf=[2.0], directions=[0.0, 90.0], repeats=1, n_frames=FRAMES)
    items = [{"params": params, "other": None, "id": str(index)} for index, params in grid.conditions()]
    recipe = Recipe.named("fast", iterations=2, start="decoder")
    records = compute_batch(mouse, items, recipe, decoder=small_decoder)
    gts = np.stack([stimulus(it["params"]) for it in items])
    videos = np.concatenate([gts, 255.0 - gts]).astype(np.float32)
    targets = predicted_targets(mouse, videos)
    direct = reconstruct(mouse, targets, None, recipe, start=small_decoder.decode(targets), progress=False)
    for k, record in enumerate(records):
        want = ensembling_gain(gts[k], direct.videos[:, k], ensemble_recon=direct.ensemble[k],
                               first_frame=30)["ensemble_r"]
        assert float(record["values"]["video_correlation_ensemble"][0]) == pytest.approx(want, abs=1e-5)
    grey = compute_batch(mouse, items, recipe.replace(start="grey"))
    assert abs(float(grey[0]["values"]["video_correlation_ensemble"][0])
               - float(records[0]["values"]["video_correlation_ensemble"][0])) > 1e-3
