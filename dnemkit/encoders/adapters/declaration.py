"""The declaration of a foreign encoder: ``encoder.json`` read and checked into a :class:`Declaration`.

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

import math
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import DnemkitError, say
from ...stimuli.geometry import HEIGHT, WIDTH

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
