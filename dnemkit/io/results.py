"""Results as xarray Datasets: provenance attributes and atomic netCDF writing (engine h5netcdf)."""

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from .atomic import atomic_path
from ..errors import DnemkitError


def provenance(kind, config=None, encoder=None, seed=None, **extra):
    """Dataset attrs every result carries: kind, versions, config (JSON), encoder spec, seed, time."""
    import torch

    from .. import __version__

    attrs = {
        "dnemkit_kind": kind,
        "dnemkit_version": __version__,
        "torch_version": str(torch.__version__),
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
    attrs.update(extra)
    return attrs


def _netcdf_attr(value):
    """An attribute value netCDF can store: numbers and plain str as they are, bools as 0/1, others as JSON."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value
    if isinstance(value, str):
        return str(value)  # str subclasses (TorchVersion, np.str_) have no HDF5 type
    if value is None:
        return ""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return value
    return json.dumps(value, default=str)


def write_dataset(ds, path):
    """Write ``ds`` to ``path`` (netCDF4 via h5netcdf) atomically: a temporary name, then a rename."""
    path = Path(path)
    # h5netcdf stores strings as variable-length; fixed-width numpy unicode has no HDF5 type. Bool variables are
    # xarray's to encode (int8 with dtype='bool', read back as bool)
    ds = ds.copy()
    for name, var in list(ds.variables.items()):
        if var.dtype.kind == "U":
            ds[name] = var.astype(object)
        ds[name].attrs = {k: _netcdf_attr(v) for k, v in var.attrs.items()}
    ds.attrs = {k: _netcdf_attr(v) for k, v in ds.attrs.items()}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
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
