"""report.html in a real browser (headless Chromium): renders tables and images, no console
errors, no network requests. Chromium is driven by its command line (screenshot, DOM dump) and by
the DevTools protocol over ``--remote-debugging-pipe`` (NUL-separated JSON on fds 3/4, stdlib only).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from matplotlib import image
from publish_synthetic import published

pytestmark = pytest.mark.slow

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
if CHROMIUM is None:
    pytest.skip(
        "chromium not installed (apt-get install -y chromium; .ci/run installs it)",
        allow_module_level=True,
    )

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
]  # fmt: skip


def _chromium(tmp: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=120, check=True, **kwargs)


def test_screenshot_and_dom(tmp_path):
    report = published().folder / "report.html"
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,3000", report.as_uri())
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (3000, 1280)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri()).stdout.decode("utf-8")
    assert dom.count("<table>") == 5 and dom.count("<img ") == 7
    assert "前三名 Top 3" in dom


class DevTools:
    """Minimal Chrome DevTools Protocol client over --remote-debugging-pipe."""

    def __init__(self, tmp: Path):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3, writes replies on fd 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=child_fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._next()
            if reply.get("id") == self._id:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._next(deadline - time.monotonic()))

    def _next(self, timeout: float = 60) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], max(timeout, 0))
            chunk = os.read(self._r, 1 << 20) if ready else b""
            if not chunk:
                raise TimeoutError("no reply from chromium")
            self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        finally:
            os.close(self._w)
            os.close(self._r)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_no_console_errors_no_network_and_images_decoded(tmp_path):
    report = published().folder / "report.html"
    cdp = DevTools(tmp_path)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime", "Log"):
            cdp.send(f"{domain}.enable", session=session)
        cdp.send("Page.navigate", {"url": report.as_uri()}, session=session)
        cdp.wait_for("Page.loadEventFired")
        probe = """JSON.stringify({
            tables: document.querySelectorAll('table').length,
            rows: document.querySelectorAll('table tbody tr').length,
            images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width]),
            title: document.title})"""
        value = cdp.send(
            "Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=session
        )
        page = json.loads(value["result"]["value"])
    finally:
        cdp.close()
    assert page["tables"] == 5 and page["rows"] > 31
    assert len(page["images"]) == 7
    assert all(done and natural > 0 and shown > 0 for done, natural, shown in page["images"]), page[
        "images"
    ]
    assert "中国综合算力指数" in page["title"]
    requests = [
        e["params"]["request"]["url"]
        for e in cdp.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requests and all(u == report.as_uri() or u.startswith("data:") for u in requests), (
        requests
    )
    errors = [e for e in cdp.events if e.get("method") in ("Runtime.exceptionThrown", "Network.loadingFailed")
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]  # fmt: skip
    assert errors == []
