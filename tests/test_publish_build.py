"""The publication folder: determinism, manifest, verify, self-contained HTML, atomic swap."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from publish_synthetic import make_result, published

from index.errors import InputError
from index.io import sha256_file
from index.publish import build, build_publication, folder, manifest, parallel, verify

EXPECTED = {
    "ranking.xlsx", "ranking.csv", "scores.parquet", "report.html", "explorer.html", "manifest.json",
    *(f"figures/{s}.{e}" for s in ("composite", "map", "rank_intervals", "profiles", "alternatives",
                                    "bump", "correlations", "framework") for e in ("png", "svg")),
}  # fmt: skip


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_folder_contents_and_modes():
    pub = published()
    assert _files(pub.folder) == EXPECTED
    assert pub.folder.name == "2024-test"
    assert oct(pub.folder.stat().st_mode & 0o777) == "0o755"
    assert {oct(p.stat().st_mode & 0o777) for p in pub.folder.rglob("*") if p.is_file()} == {
        "0o644"
    }
    assert not [p for p in pub.folder.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_manifest_records_inputs_config_versions_seeds_and_outputs():
    pub = published()
    text = (pub.folder / "manifest.json").read_text(encoding="utf-8")
    record = json.loads(text)
    assert text == json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert record["inputs"] == {"inputs.csv": sha256_file(pub.folder.parent / "inputs.csv")}
    assert record["config"] == make_result().config
    assert record["seeds"] == {"uncertainty.seed": 42}
    assert set(record["versions"]) == {"python", *manifest.PACKAGES}
    assert set(record["outputs"]) == EXPECTED - {"manifest.json"}
    for rel, entry in record["outputs"].items():
        assert entry["sha256"] == sha256_file(pub.folder / rel), rel


@pytest.fixture(scope="module")
def rebuilt() -> list[tuple[str, bytes]]:
    """The files of a rebuild of :func:`published`, as ``verify`` receives them."""
    source = published().folder.parent / "inputs.csv"
    return list(build.files(make_result(), edition="2024-test", inputs={"inputs.csv": source}))


def test_two_builds_are_byte_identical_and_verify_passes():
    pub = published()
    source = pub.folder.parent / "inputs.csv"
    made = build.files(make_result(), edition="2024-test", inputs={"inputs.csv": source})
    check = verify(pub.folder, made, current={"inputs.csv": source})
    assert check.ok and check.complete and check.lines() == [], check.lines()


def _changed(rel: str, content: bytes) -> bytes:
    """``content`` with one byte changed (in the manifest: one hex digit of a recorded hash, so
    it still reads as JSON)."""
    if rel == manifest.NAME:
        at = content.index(b'"sha256": "') + len(b'"sha256": "')
        return content[:at] + (b"1" if content[at : at + 1] == b"0" else b"0") + content[at + 1 :]
    middle = len(content) // 2
    return content[:middle] + bytes([content[middle] ^ 1]) + content[middle + 1 :]


@pytest.mark.parametrize(
    "rel",
    ["ranking.xlsx", "ranking.csv", "scores.parquet", "explorer.html", "figures/map.png",
     "figures/correlations.svg", "report.html", "manifest.json"],
)  # fmt: skip
def test_verify_finds_a_changed_byte_in_every_kind_of_file(rel, rebuilt, tmp_path):
    copy = tmp_path / "2024-test"
    shutil.copytree(published().folder, copy)
    (copy / rel).write_bytes(_changed(rel, (copy / rel).read_bytes()))
    check = verify(copy, rebuilt)
    assert (check.differing, check.missing, check.extra, check.complete) == ([rel], [], [], False)
    assert f"differs: {rel}" in check.lines()


def test_verify_names_the_files_a_rebuild_lacks_or_adds_and_the_changed_inputs(rebuilt, tmp_path):
    pub = published()
    (tmp_path / "inputs.csv").write_text("changed\n", encoding="utf-8")
    lacking = [(rel, content) for rel, content in rebuilt if rel != "figures/bump.svg"]
    check = verify(pub.folder, lacking, current={"inputs.csv": tmp_path / "inputs.csv"})
    assert (check.differing, check.missing, check.extra) == ([], ["figures/bump.svg"], [])
    assert check.complete and check.inputs_changed == ["inputs.csv"]
    check = verify(pub.folder, [*rebuilt[:2], ("figures/new.png", b"y"), *rebuilt[2:]])
    assert (check.differing, check.missing, check.extra) == ([], [], ["figures/new.png"])


def test_verify_stops_the_rebuild_at_the_first_difference(rebuilt):
    def made():
        yield rebuilt[0][0], b"not the published bytes"
        raise AssertionError("the rebuild went on after a difference")

    check = verify(published().folder, made())
    assert check.differing == [rebuilt[0][0]] and not check.complete
    assert any("stopped at the first difference" in line for line in check.lines())


def test_report_is_self_contained_and_embeds_every_figure():
    pub = published()
    page = (pub.folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<(script|link|iframe|object|embed)\b|@import|url\(", page, re.IGNORECASE)
    assert "default-src 'none'" in page
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    pngs = sorted(pub.folder.glob("figures/*.png"))
    assert len(embedded) == len(pngs) == 8
    assert {base64.b64decode(e) for e in embedded} == {p.read_bytes() for p in pngs}
    for heading in (
        "要点",
        "Headline findings",
        "排名",
        "Ranking",
        "方法",
        "Method summary",
        "数据来源与引用",
    ):
        assert heading in page
    assert page.count("<table>") == 5 and "COINr" in page


def test_edition_must_be_a_plain_folder_name(tmp_path):
    with pytest.raises(InputError, match="edition"):
        build_publication(make_result(), tmp_path, edition="../evil")


def test_failed_build_leaves_previous_publication_intact(tmp_path, monkeypatch):
    previous = tmp_path / "2024"
    previous.mkdir()
    (previous / "report.html").write_text("previous edition", encoding="utf-8")

    def boom(*args, **kwargs):
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(build.tables, "xlsx_bytes", boom)  # the first file made
    monkeypatch.setattr(build, "FIGURES", ())  # keep the test fast
    with pytest.raises(RuntimeError, match="mid-build"):
        build_publication(make_result(), tmp_path, edition="2024")
    assert _files(previous) == {"report.html"}
    assert (previous / "report.html").read_text(encoding="utf-8") == "previous edition"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024"]


def test_swap_replaces_previous_folder(tmp_path):
    target = tmp_path / "2024"
    for content in ("old", "new"):
        with folder.staging(target) as tmp:
            (tmp / "f.txt").write_text(content, encoding="utf-8")
    assert (target / "f.txt").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024"]


def test_killed_run_keeps_previous_and_next_run_cleans_up(tmp_path):
    target = tmp_path / "2024"
    target.mkdir()
    (target / "f.txt").write_text("previous", encoding="utf-8")
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from index.publish import folder
        with folder.staging(Path({str(target)!r})) as tmp:
            (tmp / "f.txt").write_text("half", encoding="utf-8")
            print("building", flush=True)
            time.sleep(60)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout.readline().strip() == "building"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert (target / "f.txt").read_text(encoding="utf-8") == "previous"
    assert any(".staging-" in p.name for p in tmp_path.iterdir())  # the dead run's debris
    folder.recover(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024"]


def test_recover_restores_a_folder_left_aside(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    aside = tmp_path / f".2024.{pid}.aside"  # killed between the two renames of the swap
    aside.mkdir()
    (aside / "f.txt").write_text("previous", encoding="utf-8")
    with folder.staging(tmp_path / "2024") as tmp:  # the next run recovers before building
        assert (tmp_path / "2024" / "f.txt").read_text(encoding="utf-8") == "previous"
        (tmp / "f.txt").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024"]


def _bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_one_and_two_processes_publish_the_same_bytes(tmp_path, monkeypatch):
    """The figures rendered by two forked workers are the bytes one process renders (the verify
    guarantee does not depend on the number of cores), and verify's in-place build (no staging)
    writes the same files; three figures keep the test short, the heatmap's labels among them."""
    keep = {"map", "bump", "correlations"}
    monkeypatch.setattr(build, "FIGURES", tuple(e for e in build.FIGURES if e.stem in keep))
    src = tmp_path / "inputs.csv"
    src.write_text("year,region_code,indicator,value\n2024,11,gdp,1.0\n", encoding="utf-8")
    folders = {
        jobs: build_publication(
            make_result(), tmp_path / f"j{jobs}", edition="2024-test", inputs={"inputs.csv": src},
            jobs=jobs, atomic=jobs == 1,
        ).folder
        for jobs in (1, 2)
    }  # fmt: skip
    one, two = (_bytes(folders[j]) for j in (1, 2))
    assert {f"figures/{s}.{e}" for s in keep for e in ("png", "svg")} <= set(one)
    assert one.keys() == two.keys()
    assert [k for k in one if one[k] != two[k]] == []


def test_figure_registry_entries_are_drawn_in_order_and_skipped_without_data(tmp_path):
    """Every registered figure whose data are present is in the report, in registry order; a
    figure whose table is absent (no rank bounds, no Sobol' indices here) is left out."""
    res = make_result()
    data = build.figure_data(res, 2024, True, bounds=None)
    stems = [e.stem for e in build.FIGURES if e.shown(data)]
    assert stems == [e.stem for e in build.FIGURES if e.stem not in ("rank_bounds", "sobol")]
    page = (published().folder / "report.html").read_text(encoding="utf-8")
    where = [
        page.index(f"{e.caption_en.format(year=2024)}") for e in build.FIGURES if e.stem in stems
    ]
    assert where == sorted(where)


def test_figures_are_submitted_once_their_tables_are_known_with_their_cost_as_priority():
    """A figure of the build alone is submitted at once, one of an analysis when its table is
    known (not before), its rendering time its priority; the report lists them in registry
    order."""

    class Recorder:  # a pool that records the figures submitted to it
        workers = 2

        def __init__(self) -> None:
            self.stems: list[str] = []

        def submit(self, fn, stem, data, priority):
            assert priority == next(e.cost for e in build.FIGURES if e.stem == stem)
            self.stems.append(stem)
            return parallel.Pending(None, lambda: (stem.encode(), b"svg"))

    pool = Recorder()
    jobs = build.FigureJobs(pool, None)
    res = make_result()
    waiting = {"intervals", "bounds", "sobol"}
    jobs.submit(build.figure_data(res, 2024, False, intervals=None), pending=waiting)
    early = [e for e in build.FIGURES if not e.needs & waiting]
    assert pool.stems == [e.stem for e in early]  # the pool runs the longest first
    jobs.submit(build.figure_data(res, 2024, False), pending={"bounds"})
    assert pool.stems[len(early) :] == ["rank_intervals"]  # no Sobol' indices: not shown
    rendered = jobs.rendered(build.figure_data(res, 2024, False))  # bounds known: None
    assert [e.stem for e, _png, _svg in rendered] == [
        e.stem for e in build.FIGURES if e.stem not in ("rank_bounds", "sobol")
    ]
    assert all(png == e.stem.encode() for e, png, _svg in rendered)
    assert len(pool.stems) == len(rendered)  # each figure submitted once
