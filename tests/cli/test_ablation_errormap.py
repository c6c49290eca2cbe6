"""`characterize ablation` and `characterize errormap`: tiny runs end to end, and their one-line user errors."""

import pytest

from dnemkit.io.results import read_dataset



def test_ablation_cli_tiny_run(tmp_path, run_cli, factories_file):
    spec = f"{factories_file}:tiny"
    result = run_cli("ablation", "--encoder", spec, "--predicted", "--keep-fraction", "1,0.5", "--movies", 2,
                     "--seeds", 1, "--iterations", 1, "--frames", 32, "--mask", "none", "--out", tmp_path / "a",
                     "--quiet")
    assert result.exit_code == 0, result.output
    assert "repeated-measures ANOVA" in result.output and "Bonferroni" in result.output
    assert read_dataset(tmp_path / "a" / "ablation.nc", kind="ablation")["video_correlation"].shape == (2, 2, 1)
    assert (tmp_path / "a" / "ablation.png").exists()


def test_ablation_cli_with_the_deviance_stopper_says_and_stores_each_subsets_choice(tmp_path, run_cli,
                                                                                     factories_file):
    spec = f"{factories_file}:tiny"
    result = run_cli("ablation", "--encoder", spec, "--ground-truth", spec, "--keep-fraction", "1,0.5", "--movies",
                     2, "--seeds", 1, "--recipe", "fast", "--stopper", "deviance", "--iterations", 30, "--frames",
                     40, "--mask", "none", "--out", tmp_path / "a", "--quiet")
    assert result.exit_code == 0, result.output
    ds = read_dataset(tmp_path / "a" / "ablation.nc", kind="ablation")
    for fraction, label in ((1.0, "100 %"), (0.5, "50 %")):
        chosen = int(ds["iteration_scored"].sel(keep_fraction=fraction, seed=0))
        assert 0 <= chosen <= 30
        line = next(x for x in result.output.splitlines() if x.startswith(f"video r, keep {label}"))
        assert line.endswith(f"the stopper chose iteration {chosen}")


def test_errormap_cli_tiny_run(tmp_path, run_cli, factories_file):
    spec = f"{factories_file}:tiny"
    result = run_cli("errormap", "--encoder", spec, "--ground-truth", spec, "--frames", 32, "--iterations", 1,
                     "--mask", "none", "--out", tmp_path / "e", "--quiet")
    assert result.exit_code == 0, result.output
    for name in ("errormap.nc", "errormap.png", "errormap.mp4"):
        assert (tmp_path / "e" / name).stat().st_size > 0


def test_cli_user_errors(tmp_path, run_cli, assert_one_line_error, factories_file):
    empty = f"{factories_file}:empty"
    tiny = f"{factories_file}:tiny"
    for bad in ("1,1.5", "0,0.5", "-0.25", "1,x"):
        assert_one_line_error(run_cli("ablation", "--keep-fraction", bad, "--out", tmp_path), "--keep-fraction")
    assert_one_line_error(run_cli("ablation", "--encoder", empty, "--out", tmp_path), "0 neurons")
    assert_one_line_error(run_cli("errormap", "--encoder", empty, "--out", tmp_path), "0 neurons")
    # recorded targets need the ground truth's neurons to be the encoder's
    assert_one_line_error(run_cli("errormap", "--encoder", tiny, "--out", tmp_path), "12 neurons", "2000")
    assert not list(tmp_path.glob("*.nc"))


@pytest.fixture(scope="module")
def simulated_mouse(tmp_path_factory, run_cli):
    """A folder `characterize simulate` wrote: one 12-neuron mouse, 3 train trials of 82 frames."""
    root = tmp_path_factory.mktemp("sim")
    result = run_cli("simulate", "--out", root, "--seed", 0, "--trials", 3, "--neurons", 12, "--frames", 82)
    assert result.exit_code == 0, result.output
    return root


def test_ablation_cli_on_a_simulated_mouse(tmp_path, run_cli, simulated_mouse):
    """--data on a folder `characterize simulate` wrote: --encoder synthetic is that mouse's own ground truth; the
    output names the statistics' subjects."""
    result = run_cli("ablation", "--encoder", "synthetic", "--data", simulated_mouse, "--tier", "train", "--trials",
                     2, "--keep-fraction", "1,0.5", "--seeds", 1, "--iterations", 1, "--frames", 40, "--mask", "none",
                     "--out", tmp_path / "a", "--quiet")
    assert result.exit_code == 0, result.output
    assert "subjects: clips (one mouse), n=2" in result.output
    ds = read_dataset(tmp_path / "a" / "ablation.nc", kind="ablation")
    assert ds["video_correlation"].shape == (2, 2, 1) and list(ds["trial"].values) == [0, 1]


def test_errormap_cli_on_a_simulated_mouse(tmp_path, run_cli, simulated_mouse):
    """The same folder through errormap: the output names the mean delta r; the delta r figure is written."""
    result = run_cli("errormap", "--encoder", "synthetic", "--data", simulated_mouse, "--tier", "train", "--trial", 1,
                     "--trial", 2, "--frames", 40, "--iterations", 1, "--mask", "none", "--out", tmp_path / "e",
                     "--quiet", "--no-video")
    assert result.exit_code == 0, result.output
    assert "mean delta r" in result.output and "2 clip(s) of 1 mouse/mice" in result.output
    ds = read_dataset(tmp_path / "e" / "errormap.nc", kind="errormap")
    assert list(ds["trial"].values) == [1, 2] and ds["delta_r"].dims == ("clip", "neuron")
    for name in ("errormap.png", "errormap_delta_r.png"):
        assert (tmp_path / "e" / name).stat().st_size > 0
