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
from index.publish import build, build_publication, folder, manifest, verify

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


def test_two_builds_are_byte_identical_and_verify_passes(tmp_path):
    pub = published()
    rebuilt = []

    def rebuild(root: Path) -> Path:
        rebuilt.append(root)
        src = pub.folder.parent / "inputs.csv"
        return build_publication(
            make_result(), root, edition="2024-test", inputs={"inputs.csv": src}
        ).folder

    check = verify(pub.folder, rebuild, current={"inputs.csv": pub.folder.parent / "inputs.csv"})
    assert check.ok and check.lines() == [], check.lines()
    assert not rebuilt[0].exists()  # the temporary rebuild is removed


def test_verify_lists_exactly_what_differs(tmp_path):
    pub = published()
    (tmp_path / "inputs.csv").write_text("changed\n", encoding="utf-8")

    def tampered(root: Path) -> Path:
        out = root / "copy"
        shutil.copytree(pub.folder, out)
        (out / "ranking.csv").write_bytes(b"x")
        (out / "figures" / "bump.svg").unlink()
        (out / "figures" / "new.png").write_bytes(b"y")
        return out

    check = verify(pub.folder, tampered, current={"inputs.csv": tmp_path / "inputs.csv"})
    assert not check.ok
    assert (check.differing, check.missing, check.extra) == (
        ["ranking.csv"],
        ["figures/bump.svg"],
        ["figures/new.png"],
    )
    assert check.inputs_changed == ["inputs.csv"]
    assert "differs: ranking.csv" in check.lines()


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

    monkeypatch.setattr(build.tables, "write_xlsx", boom)  # after figures, before the report
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
