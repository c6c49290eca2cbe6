"""Building a declared foreign model: its factory or saved module imported, its weights loaded, and the
:class:`~dnemkit.encoders.adapters.encoder.ForeignEncoder` around it (:func:`load_declared`)."""

from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from ...errors import DnemkitError
from .declaration import parse_declaration
from .encoder import ForeignEncoder, _text


def import_object(target, folder=None):
    """The object named by ``"package.module:attr"`` or ``"file.py:attr"`` (``attr`` may be dotted, e.g.
    ``Class.method``; a relative file is looked up in ``folder``). Raises DnemkitError in one line."""
    import importlib
    import importlib.util

    where, _, name = target.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_absolute() and folder is not None:
            path = Path(folder) / path
        if not path.exists():
            raise DnemkitError(f"encoder file {path} does not exist; expected a Python file holding '{name}'")
        spec = importlib.util.spec_from_file_location(f"dnemkit_user_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 -- the user's file: any failure is theirs, said in one line
            raise DnemkitError(f"importing {path} failed: {type(exc).__name__}: {_text(exc)}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise DnemkitError(f"cannot import module '{where}' ({_text(exc)}); is its package installed?") from None
    obj = module
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if not callable(obj):
        raise DnemkitError(f"'{name}' is not a callable in {where}; expected a factory returning an encoder")
    return obj


def _resolve(folder, name, source, key):
    path = Path(name)
    if not path.is_absolute() and folder is not None:
        path = Path(folder) / path
    if not path.exists():
        raise DnemkitError(f"{source}: {key} {path} does not exist; expected a file (paths are relative to the "
                           "folder of encoder.json)")
    return path


def _kwargs(decl):
    """The factory's keyword arguments, {"path": p} values resolved to files of the folder."""
    def resolve(key, value):
        if isinstance(value, dict) and set(value) == {"path"}:
            return str(_resolve(decl.folder, value["path"], decl.source, f"kwargs.{key}"))
        return value

    return {k: resolve(k, v) for k, v in decl.kwargs.items()}


def _path_kwargs(decl):
    return [k for k, v in decl.kwargs.items() if isinstance(v, dict) and set(v) == {"path"}]


def build_model(decl, weights=None):
    """The foreign module a declaration names, on the CPU, weights loaded.

    ``weights`` (a file given as the encoder spec) replaces, in this order, the declared "weights", the factory's
    only {"path": ...} argument (e.g. openretina's checkpoint), "module"; with a factory and neither, it is
    loaded as a state dict.
    """
    if weights is not None and decl.factory is not None and decl.weights is None and len(_path_kwargs(decl)) == 1:
        decl = replace(decl, kwargs=dict(decl.kwargs, **{_path_kwargs(decl)[0]: {"path": str(weights)}}))
        weights = None
    if decl.module is not None or (weights is not None and decl.factory is None):
        path = Path(weights) if weights is not None else _resolve(decl.folder, decl.module, decl.source, "module")
        try:  # a whole pickled module: unpickling runs the model's code, as importing a factory does
            model = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001
            raise DnemkitError(f"cannot read the module {path} ({type(exc).__name__}: {_text(exc)}); expected a "
                               "file written by torch.save(model)") from None
    else:
        factory = import_object(decl.factory, decl.folder)
        try:
            model = factory(**_kwargs(decl))
        except DnemkitError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DnemkitError(f"{decl.source}: the factory {decl.factory} failed ({type(exc).__name__}: "
                               f"{_text(exc)})") from None
        path = Path(weights) if weights is not None else (
            None if decl.weights is None else _resolve(decl.folder, decl.weights, decl.source, "weights"))
        if path is not None and isinstance(model, nn.Module):
            _load_weights(model, path)
    if not isinstance(model, nn.Module):
        raise DnemkitError(f"{decl.source}: the model is a {type(model).__name__}; expected a torch.nn.Module")
    return model


def _load_weights(model, path):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise DnemkitError(f"cannot read weights {path} ({type(exc).__name__}: {_text(exc)}); expected a state "
                           "dict written by torch.save(model.state_dict(), path)") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a Lightning checkpoint
    try:
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # noqa: BLE001
        raise DnemkitError(f"the weights {path} do not fit the factory's model ({_text(exc)})") from None


def load_declared(folder, meta, mouse=None, weights=None, source=None):
    """A :class:`ForeignEncoder` from an encoder.json's content ``meta`` in ``folder``.

    ``weights``: a file given as the spec (overrides the declared weights/module); ``mouse``: index into
    readout_key "values" (None: the first).
    """
    source = source or str(Path(folder) / "encoder.json")
    decl = parse_declaration(meta, source, folder)
    model = build_model(decl, weights)
    name = decl.factory.rpartition(":")[2] if decl.factory else Path(weights or decl.module).name
    return ForeignEncoder(model, decl, mouse=mouse, description=decl.description or f"{name} declared in {source}")
