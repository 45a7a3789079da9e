"""End-to-end ingest (index.etl.ingest): bundled data vs ../shared, fixtures, determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from index import __version__
from index.errors import InputError
from index.etl import regions
from index.etl.catalogue import load_catalogue
from index.etl.clean import clean
from index.etl.ingest import (
    METADATA_GROUPS,
    METADATA_INPUTS,
    METADATA_VERSION,
    build,
    data_files,
    ingest,
)
from index.etl.read import read_table
from index.etl.units import convert
from index.etl.validate import panel_schema
from index.io import sha256_file

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
FIXTURES = ROOT / "tests" / "fixtures" / "etl"
# the shared table writes gdp_per_capita's unit as NBS's unit field (元); the NBS label is 元/人
SHARED_UNIT_LABELS = {("gdp_per_capita", "元"): "元/人"}
# official designations (hub node, clusters, supercomputing centres, backbone points) bundled
# beside the shared table; not part of ../shared
DESIGNATIONS = RAW / "designations.csv"


def _designations() -> pd.DataFrame:
    table = pd.read_csv(DESIGNATIONS, dtype=str, keep_default_na=False)
    table["region_code"] = table["region"].map(regions.resolve)
    table["year"] = table["year"].astype("int64")
    return table


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundled") / "inputs.parquet"
    ingest(RAW, out)
    return out


def _shared(shared_dir: Path) -> pd.DataFrame:
    shared = pd.read_csv(
        shared_dir / "data" / "provincial_inputs_long.csv",
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    )
    shared["region_code"] = shared["province_zh"].map(regions.resolve)
    shared["year"] = shared["year"].astype("int64")
    return shared


def test_bundled_data_equals_shared_data_set_plus_designations(bundled: Path, shared_dir: Path):
    panel = pd.read_parquet(bundled)
    shared = _shared(shared_dir)
    designations = _designations()
    assert len(shared) == 11257 and len(designations) == 708
    assert len(panel) == len(shared) + len(designations) == 11965
    assert panel.region_code.nunique() == 31 and panel.indicator.nunique() == 49
    assert sorted(panel.year.unique()) == list(range(2016, 2026))
    new = set(designations["indicator"])
    assert new == {"hub_node", "dc_clusters", "supercomputing_centres", "backbone_ix_points"}
    assert not new & set(shared["indicator"])
    ours = panel[panel.indicator.isin(new)].merge(
        designations, on=["region_code", "year", "indicator"], how="outer", indicator=True
    )
    assert (ours["_merge"] == "both").all() and len(ours) == 708
    assert (ours["source_id"] == ours["source"]).all()
    assert (ours["value_x"] == ours["value_y"].astype(float)).all()
    panel = panel[~panel.indicator.isin(new)]
    assert len(panel) == len(shared) == 11257
    assert panel.region_code.nunique() == 31 and panel.indicator.nunique() == 45
    merged = shared.merge(
        panel, on=["region_code", "year", "indicator"], how="outer", indicator=True
    )
    assert (merged["_merge"] == "both").all()
    assert (merged["source_id_x"] == merged["source_id_y"]).all()
    assert (merged["province_zh"] == merged["region_zh"]).all()
    # every value equal after converting the shared unit to the catalogue unit (equal here: exact)
    for (indicator, unit), group in merged.groupby(["indicator", "unit_x"]):
        target = group["unit_y"].iloc[0]
        assert SHARED_UNIT_LABELS.get((indicator, unit), unit) == target, indicator
        expected = convert(
            group["value_x"].astype(float), SHARED_UNIT_LABELS.get((indicator, unit), unit), target
        )
        assert (group["value_y"].to_numpy() == expected).all(), indicator


def test_bundled_coverage_equals_shared_coverage_matrix(shared_dir: Path):
    report = build(RAW)
    shared = pd.read_csv(shared_dir / "data" / "coverage_matrix.csv").set_index("indicator")
    ours = report.coverage.droplevel("dimension")
    ours.columns = ours.columns.astype(str)
    designations = _designations()
    new = sorted(set(designations["indicator"]))
    pd.testing.assert_frame_equal(
        ours.drop(index=new).sort_index(),
        shared.drop(columns="dimension").sort_index(),
        check_names=False,
        check_dtype=False,
    )
    # the designation indicators: regions with a value per year, as counted in designations.csv
    expected = designations.groupby(["indicator", "year"]).size().unstack(fill_value=0)
    expected.columns = expected.columns.astype(str)
    expected = expected.reindex(columns=ours.columns, fill_value=0)
    pd.testing.assert_frame_equal(
        ours.loc[new], expected.loc[new], check_names=False, check_dtype=False
    )
    assert report.missing == {} and report.notes == []


def test_output_schema_metadata_and_byte_identical_rerun(bundled: Path, tmp_path: Path):
    again = tmp_path / "again.parquet"
    ingest(RAW, again)
    assert again.read_bytes() == bundled.read_bytes()
    meta = pq.read_schema(bundled).metadata
    assert meta[METADATA_VERSION.encode()].decode() == __version__
    inputs = json.loads(meta[METADATA_INPUTS.encode()])
    assert inputs == {
        name: sha256_file(RAW / name)
        for name in (
            "designations.csv",
            "indicators.csv",
            "provincial_inputs.csv",
            "region_groups.csv",
            "sources.csv",
        )
    }
    assert set(meta) == {
        METADATA_VERSION.encode(),
        METADATA_INPUTS.encode(),
        METADATA_GROUPS.encode(),
    }  # no pandas block, no paths, no times
    groups = json.loads(meta[METADATA_GROUPS.encode()])
    assert groups["nbs_region"]["11"] == "东部 East" and groups["nbs_region"]["65"] == "西部 West"
    assert groups["hub_node"]["52"].startswith("贵州") and len(groups["hub_node"]) == 31
    assert str(ROOT) not in meta[METADATA_INPUTS.encode()].decode()
    panel = pd.read_parquet(bundled)
    assert list(panel.columns) == [
        "region_code",
        "region_zh",
        "region_en",
        "year",
        "indicator",
        "value",
        "unit",
        "source_id",
    ]
    panel_schema(sorted(panel.indicator.unique())).validate(panel)
    assert panel.equals(
        panel.sort_values(["indicator", "year", "region_code"]).reset_index(drop=True)
    )


@pytest.fixture
def fixture_raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / "indicators.csv", raw)
    for f in FIXTURES.iterdir():
        shutil.copy(f, raw)
    (raw / "NOTICE.md").write_text("notes are skipped\n", encoding="utf-8")
    return raw


def test_ingest_of_every_fixture_layout(fixture_raw: Path, tmp_path: Path):
    report = ingest(fixture_raw, tmp_path / "out.parquet")
    panel = pd.read_parquet(tmp_path / "out.parquet").set_index(
        ["region_code", "year", "indicator"]
    )
    assert panel.loc[("11", 2024, "gdp"), "value"] == 49670.2  # NBS export, GBK
    assert panel.loc[("13", 2022, "gdp"), "source_id"] == "nbs_gdp_gbk.csv"
    assert panel.loc[("13", 2024, "rd_intensity"), "value"] == 2.04  # full-width digits and ％
    assert panel.loc[("11", 2024, "rd_intensity"), "value"] == 6.58  # 6.58% in a % series
    assert panel.loc[("54", 2024, "rd_intensity"), "region_en"] == "Tibet"
    assert (
        panel.loc[("11", 2022, "long_distance_optical_cable_length"), "value"] == 0.43
    )  # 4300 公里 → 万公里
    assert panel.loc[("13", 2022, "optical_cable_length"), "value"] == 2502431.07  # "2,502,431.07"
    assert panel.loc[("12", 2023, "power_generation_hydro"), "unit"] == "亿千瓦时"
    assert report.missing == {"power_generation_hydro": 3}  # Shanghai —, —, —
    assert report.notes == [
        "years_hydro.csv: dropped 3 row(s) for '全国' (not one of the 31 provinces)"
    ]
    assert set(report.inputs) == {
        "indicators.csv", "long_en.csv", "nbs_gdp_gbk.csv", "wide_2022.csv", "wide_2022.toml",
        "years_hydro.csv", "years_hydro.toml",
    }  # fmt: skip


def test_fixtures_hold_the_real_values(fixture_raw: Path, shared_dir: Path):
    """The fixtures were typed from the shared data: after conversion every value matches it."""
    panel = build(fixture_raw).panel
    shared = (
        _shared(shared_dir).set_index(["region_code", "year", "indicator"])["value"].astype(float)
    )
    got = panel.set_index(["region_code", "year", "indicator"])["value"]
    assert len(got) == 9 + 5 + 12 + 6
    assert got.to_numpy() == pytest.approx(shared.loc[got.index].to_numpy(), rel=1e-15, abs=0)


def test_identical_duplicates_collapse_with_one_note_per_file(tmp_path: Path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / "indicators.csv", raw)
    rows = "北京市,2024,gdp,49670.2,亿元,S227\n天津市,2024,gdp,17931.3,亿元,S227\n"
    (raw / "a.csv").write_text("region,year,indicator,value,unit,source\n" + rows, encoding="utf-8")
    (raw / "b.csv").write_text(  # the same two values, one in 万元 (equal after conversion)
        "地区,年份,指标,数值,单位,来源\nBeijing,2024,gdp,49670.2,亿元,S227\n"
        "Tianjin,2024,gdp,179313000,万元,S227\n",
        encoding="utf-8",
    )
    report = build(raw)
    assert len(report.panel) == 2
    assert report.notes == [
        "b.csv: dropped 2 row(s) repeating values already read from a.csv (rows 2, 3)"
    ]


def test_file_selection_convention(tmp_path: Path):
    for name in ["indicators.csv", "sources.csv", "a.csv", "sub/b.xlsx", "a.toml", "NOTICE.md", "LICENSE",
                 ".hidden.csv", "~$b.xlsx", "c.json"]:  # fmt: skip
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    files, problems = data_files(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a.csv", "sub/b.xlsx"]
    assert [str(p) for p in problems] == [
        "c.json: not a recognised data format (use .csv or .xlsx)"
    ]


@pytest.mark.parametrize(
    ("export", "indicator"),
    [
        ("RenJiyi163__panel_data_analysis_for_thesis/分省年度数据.csv", "gdp"),
        ("1lmq__FYP_QMM2_Chinese_Railways/分省年度数据.csv", "population_year_end"),
    ],
)
def test_real_nbs_exports_read_as_published(shared_dir: Path, export: str, indicator: str):
    """The untouched GBK portal exports in ../shared read cleanly and agree with the data set."""
    raw = read_table(shared_dir / "data" / "raw" / export)
    out = clean(raw, load_catalogue(RAW / "indicators.csv"))
    assert out.problems == [] and out.notes == [] and out.missing.empty
    got = out.frame.set_index(["region_code", "year", "indicator"])["value"]
    assert set(got.index.get_level_values("indicator")) == {indicator}
    shared = _shared(shared_dir)
    shared = shared[shared.indicator == indicator].set_index(["region_code", "year", "indicator"])
    assert len(shared) == 279
    assert (got.loc[shared.index].to_numpy() == shared["value"].astype(float).to_numpy()).all()


def test_overlay_folders_replace_and_add_values_with_a_note(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "indicators.csv").write_text(
        "code,name_zh,name_en,unit,dimension,proxy,aliases,definition,caveats\n"
        "racks,数据中心机架数,Data-centre racks,万架,compute,false,,racks in use,\n",
        encoding="utf-8",
    )
    (mine / "sources.csv").write_text(
        "source_id,publisher,table,repository,commit,path,origin,licence\nME,me,t,,,,,\n",
        encoding="utf-8",
    )
    (mine / "values.csv").write_text(
        "region,year,indicator,value,unit,source\n"
        "北京市,2024,web_pages,1.5,万个,ME\n"
        "北京市,2024,racks,12,万架,ME\n",
        encoding="utf-8",
    )
    report = build([RAW, mine])
    p = report.panel.set_index(["region_code", "year", "indicator"])["value"]
    assert p.loc[("11", 2024, "web_pages")] == 1.5 and p.loc[("11", 2024, "racks")] == 12
    assert any("replaced by an overlay" in n for n in report.notes)
    assert "overlay1/values.csv" in report.inputs and "provincial_inputs.csv" in report.inputs
    (mine / "region_groups.csv").write_text("region,grouping,group_zh,group_en,source\n")
    with pytest.raises(InputError, match="overlay1/region_groups.csv: region groups come from"):
        build([RAW, mine])


def test_two_overlays_may_define_the_same_new_indicator(tmp_path):
    cat = (
        "code,name_zh,name_en,unit,dimension,proxy,aliases,definition,caveats\n"
        "racks,数据中心机架数,Data-centre racks,万架,compute,false,,racks in use,\n"
    )
    for k, value in ((1, 10), (2, 12)):
        d = tmp_path / f"o{k}"
        d.mkdir()
        (d / "indicators.csv").write_text(cat, encoding="utf-8")
        (d / "sources.csv").write_text(
            f"source_id,publisher,table,repository,commit,path,origin,licence\nM{k},me,t,,,,,\n",
            encoding="utf-8",
        )
        (d / "v.csv").write_text(
            f"region,year,indicator,value,unit,source\n北京市,2024,racks,{value},万架,M{k}\n",
            encoding="utf-8",
        )
    report = build([RAW, tmp_path / "o1", tmp_path / "o2"])
    p = report.panel.set_index(["region_code", "year", "indicator"])["value"]
    assert p.loc[("11", 2024, "racks")] == 12  # the later overlay wins
    (tmp_path / "o2" / "indicators.csv").write_text(cat.replace("万架", "架"), encoding="utf-8")
    with pytest.raises(InputError, match="redefines an indicator of an earlier catalogue"):
        build([RAW, tmp_path / "o1", tmp_path / "o2"])
