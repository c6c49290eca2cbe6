"""Resumable, checked HTTP downloads (httpx) and the unpacking of Sensorium mouse zips.

A file is fetched into a hidden ``.<name>.part`` beside its target; an interrupted fetch (a dropped connection, a
killed process, a full disk) leaves that part, and the next run asks the server for the remaining bytes only
(HTTP Range, with If-Range on the server's ETag so that a changed file starts afresh). Once complete, the part is
checked -- its size against the server's and the catalogue's, its checksum where the server sends one (``Digest``
/ ``Repr-Digest`` sha-256 or md5, ``Content-MD5`` on a whole-file answer, ``X-Checksum-Sha256``) -- and renamed
into place: a file under its final name is always whole. Every failure is one :class:`DnemkitError` line.
"""

import base64
import errno
import hashlib
import json
import os
import re
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import DnemkitError
from ..io.atomic import atomic_folder

CHUNK = 1 << 20  # bytes per read: progress stays live, memory stays small
RESUME = "run the same command again to resume"


def part_path(dest):
    """Where the unfinished download of ``dest`` lives (hidden: no reader mistakes it for the file)."""
    dest = Path(dest)
    return dest.parent / f".{dest.name}.part"


def _meta_path(dest):
    return dest.parent / f".{dest.name}.part.json"


def _read_meta(dest):
    try:
        return json.loads(_meta_path(dest).read_text())
    except (OSError, ValueError):
        return {}


def _discard(dest):
    """Remove the part and its notes (a corrupt or changed file must start afresh)."""
    part_path(dest).unlink(missing_ok=True)
    _meta_path(dest).unlink(missing_ok=True)


def _content_range(value):
    """(start, total or None) of a ``Content-Range: bytes START-END/TOTAL`` header, or None if unparsable."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if not m:
        return None
    return int(m.group(1)), (None if m.group(3) == "*" else int(m.group(3)))


def expected_digests(headers, whole):
    """{algorithm: digest bytes} the server states for the whole file (``whole``: the answer was not partial,
    so a Content-MD5 covers the file)."""
    out = {}
    for name in ("digest", "repr-digest"):
        for item in (headers.get(name) or "").split(","):
            algo, _, value = item.strip().partition("=")
            algo = algo.strip().lower().replace("sha-256", "sha256")
            value = value.strip().strip(":")
            if algo in ("sha256", "md5") and value:
                try:
                    out[algo] = base64.b64decode(value, validate=True)
                except ValueError:
                    continue
    if whole and headers.get("content-md5"):
        try:
            out.setdefault("md5", base64.b64decode(headers["content-md5"], validate=True))
        except ValueError:
            pass
    if headers.get("x-checksum-sha256"):
        try:
            out.setdefault("sha256", bytes.fromhex(headers["x-checksum-sha256"].strip()))
        except ValueError:
            pass
    return out


def _hash_file(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.digest()


def _disk_error(exc, dest, have):
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return DnemkitError(f"the disk holding {dest.parent} is full ({have:,} bytes of {dest.name} kept); "
                            f"expected free space: free some and {RESUME}")
    return DnemkitError(f"cannot write {dest} ({exc.strerror or exc}); expected a writable folder with free space")


def _network_error(exc, url, dest, have):
    import httpx

    host = httpx.URL(url).host
    if isinstance(exc, httpx.ConnectError):
        return DnemkitError(f"cannot reach {host} ({_first_line(exc)}); expected network access to it, or --mirror "
                            "URL (DNEMKIT_FETCH_MIRROR) naming a server with the same files")
    if isinstance(exc, httpx.TimeoutException):
        return DnemkitError(f"{host} did not answer in time while fetching {dest.name} ({have:,} bytes kept); "
                            f"{RESUME}")
    return DnemkitError(f"the download of {dest.name} from {host} was cut off after {have:,} bytes "
                        f"({_first_line(exc)}); {RESUME}")


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def download(client, url, dest, *, size=None, progress=None, label=None):
    """Fetch ``url`` into ``dest`` (resuming a part left by an earlier try); return the number of bytes received.

    client: an ``httpx.Client``. size: the file's exact size when the catalogue knows it (a server answering with
    another size is refused). progress: a callable ``progress(label, done, total)`` returning a per-chunk
    ``update(n)`` callable and a ``close()``, or None. A ``dest`` that exists is left alone (it is complete:
    nothing incomplete ever takes its name) and 0 is returned.
    """
    import httpx

    dest = Path(dest)
    if dest.exists():
        return 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    meta = _read_meta(dest)
    if meta.get("url") not in (None, url):  # another source (a mirror): its bytes may differ, start afresh
        _discard(dest)
        meta = {}
    have = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}  # byte ranges count stored bytes, not a compressed stream
    if have:
        headers["Range"] = f"bytes={have}-"
        if meta.get("etag"):
            headers["If-Range"] = meta["etag"]
    received = 0
    try:
        with client.stream("GET", url, headers=headers) as r:
            if r.status_code == 416 and have and meta.get("total") == have:
                digests = {k: bytes.fromhex(v) for k, v in meta.get("digests", {}).items()}
                _finish(dest, have, size, digests)
                return 0
            if r.status_code == 416:  # the part is longer than the file: it is not ours
                _discard(dest)
                raise DnemkitError(f"the server refused to resume {dest.name} (HTTP 416); the partial file was "
                                   f"removed: {RESUME}")
            if r.status_code == 404:
                raise DnemkitError(f"{url} was not found (HTTP 404); expected the file on the server (a mirror "
                                   "must serve <owner>/<repo>/raw/master/<path>)")
            if r.status_code >= 400:
                raise DnemkitError(f"{url} answered HTTP {r.status_code} {r.reason_phrase}; expected the file")
            if r.status_code == 206:
                span = _content_range(r.headers.get("content-range"))
                if span is None or span[0] != have:
                    _discard(dest)
                    raise DnemkitError(f"the server answered a resumed fetch of {dest.name} with the wrong byte "
                                       f"range ({r.headers.get('content-range')}); the partial file was removed: "
                                       f"{RESUME}")
                total = span[1]
                mode = "ab"
            else:  # 200: the whole file (no range support, or the file changed since the part was written)
                have = 0
                total = int(r.headers["content-length"]) if r.headers.get("content-length", "").isdigit() else None
                mode = "wb"
            if size is not None and total is not None and total != size:
                raise DnemkitError(f"the server says {dest.name} has {total:,} bytes; expected {size:,} (the "
                                   "paper's file): check --mirror")
            total = total if total is not None else size
            digests = expected_digests(r.headers, whole=r.status_code == 200)
            if total is not None:
                free = shutil.disk_usage(dest.parent).free
                if total - have > free:
                    raise DnemkitError(f"{dest.name} needs {total - have:,} more bytes but the disk holding "
                                       f"{dest.parent} has {free:,} free; expected free space: free some and "
                                       f"{RESUME}")
            notes = {"url": url, "etag": r.headers.get("etag"), "total": total,
                     "digests": {k: v.hex() for k, v in digests.items()}}
            try:
                _meta_path(dest).write_text(json.dumps(notes))
                bar = progress(label or dest.name, have, total) if progress else None
                try:
                    with open(part, mode) as out:
                        for block in r.iter_raw():  # as it arrives: a chunk size would hold bytes back
                            out.write(block)
                            received += len(block)
                            if bar:
                                bar.update(len(block))
                finally:
                    if bar:
                        bar.close()
            except OSError as exc:
                raise _disk_error(exc, dest, have + received) from None
    except httpx.HTTPError as exc:
        raise _network_error(exc, url, dest, have + received) from None
    got = part.stat().st_size
    if total is not None and got < total:
        raise DnemkitError(f"the download of {dest.name} stopped at {got:,} of {total:,} bytes (the server closed "
                           f"the connection); {RESUME}")
    _finish(dest, got, size, digests)
    return received


def _finish(dest, got, size, digests):
    """Check the complete part (size, checksums) and rename it into place; a bad one is removed."""
    part = part_path(dest)
    if size is not None and got != size:
        _discard(dest)
        raise DnemkitError(f"{dest.name} arrived with {got:,} bytes; expected {size:,}: it was removed, {RESUME}")
    for algo, want in digests.items():
        if _hash_file(part, algo) != want:
            _discard(dest)
            raise DnemkitError(f"{dest.name} does not match the {algo} checksum the server gave: it was removed "
                               f"(damaged in transit); {RESUME}")
    os.replace(part, dest)
    _meta_path(dest).unlink(missing_ok=True)


def _is_junk(name):
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or parts[-1] == ".DS_Store"


def unpack_mouse_zip(zip_path, root=None, *, remove=True):
    """Unpack a Sensorium 2023 mouse zip into a mouse folder ``root/<name>`` that ``--data`` reads; return it.

    The zip holds either one folder ``<name>/`` with ``data/`` and ``meta/`` (as the Sensorium zips do) or
    ``data/`` and ``meta/`` at its top (then ``<name>`` is the zip's stem). Members are checked before anything is
    written (no absolute or ``..`` paths; their total size against the free disk space) and their CRCs as they
    are read; the folder is built under a hidden temporary name and renamed into place. A damaged or truncated
    zip is removed (it must be fetched again) and reported in one line; ``remove`` deletes the zip once unpacked.
    """
    from ..data.sensorium import open_mouse

    zip_path = Path(zip_path)
    root = Path(root) if root is not None else zip_path.parent
    try:
        with zipfile.ZipFile(zip_path) as z:
            members = [i for i in z.infolist() if not _is_junk(i.filename)]
            for info in members:
                p = PurePosixPath(info.filename)
                if p.is_absolute() or ".." in p.parts or "\\" in info.filename:
                    raise DnemkitError(f"{zip_path.name} holds a member outside its folder ({info.filename!r}); "
                                       "expected a Sensorium mouse zip")
            tops = {PurePosixPath(i.filename).parts[0] for i in members}
            if tops >= {"data", "meta"}:
                name, strip = zip_path.stem, 0
            elif len(tops) == 1:
                name, strip = tops.pop(), 1
            else:
                raise DnemkitError(f"{zip_path.name} holds {', '.join(sorted(tops)) or 'nothing'} at its top; "
                                   "expected one mouse folder with data/ and meta/")
            target = root / name
            if target.exists():
                raise DnemkitError(f"mouse folder {target} already exists; expected to unpack {zip_path.name} into "
                                   "a new folder (remove the old one to unpack again)")
            need = sum(i.file_size for i in members)
            free = shutil.disk_usage(root if root.exists() else zip_path.parent).free
            if need > free:
                raise DnemkitError(f"unpacking {zip_path.name} needs {need:,} bytes but the disk has {free:,} free; "
                                   "expected free space: free some and run the same command again")
            with atomic_folder(target) as tmp:
                for info in members:
                    rel = PurePosixPath(*PurePosixPath(info.filename).parts[strip:])
                    if not rel.parts:
                        continue
                    out = tmp.joinpath(*rel.parts)
                    if info.is_dir():
                        out.mkdir(parents=True, exist_ok=True)
                        continue
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with z.open(info) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)
                try:
                    open_mouse(tmp)  # the layout --data reads, checked before the folder takes its name
                except DnemkitError as exc:
                    raise DnemkitError(f"{zip_path.name} does not unpack to a Sensorium mouse folder "
                                       f"({str(exc).split(';')[0].replace(str(tmp), name)}); expected data/ and "
                                       "meta/ in the layout of docs/method.md") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        zip_path.unlink(missing_ok=True)
        raise DnemkitError(f"{zip_path.name} is not a complete zip ({_first_line(exc)}); it was removed: run the "
                           "same command again to fetch it afresh") from None
    except OSError as exc:
        if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            raise DnemkitError(f"the disk filled up while unpacking {zip_path.name} (nothing was left half-written); "
                               "expected free space: free some and run the same command again") from None
        raise
    if remove:
        zip_path.unlink(missing_ok=True)
    return target
