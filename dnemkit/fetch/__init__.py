"""`characterize fetch`: the paper's public files (GIN), downloaded resumably, checked, and laid out for dnemkit.

The only code in dnemkit that downloads anything. ``OUT/<entry>/`` receives each catalogue entry
(:mod:`dnemkit.fetch.catalogue`): ``sensorium2023/<mouse folder>/`` (for ``--data``), ``paper-models/`` (7
checkpoints and an ``encoder.json`` naming each readout's mouse, for ``--encoder``), ``paper-masks/`` (for
``--mask``) and ``paper-reconstructions/<the reference's folders>/`` (for :mod:`dnemkit.reference`).
"""

import json
import os
import time
from pathlib import Path

from ..errors import DnemkitError
from .catalogue import ENTRIES, GIN, MIRROR_ENV, encoder_sidecar, files

__all__ = ["fetch", "base_url", "ENTRIES"]

TIMEOUT_S = 30.0  # connect and per-read timeout: a stalled server is reported, not waited on forever


def base_url(mirror=None):
    """The server to fetch from: ``mirror``, else $DNEMKIT_FETCH_MIRROR, else GIN. One line for a bad URL."""
    url = (mirror or os.environ.get(MIRROR_ENV) or GIN).strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise DnemkitError(f"mirror is {url!r}; expected an http(s) URL serving <owner>/<repo>/raw/master/<path>")
    return url


def _tqdm_progress(position_label):
    from tqdm import tqdm

    def make(label, done, total):
        return tqdm(total=total, initial=done, unit="B", unit_scale=True, unit_divisor=1024, miniters=1,
                    desc=f"{position_label} {label}"[:60], leave=False, dynamic_ncols=True)

    return make


def _write_json(path, payload):
    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1) + "\n")


def fetch(names, out, *, mirror=None, mice=(), old=False, recon_set="natural", progress=True, log=print,
          client=None):
    """Fetch catalogue entries ``names`` into ``out/<entry>/``; return {entry: (folder, bytes received, files)}.

    Files already complete are skipped, unfinished ones resumed; a failure raises DnemkitError (one line) and
    leaves only hidden parts that the next call resumes. ``client``: an ``httpx.Client`` (tests), else one is
    made with :data:`TIMEOUT_S` and redirects followed.
    """
    import httpx

    unknown = [n for n in names if n not in ENTRIES]
    if unknown or not names:
        raise DnemkitError(f"nothing to fetch named {', '.join(map(repr, unknown)) or '(none)'}; expected one or "
                           f"more of {', '.join(ENTRIES)} (characterize fetch --list)")
    try:
        plans = {n: files(n, mice, old, recon_set) for n in dict.fromkeys(names)}
    except ValueError as exc:
        raise DnemkitError(str(exc)) from None
    base = base_url(mirror)
    out = Path(out)
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(TIMEOUT_S), follow_redirects=True)
    results = {}
    try:
        for name, items in plans.items():
            folder = out / name
            started, received, fetched = time.perf_counter(), 0, 0
            todo = [f for f in items if not (folder / f.done_name).exists()]
            for i, item in enumerate(todo, 1):
                dest = folder / item.dest
                bar = _tqdm_progress(f"[{i}/{len(todo)}]") if progress else None
                received += download(client, item.url(base), dest, size=item.size, progress=bar)
                if item.unpack:
                    unpack_mouse_zip(dest, folder)
                fetched += 1
            if name == "paper-models":
                _write_json(folder / "encoder.json", encoder_sidecar())
            took = time.perf_counter() - started
            rate = f", {received / took / 1e6:.1f} MB/s" if received and took > 0 else ""
            log(f"{name}: {len(items)} file(s) in {folder} ({fetched} fetched, {len(items) - len(todo)} already "
                f"there; {received:,} bytes received{rate})")
            results[name] = (folder, received, fetched)
    finally:
        if own:
            client.close()
    return results


from .download import download, unpack_mouse_zip  # noqa: E402  (httpx is imported inside the functions)
