"""The publication run end to end on the bundled real data: what ``run_publication`` writes equals
the build it returns and the library's uncertainty analysis, and ``verify_publication`` rebuilds
every byte and names a file that was changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from index.errors import InputError
from index.publication import (
    Alternative,
    PublishSettings,
    UncertaintySettings,
    run_publication,
    verify_publication,
)
from index.publish import parallel

ROOT = Path(__file__).resolve().parents[1]
RUNS = 32


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    work = tmp_path_factory.mktemp("publish")
    settings = PublishSettings(
        raw_dir=str(ROOT / "data" / "raw"),
        alternatives=[Alternative(label="等权 equal", overrides=["weighting=equal"])],
        uncertainty=UncertaintySettings(runs=RUNS, seed=11, sobol=16),
    )
    pub, b = run_publication(settings, work / "out", processed=work / "inputs.parquet", jobs=2)
    return pub, b


@pytest.mark.slow
def test_publication_holds_the_build(published):
    pub, b = published
    year = b.years[-1]
    assert pub.folder.name == str(year)
    manifest = json.loads((pub.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["year"] == year and manifest["config"]["uncertainty"]["runs"] == RUNS
    assert {"scores.parquet", "ranking.csv", "report.html"} <= set(pub.files)
    assert {"figures/framework.png", "figures/sobol.png"} <= set(pub.files)
    assert manifest["config"]["uncertainty"]["sobol"] == 16
    scores = pd.read_parquet(pub.folder / "scores.parquet")
    mine = b.scores_long.set_index(["year", "region_code", "code"])
    theirs = scores.set_index(["year", "region_code", "code"]).loc[mine.index]
    np.testing.assert_array_equal(theirs["score"].to_numpy(), mine["score"].to_numpy())
    np.testing.assert_array_equal(theirs["rank"].to_numpy(), mine["rank"].to_numpy())
    # the ranking table: ranks of the build, rank intervals of Build.uncertainty with the settings
    table = pd.read_csv(pub.folder / "ranking.csv", dtype={"代码 Code": str}).set_index("代码 Code")
    ranking = b.ranking(year)
    np.testing.assert_array_equal(table["排名 Rank"].loc[ranking.index], ranking["rank"])
    iv = b.uncertainty(RUNS, seed=11, year=year).table().set_index("region_code")
    np.testing.assert_allclose(table["排名中位数 Median rank"], iv["median"].loc[table.index])
    np.testing.assert_allclose(table["排名95%分位 Q95 rank"], iv["q95"].loc[table.index])


@pytest.mark.slow
def test_verify_rebuilds_every_byte_and_names_a_changed_file(published):
    pub, _ = published
    target = pub.folder / "ranking.csv"
    original = target.read_bytes()
    target.write_bytes(original.replace(b"Beijing", b"Peking"))
    try:
        result = verify_publication(pub.folder)
    finally:
        target.write_bytes(original)
    assert not result.ok
    assert result.differing == ["ranking.csv"] and not result.missing and not result.extra
    assert "differs: ranking.csv" in result.lines()


@pytest.mark.slow
def test_one_process_rebuilds_the_bytes_of_the_pool(published):
    """The publication made by the pool (figures rendered and profiles computed by forked
    workers, from a pickled build) is the bytes one process makes, profiles and all."""
    pub, _ = published
    page = (pub.folder / "report.html").read_text(encoding="utf-8")
    assert page.count('<section id="profile-') == 31  # every ranked province's profile
    result = verify_publication(pub.folder, jobs=1)
    assert result.ok and result.complete, result.lines()


def test_verify_needs_a_manifest(tmp_path):
    with pytest.raises(InputError, match="no manifest.json"):
        verify_publication(tmp_path)


def test_a_bod_run_leaves_out_only_what_per_unit_weights_cannot_take(bundled_inputs, monkeypatch):
    """Benefit-of-the-doubt pillars have no common weights: the weight-varying uncertainty
    analysis is left out and named; any other user error of that analysis still stops the run."""
    import index.publication as publication
    from index.dataset import load_inputs
    from index.pipeline import build, configure

    b = build(configure(None, ['aggregation.by_level={"2": "bod"}']), load_inputs(bundled_inputs))
    settings = PublishSettings(uncertainty=UncertaintySettings(runs=8, seed=1, sobol=0))
    intervals, bounds, profiles, sobol, left_out = publication._analyses(
        b, settings, 2024, parallel.Pool(1)
    )
    assert intervals is None and bounds is None and profiles == [] and sobol is None
    assert "does not use child weights" in left_out["uncertainty"]

    def broken(*args, **kwargs):
        raise InputError("spec.toml:factor: something else is wrong")

    monkeypatch.setattr(publication, "_rank_intervals", broken)
    with pytest.raises(InputError, match="something else is wrong"):
        publication._analyses(b, settings, 2024, parallel.Pool(1))
