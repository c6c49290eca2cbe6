"""The population ablation (dnemkit.experiments.ablation) and its statistics (dnemkit.analysis.ablation),
on the session's tiny ``ablation`` result (tests/conftest.py)."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from statsmodels.stats.anova import AnovaRM

from dnemkit.analysis.ablation import ablation_statistics, nested_subsets
from dnemkit.encoders import sample_responses
from dnemkit.reconstruction import Execution, Recipe, reconstruct
from dnemkit.video import EVAL_FIRST_FRAME
from dnemkit.io.results import read_dataset, write_dataset
from dnemkit.stimuli import natural_movie


@pytest.fixture(scope="module")
def mouse(results_mouse):
    """The 40-neuron synthetic mouse behind ``ablation``."""
    return results_mouse


def test_ablation_dataset_dims_and_subsets(ablation, mouse):
    ds = ablation
    assert ds["video_correlation"].dims == ("keep_fraction", "movie", "seed")
    assert ds["video_correlation"].shape == (3, 3, 2)
    assert list(ds["keep_fraction"].values) == [1.0, 0.5, 0.25]
    assert list(ds["movie"].values) == [5000, 5001, 5002]
    assert np.isfinite(ds["video_correlation"].values).all()
    assert list(ds["n_kept"].values) == [40, 20, 10]
    # the full population is one reconstruction shared by every seed; each other subset is its own call
    np.testing.assert_array_equal(ds["video_correlation"].values[0, :, 0], ds["video_correlation"].values[0, :, 1])
    assert ds.attrs["reconstruction_calls"] == 1 + 2 * 2
    assert ds["kept"].dtype == bool
    kept = ds["kept"].values
    assert (kept[2] <= kept[1]).all() and (kept[1] <= kept[0]).all()  # nested subsets per seed
    assert not np.array_equal(kept[1, 0], kept[1, 1])  # different seeds, different subsets
    assert ds.attrs["dnemkit_kind"] == "ablation"


def test_ablated_neurons_leave_the_loss(mouse):
    """A keep-fraction cell equals a direct reconstruct(neurons=subset) call of the same movies."""
    from dnemkit.experiments.ablation import population_ablation

    movies = np.stack([natural_movie(seed=7000 + k, n_frames=40).values for k in range(2)])
    with torch.no_grad():
        responses = sample_responses(mouse(torch.from_numpy(movies)), np.random.default_rng(3))
    recipe, execution = Recipe(iterations=2), Execution(subbatches_per_pass=64)
    ds = population_ablation(mouse, movies, responses, None, keep_fractions=(1, 0.5), seeds=(4,),
                             recipe=recipe, execution=execution, progress=False)
    subset = nested_subsets(40, fractions=(1, 0.5), rng=np.random.default_rng(4))[0.5]
    direct = reconstruct(mouse, responses, recipe=recipe, execution=execution, neurons=subset,
                         progress=False).ensemble
    from dnemkit.analysis import video_correlation

    r = [video_correlation(movies[j], direct[j], mask=None, first_frame=EVAL_FIRST_FRAME) for j in range(2)]
    np.testing.assert_allclose(ds["video_correlation"].sel(keep_fraction=0.5, seed=4).values, r, rtol=1e-6)
    assert (ds["iteration_scored"].values == 2).all()  # no stopper: the recipe's iterations
    # with the deviance stopper each subset stops on its own; a cell is the stopper's choice for that subset
    recipe = Recipe.named("fast", iterations=40, stopper="deviance", stopper_every=2, stopper_patience=6)
    ds = population_ablation(mouse, movies, responses, None, keep_fractions=(1, 0.5), seeds=(4,),
                             recipe=recipe, execution=execution, progress=False)
    direct = reconstruct(mouse, responses, recipe=recipe, execution=execution, neurons=subset, progress=False)
    assert int(ds["iteration_scored"].sel(keep_fraction=0.5, seed=4)) == direct.stopped_at
    r = [video_correlation(movies[j], direct.ensemble[j], mask=None, first_frame=EVAL_FIRST_FRAME) for j in range(2)]
    np.testing.assert_allclose(ds["video_correlation"].sel(keep_fraction=0.5, seed=4).values, r, rtol=1e-6)


def test_ablation_statistics_equal_scipy_and_statsmodels(ablation):
    ds = read_dataset_roundtrip(ablation)
    table = ds["video_correlation"].mean("seed").transpose("movie", "keep_fraction").values
    frame = pd.DataFrame({"subject": np.repeat(np.arange(3), 3), "level": np.tile(["a", "b", "c"], 3),
                          "value": table.ravel()})
    expected = AnovaRM(frame, depvar="value", subject="subject", within=["level"]).fit().anova_table.iloc[0]
    assert float(ds["anova_F"]) == pytest.approx(expected["F Value"], rel=1e-9)
    assert float(ds["anova_p"]) == pytest.approx(expected["Pr > F"], rel=1e-9)
    assert float(ds["anova_df_den"]) == 4
    for c in range(2):
        res = stats.ttest_rel(table[:, c + 1], table[:, c])
        assert float(ds["test_t"][c]) == pytest.approx(res.statistic, rel=1e-9)
        assert float(ds["test_p"][c]) == pytest.approx(res.pvalue, rel=1e-9)
        assert float(ds["test_p_bonferroni"][c]) == pytest.approx(min(1.0, 2 * res.pvalue), rel=1e-9)
    # movie x seed pairs as subjects
    pairs = ablation_statistics(ds, subjects="movie_seed")
    table2 = ds["video_correlation"].transpose("keep_fraction", "movie", "seed").values.reshape(3, -1).T
    res = stats.ttest_rel(table2[:, 2], table2[:, 1])
    assert float(pairs["test_t"][1]) == pytest.approx(res.statistic, rel=1e-9)
    assert pairs.attrs["n_subjects"] == 6


def read_dataset_roundtrip(ds, tmp=None):
    """Write and read back, as a user of ablation.nc would see the numbers."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = write_dataset(ds, Path(folder) / "ablation.nc")
        return read_dataset(path, kind="ablation")


# ------------------------------------------------------------------------------------------------ recorded data
@pytest.fixture(scope="module")
def recorded_copy(tmp_path_factory, mouse):
    """A Sensorium-layout folder, named as `characterize simulate` names synthetic mouse 0, holding exactly what the
    synthetic-ground-truth path reconstructs: movies natural_movie(5000 + j, 40 frames), the mouse's Poisson
    responses and simulated behaviour (trials 0, 1), plus one unlabelled trial (2)."""
    from dnemkit.data.sensorium import write_mouse
    from dnemkit.experiments.simulate import mouse_folder_name
    from dnemkit.experiments.targets import recorded_targets

    seeds = [5000, 5001]
    videos = np.stack([natural_movie(seed=s, n_frames=40).values for s in seeds]).astype(np.float32)
    responses, behavior = recorded_targets(mouse, videos, seeds)
    records = [dict(video=videos[j], responses=responses[j], behavior=behavior[j, :2], pupil_center=behavior[j, 2:],
                    tier="oracle") for j in range(2)]
    records.append(dict(records[0], responses=None, tier="final_test_main"))
    root = tmp_path_factory.mktemp("recorded")
    write_mouse(root, mouse_folder_name(0), records, pad_to=50)
    return root


@pytest.fixture(scope="module")
def two_mice(tmp_path_factory):
    """Two simulated 40-neuron mice (seeds 0 and 1; 3 train trials of 82 frames each)."""
    from dnemkit.experiments.simulate import simulate

    root = tmp_path_factory.mktemp("two-mice")
    for seed in (0, 1):
        simulate(root, seed=seed, trials=3, n_neurons=40, frames=82)
    return root


def test_ablation_on_recorded_data_equals_the_synthetic_ground_truth_path(recorded_copy, mouse):
    """The same movies, responses and behaviour through --data (read back from disk, the encoder found from the
    folder's name) and through the synthetic mouse's own path give the same numbers."""
    from dnemkit.experiments.ablation import AblationConfig, run

    common = dict(keep_fractions=(1, 0.5), seeds=2, recipe=AblationConfig.recipe_named("paper", 2), frames=40,
                  mask="none")
    synthetic = run(AblationConfig(encoder=mouse, ground_truth=mouse, movies=2, **common), progress=False)
    recorded = run(AblationConfig(encoder="synthetic", data=str(recorded_copy), trials=2, **common), progress=False)
    for name in ("video_correlation", "frame_correlation", "subject_correlation", "test_t", "test_p"):
        a, b = synthetic[name].values, recorded[name].values
        assert a.shape == b.shape and np.isfinite(a).all()
        assert np.abs(a - b).max() <= 1e-6, name
    assert float(abs(synthetic["anova_F"] - recorded["anova_F"])) <= 1e-6
    # one mouse: the subjects are its clips, and the output says so
    assert recorded.attrs["subjects"] == "movie" and recorded.attrs["n_subjects"] == 2
    assert list(recorded["trial"].values) == [0, 1] and "synthetic0000" in str(recorded["mouse"].values[0])
    from dnemkit.viz.headlines import ablation_rows

    text = "\n".join(f"{a}: {b}" for a, b in ablation_rows(recorded))
    assert "subjects: clips (one mouse), n=2" in text


def test_ablation_over_mice_uses_each_mouse_and_tests_across_mice(two_mice):
    """Several mice: each mouse reconstructed with its own ground truth (synthetic:SEED as simulated), the
    statistics' subjects are the mice (mean over their clips and seeds), as in the paper's Fig. 5."""
    from dnemkit.data import find_mouse
    from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
    from dnemkit.experiments.ablation import AblationConfig, population_ablation, run
    from dnemkit.experiments.simulate import mouse_folder_name

    config = AblationConfig(encoder="synthetic", data=str(two_mice), tiers="train", trials=2, keep_fractions=(1, 0.5),
                            seeds=1, recipe=AblationConfig.recipe_named("paper", 2), frames=82, mask="none")
    ds = run(config, progress=False)
    assert ds.attrs["subjects"] == "mouse" and ds.attrs["n_subjects"] == 2
    assert list(ds["mouse_folder"].values) == [mouse_folder_name(0), mouse_folder_name(1)]
    assert ds["video_correlation"].shape == (2, 4, 1)
    assert ds["iteration_scored"].dims == ("mouse_folder", "keep_fraction", "seed")
    assert (ds["iteration_scored"].values == 2).all()
    # mouse 1's clips, reconstructed directly with its own ground truth, give its cells
    m1 = find_mouse(two_mice, mouse_folder_name(1))
    trials = [m1.trial(t) for t in (0, 1)]
    direct = population_ablation(SyntheticMouse(1, SyntheticMouseConfig(n_neurons=40)),
                                 np.stack([t.video for t in trials]), np.stack([t.responses for t in trials]),
                                 np.stack([t.behavior4 for t in trials]), keep_fractions=(1, 0.5), seeds=(0,),
                                 recipe=config.recipe, progress=False)
    np.testing.assert_allclose(ds["video_correlation"].values[:, 2:], direct["video_correlation"].values, atol=1e-6)
    # the subject table: per mouse, the mean over its clips; the t-test across mice
    v = ds["video_correlation"].values[..., 0]
    table = np.stack([v[:, :2].mean(1), v[:, 2:].mean(1)])
    np.testing.assert_allclose(ds["subject_correlation"].values, table, atol=1e-12)
    res = stats.ttest_rel(table[:, 1], table[:, 0])
    assert float(ds["test_t"][0]) == pytest.approx(res.statistic, rel=1e-9)
    assert ds["n_kept"].dims == ("mouse_folder", "keep_fraction")
    assert ds["eval_mask_equivalent_diameter_deg"].dims == ("mouse_folder",)
    from dnemkit.viz.ablation import ablation_figures
    from dnemkit.viz.headlines import ablation_rows

    assert "subjects: mice, n=2" in "\n".join(f"{a}: {b}" for a, b in ablation_rows(ds))
    assert set(ablation_figures(ds)) == {"ablation"}


def test_recorded_data_errors_come_before_any_work(recorded_copy, two_mice):
    from dnemkit.encoders import SyntheticMouse, SyntheticMouseConfig
    from dnemkit.errors import DnemkitError
    from dnemkit.encoders.ref import EncoderRef
    from dnemkit.experiments.ablation import AblationConfig, run

    small = SyntheticMouse(0, SyntheticMouseConfig(n_neurons=12))
    with pytest.raises(DnemkitError, match="predicts 12 neurons but mouse .* has 40"):
        run(AblationConfig(encoder=small, data=str(recorded_copy), trials=1, frames=40), progress=False)
    with pytest.raises(DnemkitError, match="has 2 labelled trial"):
        run(AblationConfig(encoder="synthetic", data=str(recorded_copy), trials=3, frames=40))
    with pytest.raises(DnemkitError, match="no recorded responses"):
        run(AblationConfig(encoder="synthetic", data=str(recorded_copy), trial_ids=(2,), frames=40))
    with pytest.raises(DnemkitError, match="without --data"):
        AblationConfig(trials=2)
    with pytest.raises(DnemkitError, match="--mouse 0 picks one readout"):
        run(AblationConfig(encoder=EncoderRef("demo", 0, 1), data=str(two_mice), tiers="train", trials=1))
    with pytest.raises(DnemkitError, match="holds 2 mice but encoder 'demo' does not name them"):
        run(AblationConfig(encoder="demo", data=str(two_mice), tiers="train", trials=1))
