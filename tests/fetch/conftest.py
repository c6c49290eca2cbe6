"""A local stand-in for GIN: an HTTP server (the standard library's, with byte ranges written here) serving a
fabricated tree in the paper's layout -- Sensorium mouse zips, argus checkpoints, alpha masks, summary files."""

import base64
import hashlib
import io
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import numpy as np
import pytest

from dnemkit.data.sensorium import write_mouse
from dnemkit.encoders import save_checkpoint
from dnemkit.encoders.dwiseneuro.network import MAIN_CONFIG, random_dwiseneuro
from dnemkit.fetch import catalogue
from dnemkit.reference import write_summary

# ten readouts of 6 neurons: the paper's readout order, small enough to build seven times
TEN_MICE = dict(MAIN_CONFIG, readout_outputs=(6,) * 10, core_features=(8, 8, 16, 16), spatial_strides=(2, 1, 2, 1),
                expansion_ratio=2, se_reduce_ratio=4, cortex_features=(32, 64))


class Handler(BaseHTTPRequestHandler):
    """GET with ``Range: bytes=N-`` (and If-Range on the ETag), a sha-256 ``Digest`` of the whole file; knobs on
    the server: ``cut`` {path: bytes sent before the connection drops}, ``slow`` (paths sent 2 kB at a time with
    pauses), ``bad_digest`` (paths whose Digest is wrong)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        path = unquote(self.path.split("?", 1)[0]).lstrip("/")
        body = srv.files.get(path)
        if body is None:
            self.send_error(404)
            srv.log.append((path, None, 404, 0))
            return
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        start, rng = 0, self.headers.get("Range")
        if rng and self.headers.get("If-Range") in (None, etag):
            start = int(rng.split("=", 1)[1].split("-", 1)[0])
        if start >= len(body) and start:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.end_headers()
            srv.log.append((path, rng, 416, 0))
            return
        digest = hashlib.sha256(b"tampered" if path in srv.bad_digest else body).digest()
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Digest", "sha-256=" + base64.b64encode(digest).decode())
        self.end_headers()
        part = body[start:]
        limit = srv.cut.pop(path, None)
        sent = 0
        try:
            step = 2048 if path in srv.slow else 16384
            for i in range(0, len(part) if limit is None else min(limit, len(part)), step):
                chunk = part[i:i + step] if limit is None else part[i:min(i + step, limit)]
                self.wfile.write(chunk)
                sent += len(chunk)
                if path in srv.slow:
                    self.wfile.flush()
                    time.sleep(0.05)  # ~40 kB/s: a 100 kB file takes 2.5 s
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            srv.log.append((path, rng, 206 if start else 200, sent))
            if limit is not None:
                self.close_connection = True


def _mouse_zip(tmp, name, seed, junk=True):
    rng = np.random.default_rng(seed)
    trials = [dict(video=rng.uniform(0, 255, (40, 36, 64)).astype(np.float32),
                   responses=rng.poisson(1.0, (6, 40)).astype(np.float32), behavior=rng.normal(size=(2, 40)),
                   pupil_center=rng.normal(size=(2, 40)), tier=tier) for tier in ("train", "oracle", "train")]
    folder = write_mouse(tmp, name, trials)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            z.write(f, f.relative_to(tmp).as_posix())
        if junk:
            z.writestr(f"__MACOSX/{name}/._tiers.npy", b"resource fork")
    return buf.getvalue()


def _file_bytes(path):
    data = Path(path).read_bytes()
    Path(path).unlink()
    return data


@pytest.fixture(scope="session")
def paper_tree(tmp_path_factory):
    """{server path: bytes} of the fabricated tree: the five paper mice and one older one, seven checkpoints,
    five masks, the 7 x 50 natural summaries (one file per clip, served for every model)."""
    tmp = tmp_path_factory.mktemp("tree")
    files = {}
    for i, f in enumerate(catalogue.sensorium_files() + catalogue.sensorium_files(["29156"])):
        files[f"{f.owner}/{f.repo}/raw/master/{f.path}"] = _mouse_zip(tmp, f.path[:-4], i)
    for k, f in enumerate(catalogue.model_files()):
        files[f"{f.owner}/{f.repo}/raw/master/{f.path}"] = _file_bytes(
            save_checkpoint(tmp / f"m{k}.pth", random_dwiseneuro(TEN_MICE, k)))
    for i, f in enumerate(catalogue.mask_files()):
        level = np.zeros((64, 64), np.float32)
        level[14 + 4 + i:14 + 30, 8:56 - i] = 0.7
        level[14 + 10:14 + 24, 20:44] = 1.3
        np.save(tmp / "m.npy", level)
        files[f"{f.owner}/{f.repo}/raw/master/{f.path}"] = _file_bytes(tmp / "m.npy")
    rng = np.random.default_rng(0)
    per_clip = {}
    for f in catalogue.reconstruction_files("natural"):
        m, t = (int(x) for x in f.path.rsplit("_m", 1)[1][:-4].split("_t"))
        if (m, t) not in per_clip:
            gt = rng.uniform(0, 255, (8, 36, 64)).astype(np.float32)
            per_clip[m, t] = _file_bytes(write_summary(
                tmp / "s.npy", video_gt=gt, video_pred=np.clip(gt * 0.5 + 50, 0, 255),
                responses=rng.poisson(1.0, (6, 8)), responses_predicted_gt=rng.uniform(0.5, 2, (6, 8)),
                responses_predicted_full=rng.uniform(0.5, 2, (6, 8)), behavior=np.zeros((2, 8)),
                pupil_center=np.zeros((2, 8)), mask=np.full((64, 64), 1.2, np.float32), mouse_index=m, trial=t,
                eval_frame_skip=2))
        files[f"{f.owner}/{f.repo}/raw/master/{f.path}"] = per_clip[m, t]
    return files


@pytest.fixture
def gin_server(paper_tree):
    """The server on a free local port: ``url``, ``files`` (editable), ``log`` [(path, Range, status, bytes)],
    ``cut``, ``slow``, ``bad_digest``."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.files, srv.log, srv.cut, srv.slow, srv.bad_digest = dict(paper_tree), [], {}, set(), set()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{srv.server_address[1]}", files=srv.files, log=srv.log, cut=srv.cut,
                          slow=srv.slow, bad_digest=srv.bad_digest)
    srv.shutdown()
    srv.server_close()
