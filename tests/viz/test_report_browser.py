"""The HTML report in a real headless browser: every embedded figure decodes to a non-blank image of its PNG's own
size, and a screenshot of the page is not blank.

Needs a Chromium binary (`chromium`, `chromium-browser` or `google-chrome` on PATH, or $DNEMKIT_CHROMIUM); skips
without one. On Debian: `apt-get install chromium` (CI's .ci/run installs it).
"""
import base64
import fcntl
import io
import json
import os
import queue
import re
import shutil
import signal
import struct
import subprocess
import threading
import time

import numpy as np
import pytest

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
BROWSER_TIMEOUT_S = 60
WINDOW = (1200, 2000)
ROW_TOLERANCE = 2.0  # of a row's mean R+G+B+A (0..1020), browser vs Pillow

# evaluated in the page once it has loaded: waits for every <img>'s decode(), draws it to a canvas, and says whether
# its pixels vary and what each row's mean R+G+B+A is (compared with Pillow's decoding of the same PNG, which catches
# a figure the browser only partly decoded)
PROBE = """
(async () => {
  const images = [];
  for (const img of Array.from(document.images)) {
    let error = null;
    try { await img.decode(); } catch (e) { error = String(e); }
    let varied = false, rows = [];
    if (img.naturalWidth > 0 && img.naturalHeight > 0) {
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 4; i < d.length; i += 4) {
        if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) { varied = true; break; }
      }
      const rowLength = 4 * canvas.width;
      for (let y = 0; y < canvas.height; y++) {
        let sum = 0;
        for (let i = y * rowLength; i < (y + 1) * rowLength; i++) sum += d[i];
        rows.push(sum / canvas.width);
      }
    }
    images.push({naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, complete: img.complete,
                 varied: varied, rows: rows, error: error});
  }
  return images;
})()
"""


def find_browser():
    """Path of a Chromium binary, or None."""
    explicit = os.environ.get("DNEMKIT_CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    path = find_browser()
    if path is None:
        where = (f"$DNEMKIT_CHROMIUM={os.environ['DNEMKIT_CHROMIUM']} is not an executable"
                 if os.environ.get("DNEMKIT_CHROMIUM")
                 else f"none of {', '.join(BROWSER_NAMES)} on PATH, and no $DNEMKIT_CHROMIUM")
        pytest.skip(f"no Chromium for the browser test of the report ({where})")
    return path


def chromium_command(browser, workdir, *args):
    """Headless Chromium with ARGS in a fresh profile under WORKDIR, kept off the network it cannot reach."""
    profile = workdir / f"profile-{len(list(workdir.glob('profile-*')))}"
    profile.mkdir()
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]


def start_chromium(command, workdir, **popen):
    """Popen of COMMAND in its own process group (a hung browser is killed with all its helpers), output to a log
    file (not a pipe, which Chromium's helpers could hold open)."""
    log = workdir / f"chromium-{len(list(workdir.glob('chromium-*.log')))}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, **popen)
    return proc, log


def stop_chromium(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def log_tail(log):
    lines = [line for line in log.read_text(errors="replace").splitlines() if "dbus" not in line]
    return "\n".join(lines[-20:])


def run_browser(browser, workdir, *args):
    """Run headless Chromium with ARGS to completion; fails after BROWSER_TIMEOUT_S."""
    command = chromium_command(browser, workdir, *args)
    proc, log = start_chromium(command, workdir)
    try:
        proc.wait(timeout=BROWSER_TIMEOUT_S)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        stop_chromium(proc)
    if timed_out:
        pytest.fail(f"headless Chromium did not finish within {BROWSER_TIMEOUT_S} s: {' '.join(command)}\n"
                    f"{log_tail(log)}")
    assert proc.returncode == 0, f"headless Chromium exited with {proc.returncode}: {' '.join(command)}\n" \
                                 f"{log_tail(log)}"


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: the browser reads
    NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4); every wait is bounded by one
    deadline, BROWSER_TIMEOUT_S after the start."""

    def __init__(self, browser, workdir, *args):
        self.command = chromium_command(browser, workdir, "--remote-debugging-pipe", *args)
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds_3_and_4():  # in the child; via fds >= 10 first, as either end may itself be fd 3 or 4
            read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.deadline = time.monotonic() + BROWSER_TIMEOUT_S
        self.proc, self.log = start_chromium(self.command, workdir, preexec_fn=fds_3_and_4, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.messages = queue.Queue()
        self.events = []
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                self.messages.put(None)
                return
            buffer += chunk
            *complete, buffer = buffer.split(b"\0")
            for message in complete:
                self.messages.put(json.loads(message))

    def _next(self, waiting_for):
        remaining = self.deadline - time.monotonic()
        try:
            message = self.messages.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            message = TimeoutError
        if message is TimeoutError:
            pytest.fail(f"headless Chromium: no {waiting_for} within {BROWSER_TIMEOUT_S} s\n{log_tail(self.log)}")
        if message is None:
            pytest.fail(f"headless Chromium closed its DevTools pipe waiting for {waiting_for} "
                        f"(exit status {self.proc.poll()})\n{log_tail(self.log)}")
        return message

    def call(self, method, session=None, **params):
        """Send METHOD and return its result; fails on a protocol error."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next(f"reply to {method}")
            if reply.get("id") == self.next_id:
                assert "error" not in reply, f"DevTools {method}: {reply['error']}"
                return reply["result"]
            self.events.append(reply)

    def wait_for_event(self, method, session=None):
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event.get("params", {})
            self.events.append(self._next(f"{method} event"))

    def open(self, url):
        """A new page at URL, once its load event has fired; returns the page's session id."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session)
        navigation = self.call("Page.navigate", session, url=url)
        assert not navigation.get("errorText"), f"could not open {url}: {navigation['errorText']}"
        self.wait_for_event("Page.loadEventFired", session)
        return session

    def evaluate(self, session, expression):
        """The value of EXPRESSION (awaited when a promise) in the page; fails on a JavaScript exception."""
        reply = self.call("Runtime.evaluate", session, expression=expression, awaitPromise=True,
                          returnByValue=True)
        assert "exceptionDetails" not in reply, f"JavaScript error in the page: {reply['exceptionDetails']}"
        return reply["result"].get("value")

    def close(self):
        try:
            os.write(self.to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            stop_chromium(self.proc)
            os.close(self.to_browser)
            self.reader.join(timeout=5)  # the browser's end of the pipe closed with it: the reader sees EOF
            if not self.reader.is_alive():
                os.close(self.from_browser)


def png_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "embedded image is not a PNG"
    return struct.unpack(">II", data[16:24])


def embedded_pngs(html):
    """The bytes of every <img>'s source; asserts each is an embedded base64 PNG."""
    pngs = []
    for tag in re.findall(r"<img\b[^>]*>", html, flags=re.IGNORECASE):
        match = re.search(r'\bsrc="data:image/png;base64,([^"]*)"', tag)
        assert match, f"an <img> is not an embedded base64 PNG: {tag[:120]}"
        pngs.append(base64.b64decode(match.group(1)))
    return pngs


def row_means(png):
    """Each row's mean R+G+B+A, as Pillow decodes PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image.convert("RGBA"), dtype=np.float64)
    return pixels.sum(axis=2).mean(axis=1)


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory):
    """report.html of a natural and a gratings run (synthetic encoder, 2 iterations: seconds), made with the CLI."""
    from click.testing import CliRunner

    from dnemkit.cli import main

    root = tmp_path_factory.mktemp("report-browser")
    runs = {
        "natural": ["natural", "--encoder", "synthetic", "--iterations", "2", "--models", "1", "--no-video",
                    "--quiet", "--out", str(root / "natural")],
        "gratings": ["gratings", "--encoder", "synthetic", "--quick", "--iterations", "2", "--sf", "0.143,0.036",
                     "--tf", "7.5", "--directions", "0", "--frames", "40", "--quiet", "--out", str(root / "gratings")],
    }
    results = []
    for kind, args in runs.items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, f"characterize {' '.join(args)}\n{result.output}\n{result.exception!r}"
        nc = root / kind / f"{kind}.nc"
        assert nc.is_file(), result.output
        results.append(nc)
    out = root / "report.html"
    result = CliRunner().invoke(main, ["report", *map(str, results), "--out", str(out)])
    assert result.exit_code == 0, f"characterize report\n{result.output}\n{result.exception!r}"
    return out, len(results)


def test_every_figure_decodes_in_the_browser(browser, report, tmp_path):
    source, n_results = report
    html = source.read_text()
    pngs = embedded_pngs(html)
    expected = [png_size(png) for png in pngs]
    assert len(pngs) >= n_results, f"{len(pngs)} <img> in a report of {n_results} results"
    assert all(w > 0 and h > 0 for w, h in expected), expected

    page = tmp_path / "report.html"
    page.write_text(html)
    devtools = DevTools(browser, tmp_path, f"--window-size={WINDOW[0]},{WINDOW[1]}")
    try:
        images = devtools.evaluate(devtools.open(page.as_uri()), PROBE)
    finally:
        devtools.close()
    assert len(images) == len(expected), f"{len(expected)} <img> in the page, the browser reports {len(images)}"
    for i, (image, (width, height)) in enumerate(zip(images, expected)):
        where = f"figure {i + 1} of {len(expected)}"
        assert image["error"] is None, f"{where} did not decode: {image['error']}"
        assert image["complete"], f"{where} not complete: {image}"
        assert (image["naturalWidth"], image["naturalHeight"]) == (width, height), \
            f"{where} decoded as {image['naturalWidth']}x{image['naturalHeight']}, its PNG is {width}x{height}"
        assert image["varied"], f"{where} ({width}x{height}) decoded to one flat colour"
        # canvas pixels are stored with premultiplied alpha: allow rounding where the figure is translucent
        difference = np.abs(np.asarray(image["rows"]) - row_means(pngs[i]))
        worst, off = float(difference.max()), int(np.sum(difference > ROW_TOLERANCE))
        assert off == 0, f"{where} ({width}x{height}) differs from its PNG in the browser: {off} of {height} rows " \
                         f"off by up to {worst:.1f} (mean R+G+B+A per pixel, 0..1020)"


def test_screenshot_is_not_blank(browser, report, tmp_path):
    from PIL import Image

    source, _ = report
    page = tmp_path / "report.html"
    shutil.copy(source, page)
    shot = tmp_path / "screenshot.png"
    run_browser(browser, tmp_path, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    assert shot.is_file(), "headless Chromium wrote no screenshot"
    with Image.open(shot) as image:
        assert image.format == "PNG", image.format
        assert image.size == WINDOW, f"screenshot is {image.size}, asked for {WINDOW}"
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours = len(np.unique(pixels, axis=0))
    assert colours > 1, "the screenshot is one flat colour"
