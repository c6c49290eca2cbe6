"""Atomic writing: a file or a folder is written under a temporary name beside its target, then renamed into place.

An interrupted run therefore never leaves a half-written file or folder under the final name.
"""

import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path):
    """Yield a temporary path (same folder, same suffix) to write; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_folder(path, replace=False):
    """Yield an empty temporary folder (beside ``path``) to fill; on success it becomes ``path``.

    An existing ``path`` is replaced only with ``replace=True`` (FileExistsError otherwise), and only once the new
    folder is complete: it is moved aside, the new folder renamed into place, and then removed (put back if the
    rename fails). On any error the temporary folder is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    for _ in range(100):
        candidate = path.parent / f".{path.name}.tmp-{secrets.token_hex(4)}"
        try:
            candidate.mkdir()  # default permissions (umask), unlike tempfile.mkdtemp's 0700
        except FileExistsError:
            continue
        tmp = candidate
        break
    if tmp is None:  # pragma: no cover
        raise OSError(f"cannot create a temporary folder in {path.parent}")
    try:
        yield tmp
        old = None
        if path.exists():
            if not replace:
                raise FileExistsError(f"{path} exists")
            old = path.parent / f".{path.name}.old-{secrets.token_hex(4)}"
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
