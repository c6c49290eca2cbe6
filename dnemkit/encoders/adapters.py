"""Declared adapters: a foreign encoder behind dnemkit's protocol from an ``encoder.json``, with no glue code.

A model from another ecosystem (openretina's ``CoreReadout``, a Sensorium 2023 ``VideoFiringRateEncoder``, ViV1T,
...) takes its own input layout, frame size, value scale, behaviour arguments and readout key. Instead of a
hand-written ``file.py:factory`` wrapper, the folder given as ``--encoder`` (or the folder of the weights file
given as ``--encoder``) holds an ``encoder.json`` that *declares* the call, and :class:`ForeignEncoder` makes
``enc(video (B, T, 36, 64) 0..255, behavior (B, 4, T) or None) -> rates (B, N, T)`` from it::

    {
      "factory": "openretina.models.core_readout:load_core_readout_model",   or "file.py:make" (relative to the
      "kwargs": {"model_path_or_name": {"path": "model.ckpt"}},              folder); {"path": p}: a file there
      "weights": "state_dict.pt",          optional: a state dict loaded (strictly) into the factory's module
      "module": "model.pt",                instead of "factory": a whole module saved with torch.save(model)
      "input_layout": "BCTHW",             any order of B, C (optional), T, H, W
      "video_channels": 1,                 channels the grey video fills (a colour model: 2 or 3 copies)
      "frame_size": [36, 64],              the model's frame [H, W]; other sizes are resized (bilinear)
      "behavior": "none",                  "none" | "channels" | "keywords"
      "behavior_channels": [0, 1, 2, 3],   "channels": which behaviour rows become constant input planes
      "behavior_keywords": {"behaviors": [0, 1], "pupil_centers": [2, 3]},   argument -> rows ("keywords", or
                                           beside "channels": a shifter's pupil_center=)
      "behavior_scale": {"mean": [4 numbers], "std": [4 numbers]},           optional, before the model
      "readout_key": {"name": "data_key", "value": "session_a"},   or "values": [...] picked by --mouse
      "scale": "0-255",                    "0-255" | "0-1" | {"mean": m, "std": s} in grey levels
      "output": "BNT",                     the rates' axes: any order of B, N, T
      "output_index": 0,                   the rates' position when the model returns a tuple (or a dict key)
      "output_frames": "all",              "all" (T frames for T) | "last" (the model drops its first frames)
      "first_valid_frame": 0, "n_neurons": 500, "behavior_mean": [4 numbers], "description": "..."
    }

Behaviour rows are dnemkit's (pupil dilation, running speed, pupil centre x, pupil centre y), which is also the
order of the Sensorium 2023 channels (behaviour, then pupil centre). Every declaration is checked when the
encoder is built, statically (keys, layouts, sizes, the model's ``forward`` signature, openretina's
``stimulus_shape``, the readout keys the model holds) and on a probe pass (the layout, frame count and neuron
count of the rates, finite, >= 0, differentiable w.r.t. the video); a disagreement is one DnemkitError line that
names what encoder.json says and what the model did. docs/method.md, "Foreign encoders", states the arithmetic.
"""

import inspect
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DnemkitError, say
from ..stimuli.geometry import GREY, HEIGHT, WIDTH
from .base import Encoder, check_rates

__all__ = ["ADAPTER_KEYS", "Declaration", "ForeignEncoder", "declares_model", "import_object", "load_declared",
           "parse_declaration"]

#: dnemkit's behaviour rows, in order
BEHAVIOR_ROWS = ("pupil dilation", "running speed", "pupil x", "pupil y")
BEHAVIOR_MODES = ("none", "channels", "keywords")
#: ViV1T's keyword names (behaviors (B, 2, T) = dilation and speed, pupil_centers (B, 2, T))
DEFAULT_KEYWORDS = {"behaviors": (0, 1), "pupil_centers": (2, 3)}
OUTPUT_FRAMES = ("all", "last")
#: forward arguments that name a readout: left unset they make a multi-readout model pick none (or fail)
READOUT_ARGUMENTS = ("data_key", "mouse_id", "readout_key", "session_id")
MAX_SIDE = 2048  #: the largest frame side resized to (a 300-frame movie at 2048 x 2048 already needs 5 GB)
#: keys of an encoder.json that declares a foreign model (the DwiseNeuro sidecar keys are allowed beside them)
ADAPTER_KEYS = ("factory", "kwargs", "weights", "module", "input_layout", "video_channels", "frame_size",
                "behavior", "behavior_channels", "behavior_keywords", "behavior_scale", "readout_key", "scale",
                "output", "output_index", "output_frames", "first_valid_frame", "n_neurons")
SIDECAR_KEYS = ("behavior_mean", "description", "mice")


def declares_model(meta):
    """True when an encoder.json's content ``meta`` declares a foreign model (has "factory" or "module")."""
    return isinstance(meta, dict) and ("factory" in meta or "module" in meta)


# ------------------------------------------------------------------------------------------------ the declaration
@dataclass(frozen=True)
class Declaration:
    """A checked encoder.json declaration (see the module docstring for each key's meaning).

    ``source`` names the file in messages; ``folder`` is where relative paths are resolved. ``mean``/``std``
    are the value scaling in grey levels (the model sees ``(video - mean) / std``).
    """

    # where the declaration came from: not part of repr, which fingerprint_encoder hashes (the predictions do not
    # depend on where the folder is)
    source: str = field(repr=False)
    folder: Path | None = field(default=None, repr=False)
    factory: str | None = None
    kwargs: dict = field(default_factory=dict)
    weights: str | None = None
    module: str | None = None
    input_layout: str = "BCTHW"
    video_channels: int = 1
    frame_size: tuple | None = None
    behavior: str = "none"
    behavior_channels: tuple = (0, 1, 2, 3)
    behavior_keywords: tuple = ()
    behavior_scale: tuple | None = None
    readout_name: str | None = None
    readout_values: tuple | None = None
    readout_list: bool = False
    mean: float = 0.0
    std: float = 1.0
    output: str = "BNT"
    output_index: int | str | None = None
    output_frames: str = "all"
    first_valid_frame: int | None = None
    n_neurons: int | None = None
    behavior_mean: tuple | None = None
    description: str = field(default="", repr=False)
    #: the keys encoder.json gave (messages say "(the default)" for the others); a frozenset's repr changes order
    #: from one process to the next, so it stays out of repr
    given: frozenset = field(default=frozenset(), repr=False)

    def says(self, key, value):
        """'KEY VALUE' as a message quotes it, with '(the default)' when encoder.json did not give KEY."""
        return f"{key} {value}" + ("" if key in self.given else " (the default)")

    @property
    def size(self):
        """(H, W) of the model's frames."""
        return tuple(self.frame_size) if self.frame_size is not None else (HEIGHT, WIDTH)

    @property
    def n_channels(self):
        """Input channels: the video's copies plus the behaviour planes."""
        extra = len(self.behavior_channels) if self.behavior == "channels" else 0
        return self.video_channels + extra

    def channels_text(self):
        extra = len(self.behavior_channels) if self.behavior == "channels" else 0
        return f"{self.video_channels} video + {extra} behaviour"


def _fail(source, message):
    raise DnemkitError(f"{source}: {message}")


def _layout(value, letters, optional, source, key):
    """A layout string: every letter of ``letters`` once, ``optional`` ones at most once, nothing else."""
    if not isinstance(value, str) or not value:
        _fail(source, f"{key} is {value!r}; expected a string of the axes {letters} (e.g. {letters[:2]}...)")
    layout = value.strip().upper()
    unknown = sorted(set(layout) - set(letters + optional))
    if unknown:
        names = "B batch, C channels, T frames, H rows, W columns" if "H" in letters else \
            "B batch, N neurons, T frames"
        _fail(source, f"{key} '{value}' is an unknown layout (axis {', '.join(unknown)}); expected each of "
                      f"{letters} once{' and ' + optional + ' at most once' if optional else ''} ({names})")
    for letter in letters + optional:
        count = layout.count(letter)
        if count > 1 or (letter in letters and count == 0):
            _fail(source, f"{key} '{value}' is an unknown layout ({letter} appears {count} times); expected each "
                          f"of {letters} once{' and ' + optional + ' at most once' if optional else ''}")
    return layout


def _whole(value, source, key, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(source, f"{key} is {value!r}; expected an integer >= {minimum}")
    return value


def _rows(value, source, key):
    if not isinstance(value, list) or not value or any(isinstance(r, bool) or not isinstance(r, int)
                                                       or not 0 <= r < 4 for r in value):
        _fail(source, f"{key} is {value!r}; expected a list of behaviour rows 0-3 "
                      f"({', '.join(f'{i} {n}' for i, n in enumerate(BEHAVIOR_ROWS))})")
    return tuple(value)


def _four_numbers(value, source, key, positive=False):
    ok = isinstance(value, list) and len(value) == 4 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (v > 0 or not positive)
        for v in value)
    if not ok:
        _fail(source, f"{key} is {value!r}; expected a list of 4 finite numbers{' > 0' if positive else ''} "
                      f"(one per behaviour row: {', '.join(BEHAVIOR_ROWS)})")
    return tuple(float(v) for v in value)


def _scale(value, source):
    """(mean, std) in grey levels from "0-255" | "0-1" | {"mean": m, "std": s}."""
    if value == "0-255":
        return 0.0, 1.0
    if value == "0-1":
        return 0.0, 255.0
    if isinstance(value, dict) and set(value) == {"mean", "std"}:
        m, s = value["mean"], value["std"]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (m, s)) \
                and s > 0:
            return float(m), float(s)
    _fail(source, f"scale is {value!r}; expected \"0-255\", \"0-1\" or {{\"mean\": m, \"std\": s}} in grey levels "
                  "(s > 0; the model then sees (video - m) / s)")


def parse_declaration(meta, source="encoder.json", folder=None):
    """Check an encoder.json's content and return its :class:`Declaration`.

    The sections are checked in the order of the module docstring (keys, how the model is built, its input,
    behaviour, readout, value scale, output, the sidecar keys), so that the message names the first bad key.

    Parameters
    ----------
    meta : dict
        The parsed JSON (must hold "factory" or "module").
    source : str
        How messages name the file.
    folder : path, optional
        Where relative paths ("file.py:make", {"path": ...}, "weights", "module") are resolved.

    Raises
    ------
    DnemkitError
        One line naming the first bad key and what was expected.
    """
    _check_keys(meta, source)
    out = {"source": source, "folder": None if folder is None else Path(folder), "given": frozenset(meta)}
    out.update(_parse_build(meta, source))
    out.update(_parse_input(meta, source))
    out.update(_parse_behavior(meta, source, out["input_layout"], out["video_channels"]))
    out.update(_parse_readout(meta, source))
    out["mean"], out["std"] = _scale(meta.get("scale", "0-255"), source)
    out.update(_parse_output(meta, source))
    out.update(_parse_sidecar(meta, source))
    return Declaration(**out)


def _check_keys(meta, source):
    """Refuse a non-object, an unknown key, and a declaration with both or neither of "factory" and "module"."""
    if not isinstance(meta, dict):
        _fail(source, f"holds a {type(meta).__name__}; expected a JSON object")
    unknown = sorted(set(meta) - set(ADAPTER_KEYS) - set(SIDECAR_KEYS))
    if unknown:
        _fail(source, f"unknown key {unknown[0]!r}; expected some of {', '.join(ADAPTER_KEYS + SIDECAR_KEYS)}")
    has_factory, has_module = "factory" in meta, "module" in meta
    if has_factory == has_module:
        _fail(source, "declares both \"factory\" and \"module\"; expected one way to build the model" if has_factory
              else "declares no model; expected \"factory\": \"package.module:callable\" or \"module\": \"model.pt\"")


def _parse_build(meta, source):
    """How the model is built: {"factory", "kwargs"} or {"module"}, and "weights" (Declaration fields)."""
    out = {}
    if "factory" in meta:
        target = meta["factory"]
        if not isinstance(target, str) or target.count(":") < 1 or not target.rpartition(":")[2]:
            _fail(source, f"factory is {target!r}; expected \"package.module:callable\" or \"file.py:callable\"")
        out["factory"] = target
        kwargs = meta.get("kwargs", {})
        if not isinstance(kwargs, dict):
            _fail(source, f"kwargs is {kwargs!r}; expected an object of the factory's keyword arguments")
        out["kwargs"] = kwargs
    elif "kwargs" in meta:
        _fail(source, "gives kwargs without a factory; expected \"factory\" beside \"kwargs\"")
    for key in ("weights", "module"):
        if key in meta:
            if not isinstance(meta[key], str) or not meta[key]:
                _fail(source, f"{key} is {meta[key]!r}; expected a file name (relative to the folder)")
            out[key] = meta[key]
    if "module" in meta and "weights" in meta:
        _fail(source, "gives both \"module\" and \"weights\"; a saved module holds its weights (\"weights\" goes "
                      "with \"factory\")")
    return out


def _parse_input(meta, source):
    """The video's way in: input_layout, video_channels and frame_size (warns on another aspect ratio)."""
    out = {"input_layout": _layout(meta.get("input_layout", "BCTHW"), "BTHW", "C", source, "input_layout"),
           "video_channels": _whole(meta.get("video_channels", 1), source, "video_channels", 1)}
    if "frame_size" in meta:
        size = meta["frame_size"]
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and not isinstance(s, bool)
                                                                 and 2 <= s <= MAX_SIDE for s in size)):
            _fail(source, f"frame_size {size!r} cannot be resized to; expected [H, W], two integers from 2 to "
                          f"{MAX_SIDE} (the model's frame; dnemkit's {HEIGHT} x {WIDTH} movie is resized to it)")
        out["frame_size"] = tuple(size)
        if abs(size[0] / size[1] / (HEIGHT / WIDTH) - 1) > 0.02:
            say(None, f"{source}: frame_size {size} has another aspect ratio than the {HEIGHT} x {WIDTH} movie; the "
                 "movie is stretched to it", warning=True)
    return out


def _parse_behavior(meta, source, input_layout, channels):
    """The behaviour's way in: behavior, behavior_channels, behavior_keywords and behavior_scale.

    ``input_layout`` and ``channels`` (video_channels) are the checked input section's: video copies or
    behaviour planes need a C axis.
    """
    out = {}
    mode = meta.get("behavior", "none")
    if mode not in BEHAVIOR_MODES:
        _fail(source, f"behavior is {mode!r}; expected one of {', '.join(BEHAVIOR_MODES)}")
    out["behavior"] = mode
    if "behavior_channels" in meta:
        if mode != "channels":
            _fail(source, f"gives behavior_channels with behavior {mode!r}; expected \"behavior\": \"channels\"")
        out["behavior_channels"] = _rows(meta["behavior_channels"], source, "behavior_channels")
    if mode == "keywords":
        out["behavior_keywords"] = tuple(DEFAULT_KEYWORDS.items())
    if "behavior_keywords" in meta:
        if mode == "none":
            _fail(source, "gives behavior_keywords with behavior 'none'; expected \"behavior\": \"keywords\" (or "
                          "\"channels\", for a model that takes behaviour as channels and a keyword too)")
        words = meta["behavior_keywords"]
        if not isinstance(words, dict) or not words or not all(isinstance(k, str) and k.isidentifier()
                                                               for k in words):
            _fail(source, f"behavior_keywords is {words!r}; expected {{\"argument\": [rows], ...}}, e.g. "
                          "{\"behaviors\": [0, 1], \"pupil_centers\": [2, 3]}")
        out["behavior_keywords"] = tuple((k, _rows(v, source, f"behavior_keywords.{k}")) for k, v in words.items())
    if "behavior_scale" in meta:
        bs = meta["behavior_scale"]
        if mode == "none":
            _fail(source, "gives behavior_scale with behavior 'none'; the model sees no behaviour")
        if not isinstance(bs, dict) or set(bs) != {"mean", "std"}:
            _fail(source, f"behavior_scale is {bs!r}; expected {{\"mean\": [4 numbers], \"std\": [4 numbers]}}")
        out["behavior_scale"] = (_four_numbers(bs["mean"], source, "behavior_scale.mean"),
                                 _four_numbers(bs["std"], source, "behavior_scale.std", positive=True))
    if "C" not in input_layout and (channels != 1 or mode == "channels"):
        _fail(source, f"input_layout {input_layout} has no C axis, but the declaration gives {channels} video "
                      f"channel(s) and behavior {mode!r}; expected a C axis (e.g. BCTHW)")
    return out


def _parse_readout(meta, source):
    """readout_key: {"name", "value"} (one readout) or {"name", "values"} (one per --mouse)."""
    if "readout_key" not in meta:
        return {}
    out = {}
    rk = meta["readout_key"]
    if not isinstance(rk, dict) or not isinstance(rk.get("name"), str) or not rk["name"].isidentifier() \
            or len(set(rk) & {"value", "values"}) != 1 or set(rk) - {"name", "value", "values"}:
        _fail(source, f"readout_key is {rk!r}; expected {{\"name\": \"data_key\", \"value\": ...}} or "
                      "{\"name\": ..., \"values\": [one per --mouse]}")
    if "values" in rk:
        values = rk["values"]
        if not isinstance(values, list) or not values:
            _fail(source, f"readout_key.values is {values!r}; expected a non-empty list (--mouse K picks "
                          "the K-th)")
        out.update(readout_values=tuple(values), readout_list=True)
    else:
        if rk["value"] is None or rk["value"] == "":
            _fail(source, f"readout_key.value is {rk['value']!r}; expected the readout's key (e.g. the "
                          "session or mouse name)")
        out["readout_values"] = (rk["value"],)
    out["readout_name"] = rk["name"]
    return out


def _parse_output(meta, source):
    """The rates' way out: output, output_index, output_frames, first_valid_frame and n_neurons."""
    out = {}
    if "output" in meta:
        out["output"] = _layout(meta["output"], "BNT", "", source, "output")
    if "output_index" in meta:
        index = meta["output_index"]
        if isinstance(index, bool) or not isinstance(index, (int, str)):
            _fail(source, f"output_index is {index!r}; expected the rates' position in the returned tuple (an "
                          "integer) or their key in a returned dict")
        out["output_index"] = index
    frames = meta.get("output_frames", "all")
    if frames not in OUTPUT_FRAMES:
        _fail(source, f"output_frames is {frames!r}; expected \"all\" (T frames out for T in) or \"last\" (the "
                      "model drops its first frames, e.g. a valid temporal convolution)")
    out["output_frames"] = frames
    if "first_valid_frame" in meta:
        out["first_valid_frame"] = _whole(meta["first_valid_frame"], source, "first_valid_frame", 0)
    if "n_neurons" in meta:
        out["n_neurons"] = _whole(meta["n_neurons"], source, "n_neurons", 1)
    return out


def _parse_sidecar(meta, source):
    """The sidecar keys a declaration may carry: behavior_mean and description."""
    out = {}
    if meta.get("behavior_mean") is not None:
        out["behavior_mean"] = _four_numbers(meta["behavior_mean"], source, "behavior_mean")
    description = meta.get("description", "")
    if not isinstance(description, str):
        _fail(source, f"description is {description!r}; expected a string")
    out["description"] = description
    return out


# ------------------------------------------------------------------------------------------------ building the model
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


# ------------------------------------------------------------------------------------------------ the encoder
def _text(exc, limit=300):
    return (" ".join(str(exc).split()) or type(exc).__name__)[:limit]


def _signature(model):
    """(named parameters of model.forward, whether it takes **kwargs), or None when it cannot be inspected."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    return params, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _readout_keys(model):
    """The readout keys a model holds (``readout``/``readouts`` dict-like with string keys), or None."""
    for attr in ("readout", "readouts"):
        holder = getattr(model, attr, None)
        keys = getattr(holder, "keys", None)
        if callable(keys):
            try:
                found = list(keys())
            except Exception:  # noqa: BLE001 -- a .keys() that is not a mapping's: nothing to compare with
                continue
            if found and all(isinstance(k, str) for k in found):
                return found
    return None


def _first_conv(model):
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return name, module.in_channels
    return None


class ForeignEncoder(Encoder):
    """A foreign model behind the encoder protocol, as its :class:`Declaration` says.

    Parameters
    ----------
    model : torch.nn.Module
        The foreign model; it is put in eval mode and its parameters frozen (dnemkit only needs input gradients).
    declaration : Declaration
        How to call it (:func:`parse_declaration`).
    mouse : int, optional
        Index into readout_key "values" (None: the first).

    ``forward(video (B, T, 36, 64) 0..255, behavior (B, 4, T) or None) -> rates (B, N, T)``: the video is resized to
    the model's frame (bilinear, ``align_corners=False``, antialiased when shrinking), scaled, copied into
    ``video_channels`` channels, behaviour appended or passed by keyword, axes permuted to ``input_layout``, the
    readout key passed by keyword; the rates are taken from the returned tuple and permuted to (B, N, T). A
    model that drops its first ``lag`` frames ("output_frames": "last") gets ``lag`` grey frames (behaviour: the
    first frame's) in front, so every frame is predicted; ``first_valid_frame`` is then at least ``lag``.
    Building it checks the declaration against the model (one DnemkitError line on any disagreement).
    """

    def __init__(self, model, declaration, mouse=None, description=""):
        super().__init__()
        decl = declaration
        self.declaration = decl
        self.config = decl  # hashed by fingerprint_encoder: the layout and keys change the predictions
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)  # frozen: reconstruction needs input gradients only
        self.description = description or decl.description or f"foreign encoder {type(model).__name__}"
        if mouse is not None and (isinstance(mouse, bool) or not isinstance(mouse, int) or mouse < 0):
            raise DnemkitError(f"mouse is {mouse!r}; expected a readout index 0, 1, 2, ...")
        self.mouse = 0 if mouse is None else mouse
        values = decl.readout_values
        if values is None or not decl.readout_list:
            if mouse not in (None, 0):
                raise DnemkitError(f"mouse index {mouse} is out of range; {decl.source} gives "
                                   f"{'one readout key' if values else 'no readout_key'} (list several as "
                                   "\"readout_key\": {\"name\": ..., \"values\": [...]} to pick one with --mouse)")
        elif self.mouse >= len(values):
            raise DnemkitError(f"mouse index {mouse} is out of range; {decl.source} lists readout keys "
                               f"0..{len(values) - 1} ({', '.join(map(str, values))})")
        self.readout_value = None if values is None else values[self.mouse]
        self.register_buffer("_behavior_mean", torch.tensor(
            decl.behavior_mean if decl.behavior_mean is not None else (0.0,) * 4, dtype=torch.float32))
        self.lag = 0
        self._check_signature()
        self._check_stimulus_shape()
        self._probe()

    def train(self, mode=True):
        # always eval: dropout or BatchNorm updates would make the predictions wander during a reconstruction
        return super().train(False)

    def default_behavior(self):
        return self._behavior_mean

    # --- the call ------------------------------------------------------------------------------------------
    def model_inputs(self, video, behavior=None):
        """The model's positional input and keyword arguments for ``video`` (B, T, 36, 64) grey levels and
        ``behavior`` (B, 4, T) or None: (x in ``input_layout``, {readout name: key, keyword: (B, k, T), ...})."""
        decl = self.declaration
        b, t = video.shape[:2]
        h, w = decl.size
        x = video
        if (h, w) != (HEIGHT, WIDTH):
            # frames as channels: one 2-D resize of every frame; differentiable, so gradients reach the 36 x 64
            # movie (masks and reconstructions stay on dnemkit's grid)
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
                              antialias=h < HEIGHT or w < WIDTH)
        if decl.mean != 0.0 or decl.std != 1.0:
            x = (x - decl.mean) / decl.std
        x = x[:, None].expand(b, decl.video_channels, t, h, w)  # (B, C, T, H, W); colour models see grey
        kwargs = {}
        if decl.behavior != "none":
            beh = self.expand_behavior(behavior, b, t, video.device).to(x.dtype)
            if decl.behavior_scale is not None:
                mean, std = (torch.tensor(v, dtype=x.dtype, device=x.device)[None, :, None]
                             for v in decl.behavior_scale)
                beh = (beh - mean) / std
            if decl.behavior == "channels":
                rows = list(decl.behavior_channels)
                planes = beh[:, rows, :, None, None].expand(b, len(rows), t, h, w)
                x = torch.cat([x, planes], dim=1)
            # keywords: ViV1T's behaviors=, pupil_centers=; with channels, e.g. a shifter's pupil_center=
            kwargs = {name: beh[:, list(rows)] for name, rows in decl.behavior_keywords}
        layout = decl.input_layout
        if "C" not in layout:
            x = x[:, 0]
            canonical = "BTHW"
        else:
            canonical = "BCTHW"
        x = x.permute([canonical.index(a) for a in layout]).contiguous()
        if decl.readout_name is not None:
            kwargs[decl.readout_name] = self.readout_value
        return x, kwargs

    def _pick(self, out):
        """The rates tensor from what the model returned (``output_index`` of a tuple/list/dict)."""
        decl = self.declaration
        index = decl.output_index
        if isinstance(out, (tuple, list, dict)):
            kind = type(out).__name__
            if index is None:
                parts = out.items() if isinstance(out, dict) else enumerate(out)
                shown = ", ".join(f"{k}: {tuple(v.shape) if torch.is_tensor(v) else type(v).__name__}"
                                  for k, v in parts)
                raise DnemkitError(f"{decl.source}: the model returned a {kind} ({shown}); expected "
                                   f"\"output_index\" to say where the rates are")
            try:
                out = out[index]
            except (IndexError, KeyError, TypeError):
                raise DnemkitError(f"{decl.source} says output_index {index!r}, but the model returned a {kind} "
                                   f"of {len(out)}") from None
        elif index is not None:
            raise DnemkitError(f"{decl.source} says output_index {index!r}, but the model returned a "
                               f"{type(out).__name__}, not a tuple")
        if not torch.is_tensor(out):
            raise DnemkitError(f"{decl.source}: the model's rates are a {type(out).__name__}; expected a tensor")
        return out

    def _call(self, video, behavior):
        """The model's rates, in the model's own output layout and frames (no permutation, no padding)."""
        x, kwargs = self.model_inputs(video, behavior)
        try:
            out = self.model(x, **kwargs)
        except DnemkitError:
            raise
        except Exception as exc:  # noqa: BLE001 -- a declaration the model disagrees with: say both in one line
            raise DnemkitError(self._call_failed(x, kwargs, exc)) from None
        return self._pick(out)

    def _call_failed(self, x, kwargs, exc):
        decl = self.declaration
        shown = ", ".join([f"x {tuple(x.shape)} {decl.input_layout}"] + [
            f"{k}={tuple(v.shape) if torch.is_tensor(v) else repr(v)}" for k, v in kwargs.items()])
        line = f"{decl.source}: calling the model as model({shown}) failed ({type(exc).__name__}: {_text(exc)})"
        conv = _first_conv(self.model)
        if conv is not None and "C" in decl.input_layout and conv[1] != decl.n_channels:
            line += (f"; its first convolution ({conv[0]}) takes {conv[1]} input channels, the declaration gives "
                     f"{decl.n_channels} ({decl.channels_text()}, behavior {decl.behavior!r})")
        else:
            line += "; check input_layout, frame_size, behavior and readout_key"
        return line

    def forward(self, video, behavior=None):
        b, t = video.shape[:2]
        if self.lag:
            # a causal model that drops its first `lag` frames: put `lag` grey frames (the behaviour of the first
            # frame) in front, so its output covers frames 0..T-1 of this video
            behavior = self.expand_behavior(behavior, b, t, video.device)
            video = torch.cat([video.new_full((b, self.lag) + tuple(video.shape[2:]), GREY), video], dim=1)
            behavior = torch.cat([behavior[:, :, :1].expand(b, 4, self.lag), behavior], dim=2)
        rates = self._call(video, behavior)
        layout = self.declaration.output
        rates = rates.permute([layout.index(a) for a in "BNT"])
        if tuple(rates.shape) != (b, self.n_neurons, t):
            raise DnemkitError(f"{self.description} returned rates {tuple(rates.shape)} (as BNT) for {b} video(s) "
                               f"x {t} frames; expected ({b}, {self.n_neurons}, {t}) as on its probe pass")
        return rates.to(video.dtype)

    # --- the checks ------------------------------------------------------------------------------------------
    def _check_signature(self):
        """Static checks of the declaration against the model's forward(...) signature and readouts."""
        decl = self.declaration
        sig = _signature(self.model)
        if sig is not None:
            params, any_keyword = sig
            named = {p.name: p for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                             inspect.Parameter.KEYWORD_ONLY)}
            listing = ", ".join(p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL
                                and p.kind is not inspect.Parameter.VAR_KEYWORD)
            given = {}
            if decl.readout_name is not None:
                given[decl.readout_name] = "readout_key"
            given.update({name: "behavior_keywords" for name, _ in decl.behavior_keywords})
            for name, key in given.items():
                if name not in named and not any_keyword:
                    what = (f"readout_key {name!r}" if key == "readout_key" else
                            f"behaviour keywords ({', '.join(n for n, _ in decl.behavior_keywords)})")
                    raise DnemkitError(f"{decl.source} gives {what}, but the model's forward({listing}) takes no "
                                       f"argument {name!r}")
            if decl.readout_name is None:
                keys = _readout_keys(self.model)
                for name in READOUT_ARGUMENTS:
                    p = named.get(name)
                    # data_key=None is fine for a model with one readout; with several it picks none (openretina
                    # then concatenates every session's neurons, neuralpredictors fails)
                    if p is not None and (p.default is inspect.Parameter.empty or
                                          (p.default is None and (keys is None or len(keys) > 1))):
                        raise DnemkitError(
                            f"{decl.source}: readout key missing: the model's forward({listing}) takes {name!r}, "
                            f"but the declaration gives no readout_key; add \"readout_key\": {{\"name\": "
                            f"\"{name}\", \"value\": ...}}" + (f" (its readouts: {', '.join(keys)})" if keys else ""))
            positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                          inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            required = [p.name for p in params[1:] if p.default is inspect.Parameter.empty and p.kind in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY) and p.name not in given]
            if positional and positional[0].name in given:
                raise DnemkitError(f"{decl.source}: the model's first argument {positional[0].name!r} is its input, "
                                   "not a readout key or behaviour keyword")
            if required:
                hint = ("declare \"behavior\": \"keywords\" with \"behavior_keywords\" naming them"
                        if not decl.behavior_keywords else "name them in behavior_keywords or readout_key")
                raise DnemkitError(f"{decl.source}: the model's forward({listing}) requires "
                                   f"{', '.join(map(repr, required))}, which the declaration does not give "
                                   f"(behavior {decl.behavior!r}); {hint}")
        keys = _readout_keys(self.model)
        if keys is not None and decl.readout_values is not None:
            for value in decl.readout_values:
                if value not in keys:
                    raise DnemkitError(f"{decl.source}: readout_key {decl.readout_name}={value!r} is not one of "
                                       f"the model's readouts ({', '.join(keys)})")

    def _declared_shape(self, b, t):
        decl = self.declaration
        h, w = decl.size
        sizes = {"B": b, "C": decl.n_channels, "T": t, "H": h, "W": w}
        return tuple(sizes[a] for a in decl.input_layout)

    def _check_stimulus_shape(self):
        """openretina's ``model.stimulus_shape(time_steps, num_batches)`` (B, C, T, H, W) against the
        declaration: channels and frame size."""
        decl = self.declaration
        shape_of = getattr(self.model, "stimulus_shape", None)
        if not callable(shape_of):
            return
        try:
            expected = tuple(int(s) for s in shape_of(time_steps=7, num_batches=3))
        except Exception:  # noqa: BLE001 -- a stimulus_shape of another meaning: nothing to compare
            return
        ours = self._declared_shape(3, 7)
        if decl.input_layout != "BCTHW" or expected != ours:
            raise DnemkitError(
                f"{decl.source}: the model's stimulus_shape(time_steps=7, num_batches=3) is {expected} (B, C, T, H, "
                f"W), but the declaration gives {ours} (input_layout {decl.input_layout}, {decl.channels_text()} "
                f"channels, frame_size {list(decl.size)})")

    def _probe(self, seed=0):
        """Two calls (2 videos x T1 frames, 1 x T1 + 5) find the model's rates axes, dropped frames and neuron
        count; one more, through forward, checks the rates (finite, >= 0) and their gradient w.r.t. the video."""
        decl = self.declaration
        gen = torch.Generator().manual_seed(seed)
        t1 = (decl.first_valid_frame or 0) + 48
        cases = [(2, t1), (1, t1 + 5)]
        shapes = []
        with torch.no_grad():
            for b, t in cases:
                video = torch.rand((b, t, HEIGHT, WIDTH), generator=gen) * 255
                shapes.append(tuple(self._call(video, None).shape))
        (b1, t1), (b2, t2) = cases
        s1, s2 = shapes
        seen = f"{s1} for {b1} videos x {t1} frames and {s2} for {b2} x {t2}"
        if len(s1) != 3 or len(s2) != 3:
            raise DnemkitError(f"{decl.source}: the model returned rates {seen}; expected 3 axes (batch, neurons, "
                               "frames)")
        batch = [k for k in range(3) if s1[k] == b1 and s2[k] == b2]
        time = [k for k in range(3) if s2[k] - s1[k] == t2 - t1 and 0 < s1[k] <= t1 and k not in batch]
        neurons = [k for k in range(3) if s1[k] == s2[k] and k not in batch and k not in time]
        if len(batch) != 1 or len(time) != 1 or len(neurons) != 1:
            said = decl.says("output", decl.output)
            raise DnemkitError(f"{decl.source}: the model returned rates {seen}; no axis follows the frames (or the "
                               f"videos) one to one; expected batch, neurons and frames ({said}; a model that needs "
                               "more history than that: declare first_valid_frame)")
        found = "".join(sorted("BTN", key=lambda a: {"B": batch[0], "T": time[0], "N": neurons[0]}[a]))
        n = s1[neurons[0]]
        frames_out = s1[time[0]]
        if found != decl.output:
            raise DnemkitError(f"{decl.source} says {decl.says('output', decl.output)}, but the model returned {s1} "
                               f"for {n} neurons x {b1} videos x {t1} frames: the output looks like {found}")
        lag = t1 - frames_out
        if lag and decl.output_frames == "all":
            raise DnemkitError(f"{decl.source} says {decl.says('output_frames', 'all')}, but the model returned "
                               f"{frames_out} frames for {t1}: it drops its first {lag} frames (a valid temporal "
                               "convolution?); declare \"output_frames\": \"last\"")
        if decl.first_valid_frame is not None and decl.first_valid_frame < lag:
            raise DnemkitError(f"{decl.source} says first_valid_frame {decl.first_valid_frame}, but the model "
                               f"needs {lag} frames before its first prediction (it returned {frames_out} frames "
                               f"for {t1}); expected first_valid_frame >= {lag}")
        if decl.n_neurons is not None and decl.n_neurons != n:
            raise DnemkitError(f"{decl.source} says n_neurons {decl.n_neurons}, but the model returned {n} neurons "
                               f"(rates {s1}, output {decl.output})")
        self.lag = lag
        self.n_neurons = n
        self.first_valid_frame = decl.first_valid_frame if decl.first_valid_frame is not None else lag
        # the full path once, at the length of a reconstruction's sub-batch: finite, >= 0, differentiable
        video = (torch.rand((1, 32, HEIGHT, WIDTH), generator=gen) * 255).requires_grad_(True)
        with torch.enable_grad():  # also when the encoder is loaded inside a caller's torch.no_grad()
            rates = self(video)
            check_rates(rates, self, video, need_grad=True)
            (grad,) = torch.autograd.grad(rates.sum(), video, allow_unused=True)
        if grad is None or not bool(torch.isfinite(grad).all()):
            raise DnemkitError(f"{self.description}: the gradient of its rates w.r.t. the video is "
                               f"{'missing' if grad is None else 'not finite'}; expected rates computed from the "
                               "video with differentiable torch operations")

    def info(self):
        out = super().info()
        decl = self.declaration
        h, w = decl.size
        out.update(
            model=type(self.model).__name__,
            declaration=decl.source,
            model_input=f"{decl.input_layout} {self._declared_shape(1, 32)} for 32 frames ({decl.channels_text()} "
                        f"channels)",
            frame_size=f"{h} x {w}" + ("" if (h, w) == (HEIGHT, WIDTH) else
                                       f" (resized from {HEIGHT} x {WIDTH}, bilinear)"),
            scale=f"(video - {decl.mean:g}) / {decl.std:g}",
            behavior=decl.behavior,
            readout=None if decl.readout_name is None else f"{decl.readout_name}={self.readout_value!r}",
            output=f"{decl.output}" + ("" if decl.output_index is None else f", item {decl.output_index!r}"),
            dropped_frames=self.lag,
        )
        return out

