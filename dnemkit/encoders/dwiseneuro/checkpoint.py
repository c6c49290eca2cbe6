"""argus checkpoints of DwiseNeuro: read and write exactly the reference format (docs/method.md, "Encoders").

A checkpoint is ``torch.save`` of a dict with the keys in ``CHECKPOINT_KEYS``; ``nn_state_dict`` holds fp32 CPU
tensors (the EMA weights). Files are read with ``weights_only=True``: nothing in them is executed.
"""

from pathlib import Path

import torch

from ...io.atomic import atomic_path
from ...errors import DnemkitError
from .network import MAIN_CONFIG, DwiseNeuro

CHECKPOINT_KEYS = ("model_name", "params", "nn_state_dict")
DWISENEURO_PARAM_KEYS = tuple(MAIN_CONFIG)


def default_params(config=MAIN_CONFIG, lr=2.4e-3):
    """The ``params`` dict argus stores beside the weights, for a DwiseNeuro built from ``config``."""
    return {
        "nn_module": ("dwiseneuro", {k: (tuple(v) if isinstance(v, (list, tuple)) else v)
                                     for k, v in config.items()}),
        "loss": ("mice_poisson", {"log_input": False, "full": False, "eps": 1e-8}),
        "optimizer": ("AdamW", {"lr": lr, "weight_decay": 0.05}),
        "device": "cpu",
        "frame_stack": {"size": 16, "step": 2, "position": "last"},
        "inputs_processor": ("stack_inputs", {"size": (64, 64), "pad_fill_value": 0.0}),
        "responses_processor": ("identity", {}),
        "amp": False,
        "iter_size": 1,
    }


def _clip(text, limit):
    """``text`` whole when short, else cut at the last word boundary before ``limit`` characters, with '...'."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut or text[:limit]} ..."


def read_checkpoint(path):
    """Load and validate an argus DwiseNeuro checkpoint; returns its dict. One clear error otherwise."""
    path = Path(path)
    if not path.exists():
        raise DnemkitError(f"checkpoint {path} does not exist; expected a DwiseNeuro .pth file")
    if path.is_dir():
        raise DnemkitError(f"checkpoint {path} is a folder; expected a DwiseNeuro .pth file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign files; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DnemkitError(f"{path} is not a readable torch checkpoint ({_clip(first, 160)}); "
                           "expected an argus DwiseNeuro .pth file") from None
    problem = _format_problem(ckpt)
    if problem:
        raise DnemkitError(f"{path} is not an argus DwiseNeuro checkpoint: {problem}")
    return ckpt


def _format_problem(ckpt):
    if not isinstance(ckpt, dict):
        return f"it holds a {type(ckpt).__name__}, expected a dict with keys {', '.join(CHECKPOINT_KEYS)}"
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        return f"missing key(s) {', '.join(missing)}"
    module = ckpt["params"].get("nn_module") if isinstance(ckpt["params"], dict) else None
    if not (isinstance(module, (tuple, list)) and len(module) == 2 and module[0] == "dwiseneuro"):
        return f"params['nn_module'] is {_clip(repr(module), 80)}, expected ('dwiseneuro', {{...}})"
    absent = [k for k in DWISENEURO_PARAM_KEYS if k not in module[1]]
    if absent:
        return f"nn_module parameters lack {', '.join(absent)}"
    return None


def model_from_checkpoint(ckpt):
    """Build the DwiseNeuro the checkpoint describes and load its weights (strict). Returns (model, params)."""
    kwargs = dict(ckpt["params"]["nn_module"][1])
    model = DwiseNeuro(**{k: kwargs[k] for k in DWISENEURO_PARAM_KEYS})
    try:
        model.load_state_dict(ckpt["nn_state_dict"], strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DnemkitError(f"checkpoint weights do not match its own params: {_clip(first, 200)}") from None
    model.eval()
    return model, ckpt["params"]


def save_checkpoint(path, model, params=None):
    """Write ``model`` as an argus checkpoint (fp32 CPU weights), atomically."""
    if params is None:
        params = default_params(model.config)
    state = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).clone()
             for k, v in model.state_dict().items()}
    payload = {"model_name": "MouseModel", "params": params, "nn_state_dict": state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)
