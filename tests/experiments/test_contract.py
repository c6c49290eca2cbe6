"""The experiment contract (dnemkit.experiments.contract): every experiment is one
``run(config=None, *, out=None, progress=True, log=None)``; a command and its Python config give the same dataset
for the same options; the defaults a command's --help shows are its config dataclass's.
"""

import ast
import dataclasses
import importlib
import inspect
import re
from pathlib import Path

import click
import numpy as np
import pytest

import dnemkit.experiments
from dnemkit.encoders.ref import EncoderRef
from dnemkit.experiments.contract import field_defaults
from dnemkit.io.results import read_dataset
from dnemkit.reconstruction import Execution
from dnemkit.units import missing_units, stray_units

EXPERIMENTS = ("natural", "sweeps", "tuning", "rf", "ablation", "errormap", "study", "mei")



# ---------------------------------------------------------------------------------------------------- (a) run()
def _experiments_defining_run():
    """Names of the experiments (top-level modules or packages of dnemkit.experiments) with a module-level
    ``def run``, found in the source (nothing imported)."""
    root = Path(dnemkit.experiments.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in tree.body):
            found.add(path.relative_to(root).parts[0].removesuffix(".py"))
    return found


def test_every_experiment_with_a_run_is_listed():
    assert _experiments_defining_run() == set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_run_has_the_contracts_signature(name):
    run = importlib.import_module(f"dnemkit.experiments.{name}").run
    params = list(inspect.signature(run).parameters.values())
    assert [p.name for p in params] == ["config", "out", "progress", "log"]
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    assert [p.default for p in params[1:]] == [None, True, None]
    assert params[0].default is None


# ------------------------------------------------------------------------------------------- (b) CLI == Python
def _invoke(args):
    from click.testing import CliRunner

    from dnemkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


#: attributes and variables that differ between two identical runs: when and how long
def _timing(name):
    return name == "created" or "seconds" in name or "per_second" in name


def _same(a, b):
    """Equal values, NaN equal to NaN (attributes may hold NaN numbers and arrays)."""
    if isinstance(a, (np.ndarray, np.generic, float)) or isinstance(b, (np.ndarray, np.generic, float)):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind in "fc" and b.dtype.kind in "fc":
            return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        return a.shape == b.shape and np.array_equal(a, b)
    return a == b


def _assert_same_dataset(a, b):
    assert sorted(a.data_vars) == sorted(b.data_vars)
    assert sorted(a.coords) == sorted(b.coords)
    for name in [*a.coords, *a.data_vars]:
        if _timing(name):
            continue
        assert a[name].dims == b[name].dims, name
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)  # NaN == NaN here
        assert sorted(a[name].attrs) == sorted(b[name].attrs), name
        for key in a[name].attrs:
            assert _same(a[name].attrs[key], b[name].attrs[key]), (name, key, a[name].attrs[key], b[name].attrs[key])
    keys = sorted(k for k in a.attrs if not _timing(k))
    assert keys == sorted(k for k in b.attrs if not _timing(k))
    for key in keys:
        assert _same(a.attrs[key], b.attrs[key]), (key, a.attrs[key], b.attrs[key])


def _natural(tmp_path, spec, data):
    from dnemkit.experiments.natural import NaturalConfig
    from dnemkit.stimuli import natural_movie

    movie = tmp_path / "movie.npy"
    np.save(movie, natural_movie(seed=11, n_frames=40).values.astype(np.float32))
    args = ["natural", "--encoder", "synthetic", "--movie", movie, "--iterations", 2, "--keep-fraction", 0.5,
            "--no-video"]
    return args, NaturalConfig(encoder="synthetic", movie=str(movie), keep_fraction=0.5,
                               recipe=NaturalConfig.recipe_named(iterations=2), video=False)


def _natural_paper(tmp_path, spec, data):
    from dnemkit.experiments.natural import NaturalConfig

    _, config = _natural(tmp_path, spec, data)
    args = ["natural", "--encoder", "synthetic", "--movie", config.movie, "--keep-fraction", 0.5, "--paper",
            "--gradient-ensembling", "--iterations", 2, "--mask", "none", "--no-video"]
    recipe = NaturalConfig.recipe_named("paper", 2).replace(ensembling="gradient")
    return args, NaturalConfig.paper(encoder="synthetic", movie=config.movie, keep_fraction=0.5, mask="none",
                                     recipe=recipe, video=False)


def _gratings(tmp_path, spec, data):
    from dnemkit.experiments.sweeps import GratingGrid, SweepConfig

    args = ["gratings", "--encoder", "synthetic", "--sf", "0.036,0.143", "--tf", 1, "--directions", 0, "--frames", 40,
            "--iterations", 2]
    grid = GratingGrid(sf=[0.036, 0.143], tf=[1], directions=[0], n_frames=40)
    return args, SweepConfig(grid=grid, encoder="synthetic", recipe=SweepConfig.recipe_named(iterations=2))


def _noise(tmp_path, spec, data):
    from dnemkit.experiments.sweeps import NoiseGrid, SweepConfig

    args = ["noise", "--encoder", "synthetic", "--sigma-space", "0,2", "--sigma-time", 0, "--repeats", 1,
            "--frames", 40, "--iterations", 2, "--recipe", "paper"]
    grid = NoiseGrid(sigma_space=[0, 2], sigma_time=[0], repeats=1, n_frames=40)
    return args, SweepConfig(grid=grid, encoder="synthetic", recipe=SweepConfig.recipe_named("paper", 2))


def _rf(tmp_path, spec, data):
    from dnemkit.experiments.rf import RFConfig

    args = ["rf", "--encoder", "synthetic", "--step", 6, "--fit-max", 3]
    return args, RFConfig(encoder="synthetic", step=6, fit_max=3)


def _ablation(tmp_path, spec, data):
    from dnemkit.experiments.ablation import AblationConfig

    args = ["ablation", "--encoder", spec, "--predicted", "--keep-fraction", "1,0.5", "--movies", 2, "--seeds", 1,
            "--iterations", 1, "--frames", 32]
    return args, AblationConfig(encoder=spec, predicted=True, keep_fractions=(1, 0.5), movies=2, seeds=1,
                                recipe=AblationConfig.recipe_named(iterations=1), frames=32)


def _ablation_data(tmp_path, spec, data):
    from dnemkit.experiments.ablation import AblationConfig

    args = ["ablation", "--encoder", "synthetic", "--data", data, "--tier", "train", "--trials", 2, "--keep-fraction",
            "1,0.5", "--seeds", 1, "--iterations", 1, "--frames", 40, "--mask", "none"]
    return args, AblationConfig(encoder="synthetic", data=str(data), tiers=("train",), trials=2,
                                keep_fractions=(1, 0.5), seeds=1, recipe=AblationConfig.recipe_named(iterations=1),
                                frames=40, mask="none")


def _errormap(tmp_path, spec, data):
    from dnemkit.experiments.errormap import ErrormapConfig

    args = ["errormap", "--encoder", spec, "--ground-truth", spec, "--frames", 32, "--iterations", 1, "--no-video"]
    return args, ErrormapConfig(encoder=spec, ground_truth=spec, frames=32,
                                recipe=ErrormapConfig.recipe_named(iterations=1), video=False)


def _tuning(tmp_path, spec, data):
    from dnemkit.experiments.tuning import TuningConfig

    args = ["tuning", "--encoder", spec, "--sf", "0.036,0.071", "--tf", "1,4", "--directions", "0,90,180,270",
            "--n-frames", 40, "--examples", 2]
    return args, TuningConfig(encoder=spec, sf=(0.036, 0.071), tf=(1, 4), directions=(0, 90, 180, 270), n_frames=40,
                              examples=2)


def _study(tmp_path, spec, data):
    from dnemkit.experiments.study import StudyConfig

    args = ["study", "--data", data, "--encoder", "synthetic", "--tier", "oracle", "--trials", 1, "--iterations", 2,
            "--mask", "none"]
    return args, StudyConfig(data=str(data), encoder="synthetic", tiers=("oracle",), trials=1,
                             recipe=StudyConfig.recipe_named(iterations=2), mask="none")


def _mei(tmp_path, spec, data):
    from dnemkit.experiments.mei import MeiConfig

    args = ["mei", "--encoder", spec, "--neurons", "0-1", "--iterations", 2]
    return args, MeiConfig(encoder=EncoderRef(spec), neurons=(0, 1), iterations=2)


#: (command case, kind of its dataset, how it is built, marks)
CASES = [
    ("natural", "natural", _natural, ()),
    ("natural-paper", "natural", _natural_paper, ()),
    ("gratings", "gratings", _gratings, ()),
    ("noise", "noise", _noise, ()),
    ("rf", "rf", _rf, ()),
    ("ablation", "ablation", _ablation, ()),
    ("ablation-data", "ablation", _ablation_data, ()),
    ("errormap", "errormap", _errormap, ()),
    ("tuning", "tuning", _tuning, ()),
    ("study", "study", _study, ()),
    ("mei", "mei", _mei, ()),
]


@pytest.mark.parametrize("kind, build", [pytest.param(kind, build, id=case, marks=marks)
                                         for case, kind, build, marks in CASES])
def test_the_command_line_equals_python(kind, build, tmp_path, factories_file, sim_root):
    """The same options as flags and as a config give the same dataset and the same files."""
    from dnemkit.experiments.contract import ExperimentConfig

    from dnemkit.masks import resolve_mask

    root, _ = sim_root
    args, config = build(tmp_path, f"{factories_file}:tiny", root)
    if getattr(config, "mask", None) == "auto" and getattr(config, "data", None) is None:
        resolve_mask("auto", config.encoder, progress=False)  # cached before both runs: the same mask_source line
    cli_out, py_out = tmp_path / "cli", tmp_path / "python"
    result = _invoke([*args, "--quiet", "--out", cli_out])
    assert result.exit_code == 0, result.output
    module = importlib.import_module(f"dnemkit.experiments.{'sweeps' if kind in ('gratings', 'noise') else kind}")
    ds = module.run(config, out=py_out, progress=False)
    if isinstance(config, ExperimentConfig):
        assert sorted(Path(p).name for p in ds.encoding["files"]) == sorted(
            p.name for p in py_out.iterdir() if p.is_file())
    assert sorted(p.name for p in cli_out.iterdir()) == sorted(p.name for p in py_out.iterdir())
    stored = read_dataset(cli_out / f"{kind}.nc", kind=kind)
    _assert_same_dataset(stored, read_dataset(py_out / f"{kind}.nc", kind=kind))
    # every number of every result kind has a unit, from the one vocabulary
    assert (stray_units(stored), missing_units(stored)) == ([], []), kind


def test_every_result_kind_is_run_above_or_by_characterize_mask():
    """The units check above (and CLI == Python) covers every registered result kind; 'mask' is
    tests/cli/test_mask.py's."""
    from dnemkit.viz.kinds import KINDS

    assert {kind for _, kind, _, _ in CASES} | {"mask"} == set(KINDS)


# ------------------------------------------------------------------------------------------- (c) --help defaults
def _command(name):
    from dnemkit.cli import main

    return main.commands[name]


def _option(command, flag):
    found = [p for p in command.params if isinstance(p, click.Option) and flag in (*p.opts, *p.secondary_opts)]
    assert len(found) == 1, flag
    return found[0]


def _shown(command, option):
    """The default --help shows for ``option`` ('[default: X]'), or None."""
    record = option.get_help_record(click.Context(command, info_name=command.name))
    found = re.search(r"\[default: ([^\];]*)[\];]", record[1]) if record else None
    return None if found is None else found.group(1).strip()


def _default(option):
    """The value a command receives when ``option`` is not given, as click 8.1-8.4 stored it in
    ``option.default``: None, or False for a plain flag. Click 8.5 stores a missing default as the sentinel
    ``click.core.UNSET`` (``Sentinel.UNSET``) instead, and resolves it to those values only when it parses."""
    unset = getattr(click.core, "UNSET", None)
    if unset is None or option.default is not unset:
        return option.default
    return False if option.is_flag and not option.secondary_opts else None


@pytest.mark.parametrize("option", [click.Option(["--x"]), click.Option(["--x"], multiple=True),
                                    click.Option(["--x"], is_flag=True), click.Option(["--x"], default="3")])
def test_default_is_what_the_command_receives(option):
    """_default agrees with what click itself passes to a command run without the option."""
    from click.testing import CliRunner

    received = []
    command = click.Command("c", params=[option], callback=lambda x: received.append(x))
    assert CliRunner().invoke(command, []).exit_code == 0
    want = received[0]
    assert _default(option) == (want or None if option.multiple else want)


def _as(expected, value, option):
    """``value`` (a shown text, or the option's own default, see ``_default``) as the type of ``expected``."""
    if isinstance(expected, bool):
        if isinstance(value, str) and value.lower() not in ("true", "false"):  # --flag/--no-flag shows the name
            return value == option.opts[0].lstrip("-")
        return value if isinstance(value, bool) else value.lower() == "true"
    if isinstance(expected, tuple):
        if value is None:
            return ()
        items = value.split(",") if isinstance(value, str) else list(value)
        items = [s.strip() for s in items if str(s).strip()]
        numbers = all(isinstance(e, (int, float)) for e in expected)
        return tuple(float(s) for s in items) if numbers and items else tuple(items)
    if expected is None or value is None:
        return value
    return type(expected)(value)


def _execution_flags(command):
    """{flag: Execution default} of the Execution fields the command has an option for."""
    flags = {f"--{name.replace('_', '-')}": value for name, value in field_defaults(Execution).items()}
    present = {flag for p in command.params for flag in getattr(p, "opts", ())}
    return {flag: value for flag, value in flags.items() if flag in present}


def _recipe_flags(cls):
    return {"--recipe": cls.RECIPE}


def _expected_natural():
    from dnemkit.experiments.natural import NaturalConfig as C

    d, c = field_defaults(C), C()
    return C, {"--encoder": d["encoder"], "--mouse": c.encoder.mouse, "--models": c.encoder.models,
               "--data": d["data"], "--trial": d["trial"], "--movie": d["movie"], "--predicted": d["predicted"],
               "--keep-fraction": d["keep_fraction"], "--seed": d["seed"], "--mask": d["mask"],
               "--no-video": not d["video"], "--reference-format": d["reference_format"], **_recipe_flags(C),
               **_method_flags()}, \
        {"--gradient-ensembling", "--paper"}


def _method_flags():
    """--start and --stopper show the Recipe's defaults (the paper's); the stopper's options have none shown (the
    Recipe's apply)."""
    from dnemkit.reconstruction import Recipe

    r = Recipe()
    return {"--start": r.start, "--stopper": r.stopper, "--heldout-fraction": None, "--stopper-min-z": None,
            "--stopper-excess": None, "--stopper-rerun": False}


def _sweep_flags(grid_cls):
    from dnemkit.experiments.sweeps import SweepConfig as C

    d, c = field_defaults(C), C()
    g = {k: p.default for k, p in inspect.signature(grid_cls).parameters.items()}
    flags = {"--encoder": d["encoder"], "--mouse": c.encoder.mouse, "--models": c.encoder.models,
             "--batch": d["batch"], "--executor": d["executor"], "--scheduler": d["scheduler"],
             "--workers": d["workers"], "--threshold": d["threshold"], "--seed": d["seed"], "--mask": d["mask"],
             "--frames": g["n_frames"], "--repeats": g["repeats"], **_recipe_flags(C), **_method_flags()}
    return C, flags, g


def _expected_gratings():
    from dnemkit.experiments.sweeps import GratingGrid

    cls, flags, g = _sweep_flags(GratingGrid)
    flags.update({"--sf": tuple(g["sf"]), "--tf": tuple(g["tf"]), "--directions": tuple(g["directions"])})
    return cls, flags, {"--quick", "--slurm", "--sf-units"}


def _expected_noise():
    from dnemkit.experiments.sweeps import NoiseGrid

    cls, flags, g = _sweep_flags(NoiseGrid)
    assert g["seed"] == flags["--seed"]  # --seed seeds the noise as well as the baselines
    flags.update({"--sigma-space": tuple(g["sigma_space"]), "--sigma-time": tuple(g["sigma_time"]),
                  "--patch": g["patch"]})
    return cls, flags, {"--quick", "--slurm"}


def _expected_rf():
    from dnemkit.experiments.rf import RFConfig as C

    d, c = field_defaults(C), C()
    return C, {"--encoder": d["encoder"], "--mouse": c.encoder.mouse, "--models": c.encoder.models,
               "--chunk": d["chunk"], "--fit-max": d["fit_max"], "--no-fit": not d["fit"], "--lead-in": d["lead_in"],
               "--ground-truth": d["ground_truth"], "--mask": d["mask"], "--step": d["step"],
               "--device": d["device"]}, set()


def _movie_run_flags(C, default_trials):
    d, c = field_defaults(C), C()
    assert C(data="any").trials == default_trials  # the default the help names: filled in when --data is given
    return {"--encoder": d["encoder"], "--mouse": c.encoder.mouse, "--models": c.encoder.models,
            "--frames": d["frames"], "--movie-seed": d["movie_seed"], "--ground-truth": d["ground_truth"],
            "--mask": d["mask"], "--data": d["data"], "--tier": tuple(d["tiers"]), "--trials": default_trials,
            "--trial": tuple(d["trial_ids"]), **_recipe_flags(C)}


def _expected_ablation():
    from dnemkit.experiments.ablation import AblationConfig as C

    d = field_defaults(C)
    flags = _movie_run_flags(C, 3)
    flags.update({"--keep-fraction": tuple(d["keep_fractions"]), "--movies": d["movies"], "--seeds": d["seeds"],
                  "--predicted": d["predicted"], **_method_flags()})
    return C, flags, {"--subjects"}  # its help names the computed default in words (mice or movies)


def _expected_errormap():
    from dnemkit.experiments.errormap import ErrormapConfig as C

    flags = _movie_run_flags(C, 1)
    flags.update({"--no-video": not field_defaults(C)["video"], **_method_flags()})
    return C, flags, set()


def _expected_tuning():
    from dnemkit.experiments.tuning import TuningConfig as C

    d, c = field_defaults(C), C()
    return C, {"--encoder": d["encoder"], "--mouse": c.encoder.mouse, "--models": c.encoder.models,
               "--sf": tuple(d["sf"]), "--tf": tuple(d["tf"]), "--directions": tuple(d["directions"]),
               "--contrast": d["contrast"], "--n-frames": d["n_frames"], "--batch": d["batch"],
               "--device": d["device"], "--examples": d["examples"]}, set()


def _expected_study():
    from dnemkit.experiments.study import StudyConfig as C

    d, c = field_defaults(C), C()
    return C, {"--data": d["data"], "--encoder": d["encoder"], "--mouse": c.encoder.mouse,
               "--models": c.encoder.models, "--mouse-map": tuple(d["mouse_map"]), "--mice": tuple(d["mice"]),
               "--fold": d["fold"], "--folds": d["folds"], "--tier": tuple(d["tiers"]), "--trials": d["trials"],
               "--mask": d["mask"], "--batch": d["batch"], "--executor": d["executor"],
               "--scheduler": d["scheduler"], "--workers": d["workers"],
               "--duplicate-threshold": d["duplicate_threshold"], "--keep-duplicates": d["keep_duplicates"],
               "--drop-duplicates": d["drop_duplicates"], "--ethogram-clips": d["ethogram_clips"], "--variations": tuple(d["variations"]), "--methods": tuple(d["methods"]),
               "--eval-thresholds": tuple(d["eval_thresholds"]), "--input-predictions": d["input_predictions"],
               "--reference-format": d["reference_format"],
               "--seed": c.recipe.seed, **_recipe_flags(C)}, {"--slurm", "--from-reference"}


def _expected_mei():
    from dnemkit.experiments.mei import MeiConfig as C

    d, c = field_defaults(C), C()
    return C, {"--encoder": d["encoder"], "--mouse": c.encoder.mouse, "--models": c.encoder.models,
               "--kind": d["kind"], "--neurons": d["neurons"], "--top-by": d["top_by"], "--n": d["n_top"],
               "--contrast": d["contrast"], "--initial": d["initial"], "--blur": d["blur"],
               "--iterations": d["iterations"], "--lr": d["lr"], "--patience": d["patience"],
               "--n-frames": d["n_frames"], "--batch": d["batch"], "--tuning": d["tuning"],
               "--seed": d["seed"]}, set()


DEFAULTS = {"natural": _expected_natural, "gratings": _expected_gratings, "noise": _expected_noise,
            "rf": _expected_rf, "ablation": _expected_ablation, "errormap": _expected_errormap,
            "tuning": _expected_tuning, "study": _expected_study, "mei": _expected_mei}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_help_defaults_are_the_configs(name):
    """Every option of the command that sets a config field shows (or, without a shown default, has) the
    config's default; the recipe options name the config's recipe and budget; Execution options its defaults."""
    command = _command(name)
    cls, expected, not_fields = DEFAULTS[name]()
    if "execution" in {f.name for f in dataclasses.fields(cls)}:
        expected.update(_execution_flags(command))
    if getattr(cls, "ITERATIONS", None):  # the recipe: its name shown, its budget in the help of --iterations
        record = _option(command, "--iterations").get_help_record(click.Context(command, info_name=name))[1]
        budget = re.search(r"default: the recipe's here, ([^)]*)\)", record).group(1)
        assert {k: int(v) for v, k in (part.split() for part in budget.split(" / "))} == cls.ITERATIONS
        assert cls().recipe == cls.recipe_named()  # what the CLI runs without --recipe / --iterations
    checked = set()
    for flag, want in expected.items():
        option = _option(command, flag)
        checked.update((*option.opts, *option.secondary_opts))
        shown = _shown(command, option)
        if want is None:
            assert shown is None and _default(option) is None, (flag, shown, option.default)
            continue
        got = _as(want, shown if shown is not None else _default(option), option)
        assert got == want, (flag, shown, option.default, want)
    # every option is either a config field checked above or named here as something else
    others = {"--out", "--quiet", "--help", "--iterations", *not_fields}
    unchecked = {p.opts[0] for p in command.params if isinstance(p, click.Option)
                 and not {*p.opts, *p.secondary_opts} & (checked | others)}
    assert not unchecked, unchecked
