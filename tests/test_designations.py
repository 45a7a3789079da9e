"""Bundled official designations (data/raw/designations.csv), region groups and national tables.

The expected hub-node and cluster memberships are hard-coded from the source texts (the 复函
letters and NDRC notes cited in sources.csv S259–S271), so an edit of the data files that changes
a membership fails here.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from index.etl import regions

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
NATIONAL = ROOT / "data" / "national"

# hub node → provinces, as the sources state them
HUBS = {
    "京津冀": {"北京市", "天津市", "河北省"},
    "长三角": {"上海市", "江苏省", "浙江省", "安徽省"},
    "粤港澳大湾区": {"广东省"},
    "成渝": {"四川省", "重庆市"},
    "内蒙古": {"内蒙古自治区"},
    "贵州": {"贵州省"},
    "甘肃": {"甘肃省"},
    "宁夏": {"宁夏回族自治区"},
}
# national data-centre cluster → provinces it lies in (示范区 起步区: 青浦, 吴江, 嘉善)
CLUSTERS = {
    "张家口": {"河北省"},
    "长三角生态绿色一体化发展示范区": {"上海市", "江苏省", "浙江省"},
    "芜湖": {"安徽省"},
    "韶关": {"广东省"},
    "天府": {"四川省"},
    "重庆": {"重庆市"},
    "贵安": {"贵州省"},
    "和林格尔": {"内蒙古自治区"},
    "庆阳": {"甘肃省"},
    "中卫": {"宁夏回族自治区"},
}
NBS_SIZES = {"东部": 10, "中部": 6, "西部": 12, "东北": 3}
PROVINCES = {p.name_zh for p in regions.PROVINCES}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sources() -> dict[str, dict[str, str]]:
    return {r["source_id"]: r for r in _rows(RAW / "sources.csv")}


@pytest.fixture(scope="module")
def designations() -> list[dict[str, str]]:
    return _rows(RAW / "designations.csv")


def _values(designations, indicator: str, year: int) -> dict[str, int]:
    return {
        r["region"]: int(r["value"])
        for r in designations
        if r["indicator"] == indicator and int(r["year"]) == year
    }


def test_columns_keys_and_sources(designations, sources):
    with (RAW / "designations.csv").open(encoding="utf-8") as f:
        header = f.readline().strip()
    with (RAW / "provincial_inputs.csv").open(encoding="utf-8") as f:
        assert header == f.readline().strip() == "region,year,indicator,value,unit,source"
    keys = Counter((r["region"], r["year"], r["indicator"]) for r in designations)
    assert max(keys.values()) == 1
    for r in designations:
        assert r["region"] in PROVINCES
        assert 2016 <= int(r["year"]) <= 2024
        assert r["source"] in sources, r
        origin = sources[r["source"]]["origin"]
        assert origin.startswith(("http://", "https://")) and " " not in origin, r
        assert not sources[r["source"]]["repository"], r  # a web page, not a repository file


def test_values_are_nonnegative_integers_and_flags_are_binary(designations):
    for r in designations:
        assert r["value"].isdigit(), r  # an integer ≥ 0 written without sign or decimals
        if r["indicator"] == "hub_node":
            assert r["value"] in {"0", "1"} and r["unit"] == "1", r
        else:
            assert r["unit"] == "个", r


def test_hub_nodes_are_the_sourced_provinces(designations):
    members = set().union(*HUBS.values())
    assert len(HUBS) == 8 and len(members) == sum(map(len, HUBS.values())) == 14
    for year in range(2016, 2025):
        values = _values(designations, "hub_node", year)
        assert set(values) == PROVINCES, year  # all 31 provinces every year
        expected = members if year >= 2021 else set()  # laid out by the 2021-05 plan
        assert {p for p, v in values.items() if v == 1} == expected, year


def test_ten_clusters_twelve_memberships(designations):
    assert len(CLUSTERS) == 10 and sum(map(len, CLUSTERS.values())) == 12
    expected = Counter(p for provinces in CLUSTERS.values() for p in provinces)
    hub_members = set().union(*HUBS.values())
    assert set(expected) <= hub_members  # every cluster lies in a hub node
    for year in (2022, 2023, 2024):
        values = _values(designations, "dc_clusters", year)
        assert set(values) == PROVINCES
        assert {p: v for p, v in values.items() if v} == dict(expected), year
        assert sum(values.values()) == 12
    assert not any(
        _values(designations, "dc_clusters", y).get(p) for y in range(2016, 2021) for p in PROVINCES
    )
    # 2021: only the western letters of 2021-12 that a source dates (内蒙古, 宁夏, 甘肃); 贵州 absent
    y2021 = _values(designations, "dc_clusters", 2021)
    assert {p for p, v in y2021.items() if v} == {"内蒙古自治区", "宁夏回族自治区", "甘肃省"}
    assert PROVINCES - set(y2021) == {"贵州省"}


def test_supercomputing_and_backbone_counts(designations):
    sc = {y: _values(designations, "supercomputing_centres", y) for y in range(2016, 2020)}
    six = {"天津市": 1, "广东省": 2, "山东省": 1, "湖南省": 1, "江苏省": 1}
    assert {p: v for p, v in sc[2018].items() if v} == six and set(sc[2018]) == PROVINCES
    assert {p: v for p, v in sc[2019].items() if v} == {**six, "河南省": 1}
    assert sum(sc[2019].values()) == 7
    for year in (2016, 2017):  # 广州 centre's date not sourced, so 广东 is absent
        assert PROVINCES - set(sc[year]) == {"广东省"}
        assert {p: v for p, v in sc[year].items() if v} == {
            "天津市": 1,
            "山东省": 1,
            "湖南省": 1,
            "江苏省": 1,
        }
    ix = _values(designations, "backbone_ix_points", 2016)
    assert PROVINCES - set(ix) == {"浙江省", "福建省"}  # 杭州, 福州: approval dates not sourced
    assert sum(ix.values()) == 11  # 3 original + 7 of 2013 + 贵阳·贵安 (2016-11)


def test_region_groups(sources):
    rows = _rows(RAW / "region_groups.csv")
    assert list(rows[0]) == ["region", "grouping", "group_zh", "group_en", "source"]
    for grouping in ("nbs_region", "hub_node"):
        mine = [r for r in rows if r["grouping"] == grouping]
        assert sorted(r["region"] for r in mine) == sorted(PROVINCES), grouping
        assert all(r["source"] in sources and r["group_en"] for r in mine)
    nbs = Counter(r["group_zh"] for r in rows if r["grouping"] == "nbs_region")
    assert nbs == NBS_SIZES
    hubs = {r["region"]: r["group_zh"] for r in rows if r["grouping"] == "hub_node"}
    for hub, provinces in HUBS.items():
        assert {p for p, h in hubs.items() if h == hub} == provinces, hub
    assert {p for p, h in hubs.items() if h == "非枢纽"} == PROVINCES - set().union(*HUBS.values())


def test_national_tables_have_sources_and_match_targets(sources):
    targets = _rows(NATIONAL / "action_plan_targets.csv")
    progress = _rows(NATIONAL / "action_plan_progress.csv")
    assert progress and targets
    by_en = {t["indicator_en"]: t for t in targets}
    assert all(t["source"] in sources for t in targets)
    for r in progress:
        assert r["source"] in sources, r
        assert sources[r["source"]]["origin"].startswith(("http://", "https://")), r
        target = by_en[r["indicator_en"]]  # KeyError = an indicator the plan does not set
        assert (r["indicator_zh"], r["unit"]) == (target["indicator_zh"], target["unit"])
        assert 2022 <= int(r["year"]) <= 2025 and float(r["value"]) > 0
        assert r["as_of"][:4] == r["year"]
    assert len({(r["indicator_en"], r["year"]) for r in progress}) == len(progress)


def test_targets_copy_equals_shared_plus_source(shared_dir: Path):
    targets = _rows(NATIONAL / "action_plan_targets.csv")
    shared = _rows(shared_dir / "data" / "action_plan_targets.csv")
    assert [{k: v for k, v in t.items() if k != "source"} for t in targets] == shared
    assert {t["source"] for t in targets} == {"S258"}  # the action plan itself
