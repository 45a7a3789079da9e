"""Cleaning rules (index.etl.clean) and the catalogue (index.etl.catalogue)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from index.errors import InputError
from index.etl.catalogue import load_catalogue
from index.etl.clean import LOCATED_COLUMNS, clean
from index.etl.read import RAW_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE_HEADER = "code,name_zh,name_en,unit,dimension,proxy,aliases,definition,caveats\n"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(ROOT / "data" / "raw" / "indicators.csv")


def raw(*rows: tuple[str, str, str, str, str], source: str = "t.csv") -> pd.DataFrame:
    """Raw frame from (region, year, indicator, value, unit) rows of a file t.csv (rows 2, 3, …)."""
    return pd.DataFrame(
        [("t.csv", i, "value", *r, source) for i, r in enumerate(rows, start=2)],
        columns=list(RAW_COLUMNS),
    )


def test_valid_rows_are_typed_and_converted(catalogue):
    out = clean(
        raw(
            ("北京市", "2024年", "地区生产总值", "49,670.2", "亿元"),
            ("Tianjin", "2024", "gdp", "１７９３１．３", "亿元"),
            ("130000", "2022", "长途光缆线路长度", "38400", "公里"),
            ("Beijing", "2024", "人均GDP", "228167", "元/人"),
        ),
        catalogue,
    )
    assert out.problems == [] and out.notes == [] and out.missing.empty
    f = out.frame
    assert tuple(f.columns) == LOCATED_COLUMNS
    assert f[
        ["region_code", "region_zh", "region_en", "year", "indicator", "value", "unit"]
    ].values.tolist() == [
        ["11", "北京市", "Beijing", 2024, "gdp", 49670.2, "亿元"],
        ["12", "天津市", "Tianjin", 2024, "gdp", 17931.3, "亿元"],
        ["13", "河北省", "Hebei", 2022, "long_distance_optical_cable_length", 3.84, "万公里"],
        ["11", "北京市", "Beijing", 2024, "gdp_per_capita", 228167.0, "元/人"],
    ]
    assert f.dtypes["value"] == "float64" and f.dtypes["year"] == "int64"


def test_missing_marks_are_counted_per_indicator_and_left_out(catalogue):
    out = clean(
        raw(
            ("上海市", "2022", "水力发电量", "—", "亿千瓦时"),
            ("上海市", "2023", "水力发电量", "", "亿千瓦时"),
            ("宁夏", "2023", "电力消费量", "…", "亿千瓦小时"),
            ("北京市", "2023", "水力发电量", "8.41", "亿千瓦时"),
            ("全国", "2023", "水力发电量", "...", "亿千瓦时"),  # dropped rows are not counted
        ),
        catalogue,
    )
    assert out.problems == []
    assert out.missing.to_dict() == {"electricity_consumption": 1, "power_generation_hydro": 2}
    assert out.frame["value"].tolist() == [8.41]


def test_non_provinces_dropped_with_note_or_rejected(catalogue):
    rows = raw(
        ("全国", "2024", "gdp", "—", "亿元"),
        ("香港", "2024", "gdp", "—", "亿元"),
        ("全国", "2023", "gdp", "—", "亿元"),
    )
    out = clean(rows, catalogue)
    assert out.problems == [] and out.frame.empty
    assert out.notes == [
        "t.csv: dropped 2 row(s) for '全国' (not one of the 31 provinces)",
        "t.csv: dropped 1 row(s) for '香港' (not one of the 31 provinces)",
    ]
    strict = clean(rows, catalogue, drop_non_provinces=False)
    assert [str(p) for p in strict.problems][
        0
    ] == "t.csv:2:region: not one of the 31 provinces: '全国'"


def _catalogue(tmp_path: Path, rows: str):
    path = tmp_path / "indicators.csv"
    path.write_text(CATALOGUE_HEADER + rows, encoding="utf-8")
    return load_catalogue(path)


def test_percent_rule(tmp_path: Path):
    cat = _catalogue(
        tmp_path,
        "share_pct,比重,Share in percent,%,environment,false,,,\n"
        "share_frac,比例,Share as a fraction,1,environment,false,,,\n"
        "gdp,地区生产总值,GRP,亿元,environment,false,,,\n",
    )
    out = clean(
        raw(
            ("北京", "2024", "share_pct", "12.3%", "%"),  # 12.3 in unit %
            ("天津", "2024", "share_pct", "12.3", "%"),
            ("河北", "2024", "share_frac", "12.3%", "1"),  # the inline % wins: 0.123 in unit 1
            ("山西", "2024", "share_frac", "12.3%", ""),
            ("辽宁", "2024", "gdp", "12.3%", "亿元"),  # a % cell in a money series is an error
        ),
        cat,
    )
    assert out.frame["value"].tolist()[:2] == [12.3, 12.3]
    assert out.frame["value"].tolist()[2:] == pytest.approx([0.123, 0.123], rel=1e-15)
    assert [str(p) for p in out.problems] == [
        "t.csv:6:unit: cell is written in '%' but the series unit is '亿元'"
    ]


def test_every_problem_is_collected_and_located(catalogue):
    out = clean(
        raw(
            ("火星", "2024", "gdp", "1", "亿元"),
            ("北京", "20244", "gdp", "1", "亿元"),
            ("北京", "1900", "gdp", "1", "亿元"),
            ("北京", "2024", "gdp_x", "1", "亿元"),
            ("北京", "2024", "gdp", "abc", "亿元"),
            ("北京", "2024", "gdp", "1", "亿美刀"),
            ("北京", "2024", "gdp", "1", "万户"),
            ("北京", "2024", "gdp", "1", ""),
        ),
        catalogue,
        sources={"S227"},
    )
    messages = sorted(str(p) for p in out.problems if p.field != "source")
    assert messages == [
        "t.csv:2:region: unknown region '火星'",
        "t.csv:3:year: not a year: '20244'",
        "t.csv:4:year: year 1900 outside 1949–2100",
        "t.csv:5:indicator: unknown indicator 'gdp_x'",
        "t.csv:6:value: not a number: 'abc'",
        "t.csv:7:unit: unknown unit '亿美刀'",
        "t.csv:8:unit: cannot convert '万户' (subscriptions) to '亿元' (CNY): different dimensions",
        "t.csv:9:unit: no unit declared (add a unit column, a '(unit)' label or unit = … )",
    ]
    assert sum(p.field == "source" for p in out.problems) == 8  # t.csv is not in {"S227"}
    assert out.frame.empty


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("gdp,地区生产总值,GRP,亿元,environment,false,,,\ngdp,GDP2,GRP2,亿元,environment,false,,,\n", "indicators.csv:2:code: duplicate: .gdp. \\(also rows 3"),
        ("gdp,地区生产总值,GRP,亿美刀,environment,false,,,\n", "indicators.csv:2:unit: unknown unit: '亿美刀'"),
        ("gdp,地区生产总值,GRP,亿元,economy,false,,,\n", "indicators.csv:2:dimension: not one of"),
        ("GDP,地区生产总值,GRP,亿元,environment,false,,,\n", "indicators.csv:2:code: not a snake_case code"),
        ("gdp,地区生产总值,GRP,亿元,environment,false,,,\ngrp,GRP,Gross,亿元,environment,false,,,\n",
         "indicators.csv:3:aliases: 'GRP' also names 'gdp'"),
    ],
)  # fmt: skip
def test_catalogue_is_validated(tmp_path: Path, rows: str, message: str):
    with pytest.raises(InputError, match=message):
        _catalogue(tmp_path, rows)


def test_catalogue_signed_column(tmp_path: Path):
    path = tmp_path / "indicators.csv"
    path.write_text(
        CATALOGUE_HEADER.strip() + ",signed\n"
        "gdp,地区生产总值,GRP,亿元,environment,False,,,,\n"
        "net_export,净出口,Net exports,亿元,environment,FALSE,,,,TRUE\n",
        encoding="utf-8",
    )
    assert load_catalogue(path).table["signed"].to_dict() == {"gdp": "false", "net_export": "true"}
    path.write_text(path.read_text(encoding="utf-8").replace("TRUE\n", "yes\n"), encoding="utf-8")
    with pytest.raises(InputError, match="indicators.csv:3:signed: must be true, false or blank"):
        load_catalogue(path)


def test_bundled_catalogue(catalogue):
    table = catalogue.table
    assert len(table) == 49 and table.index.is_unique
    assert set(table["dimension"]) == {"compute", "network", "storage", "environment"}
    assert catalogue.resolve("地区生产总值") == catalogue.resolve("GDP") == "gdp"
    assert catalogue.resolve("R&D经费投入强度(与地区生产总值之比)") == "rd_intensity"
    assert catalogue.unit("electricity_consumption") == "亿千瓦时"
