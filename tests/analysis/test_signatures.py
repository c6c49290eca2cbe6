"""The analysis modules' public API in scikit-image's manner (issue 29, item 7): the data arguments positional,
every option after them keyword-only, and a numpydoc docstring with Parameters and Returns sections."""

import importlib
import inspect
import pkgutil

import pytest

import dnemkit.analysis

MODULES = sorted(m.name for m in pkgutil.iter_modules(dnemkit.analysis.__path__))


def _public(module):
    """(qualified name, callable) of every public function of ``module``, and the public methods and constructors
    of its public classes: no leading underscore, or listed in ``__all__``; defined in the module itself."""
    listed = set(getattr(module, "__all__", ()))
    out = []
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__ or (name.startswith("_") and name not in listed):
            continue
        if inspect.isfunction(obj):
            out.append((name, obj))
        elif inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and (not attr.startswith("_") or attr == "__init__"):
                    out.append((f"{name}.{attr}", member))
    return out


CASES = [(m, name, f) for m in MODULES for name, f in _public(importlib.import_module(f"dnemkit.analysis.{m}"))]


def test_every_module_is_covered():
    assert {m for m, _, _ in CASES} >= {"ablation", "ablation_levels", "cutoffs", "errormaps", "mei", "metrics",
                                        "receptive_fields", "resolution", "stats", "study", "tracking", "tuning"}
    assert len(CASES) > 80


@pytest.mark.parametrize("module, name, function", CASES, ids=[f"{m}.{n}" for m, n, _ in CASES])
def test_options_are_keyword_only(module, name, function):
    """No parameter with a default may be passed by position: options come after ``*``."""
    positional_options = [p.name for p in inspect.signature(function).parameters.values()
                          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty]
    assert not positional_options, f"{module}.{name}: options {positional_options} should be keyword-only"


@pytest.mark.parametrize("module, name, function", CASES, ids=[f"{m}.{n}" for m, n, _ in CASES])
def test_docstrings_have_parameters_and_returns(module, name, function):
    doc = inspect.getdoc(function if not name.endswith("__init__") else inspect.getmodule(function).__dict__[
        name.split(".")[0]]) or ""
    params = [p for p in inspect.signature(function).parameters if p != "self"]
    if params:
        assert "Parameters\n----------" in doc, f"{module}.{name} has no numpydoc Parameters section"
        section = doc.split("Parameters\n----------", 1)[1]
        for p in params:  # every parameter is described (alone or in a group such as 'a, b : ...')
            assert any(line.split(" : ")[0].replace(" ", "").split(",").count(p)
                       for line in section.splitlines() if " : " in line and not line.startswith(" ")), \
                f"{module}.{name}: parameter {p!r} is not described"
    if not name.endswith("__init__"):
        assert "Returns\n-------" in doc, f"{module}.{name} has no numpydoc Returns section"
