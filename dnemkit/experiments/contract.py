"""The experiment contract: one shape for every experiment (importable without torch).

Every experiment module exposes ``run(config, *, out=None, progress=True, log=None) -> xarray.Dataset``:

- ``config`` is one frozen dataclass (a :class:`ExperimentConfig`) holding an ``encoder`` (an
  :class:`~dnemkit.encoders.ref.EncoderRef`; a spec string is wrapped), and, where the experiment reconstructs,
  a ``recipe`` (:class:`~dnemkit.reconstruction.config.Recipe`, the hashed arithmetic; None = the experiment's
  default, ``RECIPE`` at ``ITERATIONS[name]`` iterations) and an ``execution``
  (:class:`~dnemkit.reconstruction.config.Execution`); it is checked once, at construction;
- ``out`` is a folder: the experiment writes its own results there (``<kind>.nc``, the kind's figures from
  :mod:`dnemkit.viz.kinds`, and anything else it owns, e.g. the MP4 of ``natural``); None writes nothing;
- ``progress`` shows tqdm bars; ``log`` receives one-line notes (where the mask came from, what was reused).

The command line builds the config from flags whose defaults are the dataclass's (:func:`field_defaults`) and
calls ``run``, so a Python user and the CLI get the same run for the same options.
"""

import dataclasses
from pathlib import Path

from ..errors import DnemkitError

#: the encoder every command uses when none is named
DEFAULT_ENCODER = "demo"


def field_defaults(cls):
    """{field name: default} of the dataclass ``cls`` (fields with a factory are left out): the CLI's defaults."""
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


class ExperimentConfig:
    """Shared behaviour of the experiments' frozen config dataclasses (a mixin; subclasses are dataclasses).

    Class attributes: ``RECIPE`` the default recipe name and ``ITERATIONS`` {recipe name: default iterations}
    for experiments that reconstruct (None for those that do not); ``DEFAULT_MODELS`` the members of an ensemble
    used when the encoder is given as a spec string (None: all).
    """

    RECIPE = None
    ITERATIONS = {}
    DEFAULT_MODELS = None

    @classmethod
    def recipe_named(cls, name=None, iterations=None, **overrides):
        """This experiment's recipe ``name`` (default ``RECIPE``) at ``iterations`` (default: the experiment's
        budget for that recipe), with ``overrides`` (any Recipe field) on top: the one factory the CLI uses."""
        from ..reconstruction.config import Recipe

        name = name or cls.RECIPE
        if name is None:
            raise DnemkitError(f"{cls.__name__} runs no reconstruction; expected no recipe")
        if iterations is None:
            iterations = cls.ITERATIONS.get(name)
        return Recipe.named(name, iterations=iterations, **overrides)

    def _check_common(self):
        """Wrap a spec string as an EncoderRef and fill the default recipe and execution (call first in
        ``__post_init__``)."""
        from ..encoders.ref import EncoderRef
        from ..reconstruction.config import Execution, Recipe

        names = {f.name for f in dataclasses.fields(self)}
        if "encoder" in names:
            encoder = self.encoder
            if not isinstance(encoder, EncoderRef):
                encoder = EncoderRef(encoder, None, self.DEFAULT_MODELS)
            object.__setattr__(self, "encoder", encoder)
        if "recipe" in names:
            recipe = self.recipe if self.recipe is not None else self.recipe_named()
            if not isinstance(recipe, Recipe):
                raise DnemkitError(f"recipe is a {type(recipe).__name__}; expected a Recipe "
                                   f"({type(self).__name__}.recipe_named('fast' | 'paper', iterations))")
            object.__setattr__(self, "recipe", recipe)
        if "execution" in names:
            execution = self.execution if self.execution is not None else Execution()
            if not isinstance(execution, Execution):
                raise DnemkitError(f"execution is a {type(execution).__name__}; expected an Execution")
            object.__setattr__(self, "execution", execution)

    def replace(self, **changes):
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """Plain values for provenance: the encoder as spec (or description), mouse and models; recipe and
        execution as dicts."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "encoder":
                out.update(encoder=value.name, mouse=value.mouse, models=value.models)
            elif hasattr(value, "to_dict"):
                out[f.name] = value.to_dict()
            elif not isinstance(value, (str, int, float, bool, tuple, list, dict, type(None))):
                out[f.name] = str(value)
            else:
                out[f.name] = value
        return out


def check_config(config, cls):
    """``config`` (None: ``cls()``), or DnemkitError when it is not a ``cls``."""
    config = cls() if config is None else config
    if not isinstance(config, cls):
        raise DnemkitError(f"config is a {type(config).__name__}; expected a {cls.__name__}")
    return config


def write_outputs(ds, out, dataset=True):
    """Write ``OUT/<kind>.nc`` (unless the experiment keeps it up to date itself: ``dataset=False``) and the
    kind's figures (:mod:`dnemkit.viz.kinds`); returns the paths written, also kept in ``ds.encoding['files']``
    (not a netCDF attribute: where a result was written is not part of it)."""
    from ..io.results import write_dataset
    from ..viz.kinds import write_figures

    out = Path(out)
    path = out / f"{ds.attrs['dnemkit_kind']}.nc"
    if dataset:
        write_dataset(ds, path)
    files = [path, *write_figures(ds, out)]
    ds.encoding["files"] = ds.encoding.get("files", []) + files
    return files
