"""explorer.html: the Python side (data, escaping, what is offered) and, in headless Chromium, the
page itself: weights set through its inputs give the engine's scores and ranks
(``index.pipeline.aggregate_tree`` on the build's normalised scores, or a rebuilt pipeline for the
geometric mean), the URL fragment round-trips, no console errors, no request but the file, and the
published ranking without JavaScript.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from chromium import CHROMIUM, DevTools, errors, requests
from publish_synthetic import make_result, published

from index.config import Config
from index.dataset import load_inputs
from index.methods.rank import rank_desc
from index.pipeline import aggregate_tree, build
from index.publication import PublishSettings
from index.publish import explorer

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium; .ci/run)"
)


@pytest.fixture(scope="module")
def real(bundled_inputs):
    """The default build of the bundled data, the publication config around it."""
    b = build(Config(), load_inputs(bundled_inputs))
    return b, PublishSettings(run=b.config).model_dump(mode="json")


def _page(b, folder) -> Path:
    """explorer.html of a build, as the publication writes it (effective run configuration)."""
    path = folder / "explorer.html"
    run = b.config.model_dump(mode="json")
    text = explorer.render(
        b.scores_long, b.nodes, run, edition="test", year=b.years[-1], version="t"
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def page(real, tmp_path_factory):
    return _page(real[0], tmp_path_factory.mktemp("explorer"))


def _embedded(text: str) -> dict:
    blob = re.search(
        r'<script type="application/json" id="explorer-data">(.*?)</script>', text, re.S
    )
    return json.loads(blob.group(1))


# ---- Python side ----------------------------------------------------------------------------
def test_every_publication_has_an_explorer_without_external_references():
    text = (published().folder / "explorer.html").read_text(encoding="utf-8")
    assert not re.search(
        r"""(src|href)\s*=\s*["']?\s*(https?:)?//|@import|url\(|<link\b""", text, re.I
    )
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert len(scripts) == 1 and "fetch(" not in scripts[0] and "innerHTML" not in scripts[0]
    assert "default-src 'none'" in text and "script-src 'sha256-" in text


def test_embedded_data_are_the_published_normalised_scores(real, page):
    b, config = real
    data = _embedded(page.read_text(encoding="utf-8"))
    yi = len(b.years) - 1
    units = [u["code"] for u in data["units"]]
    assert sorted(units) == sorted(b.dataset.unit_codes)
    rows = [b.dataset.unit_codes.index(u) for u in units]
    for k, code in enumerate(b.framework.indicator_codes):
        got = np.array([np.nan if v is None else v for v in data["x"][code]])
        np.testing.assert_array_equal(got, b.stages["normalised"][yi][rows, k])
    assert data["methods"] == ["amean", "gmean"] and data["method"] == "amean"
    assert data["shift"] == {"l": 0.0, "u": 100.0, "to": 1.0}
    _, notes = explorer.explorer_data(b.scores_long, b.nodes, config, b.years[-1])
    assert notes == []  # the published weights reproduce the published scores


def test_labels_are_escaped_in_html_and_json(tmp_path):
    res = make_result()
    evil = '</script><script>alert(1)</script>&"\u2028'
    res.nodes.loc[res.nodes["code"] == "compute", "name_en"] = evil
    res.scores.loc[res.scores["region_code"] == "11", "region_en"] = evil
    text = explorer.render(res.scores, res.nodes, res.config, edition="e", year=2024, version="v")
    assert "<script>alert" not in text and text.count("<script") == 2
    blob = re.search(r'id="explorer-data">(.*?)</script>', text, re.S).group(1)
    assert "\u2028" not in blob and "<" not in blob and "&" not in blob
    assert _embedded(text)["units"][0]["en"] == evil  # the JSON still holds the exact label


def test_offered_aggregations_follow_what_the_scores_allow():
    minmax = {"normalise": {"method": "minmax", "l": 0.0, "u": 100.0}}
    x = np.array([[0.0, 50.0], [100.0, np.nan]])
    assert explorer.gmean_shift(minmax, x) == {"l": 0.0, "u": 100.0, "to": 1.0}
    assert explorer.gmean_shift({"normalise": {"method": "zscore"}}, x) is False
    assert explorer.gmean_shift({"normalise": {"method": "rank"}}, x + 1) is None
    assert (
        explorer.gmean_shift({"normalise": {"method": "minmax", "l": 0, "u": 1}}, x / 100) is False
    )
    # min-max onto [1, 100] is the shifted min-max onto [0, 100], exactly as the pipeline computes it
    np.testing.assert_allclose(explorer.shifted(x, minmax_shift := explorer.gmean_shift(minmax, x)),
                               [[1.0, 50.5], [100.0, np.nan]], rtol=0, atol=1e-12)  # fmt: skip
    assert minmax_shift is not None
    assert explorer.published_method({"aggregation": {"method": "gmean"}}) == "gmean"
    assert (
        explorer.published_method({"aggregation": {"method": "amean", "by_level": {3: "gmean"}}})
        == ""
    )


def test_an_aggregation_the_scores_cannot_reproduce_is_said_so(real):
    b, config = real
    other = {**config, "run": {**config["run"], "aggregation": {"method": "copeland"}}}
    data, notes = explorer.explorer_data(b.scores_long, b.nodes, other, b.years[-1])
    assert data["method"] == "amean" and len(notes) == 1 and "copeland" in notes[0]
    wrong = b.nodes.assign(weight=np.where(b.nodes["code"] == "compute", 0.7, b.nodes["weight"]))
    _, notes = explorer.explorer_data(b.scores_long, wrong, config, b.years[-1])
    assert len(notes) == 1 and "differ" in notes[0]


# ---- in the browser -------------------------------------------------------------------------
READ = """Array.from(document.querySelectorAll('#ranking tbody tr')).map(tr => ({
    unit: tr.dataset.unit,
    rank: tr.querySelector('.rank').textContent,
    change: tr.querySelector('.change').textContent,
    score: tr.querySelector('.score').textContent,
    v: tr.querySelector('.score').dataset.v ?? null,
    pillars: Array.from(tr.querySelectorAll('.pillar')).map(td => [td.textContent, td.dataset.v ?? null])}))"""


def _set(weights: dict[str, float], method: str | None) -> str:
    """JavaScript that types the weights into the number inputs and picks the method."""
    lines = [
        f"(() => {{ const el = document.querySelector('input[data-role=number][data-w=\"{c}\"]');"
        f" el.value = '{v!r}'; el.dispatchEvent(new Event('input')); }})()"
        for c, v in weights.items()
    ]
    if method:
        lines.append(
            f"(() => {{ const s = document.getElementById('method'); s.value = '{method}';"
            " s.dispatchEvent(new Event('change')); })()"
        )
    return "[" + ", ".join(lines) + "]"


def _reference(b, weights: dict[str, float], method: str) -> np.ndarray:
    """Engine scores (units, nodes) of the edition year for the page's state: ``b.rebuild`` with
    every node weight as the page holds it (the published within-group weights, some replaced),
    and for the geometric mean the documented shift, min-max onto [1, 100]."""
    fw = b.framework
    shown = dict(zip(fw.codes, b.weights[-1], strict=True))
    shown.pop(fw.root.code)
    geometric = ("aggregation=gmean", "normalise.l=1") if method == "gmean" else ()
    weights = shown | weights
    groups = [[fw.codes[k] for k in kids] for _, kids in fw.groups]
    if any(all(weights[c] == 0 for c in g) for g in groups):
        # a framework refuses a group of zero weights; the engine's core gives the group NaN
        w = np.array([weights.get(c, 1.0) for c in fw.codes])
        source = b.rebuild(*geometric) if geometric else b
        thresh = source.config.aggregation.threshold
        return aggregate_tree(source.stages["normalised"][-1], fw, w, method, dat_thresh=thresh)[0]
    return b.rebuild(*geometric, weights=weights).scores[-1]


def _compare(b, rows: list[dict], ref: np.ndarray) -> float:
    """Assert the table equals the engine (ranks exactly, scores to display precision); return the
    largest |browser − engine| score."""
    fw = b.framework
    units = list(b.dataset.unit_codes)
    root = fw.codes.index(fw.root.code)
    pillars = [fw.codes.index(p) for p in fw.children[fw.root.code]]
    ranks = rank_desc(ref, axis=0)
    assert len(rows) == len(units)
    worst = 0.0
    for row in rows:
        u = units.index(row["unit"])
        assert row["rank"] == ("—" if np.isnan(ranks[u, root]) else f"{ranks[u, root]:.0f}"), row
        cells = [
            (row["score"], row["v"], root),
            *((t, v, k) for (t, v), k in zip(row["pillars"], pillars, strict=True)),
        ]
        for text, v, k in cells:
            want = ref[u, k]
            if np.isnan(want):
                assert v == "NaN" and text.startswith("—"), (row, k)
                continue
            assert abs(float(text.split(" ")[0]) - want) <= 0.005 + 1e-9, (row, want)
            if k != root:
                assert text.endswith(f"({ranks[u, k]:.0f})"), (row, k)
            worst = max(worst, abs(float(v) - want))
    order = [units.index(r["unit"]) for r in rows]
    shown = np.nan_to_num(ranks[order, root], nan=np.inf)  # missing ranks last
    assert list(shown) == sorted(shown)
    return worst


def _cases(fw) -> list[tuple[dict[str, float], str]]:
    """Chosen weight vectors (codes from the framework, so they follow its edits)."""
    kids = fw.children
    return [
        ({}, "amean"),
        ({"compute": 0.5, "network": 0.1, "storage": 0.2, "environment": 0.2}, "amean"),
        ({kids["compute"][0]: 0.0, kids["storage"][0]: 1.0, kids["environment"][1]: 0.05, "storage": 0.9}, "amean"),
        (dict.fromkeys(kids["storage"], 0.0), "amean"),  # a group at zero: no storage score
        ({}, "gmean"),
        ({"compute": 0.1, "environment": 0.6, kids["environment"][0]: 0.9, kids["network"][0]: 0.0}, "gmean"),
    ]  # fmt: skip


@needs_chromium
@pytest.mark.slow
def test_browser_equals_engine_for_weights_set_through_the_inputs(real, page, tmp_path):
    b, _ = real
    rng = np.random.default_rng(20241201)
    nodes = [c for c in b.framework.codes if c != b.framework.root.code]
    chosen = _cases(b.framework)
    cases = chosen + [({c: float(round(x, 3)) for c, x in zip(nodes, rng.uniform(0, 1, len(nodes)), strict=True)}, m)
                     for m in ("amean", "gmean")]  # fmt: skip
    cdp = DevTools(tmp_path)
    worst = 0.0
    try:
        session = cdp.open(page.as_uri())
        published = cdp.evaluate(READ, session)
        assert all(r["change"] == "0" for r in published)
        pub = b.ranking(b.years[-1])
        assert [r["unit"] for r in published] == list(pub.index)
        for weights, method in cases:
            cdp.evaluate("document.getElementById('reset').click()", session)
            cdp.evaluate(_set(weights, method), session)
            rows = cdp.evaluate(READ, session)
            zero_group = cdp.evaluate("!document.getElementById('zero').hidden", session)
            assert zero_group is (weights == chosen[3][0]), weights  # the one with a group at 0
            ref = _reference(b, weights, method)
            worst = max(worst, _compare(b, rows, ref))
            moved = {r["unit"]: r["change"] for r in rows}
            for code, r in pub["rank"].items():
                new = rank_desc(ref, axis=0)[list(b.dataset.unit_codes).index(code), -1]
                assert moved[code] == (
                    "" if np.isnan(new) else f"{r - new:+.0f}".replace("+0", "0")
                )
            # the fragment reproduces the state in a fresh tab
            link = cdp.evaluate("document.getElementById('fragment').value", session)
            assert link == "" if not weights and method == "amean" else link.startswith("#")
            other = cdp.open(page.as_uri() + link)
            assert cdp.evaluate(READ, other) == rows
        print(f"\nlargest |browser - engine| score over {len(cases)} weight vectors: {worst:.3g}")
    finally:
        cdp.close()
    assert errors(cdp.events) == []
    assert set(requests(cdp.events)) <= {page.as_uri()}


@needs_chromium
@pytest.mark.slow
def test_fragment_reset_and_bad_links(real, page, tmp_path):
    b, _ = real
    cdp = DevTools(tmp_path)
    try:
        session = cdp.open(page.as_uri() + "#" + quote("w=compute:0.7,storage:0&a=gmean"))
        rows = cdp.evaluate(READ, session)
        _compare(b, rows, _reference(b, {"compute": 0.7, "storage": 0.0}, "gmean"))
        state = cdp.evaluate(
            "[document.getElementById('method').value, document.getElementById('warning').hidden]",
            session,
        )
        assert state == ["gmean", True]
        cdp.evaluate("document.getElementById('reset').click()", session)
        assert cdp.evaluate("location.hash", session) == ""
        _compare(b, cdp.evaluate(READ, session), _reference(b, {}, "amean"))
        session = cdp.open(page.as_uri() + "#w=nope:1,compute:-1,network:x&zz=1&a=mpi")
        _compare(b, cdp.evaluate(READ, session), _reference(b, {}, "amean"))
        assert cdp.evaluate("document.getElementById('warning').hidden", session) is False
    finally:
        cdp.close()
    assert errors(cdp.events) == []


@needs_chromium
@pytest.mark.slow
def test_a_data_threshold_per_level_is_applied(real, tmp_path):
    """No imputation and dat_thresh 0.8 on the pillars: Tibet, without IT-services revenue, has
    2 of its 3 compute indicators, and no compute score."""
    b = real[0].rebuild(impute="none", **{"aggregation.dat_thresh": {2: 0.8}})
    path = _page(b, tmp_path)
    assert _embedded(path.read_text(encoding="utf-8"))["dat_thresh"] == {"2": 0.8}
    cdp = DevTools(tmp_path)
    try:
        session = cdp.open(path.as_uri())
        rows = cdp.evaluate(READ, session)
        _compare(b, rows, _reference(b, {}, "amean"))
        tibet = next(r for r in rows if r["unit"] == "54")
        assert tibet["pillars"][0] == ["— (—)", "NaN"]
        weights = {"compute": 0.7, b.framework.children["compute"][1]: 0.0}
        cdp.evaluate(_set(weights, None), session)
        _compare(b, cdp.evaluate(READ, session), _reference(b, weights, "amean"))
    finally:
        cdp.close()
    assert errors(cdp.events) == []


@needs_chromium
@pytest.mark.slow
def test_without_javascript_the_published_ranking_is_shown(real, page, tmp_path):
    b, _ = real
    cdp = DevTools(tmp_path)
    try:
        session = cdp.open(page.as_uri(), javascript=False)
        rows = cdp.evaluate(READ, session)
        hidden = cdp.evaluate("document.getElementById('controls').hidden", session)
    finally:
        cdp.close()
    pub = b.ranking(b.years[-1])
    assert [r["unit"] for r in rows] == list(pub.index)
    assert [r["rank"] for r in rows] == [f"{r:.0f}" for r in pub["rank"]]
    assert [r["score"] for r in rows] == [f"{s:.2f}" for s in pub["score"]]
    assert all(r["v"] is None for r in rows)  # the static table, not the script's
    assert hidden is True
