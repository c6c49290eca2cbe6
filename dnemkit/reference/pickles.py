"""Pickles of the reference implementation, read without running anything they carry, and written as it wrote them.

The reference saved each reconstruction summary with ``np.save`` of a dict: a pickle (protocol 3) made on a CUDA
machine with numpy 1.x. It holds numpy arrays and scalars (under the numpy 1.x module names
``numpy.core.multiarray``), torch tensors whose storages were saved on ``cuda:0``, a ``torch.device`` and
``pathlib.PosixPath`` objects. ``np.load(allow_pickle=True)`` would fail on a CPU (the storages ask for CUDA)
and would run whatever code a file names. :func:`load_pickle` admits only the names such files use
(:data:`ALLOWED`): numpy's array, dtype and scalar reconstruction (the 1.x names mapped to numpy 2), torch's
tensor rebuild with its storage loaded by ``torch.load(weights_only=True)`` onto the CPU, ``torch.device``,
``collections.OrderedDict`` (a tensor's empty hook list) and paths (as pure paths: nothing touches the disk).
Anything else is refused in one line naming the file and the name.

:func:`dump_pickle` writes the same kind of file: protocol 3, numpy arrays and scalars under the numpy 1.x names
(so the reference's numpy 1.x notebooks read it), tensors as torch pickles them.
"""

import io
import pickle
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import DnemkitError

NPY_MAGIC = b"\x93NUMPY"


class Refused(pickle.UnpicklingError):
    """Something a reconstruction summary never holds (the file is refused, not merely damaged)."""


def _numpy(module, name):
    import numpy as np

    if module.endswith("multiarray"):
        return getattr(np._core.multiarray, name)
    if module.endswith("numeric"):
        return getattr(np._core.numeric, name)
    return getattr(np, name)


def _load_storage(data):
    """A storage pickled by ``TypedStorage.__reduce__`` (legacy torch.save bytes): loaded on the CPU by torch's
    weights-only unpickler, which builds storages and nothing else."""
    import torch

    if not isinstance(data, bytes):
        raise Refused("a torch storage that is not bytes")
    try:
        storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types; the caller reports one line
        raise Refused(f"a torch storage torch refuses ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise Refused(f"a torch storage that holds a {type(storage).__name__}")
    return storage


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
    """torch's own rebuild, given only storages :func:`_load_storage` made and no hooks."""
    import torch
    from torch._utils import _rebuild_tensor_v2

    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise Refused(f"a tensor built on a {type(storage).__name__}, not a storage")
    if hooks:
        raise Refused("a tensor with backward hooks")
    return _rebuild_tensor_v2(storage, offset, size, stride, bool(requires_grad), type(hooks)() if hooks is not None
                              else None)


def _device(*args):
    import torch

    return torch.device(*args)


def _ordered_dict(*args):
    from collections import OrderedDict

    return OrderedDict(*args)


_NUMPY = {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")}
_NUMPY |= {(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")}
_NUMPY |= {("numpy", "ndarray"), ("numpy", "dtype")}
_PATHS = {(m, n): (PureWindowsPath if "Windows" in n else PurePosixPath)
          for m in ("pathlib", "pathlib._local") for n in ("Path", "PosixPath", "PurePosixPath", "WindowsPath",
                                                            "PureWindowsPath", "PurePath")}
_OTHERS = {("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor, ("torch.storage", "_load_from_bytes"): _load_storage,
           ("torch", "device"): _device, ("collections", "OrderedDict"): _ordered_dict}
ALLOWED = frozenset(_NUMPY | set(_PATHS) | set(_OTHERS))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _NUMPY:
            return _numpy(module, name)
        if (module, name) in _PATHS:
            return _PATHS[module, name]
        if (module, name) in _OTHERS:
            return _OTHERS[module, name]
        raise Refused(f"it names {module}.{name}, which a reconstruction summary never holds")

    def persistent_load(self, pid):
        raise Refused("it holds a persistent reference, which a reconstruction summary never holds")


def _pickle_bytes(path, raw):
    """The pickle inside ``raw``: a .npy of dtype object wraps one after its header; a bare pickle is itself."""
    if raw.startswith(NPY_MAGIC):
        import numpy as np
        from numpy.lib import format as npy

        f = io.BytesIO(raw)
        try:
            version = npy.read_magic(f)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(f)
        except ValueError as exc:
            raise DnemkitError(f"{path} has a damaged .npy header ({exc}); expected a reconstruction summary") from None
        if dtype != np.dtype(object) or shape != ():
            raise DnemkitError(f"{path} holds a {dtype} array of shape {shape}; expected a pickled dict (a "
                               "reconstruction summary written by np.save)")
        return raw[f.tell():]
    if zipfile.is_zipfile(io.BytesIO(raw)):
        raise DnemkitError(f"{path} is a zip (a torch checkpoint?); expected a reconstruction summary .npy")
    return raw


def load_pickle(path, max_bytes=2 << 30):
    """The object pickled in ``path`` (a ``.npy`` written by ``np.save`` of a dict, or a bare pickle), built only
    from :data:`ALLOWED` names; DnemkitError in one line for anything else, a damaged or an oversized file."""
    import numpy as np

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise DnemkitError(f"{path} does not exist; expected a reconstruction summary .npy") from None
    if size > max_bytes:
        raise DnemkitError(f"{path} has {size:,} bytes; expected a reconstruction summary (< {max_bytes:,} bytes)")
    raw = path.read_bytes()
    body = _pickle_bytes(path, raw)
    try:
        obj = _Unpickler(io.BytesIO(body)).load()
    except Refused as exc:
        raise DnemkitError(f"{path} was refused: {exc}; expected a reconstruction summary") from None
    except Exception as exc:  # a damaged stream: EOFError, ValueError, TypeError from a bad opcode's arguments
        raise DnemkitError(f"{path} is not a readable pickle ({type(exc).__name__}: {str(exc)[:120]}); expected a "
                           "reconstruction summary") from None
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    return obj


class _Pickler(pickle._Pickler):
    """The pure-Python pickler, writing numpy's reconstruction functions under their numpy 1.x names (numpy 2
    reads both; numpy 1.x only these)."""

    def save_global(self, obj, name=None):
        import numpy as np

        legacy = {id(np._core.multiarray._reconstruct): ("numpy.core.multiarray", "_reconstruct"),
                  id(np._core.multiarray.scalar): ("numpy.core.multiarray", "scalar")}.get(id(obj))
        if legacy is None and isinstance(obj, type) and obj.__module__.startswith("pathlib"):
            legacy = ("pathlib", obj.__name__)  # Python >= 3.13 keeps them in pathlib._local; older ones cannot
        if legacy is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{legacy[0]}\n{legacy[1]}\n".encode())
        self.memoize(obj)


def dump_pickle(obj, path):
    """Write ``obj`` as ``np.save(path, obj)`` would under numpy 1.x (a .npy of dtype object wrapping a protocol 3
    pickle), atomically."""
    import numpy as np
    from numpy.lib import format as npy

    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            npy.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": ()})
            _Pickler(f, protocol=3).dump(np.asarray(obj, dtype=object) if not isinstance(obj, dict) else
                                         _as_object_array(obj))
    return Path(path)


def _as_object_array(d):
    import numpy as np

    arr = np.empty((), dtype=object)
    arr[()] = d
    return arr
