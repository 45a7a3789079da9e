"""A publication does not depend on where it lies: moved with its inputs it still verifies, and
its manifest holds no absolute path; other raw data never touch the repository's data/processed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.publication import (
    PublishSettings,
    UncertaintySettings,
    run_publication,
    verify_publication,
)
from index.publish import manifest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_moved_checkout_verifies_and_records_no_absolute_path(tmp_path, monkeypatch):
    project = tmp_path / "project"  # the checkout a user works in (found from the cwd)
    (project / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "raw" / "sources.csv", project / "data" / "raw")
    monkeypatch.chdir(project)
    first = tmp_path / "first"
    shutil.copytree(ROOT / "data" / "raw", first / "data" / "raw")
    mine = first / "mine"  # a user's own file overlaying the bundled data
    mine.mkdir()
    (mine / "fix.csv").write_text(
        "region,year,indicator,value,unit,source\n北京市,2024,web_pages,1,万个,ME\n",
        encoding="utf-8",
    )
    (mine / "sources.csv").write_text(
        "source_id,publisher,table,repository,commit,path,origin,licence\nME,me,t,,,,,\n",
        encoding="utf-8",
    )
    settings = PublishSettings(
        raw_dir=str(first / "data" / "raw"),
        overlays=[str(mine)],
        uncertainty=UncertaintySettings(runs=0),
    )
    pub, b = run_publication(settings, first / "publications")
    text = (pub.folder / manifest.NAME).read_text(encoding="utf-8")
    assert str(tmp_path) not in text and str(ROOT) not in text
    record = json.loads(text)
    assert record["config"]["raw_dir"] == "../../data/raw"
    assert record["config"]["overlays"] == ["../../mine"]
    assert (
        "raw/provincial_inputs.csv" in record["inputs"] and "overlay1/fix.csv" in record["inputs"]
    )
    assert b.stage("raw", 2024).loc["11", "web_pages"] == 1.0  # the overlay's value won
    # another raw folder than the project's: nothing is written into the project's data/processed
    assert not (project / "data" / "processed").exists()

    moved = tmp_path / "elsewhere"
    first.rename(moved)
    check = verify_publication(moved / "publications" / pub.folder.name)
    assert check.ok and check.inputs_changed == [], check.lines()


def test_changed_inputs_names_gone_new_and_edited_files(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("1\n", encoding="utf-8")
    b.write_text("2\n", encoding="utf-8")
    record = {"inputs": manifest.hash_inputs({"raw/a.csv": a, "raw/gone.csv": b})}
    a.write_text("changed\n", encoding="utf-8")
    assert manifest.changed_inputs(record, {"raw/a.csv": a, "raw/new.csv": b}) == [
        "raw/a.csv",
        "raw/gone.csv",
        "raw/new.csv",
    ]
