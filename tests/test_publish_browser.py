"""report.html in a real browser (headless Chromium): renders tables and images, no console
errors, no network requests. Chromium is driven by its command line (screenshot, DOM dump) and by
the DevTools protocol over ``--remote-debugging-pipe`` (NUL-separated JSON on fds 3/4, stdlib only).
"""

from __future__ import annotations

import json

import pytest
from chromium import CHROMIUM, DevTools, errors, requests
from chromium import run as _chromium
from matplotlib import image
from publish_synthetic import published

pytestmark = pytest.mark.slow

if CHROMIUM is None:
    pytest.skip(
        "chromium not installed (apt-get install -y chromium; .ci/run installs it)",
        allow_module_level=True,
    )


def test_screenshot_and_dom(tmp_path):
    report = published().folder / "report.html"
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,3000", report.as_uri())
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (3000, 1280)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri()).stdout.decode("utf-8")
    assert dom.count("<table>") == 5 and dom.count("<img ") == 8
    assert "前三名 Top 3" in dom


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
    assert len(page["images"]) == 8
    assert all(done and natural > 0 and shown > 0 for done, natural, shown in page["images"]), page[
        "images"
    ]
    assert "中国综合算力指数" in page["title"]
    urls = requests(cdp.events)
    assert urls and all(u == report.as_uri() or u.startswith("data:") for u in urls), urls
    assert errors(cdp.events) == []
