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
from dnemkit.reconstruction import ReconstructionConfig, reconstruct
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
    kept = ds["kept"].values.astype(bool)
    assert (kept[2] <= kept[1]).all() and (kept[1] <= kept[0]).all()  # nested subsets per seed
    assert not np.array_equal(kept[1, 0], kept[1, 1])  # different seeds, different subsets
    assert ds.attrs["dnemkit_kind"] == "ablation"


def test_ablated_neurons_leave_the_loss(mouse):
    """A keep-fraction cell equals a direct reconstruct(neurons=subset) call of the same movies."""
    from dnemkit.experiments.ablation import population_ablation

    movies = np.stack([natural_movie(seed=7000 + k, n_frames=40).values for k in range(2)])
    with torch.no_grad():
        responses = sample_responses(mouse(torch.from_numpy(movies)), 3)
    config = ReconstructionConfig(iterations=2, subbatches_per_pass=64)
    ds = population_ablation(mouse, movies, responses, None, (1, 0.5), (4,), config, progress=False)
    subset = nested_subsets(40, (1, 0.5), 4)[0.5]
    direct = reconstruct(mouse, responses, config=config, neurons=subset, progress=False).ensemble
    from dnemkit.analysis import video_correlation

    r = [video_correlation(movies[j], direct[j], None, config.eval_first_frame) for j in range(2)]
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
    pairs = ablation_statistics(ds, "movie_seed")
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
