"""The error-map experiment (dnemkit.experiments.errormap), on the session's ``errormap`` result
(tests/conftest.py)."""

import numpy as np
import pytest



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
    assert ds["eval_mask"].dtype == bool and ds["train_mask"].dtype == bool  # stored as booleans
    np.testing.assert_array_equal(ds["eval_mask"].values, box_mask)


def test_delta_r_is_the_difference_of_per_neuron_correlations(errormap, results_mouse):
    """Fig. 6C: per neuron, r(recorded, predicted from the true movie) - r(recorded, predicted from the stored
    reconstruction), over the scored frames; the prediction for the reconstruction is the encoder's."""
    import torch

    ds = errormap
    first = ds.attrs["first_eval_frame"]
    with torch.no_grad():
        again = results_mouse(torch.from_numpy(ds["recon_recorded"].values)[None])[0].numpy()
    np.testing.assert_allclose(ds["responses_reconstruction"].values, again, rtol=1e-5, atol=1e-6)
    rec = ds["responses_recorded"].values[:, first:].astype(float)
    expected = []
    for other in ("responses_predicted", "responses_reconstruction"):
        pred = ds[other].values[:, first:].astype(float)
        expected.append([np.corrcoef(rec[i], pred[i])[0, 1] if rec[i].std() > 0 else np.nan
                         for i in range(rec.shape[0])])
    delta = np.array(expected[0]) - np.array(expected[1])
    np.testing.assert_allclose(ds["delta_r"].values, delta, atol=1e-9, equal_nan=True)
    assert float(ds["delta_r_mean"]) == pytest.approx(np.nanmean(delta), abs=1e-12)
    assert ds["pixel_correlation"].dims == ("y", "x")


@pytest.fixture(scope="module")
def recorded_movie(tmp_path_factory, results_mouse):
    """A mouse folder named as simulated mouse 0 holding the synthetic path's movie (natural_movie(5100), 40
    frames), the mouse's Poisson responses and simulated behaviour as trial 0, and another movie as trial 1."""
    from dnemkit.data.sensorium import write_mouse
    from dnemkit.experiments.simulate import mouse_folder_name
    from dnemkit.experiments.targets import recorded_targets
    from dnemkit.stimuli import natural_movie

    seeds = [5100, 5101]
    videos = np.stack([natural_movie(seed=s, n_frames=40).values for s in seeds]).astype(np.float32)
    responses, behavior = recorded_targets(results_mouse, videos, seeds)
    root = tmp_path_factory.mktemp("recorded-movie")
    write_mouse(root, mouse_folder_name(0), [dict(video=videos[j], responses=responses[j], behavior=behavior[j, :2],
                                                  pupil_center=behavior[j, 2:], tier="oracle") for j in range(2)])
    return root


def test_errormap_budget():
    from dnemkit.experiments.errormap import ErrormapConfig

    assert ErrormapConfig.ITERATIONS["paper"] == 40 and ErrormapConfig().recipe == ErrormapConfig.recipe_named("paper")
    assert ErrormapConfig().recipe.iterations == 40 and ErrormapConfig().recipe.name == "paper"


def test_errormap_on_recorded_data_equals_the_synthetic_ground_truth_path(recorded_movie, results_mouse, box_mask):
    from dnemkit.experiments.errormap import ErrormapConfig, run
    from dnemkit.viz.errors import errormap_figures, errormap_movie_frames
    from dnemkit.viz.headlines import errormap_rows

    common = dict(frames=40, recipe=ErrormapConfig.recipe_named("paper", 3), mask=box_mask)
    synthetic = run(ErrormapConfig(encoder=results_mouse, ground_truth=results_mouse, movie_seed=5100, **common),
                    progress=False)
    recorded = run(ErrormapConfig(encoder="synthetic", data=str(recorded_movie), trials=2, **common), progress=False)
    assert recorded.sizes["clip"] == 2 and list(recorded["trial"].values) == [0, 1]
    first = recorded.isel(clip=0)
    for name in ("recon_recorded", "recon_predicted", "e_plus", "e_minus", "responses_predicted",
                 "responses_reconstruction", "delta_r", "pixel_correlation", "video_correlation_recorded",
                 "delta_r_mean", "e_plus_mean"):
        a, b = synthetic[name].values.astype(float), first[name].values.astype(float)
        assert a.shape == b.shape
        assert np.nanmax(np.abs(a - b)) <= 1e-6, name
    assert set(errormap_figures(recorded)) == {"errormap", "errormap_delta_r"}
    assert errormap_movie_frames(recorded).shape == (40, 36, 3 * 64 + 4, 3)
    rows = dict(errormap_rows(recorded))
    assert "2 clip(s) of 1 mouse/mice" in rows["run"]
    assert any(label.startswith("mean delta r") for label in rows)


def test_a_decoder_start_starts_both_reconstructions_from_the_decoders_movies(small_decoder):
    from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
    from dnemkit.experiments.errormap.experiment import error_map_analysis
    from dnemkit.experiments.targets import predicted_targets
    from dnemkit.reconstruction import Recipe, reconstruct
    from dnemkit.stimuli.natural import natural_movie

    mouse = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=40))
    movie = natural_movie(seed=5001, n_frames=64).values.astype(np.float32)
    predicted = predicted_targets(mouse, movie[None])[0].astype(np.float32)
    recorded = np.random.default_rng(0).poisson(predicted).astype(np.float32)
    decoder = small_decoder
    recipe = Recipe.named("fast", iterations=2, start="decoder")
    ds = error_map_analysis(mouse, movie, recorded, None, recipe, progress=False, decoder=decoder)
    targets = np.stack([recorded, predicted])
    direct = reconstruct(mouse, targets, None, recipe, start=decoder.decode(targets), progress=False)
    np.testing.assert_allclose(ds["recon_recorded"].values, direct.ensemble[0], atol=1e-4)
    grey = error_map_analysis(mouse, movie, recorded, None, recipe.replace(start="grey"), progress=False)
    assert np.abs(grey["recon_recorded"].values - ds["recon_recorded"].values).max() > 1.0
