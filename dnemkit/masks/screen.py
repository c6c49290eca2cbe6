"""The screen mask: where on the screen an encoder looks, however the mask was made.

A :class:`ScreenMask` holds a graded ``level`` map (36 x 64) and two thresholds: pixels with level >= the
training threshold are optimised during reconstruction, pixels with level >= the evaluation threshold are scored.
What ``level`` means depends on the ``method`` that made it:

- ``alpha``: the paper's learned transparency (unbounded; thresholds 0.5 and 1), :mod:`dnemkit.masks.alpha`;
- ``sensitivity``: the encoder's input sensitivity rescaled so that 0.5 and 1 are the coverage thresholds,
  :mod:`dnemkit.masks.sensitivity`;
- ``given``: an array or file the user supplied.

Files store ``level`` as the variable ``mask_level`` (files written before the rename call it ``alpha``; both read).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import DnemkitError
from ..io.results import read_dataset
from ..stimuli.geometry import HEIGHT, WIDTH, mask_size_deg
from ..units import DIMENSIONLESS

METHODS = ("alpha", "sensitivity", "given")
LEVEL_NAMES = {"alpha": "alpha (learned transparency, unbounded)",
               "sensitivity": "input sensitivity (scaled: 0.5 = training, 1 = evaluation coverage threshold)",
               "given": "mask level (given)"}


def size_attrs(mask):
    """Attributes of a boolean (36, 64) mask variable: its sizes in visual degrees (:func:`mask_size_deg`: the
    paper's diameter, the solid-angle disc's diameter, the horizontal and vertical extents through the screen centre; NaN when empty)."""
    sizes = mask_size_deg(mask)
    return {key: round(value, 3) for key, value in sizes.items() if key != "area_deg2"}


@dataclass
class ScreenMask:
    """A screen mask: ``level`` (36, 64) float32, the ``method`` that made it, and its two thresholds.

    ``train`` (level >= train_threshold) and ``eval`` (level >= eval_threshold) are the boolean (36, 64) masks.
    """

    level: np.ndarray
    method: str = "given"
    train_threshold: float = 0.5
    eval_threshold: float = 1.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise DnemkitError(f"mask method is {self.method!r}; expected one of {', '.join(METHODS)}")

    @property
    def train(self):
        return self.level >= self.train_threshold

    @property
    def eval(self):
        return self.level >= self.eval_threshold

    def at(self, threshold):
        """The boolean (36, 64) mask of pixels with level >= ``threshold`` (a mask-threshold variation)."""
        return self.level >= threshold

    @property
    def selects_pixels(self):
        """True when both masks select at least one pixel and the level is finite (a mask worth using or caching)."""
        return bool(np.isfinite(self.level).all() and self.train.any() and self.eval.any())

    def variables(self):
        """{name: xarray.Variable (y, x)}: ``mask_level``, and the bool ``train_mask`` and ``eval_mask`` with their
        threshold and sizes in degrees (:func:`size_attrs`) as attributes."""
        return {"mask_level": xr.Variable(("y", "x"), self.level.astype(np.float32),
                                          {"long_name": LEVEL_NAMES[self.method], "units": DIMENSIONLESS,
                                           "method": self.method}),
                "train_mask": xr.Variable(("y", "x"), self.train,
                                          {"threshold": self.train_threshold, **size_attrs(self.train)}),
                "eval_mask": xr.Variable(("y", "x"), self.eval,
                                         {"threshold": self.eval_threshold, **size_attrs(self.eval)})}

    def to_dataset(self, **attrs):
        """The mask as a Dataset (dims y, x) with ``attrs`` and the method and thresholds as attributes."""
        ds = xr.Dataset(self.variables(), coords={"y": np.arange(HEIGHT), "x": np.arange(WIDTH)})
        ds.attrs.update(attrs)
        ds.attrs.update(method=self.method, train_threshold=self.train_threshold, eval_threshold=self.eval_threshold)
        return ds

    def attach_to(self, ds):
        """Add ``mask_level``, ``train_mask`` and ``eval_mask`` (dims y, x) to the result Dataset ``ds`` (in place)."""
        for name, variable in self.variables().items():
            ds[name] = variable
        return ds

    @classmethod
    def from_dataset(cls, ds):
        """The mask a Dataset written by :meth:`to_dataset` holds (or one written before the rename: ``alpha``)."""
        name = "mask_level" if "mask_level" in ds else "alpha"
        method = str(ds.attrs.get("method", "alpha"))
        return cls(np.asarray(ds[name].values, np.float32), method if method in METHODS else "given",
                   float(ds.attrs.get("train_threshold", 0.5)), float(ds.attrs.get("eval_threshold", 1.0)))


PADDED_TOP = 14  # the screen's 36 rows sit at rows 14..49 of the encoder's 64 x 64 input


def _read_npy(path):
    """A numeric .npy array (never a pickle), or one line naming the file."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DnemkitError(f"mask {path} is not a readable numeric .npy ({str(exc).splitlines()[0][:100]}); "
                           "expected a (36, 64) or (64, 64) array") from None
    if arr.dtype.kind not in "biuf":
        raise DnemkitError(f"mask {path} holds {arr.dtype} values; expected numbers (a mask level or booleans)")
    return arr


def load_mask_file(path):
    """A ScreenMask from a mask.nc written by `characterize mask`, a (36, 64) .npy level/bool array, or a
    (64, 64) .npy alpha mask on the encoder's padded frame (the paper's ``mask_m{i}.npy``: rows 14..49 are the
    screen; method 'alpha', thresholds 0.5 and 1)."""
    path = Path(path)
    if path.suffix == ".npy":
        if not path.exists():
            raise DnemkitError(f"mask file {path} does not exist")
        arr = _read_npy(path)
        if arr.shape == (WIDTH, WIDTH):
            return ScreenMask(arr[PADDED_TOP:PADDED_TOP + HEIGHT].astype(np.float32), "alpha", 0.5, 1.0)
        if arr.shape != (HEIGHT, WIDTH):
            raise DnemkitError(f"mask {path} has shape {arr.shape}; expected ({HEIGHT}, {WIDTH}), or ({WIDTH}, "
                               f"{WIDTH}) on the encoder's padded frame")
        return ScreenMask(arr.astype(np.float32), "given")
    return ScreenMask.from_dataset(read_dataset(path, kind="mask"))


def is_paper_masks(folder):
    """True for a folder of per-mouse alpha masks ``mask_m{i}.npy`` (`characterize fetch paper-masks`)."""
    folder = Path(folder)
    return folder.is_dir() and any(folder.glob("mask_m[0-9]*.npy"))


def load_paper_mask(folder, mouse=None):
    """The paper's alpha mask of readout ``mouse`` (None: 0) from a folder of ``mask_m{i}.npy`` (64 x 64, the
    encoder's padded frame, as the reference trained them): its screen rows as the level, with the paper's
    thresholds (train >= 0.5, eval >= 1)."""
    folder = Path(folder)
    index = 0 if mouse is None else int(mouse)
    path = folder / f"mask_m{index}.npy"
    if not path.is_file():
        have = ", ".join(sorted(p.name for p in folder.glob("mask_m[0-9]*.npy")))
        raise DnemkitError(f"{folder} has no mask_m{index}.npy for readout {index}; expected one per readout "
                           f"(it holds {have})")
    arr = _read_npy(path)
    if arr.shape != (WIDTH, WIDTH):
        raise DnemkitError(f"mask {path} has shape {arr.shape}; expected ({WIDTH}, {WIDTH}) (the encoder's padded "
                           "frame, as the paper's masks are)")
    return ScreenMask(arr[PADDED_TOP:PADDED_TOP + HEIGHT].astype(np.float32), "alpha", 0.5, 1.0)
