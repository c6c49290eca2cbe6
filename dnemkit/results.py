"""Results as xarray Datasets: provenance attributes and atomic netCDF writing (engine h5netcdf)."""

import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import DnemkitError


def provenance(kind, config=None, encoder=None, seed=None, **extra):
    """Dataset attrs every result carries: kind, versions, config (JSON), encoder spec, seed, time."""
    import torch

    from . import __version__

    attrs = {
        "dnemkit_kind": kind,
        "dnemkit_version": __version__,
        "torch_version": str(torch.__version__),  # TorchVersion, a str subclass h5py cannot store
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if config is not None:
        attrs["config"] = json.dumps(config if isinstance(config, dict) else config.to_dict(), default=str)
    if encoder is not None:
        attrs["encoder"] = str(encoder)
    if seed is not None:
        attrs["seed"] = int(seed)
    for k, v in extra.items():
        attrs[k] = v if isinstance(v, (str, int, float, np.integer, np.floating)) else json.dumps(v, default=str)
    return attrs


def write_dataset(ds, path):
    """Write ``ds`` to ``path`` (netCDF4 via h5netcdf) atomically: a temporary name, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # h5netcdf stores strings as variable-length; fixed-width numpy unicode has no HDF5 type
    ds = ds.copy()
    for name, var in list(ds.variables.items()):
        if var.dtype.kind == "U":
            ds[name] = var.astype(object)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_dataset(path, kind=None):
    """Open a dnemkit result (loaded into memory); ``kind`` checks its dnemkit_kind attribute."""
    path = Path(path)
    if not path.exists():
        raise DnemkitError(f"results file {path} does not exist")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as exc:
        raise DnemkitError(f"{path} is not a readable netCDF results file ({type(exc).__name__})") from None
    found = ds.attrs.get("dnemkit_kind")
    if kind is not None and found not in ((kind,) if isinstance(kind, str) else tuple(kind)):
        raise DnemkitError(f"{path} holds '{found}' results; expected {kind}")
    return ds
