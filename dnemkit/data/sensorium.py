"""The Sensorium 2023 data layout: read recorded trials, write synthetic mice in the same layout.

One module of about 630 lines, on purpose: reading and writing the layout are each other's inverse and are kept
beside the one description of it below, so that a change to the layout is made in one place.

Layout of one mouse folder (``<root>/<mouse>/``)::

    data/videos/<id>.npy          (36, 64, T)  rows x columns x frames (note: time LAST on disk)
    data/responses/<id>.npy       (N, T)       one row per neuron; all NaN for unlabeled (test) trials
    data/behavior/<id>.npy        (2, T)       pupil dilation, running speed
    data/pupil_center/<id>.npy    (2, T)       pupil centre x, y
    meta/trials/tiers.npy         (K,)         one tier string per trial id (train, oracle, live_test_main,
                                               live_test_bonus, final_test_main, final_test_bonus, none)
    meta/neurons/unit_ids.npy     (N,)
    meta/neurons/cell_motor_coordinates.npy  (N, 3)
    meta/statistics/<kind>/all/{mean,std,min,max,median}.npy   kind in videos, responses, behavior, pupil_center

Trial ids are the integers 0..K-1 (file names ``<id>.npy``; index into ``tiers.npy``). Arrays are NaN-padded at
the end: a trial's length is its first padding frame, i.e. the first time index whose column is entirely NaN, taken
from the responses (or from the behaviour for unlabeled trials, whose responses are all NaN). Trials may be longer
than 300 frames.

Reading is lazy: :func:`open_mouse` reads only the small meta files; :meth:`SensoriumMouse.trial` loads one trial.
:func:`write_mouse` builds a mouse folder in a temporary sibling and renames it into place, so an interrupted write
never leaves a half-written mouse folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DnemkitError
from ..io.atomic import atomic_folder
from ..stimuli.geometry import HEIGHT, WIDTH

TIERS = ("train", "oracle", "live_test_main", "live_test_bonus", "final_test_main", "final_test_bonus", "none")
KINDS = ("videos", "responses", "behavior", "pupil_center")
STATS = ("mean", "std", "min", "max", "median")
_DATA_DIRS = tuple(f"data/{k}" for k in KINDS)
_TIERS_FILE = "meta/trials/tiers.npy"
_UNIT_IDS_FILE = "meta/neurons/unit_ids.npy"
_COORDS_FILE = "meta/neurons/cell_motor_coordinates.npy"


# ----------------------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class Trial:
    """One recorded trial, cut to its real length T (padding removed).

    id: trial id; tier: its tier string; length: T (frames).
    video: float32 (T, 36, 64), grey levels 0..255 (transposed from the (36, 64, T) file).
    responses: float32 (N, T), or None for an unlabeled trial (responses all NaN on disk).
    behavior: float32 (2, T) (pupil dilation, running speed); pupil_center: float32 (2, T) (x, y).
    """

    id: int
    tier: str
    length: int
    video: np.ndarray
    responses: np.ndarray | None
    behavior: np.ndarray
    pupil_center: np.ndarray

    @property
    def labeled(self) -> bool:
        """True when the trial has recorded responses."""
        return self.responses is not None

    @property
    def behavior4(self) -> np.ndarray:
        """float32 (4, T): pupil dilation, running speed, pupil centre x, pupil centre y (the encoder's order)."""
        return np.concatenate([self.behavior, self.pupil_center], axis=0)

    def __repr__(self):
        n = "unlabeled" if self.responses is None else f"{self.responses.shape[0]} neurons"
        return f"Trial(id={self.id}, tier={self.tier!r}, length={self.length}, {n})"


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _header(path: Path, base: Path, what: str):
    """(shape, fortran_order, dtype, data offset) of a .npy file, read with numpy's own header reader; DnemkitError
    naming the file when it is empty, is no .npy file, or holds fewer (or more) bytes than its header announces.

    The size check comes before any ``np.load``: a memory map of a file cut short fails deep inside numpy
    ("mmap length is greater than file size"), and a plain load of one fails with a message that names no file.
    """
    from numpy.lib import format as npy

    rel = _rel(path, base)
    size = path.stat().st_size
    if size == 0:
        raise DnemkitError(f"{what}: {rel} in {base} is empty (0 bytes); expected a .npy array (a download cut "
                           "short? fetch the file again)")
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    try:
        with open(path, "rb") as f:
            version = npy.read_magic(f)
            if version not in readers:
                raise ValueError(f"format version {version[0]}.{version[1]}, which this reader does not map")
            shape, fortran, dtype = readers[version](f)
            offset = f.tell()
    except Exception as exc:  # not a .npy file, a header cut short, an unreadable disk block
        if str(exc).startswith("EOF"):  # numpy's words for a file that ends inside its header
            raise DnemkitError(f"{what}: {rel} in {base} is cut short inside its .npy header ({size} bytes: "
                               f"{exc}); expected the complete file (a download cut short? fetch it again)") from None
        raise DnemkitError(f"{what}: cannot read the .npy header of {rel} in {base} ({type(exc).__name__}: "
                           f"{exc}); expected a .npy array") from None
    if dtype.hasobject:
        raise DnemkitError(f"{what}: {rel} in {base} holds Python objects (dtype {dtype}); expected a numeric "
                           "array (pickled objects are never loaded)")
    needed = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size != needed:
        how = "is cut short" if size < needed else "is longer than its header says"
        raise DnemkitError(f"{what}: {rel} in {base} {how}: {size} bytes, but its header (shape {shape}, dtype "
                           f"{dtype}) needs {needed}; expected the complete file (a download cut short? fetch it "
                           "again)")
    return shape, fortran, dtype, offset


def _load(path: Path, base: Path, what: str, mmap: bool = False, kind: str = "number") -> np.ndarray:
    """np.load (or a read-only memory map with ``mmap``) of one .npy file, its size checked against its header
    first; one-line DnemkitError naming the file (relative to ``base``) for a missing, empty, cut or unreadable
    file, or one whose dtype is not ``kind``: "number" (real integers or floats) or "text" (strings)."""
    if not path.is_file():
        raise DnemkitError(f"{what}: missing file {_rel(path, base)} in {base}; expected the Sensorium 2023 layout")
    _, _, dtype, _ = _header(path, base, what)
    if dtype.kind not in {"number": "iuf", "text": "US"}[kind]:
        expected = {"number": "real numbers (integer or float)", "text": "strings"}[kind]
        raise DnemkitError(f"{what}: {_rel(path, base)} in {base} has dtype {dtype}; expected {expected}")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as exc:  # a disk error while reading the data
        raise DnemkitError(
            f"{what}: cannot read {_rel(path, base)} in {base} ({type(exc).__name__}: {exc}); expected a .npy array"
        ) from None


def _content_length(arr: np.ndarray, what: str = "", rel: str = "") -> int:
    """Frames before the NaN padding: index of the first time step (last axis) that is NaN everywhere.

    Padding is a suffix: with ``rel`` (the file's name for messages) a NaN time step followed by one that holds a
    value is a DnemkitError (a damaged recording; cutting there would silently shorten the trial).
    """
    if not np.issubdtype(arr.dtype, np.floating):
        return arr.shape[-1]
    pad = np.isnan(arr.reshape(-1, arr.shape[-1])).all(axis=0)
    hits = np.flatnonzero(pad)
    length = int(hits[0]) if hits.size else arr.shape[-1]
    if rel and not pad[length:].all():
        after = length + int(np.flatnonzero(~pad[length:])[0])
        raise DnemkitError(f"{what}: {rel} is NaN in every row at frame {length} but holds values again at frame "
                           f"{after}; expected NaN only as end padding (a damaged recording)")
    return length


def _check_finite(arr: np.ndarray, length: int, what: str, rel: str) -> None:
    """DnemkitError naming ``rel`` when its first ``length`` frames (the trial) hold NaN or inf."""
    bad = ~np.isfinite(arr[..., :length])
    if bad.any():
        frame = int(np.argwhere(bad)[0][-1])
        raise DnemkitError(f"{what}: {rel} has {int(bad.sum())} NaN/inf value(s) inside the trial (first at frame "
                           f"{frame}, before the end padding at {length}); expected finite values")


def _is_mouse_folder(path: Path) -> bool:
    return (path / "data").is_dir() and (path / "meta").is_dir()


class SensoriumMouse:
    """A lazily read Sensorium 2023 mouse folder. Build it with :func:`open_mouse`.

    Attributes: name (folder name), path, trial_ids (sorted ints), tiers (dict id -> tier string),
    n_neurons, unit_ids (N,), cell_motor_coordinates (N, 3) or None when the file is absent,
    statistics (dict kind -> stat -> array; videos: scalars, responses: (N,), behavior/pupil_center: (2,)).
    """

    def __init__(self, path):
        path = Path(path)
        if not path.exists():
            raise DnemkitError(f"mouse folder {path} does not exist; expected a folder with data/ and meta/")
        if not path.is_dir():
            raise DnemkitError(f"mouse folder {path} is not a directory; expected a folder with data/ and meta/")
        for sub in _DATA_DIRS:
            if not (path / sub).is_dir():
                raise DnemkitError(f"mouse folder {path} has no {sub}/; expected the Sensorium 2023 layout")
        for sub in (_TIERS_FILE, _UNIT_IDS_FILE):
            if not (path / sub).is_file():
                raise DnemkitError(f"mouse folder {path} has no {sub}; expected the Sensorium 2023 layout")
        self.path = path
        self.name = path.resolve().name

        ids = []
        for f in (path / "data/videos").iterdir():
            if f.suffix == ".npy" and f.stem.isdigit():
                ids.append(int(f.stem))
        if not ids:
            raise DnemkitError(f"mouse {self.name}: no trials (no <id>.npy files in {path / 'data/videos'})")
        self.trial_ids = sorted(ids)

        tiers = _load(path / _TIERS_FILE, path, f"mouse {self.name}", kind="text")
        if tiers.ndim != 1:
            raise DnemkitError(f"mouse {self.name}: {_TIERS_FILE} has shape {tiers.shape}; expected (n_trials,)")
        if self.trial_ids[-1] >= len(tiers):
            raise DnemkitError(
                f"mouse {self.name}: {_TIERS_FILE} has {len(tiers)} entries but data/videos has trial id "
                f"{self.trial_ids[-1]}; expected one tier per trial id"
            )
        tiers = tiers.astype(str)  # bytes (dtype S) read as text, not as "b'train'"
        self.tiers = {i: str(tiers[i]) for i in self.trial_ids}
        self._id_set = frozenset(self.trial_ids)
        self._check_trial_files(len(tiers))

        unit_ids = _load(path / _UNIT_IDS_FILE, path, f"mouse {self.name}")
        if unit_ids.ndim != 1 or unit_ids.shape[0] == 0:
            raise DnemkitError(f"mouse {self.name}: {_UNIT_IDS_FILE} has shape {unit_ids.shape}; expected (N,) "
                               "with N >= 1 (one id per neuron)")
        if unit_ids.dtype.kind == "f" and not np.isfinite(unit_ids).all():
            raise DnemkitError(f"mouse {self.name}: {_UNIT_IDS_FILE} holds NaN/inf; expected one id per neuron")
        self.unit_ids = unit_ids
        self.n_neurons = int(unit_ids.shape[0])

        coords = None
        if (path / _COORDS_FILE).is_file():
            coords = _load(path / _COORDS_FILE, path, f"mouse {self.name}")
            if coords.shape != (self.n_neurons, 3):
                raise DnemkitError(
                    f"mouse {self.name}: {_COORDS_FILE} has shape {coords.shape}; expected ({self.n_neurons}, 3)"
                )
            if not np.isfinite(coords).all():
                raise DnemkitError(f"mouse {self.name}: {_COORDS_FILE} holds NaN/inf; expected finite coordinates")
        self.cell_motor_coordinates = coords
        self.statistics = self._read_statistics()

    def _check_trial_files(self, n_trials: int) -> None:
        """DnemkitError naming the first missing one unless every data/<kind>/ holds a file for each trial id
        0..n_trials-1 of the tiers: trial ids come from the file names, so a file lost in a download would
        otherwise drop its trial from every selection without a word."""
        for sub in _DATA_DIRS:
            have = {int(f.stem) for f in (self.path / sub).glob("*.npy") if f.stem.isdigit()}
            missing = sorted(set(range(n_trials)) - have)
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise DnemkitError(f"mouse {self.name}: missing file {sub}/{missing[0]}.npy{more} in {self.path}; "
                                   f"expected one file per trial id 0..{n_trials - 1} of {_TIERS_FILE}")

    def _read_statistics(self) -> dict:
        """meta/statistics: a kind's folder is optional, but one that is there holds all of STATS, each numeric,
        of the kind's shape and finite; the responses' may be NaN throughout (what :func:`write_mouse` writes for
        a mouse without labelled trials), never NaN in part."""
        stats = {}
        base = self.path / "meta/statistics"
        shapes = {"videos": "() or (1,)", "responses": f"({self.n_neurons},)", "behavior": "(2,)",
                  "pupil_center": "(2,)"}
        for kind in KINDS:
            folder = base / kind / "all"
            if not folder.is_dir():
                continue
            stats[kind] = {}
            for stat in STATS:
                path = folder / f"{stat}.npy"
                rel = _rel(path, self.path)
                arr = _load(path, self.path, f"mouse {self.name}")
                if str(arr.shape) not in shapes[kind].split(" or "):
                    raise DnemkitError(f"mouse {self.name}: {rel} has shape {arr.shape}; expected {shapes[kind]}")
                nan = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
                if not np.isfinite(arr[~nan]).all() or (nan.any() and not (kind == "responses" and nan.all())):
                    allowed = " (or NaN throughout: no labelled trial)" if kind == "responses" else ""
                    raise DnemkitError(f"mouse {self.name}: {rel} holds NaN/inf; expected finite values{allowed}")
                stats[kind][stat] = arr
            extra = sorted(f.name for f in folder.glob("*.npy") if f.stem not in STATS)
            stats[kind].update({f[:-4]: _load(folder / f, self.path, f"mouse {self.name}") for f in extra})
        return stats

    def __len__(self):
        return len(self.trial_ids)

    def __repr__(self):
        return f"SensoriumMouse({self.name!r}, {len(self.trial_ids)} trials, {self.n_neurons} neurons)"

    def trials(self, tier=None) -> list[int]:
        """Sorted trial ids, optionally only those of one tier (str) or several tiers (list of str)."""
        if tier is None:
            return list(self.trial_ids)
        wanted = {tier} if isinstance(tier, str) else set(tier)
        unknown = sorted(t for t in wanted if t not in TIERS and t not in self.tiers.values())
        if unknown:
            raise DnemkitError(f"tier {unknown[0]!r} is unknown; expected one of {', '.join(TIERS)}")
        return [i for i in self.trial_ids if self.tiers[i] in wanted]

    def trial(self, trial_id) -> Trial:
        """Load one trial (only its four files are read)."""
        tid = self._check_id(trial_id)
        what = f"mouse {self.name} trial {tid}"
        p = self.path / "data"
        files = {k: p / k / f"{tid}.npy" for k in KINDS}
        video = _load(files["videos"], self.path, what)
        responses = _load(files["responses"], self.path, what)
        behavior = _load(files["behavior"], self.path, what)
        pupil = _load(files["pupil_center"], self.path, what)

        def rel(k):
            return _rel(files[k], self.path)

        if video.ndim != 3 or video.shape[:2] != (HEIGHT, WIDTH):
            raise DnemkitError(
                f"{what}: {rel('videos')} has shape {video.shape}; expected ({HEIGHT}, {WIDTH}, T) (rows, columns, frames)"
            )
        if responses.ndim != 2 or responses.shape[0] != self.n_neurons:
            raise DnemkitError(
                f"{what}: {rel('responses')} has shape {responses.shape}; expected ({self.n_neurons}, T) "
                f"({self.n_neurons} neurons as in {_UNIT_IDS_FILE})"
            )
        for key, arr in (("behavior", behavior), ("pupil_center", pupil)):
            if arr.ndim != 2 or arr.shape[0] != 2:
                raise DnemkitError(f"{what}: {rel(key)} has shape {arr.shape}; expected (2, T)")

        labeled = not bool(np.isnan(responses).all()) if responses.size else False
        ref_key, ref = ("responses", responses) if labeled else ("behavior", behavior)
        length = _content_length(ref, what, rel(ref_key))
        if length == 0:
            raise DnemkitError(f"{what}: {rel(ref_key)} has 0 frames before its NaN padding; expected T >= 1")
        for key, arr in (("videos", video), ("responses", responses), ("behavior", behavior), ("pupil_center", pupil)):
            if key == ref_key or (key == "responses" and not labeled):
                continue
            n = _content_length(arr, what, rel(key))
            # An array without NaN padding that is longer than the trial is cut; anything else must agree.
            if n != length and not (n == arr.shape[-1] and n > length):
                raise DnemkitError(
                    f"{what}: {rel(key)} has {n} frames before its NaN padding but {rel(ref_key)} has {length}; "
                    f"expected the same length"
                )
        # the stimulus and behaviour enter every encoder pass: a NaN there would spread to the whole
        # reconstruction (the responses' own NaN policy is the caller's: an error to score, zeros to train)
        for key, arr in (("videos", video), ("behavior", behavior), ("pupil_center", pupil)):
            _check_finite(arr, length, what, rel(key))
        return Trial(
            id=tid,
            tier=self.tiers[tid],
            length=length,
            video=np.ascontiguousarray(np.moveaxis(video[:, :, :length], -1, 0), dtype=np.float32),
            responses=np.ascontiguousarray(responses[:, :length], dtype=np.float32) if labeled else None,
            behavior=np.ascontiguousarray(behavior[:, :length], dtype=np.float32),
            pupil_center=np.ascontiguousarray(pupil[:, :length], dtype=np.float32),
        )

    def _check_id(self, trial_id):
        if isinstance(trial_id, (bool, np.bool_)) or not isinstance(trial_id, (int, np.integer)):
            raise DnemkitError(f"trial id {trial_id!r} is not an integer; expected an id like {self.trial_ids[0]}")
        if int(trial_id) not in self._id_set:
            raise DnemkitError(f"trial {trial_id!r} does not exist in mouse {self.name}; expected an id in "
                               f"{self.trial_ids[0]}..{self.trial_ids[-1]} ({len(self.trial_ids)} trials)")
        return int(trial_id)

    def is_labeled(self, trial_id) -> bool:
        """True when the trial has recorded responses (its first frame is not all NaN); reads one column of
        the responses file through a memory map (its size checked against its header first), and the whole
        file only when that column is NaN, to tell an unlabelled trial (NaN throughout) from a damaged one."""
        tid = self._check_id(trial_id)
        what = f"mouse {self.name} trial {tid}"
        path = self.path / "data/responses" / f"{tid}.npy"
        resp = _load(path, self.path, what, mmap=True)
        if resp.ndim != 2 or resp.shape[0] != self.n_neurons or resp.shape[1] == 0:
            raise DnemkitError(f"{what}: {_rel(path, self.path)} has shape {resp.shape}; expected "
                               f"({self.n_neurons}, T) ({self.n_neurons} neurons as in {_UNIT_IDS_FILE})")
        if resp.dtype.kind != "f" or not np.isnan(np.asarray(resp[:, 0])).all():
            return True
        _content_length(np.asarray(resp), what, _rel(path, self.path))  # NaN throughout, or a damaged file
        return False

    def video(self, trial_id) -> np.ndarray:
        """float32 (T, 36, 64): one trial's movie only (cut at its own NaN padding), for hashing and duplicate
        searches over many trials without reading their responses."""
        tid = self._check_id(trial_id)
        what = f"mouse {self.name} trial {tid}"
        path = self.path / "data/videos" / f"{tid}.npy"
        video = _load(path, self.path, what)
        if video.ndim != 3 or video.shape[:2] != (HEIGHT, WIDTH):
            raise DnemkitError(f"{what}: data/videos/{tid}.npy has shape {video.shape}; "
                               f"expected ({HEIGHT}, {WIDTH}, T) (rows, columns, frames)")
        n = _content_length(video, what, _rel(path, self.path))
        if n == 0:
            raise DnemkitError(f"{what}: data/videos/{tid}.npy has 0 frames before its NaN padding; expected T >= 1")
        _check_finite(video, n, what, _rel(path, self.path))
        return np.ascontiguousarray(np.moveaxis(video[:, :, :n], -1, 0), dtype=np.float32)

    def __iter__(self):
        """Iterate over all trials (loaded one at a time)."""
        for i in self.trial_ids:
            yield self.trial(i)


def open_mouse(folder) -> SensoriumMouse:
    """Open a mouse folder (one containing data/ and meta/). Raises DnemkitError if it is not one."""
    return SensoriumMouse(folder)


def _mouse_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise DnemkitError(f"dataset folder {root} does not exist; expected a folder of mouse folders")
    if not root.is_dir():
        raise DnemkitError(f"dataset folder {root} is not a directory; expected a folder of mouse folders")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and _is_mouse_folder(p))


def open_dataset(root) -> list[SensoriumMouse]:
    """Open every mouse folder (a sub-folder with data/ and meta/) of ``root``, sorted by name."""
    root = Path(root)
    mice = _mouse_folders(root)
    if not mice:
        raise DnemkitError(f"dataset folder {root} holds no mouse folders; expected sub-folders with data/ and meta/")
    return [SensoriumMouse(p) for p in mice]


def open_mice(data) -> list[SensoriumMouse]:
    """The mice of ``data``: one mouse folder (a folder with data/ and meta/) as a list of one, or every mouse
    folder of a dataset root (sorted by name); DnemkitError when it is neither."""
    path = Path(data)
    return [find_mouse(path)] if path.is_dir() and _is_mouse_folder(path) else open_dataset(path)


def find_mouse(path, mouse=None) -> SensoriumMouse:
    """Open a mouse given either its folder or a dataset root.

    A root must hold exactly one mouse unless ``mouse`` (a folder name or a unique prefix of one) picks it.
    """
    path = Path(path)
    if path.is_dir() and _is_mouse_folder(path):
        m = SensoriumMouse(path)
        if mouse is not None and not m.name.startswith(str(mouse)):
            raise DnemkitError(f"mouse={mouse!r} does not match the mouse folder {path}; expected its name {m.name!r}")
        return m
    folders = _mouse_folders(path)
    if not folders:
        raise DnemkitError(
            f"{path} is neither a mouse folder nor a dataset root holding one; expected a folder with data/ and meta/"
        )
    names = [p.name for p in folders]
    if mouse is None:
        if len(folders) > 1:
            raise DnemkitError(
                f"{path} holds {len(folders)} mice ({', '.join(names)}); pick one with mouse=<name or prefix>"
            )
        return SensoriumMouse(folders[0])
    exact = [p for p in folders if p.name == str(mouse)]
    hits = exact or [p for p in folders if p.name.startswith(str(mouse))]
    if len(hits) != 1:
        how = "matches none" if not hits else f"matches {len(hits)} ({', '.join(p.name for p in hits)})"
        raise DnemkitError(f"mouse={mouse!r} {how} in {path}; expected one of: {', '.join(names)}")
    return SensoriumMouse(hits[0])


# ----------------------------------------------------------------------------------------------------------- writing


def _save(path: Path, arr: np.ndarray) -> None:
    """Write one .npy file (a seam for tests of the atomic write)."""
    np.save(path, arr, allow_pickle=False)


def _as_float(name, value, shape_ok, expected) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise DnemkitError(f"{name} is not a numeric array; expected {expected}") from None
    if not shape_ok(arr.shape):
        raise DnemkitError(f"{name} has shape {arr.shape}; expected {expected}")
    if not np.isfinite(arr).all():
        raise DnemkitError(f"{name} contains NaN or inf; expected finite values (NaN marks padding on disk)")
    return arr


def _check_trials(trials, unit_ids):
    if isinstance(trials, dict) or not hasattr(trials, "__len__") or len(trials) == 0:
        raise DnemkitError("trials must be a non-empty list of dicts with video, responses, behavior, pupil_center, tier")
    n_neurons = None if unit_ids is None else len(unit_ids)
    origin = "" if unit_ids is None else " (one row per entry of unit_ids)"
    clean = []
    for i, t in enumerate(trials):
        if not isinstance(t, dict):
            raise DnemkitError(f"trials[{i}] is a {type(t).__name__}; expected a dict")
        missing = [k for k in ("video", "behavior", "pupil_center", "tier") if k not in t]
        if missing:
            raise DnemkitError(f"trials[{i}] has no {missing[0]!r}; expected keys video, responses, behavior, pupil_center, tier")
        video = _as_float(
            f"trials[{i}]['video']", t["video"], lambda s: len(s) == 3 and s[1:] == (HEIGHT, WIDTH) and s[0] > 0,
            f"(T, {HEIGHT}, {WIDTH}) with T >= 1",
        )
        T = video.shape[0]
        behavior = _as_float(f"trials[{i}]['behavior']", t["behavior"], lambda s: s == (2, T), f"(2, {T})")
        pupil = _as_float(f"trials[{i}]['pupil_center']", t["pupil_center"], lambda s: s == (2, T), f"(2, {T})")
        responses = t.get("responses")
        if responses is not None:
            responses = _as_float(
                f"trials[{i}]['responses']", responses,
                lambda s: len(s) == 2 and s[1] == T and (n_neurons is None or s[0] == n_neurons),
                f"({'N' if n_neurons is None else n_neurons}, {T}){origin}",
            )
            if n_neurons is None:
                n_neurons = responses.shape[0]
                origin = f" (as trial {i}'s responses)"
        tier = t["tier"]
        if tier not in TIERS:
            raise DnemkitError(f"trials[{i}]['tier'] is {tier!r}; expected one of {', '.join(TIERS)}")
        clean.append(dict(video=video, responses=responses, behavior=behavior, pupil_center=pupil, tier=str(tier)))
    if n_neurons is None:
        raise DnemkitError("no trial has responses and unit_ids is None; expected one of them to give the neuron count")
    return clean, n_neurons


def _stat_dict(values: np.ndarray, axis) -> dict:
    """mean/std/min/max/median over ``axis`` of a float64 array, as float32."""
    return {
        "mean": np.mean(values, axis=axis),
        "std": np.std(values, axis=axis),
        "min": np.min(values, axis=axis),
        "max": np.max(values, axis=axis),
        "median": np.median(values, axis=axis),
    }


def _statistics(trials: list[dict]) -> dict:
    """Per-kind statistics over the real frames of the train-tier labeled trials (else all labeled trials)."""
    labeled = [t for t in trials if t["responses"] is not None]
    source = [t for t in labeled if t["tier"] == "train"] or labeled
    stats = {
        "videos": _stat_dict(np.concatenate([t["video"].ravel() for t in source]).astype(np.float64), None),
        "responses": _stat_dict(np.concatenate([t["responses"] for t in source], axis=1).astype(np.float64), 1),
        "behavior": _stat_dict(np.concatenate([t["behavior"] for t in source], axis=1).astype(np.float64), 1),
        "pupil_center": _stat_dict(np.concatenate([t["pupil_center"] for t in source], axis=1).astype(np.float64), 1),
    }
    return {k: {s: np.asarray(v, dtype=np.float32) for s, v in d.items()} for k, d in stats.items()}


def _pad(arr: np.ndarray, total: int) -> np.ndarray:
    """NaN-pad the last axis to ``total`` frames."""
    extra = total - arr.shape[-1]
    if extra <= 0:
        return arr
    pad = np.full(arr.shape[:-1] + (extra,), np.nan, dtype=np.float32)
    return np.concatenate([arr, pad], axis=-1)


def _write_layout(folder, clean, n_neurons, unit_ids, coordinates, stats, pad_to):
    """Write checked trials, neuron metadata and statistics into the empty ``folder`` (the Sensorium layout)."""
    for sub in _DATA_DIRS + ("meta/trials", "meta/neurons"):
        (folder / sub).mkdir(parents=True)
    for i, t in enumerate(clean):
        frames = t["video"].shape[0]
        total = pad_to or frames
        responses = t["responses"] if t["responses"] is not None else np.full((n_neurons, frames), np.nan, np.float32)
        _save(folder / "data/videos" / f"{i}.npy", _pad(np.ascontiguousarray(np.moveaxis(t["video"], 0, -1)), total))
        _save(folder / "data/responses" / f"{i}.npy", _pad(responses, total))
        _save(folder / "data/behavior" / f"{i}.npy", _pad(t["behavior"], total))
        _save(folder / "data/pupil_center" / f"{i}.npy", _pad(t["pupil_center"], total))
    _save(folder / _TIERS_FILE, np.array([t["tier"] for t in clean], dtype=str))
    _save(folder / _UNIT_IDS_FILE, unit_ids)
    _save(folder / _COORDS_FILE, coordinates)
    for kind, d in stats.items():
        sub = folder / "meta/statistics" / kind / "all"
        sub.mkdir(parents=True)
        for s in STATS:
            _save(sub / f"{s}.npy", d[s])


def write_mouse(root, name, trials, unit_ids=None, coordinates=None, pad_to=None, overwrite=False) -> Path:
    """Write a mouse folder ``<root>/<name>`` in the Sensorium 2023 layout; return its path.

    trials: list of dicts, trial id = list index, with ``video`` (T, 36, 64) grey levels, ``responses`` (N, T) or
    None (unlabeled: written as all NaN), ``behavior`` (2, T), ``pupil_center`` (2, T), ``tier`` (a tier string).
    unit_ids: (N,) (default 0..N-1); coordinates: (N, 3) (default zeros). pad_to: NaN-pad every array to this many
    frames (must be >= the longest trial). All arrays are float32; the video is stored as (36, 64, T).
    Statistics are computed over the train-tier labeled trials (all labeled trials if none is train); when no
    trial is labeled the response statistics are NaN.
    The folder is built as ``<root>/.<name>.tmp-XXXX`` and renamed into place
    (:func:`dnemkit.io.atomic.atomic_folder`); an existing folder is replaced only with ``overwrite=True``.
    """
    root = Path(root)
    name = str(name)
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or os.sep in name:
        raise DnemkitError(f"mouse name {name!r} is not a plain folder name; expected e.g. 'dynamic-synthetic-0'")
    if root.exists() and not root.is_dir():
        raise DnemkitError(f"dataset root {root} is not a directory; expected a folder to write the mouse into")
    target = root / name
    if target.exists() and not overwrite:
        raise DnemkitError(f"mouse folder {target} already exists; expected a new folder, or --overwrite "
                           "(overwrite=True in Python) to replace it")

    if unit_ids is not None:
        unit_ids = np.asarray(unit_ids)
        if unit_ids.ndim != 1 or unit_ids.shape[0] == 0:
            raise DnemkitError(f"unit_ids has shape {unit_ids.shape}; expected (N,) with N >= 1 (one id per neuron)")
    clean, n_neurons = _check_trials(trials, unit_ids)
    if unit_ids is None:
        unit_ids = np.arange(n_neurons, dtype=np.int64)
    if coordinates is None:
        coordinates = np.zeros((n_neurons, 3), dtype=np.float32)
    else:
        coordinates = _as_float("coordinates", coordinates, lambda s: s == (n_neurons, 3), f"({n_neurons}, 3)")
    longest = max(t["video"].shape[0] for t in clean)
    if pad_to is not None:
        if int(pad_to) != pad_to or pad_to < longest:
            raise DnemkitError(f"pad_to is {pad_to!r}; expected an integer >= the longest trial ({longest} frames)")
        pad_to = int(pad_to)

    if any(t["responses"] is not None for t in clean):
        stats = _statistics(clean)
    else:  # only unlabeled trials: stats of the stimulus/behaviour over all trials, NaN for responses
        everything = [dict(t, responses=np.full((n_neurons, t["video"].shape[0]), np.nan, np.float32)) for t in clean]
        stats = _statistics(everything)

    try:
        with atomic_folder(target, replace=overwrite) as tmp:
            _write_layout(tmp, clean, n_neurons, unit_ids, coordinates, stats, pad_to)
    except FileExistsError:  # another writer made the folder meanwhile
        raise DnemkitError(f"mouse folder {target} already exists; expected a new folder, or --overwrite "
                           "(overwrite=True in Python) to replace it") from None
    return target
