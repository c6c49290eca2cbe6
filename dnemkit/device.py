"""The one place that turns a device name ('auto', 'cpu', 'cuda', 'cuda:K') into a ``torch.device``.

Every command and library function that takes a device goes through :func:`resolve_device`, so a bad name or
a CUDA request on a machine without CUDA is one clear :class:`DnemkitError` line, never a torch traceback in
the middle of a run.
"""

import re

import torch

from .errors import DnemkitError

EXPECTED = "expected auto, cpu, cuda or cuda:K"


def resolve_device(name="auto"):
    """'auto' (cuda if available, else cpu) | 'cpu' | 'cuda' | 'cuda:K' (or a torch.device) -> torch.device.

    Raises DnemkitError for any other name, for 'cuda' on a machine without CUDA, and for 'cuda:K' with K not
    an index of this machine's GPUs.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name is None:
        name = "auto"
    if not isinstance(name, str):
        raise DnemkitError(f"device is {name!r}; {EXPECTED}")
    text = name.strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if match is None:
        raise DnemkitError(f"device is {name!r}; {EXPECTED}")
    if not torch.cuda.is_available():
        raise DnemkitError(f"device is {name!r} but this machine has no CUDA GPU (torch.cuda.is_available() is "
                           "False); expected --device cpu or auto")
    if match.group(1) is None:
        return torch.device("cuda")
    index, count = int(match.group(1)), torch.cuda.device_count()
    if index >= count:
        raise DnemkitError(f"device is {name!r} but this machine has {count} CUDA GPU{'s' if count != 1 else ''} "
                           f"(cuda:0..cuda:{count - 1}); expected --device cpu, auto, cuda or cuda:K with K < {count}")
    return torch.device("cuda", index)


def synchronize(device):
    """Wait for ``device``'s queued work (a no-op on a CPU); for timings."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
