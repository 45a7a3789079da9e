"""Readers and layout detection (index.etl.read) on small fixtures typed from real NBS values."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from index.errors import InputError
from index.etl.read import RAW_COLUMNS, TableMeta, load_sidecar, read_table, read_text, split_label

FIXTURES = Path(__file__).parent / "fixtures" / "etl"

# 年末常住人口(万人), from the NBS export in 1lmq/FYP_QMM2_Chinese_Railways (= shared data, source A)
POPULATION = [("北京市", 2183, 2186), ("天津市", 1364, 1364), ("河北省", 7378, 7393)]


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return list(
        frame[["region", "year", "indicator", "value", "unit"]].itertuples(index=False, name=None)
    )


def test_nbs_export_gbk_csv():
    path = FIXTURES / "nbs_gdp_gbk.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really GBK: the reader has to detect it
    frame = read_table(path)
    assert tuple(frame.columns) == RAW_COLUMNS
    assert len(frame) == 9  # 3 regions × 3 years; 注 and 数据来源 lines skipped
    assert _rows(frame)[:2] == [
        ("北京市", "2024年", "地区生产总值", "49670.2", "亿元"),
        ("北京市", "2023年", "地区生产总值", "47353.7", "亿元"),
    ]
    assert frame["row"].unique().tolist() == [5, 6, 7]  # line numbers in the file
    assert frame["field"].iloc[0] == "2024年"
    assert set(frame["source"]) == {"nbs_gdp_gbk.csv"}  # no source declared: the file itself


@pytest.fixture
def nbs_xlsx(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Sheet1"
    for line in ["数据库：分省年度数据", "指标：年末常住人口(万人)", "时间：最近10年"]:
        ws.append([line])
    ws.append(["地区", "2024年", "2023年"])
    for row in POPULATION:
        ws.append(list(row))
    ws.append(["注：常住人口包括：居住在本乡镇街道且户口在本乡镇街道或户口待定的人。"])
    ws.append(["数据来源：国家统计局"])
    path = tmp_path / "population.xlsx"
    book.save(path)
    return path


def test_nbs_export_xlsx(nbs_xlsx: Path):
    frame = read_table(nbs_xlsx)
    assert frame["file"].unique().tolist() == ["population.xlsx[Sheet1]"]
    assert _rows(frame) == [
        (r, f"{y}年", "年末常住人口", str(v), "万人")
        for r, *vals in POPULATION
        for y, v in zip((2024, 2023), vals, strict=True)
    ]
    assert frame["row"].tolist() == [5, 5, 6, 6, 7, 7]


def test_nbs_export_with_indicators_as_rows(tmp_path: Path):
    # the portal's other layout: one region fixed by 地区：, indicators as rows
    text = (
        "数据库：分省年度数据\n地区：北京市\n时间：最近2年\n指标,2024年,2023年\n"
        "地区生产总值(亿元),49670.2,47353.7\n年末常住人口(万人),2183,2186\n数据来源：国家统计局\n"
    )
    path = tmp_path / "beijing.csv"
    path.write_text(text, encoding="gb18030")
    assert _rows(read_table(path)) == [
        ("北京市", "2024年", "地区生产总值", "49670.2", "亿元"),
        ("北京市", "2023年", "地区生产总值", "47353.7", "亿元"),
        ("北京市", "2024年", "年末常住人口", "2183", "万人"),
        ("北京市", "2023年", "年末常住人口", "2186", "万人"),
    ]


def test_long_csv_with_bom_and_english_names():
    frame = read_table(FIXTURES / "long_en.csv")
    assert frame["region"].tolist()[:2] == ["Beijing", "Tianjin Municipality"]
    assert frame["value"].tolist()[:3] == ["6.58%", "3.44", "２．０４"]
    assert frame["source"].tolist() == ["S248"] * 4 + ["S247"]
    assert frame["row"].tolist() == [2, 3, 4, 5, 6]


def test_wide_regions_by_indicators_with_sidecar():
    path = FIXTURES / "wide_2022.csv"
    frame = read_table(path, meta=load_sidecar(path.with_suffix(".toml")))
    beijing = frame[frame.region == "北京"]
    assert _rows(beijing) == [
        ("北京", "2022", "互联网宽带接入端口", "2114.5", "万个"),  # unit from the header
        ("北京", "2022", "长途光缆线路长度", "4300", "公里"),
        ("北京", "2022", "光缆线路长度", "492,356.91", "公里"),  # unit from the sidecar table
    ]
    assert beijing["source"].tolist() == ["S01", "S233", "S238"]
    assert beijing["field"].tolist() == [
        "互联网宽带接入端口(万个)",
        "长途光缆线路长度(公里)",
        "光缆线路长度",
    ]


def test_wide_years_as_columns_with_sidecar():
    path = FIXTURES / "years_hydro.csv"
    frame = read_table(path, meta=load_sidecar(path.with_suffix(".toml")))
    assert len(frame) == 12
    assert _rows(frame)[:3] == [
        ("北京市", y, "水力发电量", v, "亿千瓦时")
        for y, v in [("2022", "9.43"), ("2023", "8.41"), ("2024", "9.44")]
    ]


def test_wide_with_year_column_and_generic_xlsx(tmp_path: Path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "panel"
    ws.append(["province", "year", "optical_cable_length", "broadband_access_ports"])
    ws.append(["Beijing", 2024, 593995.11, 2173.6])
    ws.append(["Tianjin", 2024, 403962.62, 1578.3])
    notes = book.create_sheet("notes")
    notes.append(["free text that is not a table"])
    book.create_sheet("empty")
    path = tmp_path / "panel.xlsx"
    book.save(path)
    meta = TableMeta.model_validate(
        {
            "unit": {"optical_cable_length": "公里", "broadband_access_ports": "万个"},
            "source": "S238",
            "sheets": {"panel": {}},
        }
    )
    frame = read_table(path, meta=meta)
    assert _rows(frame) == [
        ("Beijing", "2024", "optical_cable_length", "593995.11", "公里"),
        ("Beijing", "2024", "broadband_access_ports", "2173.6", "万个"),
        ("Tianjin", "2024", "optical_cable_length", "403962.62", "公里"),
        ("Tianjin", "2024", "broadband_access_ports", "1578.3", "万个"),
    ]
    with pytest.raises(InputError, match=r"panel.xlsx\[notes\]:1: not a recognised table"):
        read_table(path, meta=meta.model_copy(update={"sheets": None}))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_encodings_detected(tmp_path: Path, encoding: str):
    text = (FIXTURES / "nbs_gdp_gbk.csv").read_bytes().decode("gbk")
    path = tmp_path / "gdp.csv"
    path.write_bytes(text.encode(encoding))
    assert read_text(path) == text
    pd.testing.assert_frame_equal(
        read_table(path, name="nbs_gdp_gbk.csv"), read_table(FIXTURES / "nbs_gdp_gbk.csv")
    )


@pytest.mark.parametrize(
    "data",
    [
        "region,year\nCafé,2024\n".encode("latin-1"),  # é, is neither UTF-8 nor GB18030
        "地区,2024年\n北京市,1\n".encode("utf-16-le"),  # UTF-16 without a BOM
    ],
)
def test_undecodable_file_is_a_clear_error(tmp_path: Path, data: bytes):
    path = tmp_path / "odd.csv"
    path.write_bytes(data)
    with pytest.raises(
        InputError, match="odd.csv: cannot decode the file as UTF-8, UTF-16 or GB18030/GBK"
    ):
        read_table(path)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("地区生产总值(亿元)", ("地区生产总值", "亿元")), ("地区生产总值 (亿元) ", ("地区生产总值", "亿元")),
        ("人均地区生产总值（元/人）", ("人均地区生产总值", "元/人")),
        ("研究与试验发展(R&D)经费(亿元)", ("研究与试验发展(R&D)经费", "亿元")),
        ("R&D经费投入强度(与地区生产总值之比)", ("R&D经费投入强度(与地区生产总值之比)", "")),
        ("gdp", ("gdp", "")),
    ],
)  # fmt: skip
def test_split_label(label, expected):
    assert split_label(label) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("\n \n", "empty file"),
        ("region,year,indicator,value,unit,source\n", "t.csv:1: header only"),
        (
            "数据库：分省年度数据\n指标：地区生产总值(亿元)\n地区,2024年\n数据来源：国家统计局\n",
            "t.csv:3: header only",
        ),
        ("foo,bar\n1,2\n", "t.csv:1: not a recognised table"),
        ("地区,gdp\n北京,1\n", "t.csv:1: indicators as columns: add a year column"),
        ("地区,2023,2024\n北京,1,2\n", "t.csv:1: years as columns: say which indicator"),
        ("地区,2024\n北京,1,2\n", "t.csv:2: 3 cells but only 2 column headers"),
        ("region,year,value\n北京,2024,1\n", "t.csv:1: long table without column.s.: indicator"),
        (
            "数据库：分省年度数据\n时间：最近2年\n地区,2024年\n北京市,1\n",
            "NBS export without a '指标：' line",
        ),
    ],
)
def test_malformed_tables(tmp_path: Path, content: str, message: str):
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_unrecognised_extension_and_bad_workbook(tmp_path: Path):
    (tmp_path / "t.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match="t.xls: not a recognised data format"):
        read_table(tmp_path / "t.xls")
    (tmp_path / "t.xlsx").write_text("region,year\n", encoding="utf-8")
    with pytest.raises(InputError, match="t.xlsx: not a readable XLSX workbook"):
        read_table(tmp_path / "t.xlsx")


def test_sidecar_is_checked(tmp_path: Path):
    path = tmp_path / "x.toml"
    path.write_text('yaer = 2024\nunit = "万元"\n', encoding="utf-8")
    with pytest.raises(InputError, match="x.toml:yaer: Extra inputs are not permitted"):
        load_sidecar(path)
    path.write_text("year = \n", encoding="utf-8")
    with pytest.raises(InputError, match="x.toml: not valid TOML"):
        load_sidecar(path)
