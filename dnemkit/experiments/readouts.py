"""Which readout of an encoder predicts each mouse folder: by the folder's name (a simulated mouse's own ground
truth), ``--mouse-map``, the encoder's ``encoder.json`` 'mice', or ``--mouse`` for a single folder. Shared by the
commands that read recorded mice (`study`, `natural`, `ablation`, `errormap`); importable without torch.
"""

import json
import re
from pathlib import Path

from ..encoders.ref import EncoderRef
from ..errors import DnemkitError

_SYNTHETIC_FOLDER = re.compile(r"synthetic(\d+)$")


def readout_refs(mice, ref, mouse_map=()):
    """Which readout of an encoder predicts each mouse.

    Parameters
    ----------
    mice : list of SensoriumMouse
        The mouse folders (:func:`dnemkit.data.open_mice`).
    ref : EncoderRef
        The encoder as named (a spec; its ``mouse`` is the readout of a single mouse folder, its ``models`` the
        ensemble members every mouse uses).
    mouse_map : sequence of (str, int), optional
        (folder name or prefix, readout index) pairs (``--mouse-map``); empty: the encoder's ``encoder.json``
        'mice', or the single folder's ``ref.mouse``.

    Returns
    -------
    dict
        {mouse name: (EncoderRef, how it was mapped, in words)}. ``synthetic`` maps each folder `characterize
        simulate` wrote to its own ground truth.

    Raises
    ------
    DnemkitError
        One line naming the folders that map to no readout.
    """
    spec, models, mouse = ref.spec, ref.models, ref.mouse
    out, missing = {}, []
    listed = None if (mouse_map or spec.startswith("synthetic")) else _listed_mice(spec)
    mapping = dict(mouse_map)
    for m in mice:
        if spec == "synthetic":
            hit = _SYNTHETIC_FOLDER.search(m.name)
            if hit is None:
                missing.append(m.name)
                continue
            out[m.name] = (_ground_truth(int(hit.group(1)), m.n_neurons, models),
                           f"its own ground truth synthetic:{int(hit.group(1))}")
        elif mapping:
            keys = _match(m.name, mapping)
            if len(keys) != 1:
                missing.append(m.name)
                continue
            out[m.name] = (EncoderRef(spec, mapping[keys[0]], models), f"readout {mapping[keys[0]]} (--mouse-map)")
        elif listed is not None:
            hits = [i for i, n in enumerate(listed) if n in _match(m.name, listed)]
            if len(hits) != 1:
                missing.append(m.name)
                continue
            out[m.name] = (EncoderRef(spec, hits[0], models), f"readout {hits[0]} (encoder.json 'mice')")
        elif len(mice) == 1:
            out[m.name] = (EncoderRef(spec, mouse, models),
                           f"readout {0 if mouse is None else mouse}"
                           + (" (--mouse)" if mouse is not None else " (the encoder's only/first)"))
        else:
            missing.append(m.name)
    if missing:
        if spec == "synthetic":
            expected = ("simulated mouse folders (names ending in 'syntheticNNNN', as `characterize simulate` "
                        "writes), or --encoder synthetic:SEED for one mouse")
        else:
            expected = ("--mouse-map NAME=INDEX,... (folder name or prefix = readout index) or a list of readout "
                        "names in the encoder folder's encoder.json ('mice')")
        raise DnemkitError(f"mouse folder(s) {', '.join(missing)} map to no readout of encoder {spec!r}; "
                           f"expected {expected}")
    return out


def _listed_mice(spec):
    """Mouse names an encoder lists (``encoder.json`` "mice" beside its checkpoints, in readout order), or None."""
    if not isinstance(spec, str):
        return None
    path = Path(spec)
    folder = path if path.is_dir() else path.parent
    sidecar = folder / "encoder.json"
    if not (spec.endswith(".pth") or path.is_dir()) or not sidecar.is_file():
        return None
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError):  # the encoder's own loader names the broken file
        return None
    names = meta.get("mice") if isinstance(meta, dict) else None
    return [str(n) for n in names] if isinstance(names, list) else None


def _match(name, keys):
    """Keys that name the folder ``name``: the exact name, else keys that are a prefix of it (or it of them)."""
    exact = [k for k in keys if k == name]
    return exact or [k for k in keys if name.startswith(k) or k.startswith(name)]


def _ground_truth(seed, n_neurons, models):
    """The simulated mouse ``seed``'s own model: by spec when it has the default population (workers load it
    by name), else the object built with the folder's neuron count (`characterize simulate --neurons`)."""
    from ..encoders.synthetic import SyntheticMouse, SyntheticMouseConfig

    if n_neurons == SyntheticMouseConfig().n_neurons:
        return EncoderRef(f"synthetic:{seed}", None, models)
    return EncoderRef(SyntheticMouse(seed, SyntheticMouseConfig(n_neurons=n_neurons)), None, models)
