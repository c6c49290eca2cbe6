"""Encoder spec strings -> encoders (every command's ``--encoder``).

    demo                      the shipped demo ensemble (small DwiseNeuros trained on the synthetic mouse)
    synthetic[:seed]          the ground-truth synthetic mouse
    path/model.pth            one DwiseNeuro argus checkpoint (``mouse`` picks the readout)
    path/folder               every .pth in the folder: an ensemble
    path/file.py:factory      any user encoder: factory() returns a module enc(video, behavior) -> rates
    package.module:factory    the same, from an importable module

A folder (or a .pth's folder) may hold ``encoder.json`` with ``behavior_mean`` (4 numbers: the per-mouse means
used when no behaviour is given) and ``description``. An ``encoder.json`` that declares a foreign model
(``"factory"`` or ``"module"``, see :mod:`dnemkit.encoders.adapters`) makes its folder, the file itself, or any
weights file beside it (which then replaces the declared ``"weights"``, or ``"module"`` without a factory) a
:class:`~dnemkit.encoders.adapters.ForeignEncoder`.
"""

import json
import re
from pathlib import Path

import torch

from ..errors import DnemkitError
from .adapters import ADAPTER_KEYS, SIDECAR_KEYS, declares_model, import_object, load_declared
from .base import CallableEncoder, Encoder, Ensemble
from .dwiseneuro.checkpoint import model_from_checkpoint, read_checkpoint
from .dwiseneuro.encoder import DwiseNeuroEncoder
from .synthetic import SyntheticMouse

DEMO_DIR = Path(__file__).resolve().parent.parent / "assets" / "demo"
SPEC_HELP = ("expected 'demo', 'synthetic[:seed]', a DwiseNeuro .pth file, a folder of .pth files, a folder with "
             "an encoder.json declaring a model, 'path/to/file.py:factory' or 'package.module:factory'")

#: what an encoder.json holds, for the messages about a broken one (the keys come from adapters.py, so the hint
#: cannot fall behind the declarations it describes)
SIDECAR_HELP = (f"expected a JSON object: the sidecar of DwiseNeuro checkpoints ({', '.join(SIDECAR_KEYS)}) or a "
                "declared foreign model (\"factory\" or \"module\", with "
                f"{', '.join(k for k in ADAPTER_KEYS if k not in ('factory', 'module'))}; see docs/method.md, "
                "'Foreign encoders')")


def _sidecar(folder):
    path = Path(folder) / "encoder.json"
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DnemkitError(f"{path} is not valid JSON ({exc}); {SIDECAR_HELP}") from None
    if not isinstance(meta, dict):
        raise DnemkitError(f"{path} holds a JSON {type(meta).__name__}; {SIDECAR_HELP}")
    mean = meta.get("behavior_mean")
    if mean is not None and (not isinstance(mean, list) or len(mean) != 4):
        raise DnemkitError(f"{path}: behavior_mean is {mean!r}; expected a list of 4 numbers")
    return meta


def load_checkpoint_encoder(path, mouse=None, behavior_mean=None):
    """One DwiseNeuro checkpoint as an encoder for readout ``mouse`` (default 0)."""
    path = Path(path)
    ckpt = read_checkpoint(path)
    model, params = model_from_checkpoint(ckpt)
    fill = params.get("inputs_processor", ("", {}))[1].get("pad_fill_value", 0.0)
    meta = _sidecar(path.parent)
    mean = behavior_mean if behavior_mean is not None else meta.get("behavior_mean")
    index = 0 if mouse is None else int(mouse)
    return DwiseNeuroEncoder(model, index, fill=fill, behavior_mean=mean, description=f"DwiseNeuro {path.name}, "
                             f"mouse {index}")


def load_folder(folder, mouse=None, behavior_mean=None):
    folder = Path(folder)
    files = sorted(f for f in folder.glob("*.pth") if not f.name.startswith("."))  # skip unfinished writes
    if not files:
        raise DnemkitError(f"folder {folder} holds no .pth files; expected DwiseNeuro checkpoints (an ensemble)")
    members = [load_checkpoint_encoder(f, mouse, behavior_mean) for f in files]
    if len(members) == 1:
        return members[0]
    return Ensemble(members, description=f"ensemble of {len(members)} DwiseNeuro models in {folder}")


def _load_factory(spec):
    factory = import_object(spec)
    try:
        made = factory()
    except Exception as exc:
        raise DnemkitError(f"encoder factory {spec} failed: {type(exc).__name__}: {exc}") from None
    if isinstance(made, Encoder):
        return made
    if not callable(made):
        raise DnemkitError(f"{spec} returned a {type(made).__name__}; expected a module enc(video, behavior)")
    if isinstance(made, torch.nn.Module):
        made.eval()
    return CallableEncoder(made, description=f"user encoder {spec}")


def load_demo(mouse=None):
    """The shipped demo ensemble; the synthetic mouse itself if the package ships none."""
    if DEMO_DIR.is_dir() and any(DEMO_DIR.glob("*.pth")):
        enc = load_folder(DEMO_DIR, mouse)
        enc.description = f"demo: {enc.description.split(' in ')[0]} trained on the synthetic mouse (seed 0)"
        return enc
    return SyntheticMouse(0)


def load_encoder(spec="demo", mouse=None):
    """Resolve an encoder spec string (see module docstring) to an Encoder (an Ensemble for several models)."""
    if isinstance(spec, Encoder):
        return spec
    spec = str(spec).strip()
    if not spec:
        raise DnemkitError(f"the encoder spec is empty; {SPEC_HELP}")
    if mouse is not None and (not isinstance(mouse, int) or mouse < 0):
        raise DnemkitError(f"mouse is {mouse!r}; expected a readout index 0, 1, 2, ...")
    if spec == "demo":
        return load_demo(mouse)
    m = re.fullmatch(r"synthetic(?::(\d+))?", spec)
    if m:
        if mouse not in (None, 0):
            raise DnemkitError(f"mouse index {mouse} is out of range; the synthetic mouse has only mouse 0")
        return SyntheticMouse(int(m.group(1) or 0))
    if spec.startswith("synthetic"):
        raise DnemkitError(f"bad synthetic spec '{spec}'; expected 'synthetic' or 'synthetic:SEED' (an integer)")
    path = Path(spec)
    if path.is_file():
        folder = path.parent
        meta = _sidecar(folder)
        if declares_model(meta):  # the declaration, or a weights file beside it
            return load_declared(folder, meta, mouse, weights=None if path.name == "encoder.json" else path)
    if spec.endswith(".pth"):
        return load_checkpoint_encoder(path, mouse)
    if path.is_dir():
        meta = _sidecar(path)
        if declares_model(meta):
            return load_declared(path, meta, mouse)
        return load_folder(path, mouse)
    if ":" in spec:
        return _load_factory(spec)
    raise DnemkitError(f"unknown encoder spec '{spec}'; {SPEC_HELP}")
