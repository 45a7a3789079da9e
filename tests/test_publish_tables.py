"""Tables: ranking content, xlsx layout and deterministic bytes, CSV with BOM, Parquet."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from publish_synthetic import make_result

from index.publish import tables


@pytest.fixture(scope="module")
def result():
    return make_result()


@pytest.fixture(scope="module")
def sheets(result):
    return [
        tables.ranking(result.scores, result.nodes, rank_intervals=result.rank_intervals),
        tables.indicator_data(result.data, result.nodes, result.scores, year=2024),
        tables.weights(result.nodes),
        tables.method(result.config, {"版本 Edition": "t"}),
        tables.sources(result.data, result.nodes, result.sources),
    ]


def test_ranking_matches_scores(result, sheets):
    df = sheets[0].frame
    idx = result.scores[(result.scores["code"] == "index")].pivot(
        index="region_code", columns="year", values="rank"
    )
    score = result.scores[
        (result.scores["code"] == "index") & (result.scores["year"] == 2024)
    ].set_index("region_code")
    assert list(df[tables.RANK]) == sorted(df[tables.RANK])
    assert df[tables.CODE].iloc[0] == score["score"].idxmax()
    np.testing.assert_allclose(df[tables.SCORE], score.loc[df[tables.CODE], "score"])
    change = df.set_index(tables.CODE)["较2023年排名变化 Change vs 2023"].astype(float)
    np.testing.assert_array_equal(change, (idx[2023] - idx[2024]).loc[change.index])
    assert "算力排名 Computing rank" in df and "排名95%分位 Q95 rank" in df
    assert len(df) == 31


def test_ranking_without_previous_year_or_intervals(result):
    one_year = result.scores[result.scores["year"] == 2024]
    df = tables.ranking(one_year, result.nodes).frame
    assert not any("Change" in c for c in df.columns) and not any("Q95" in c for c in df.columns)


def test_sources_lists_used_sources_and_provider_citations(result, sheets):
    df = sheets[4].frame
    data_rows = df[df["类型 Type"] == "数据 data"]
    assert list(data_rows["编号 ID"]) == ["S01", "S02", "S03"]  # S04 is cited by no indicator
    assert data_rows["指标 Indicators"].iloc[2] == "traffic"
    refs = " ".join(df.loc[df["类型 Type"] == "引用 reference", "来源 Source"])
    assert "COINr" in refs and "国家统计局" in refs and "Shan Y." in refs  # CEADs must be cited
    # without source ids on the nodes, the data's source_id column decides: only S01, no CEADs
    bare = tables.sources(result.data, result.nodes.assign(source_ids=""), result.sources).frame
    assert list(bare.loc[bare["类型 Type"] == "数据 data", "编号 ID"]) == ["S01"]
    assert "Shan Y." not in " ".join(bare["来源 Source"])


def test_xlsx_layout(sheets, tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(tables.xlsx_bytes(sheets)))
    assert wb.sheetnames == [
        "排名 Ranking",
        "指标数据 Indicator data 2024",
        "权重 Weights",
        "方法 Method summary",
        "来源 Sources",
    ]
    ws = wb["排名 Ranking"]
    assert ws.freeze_panes == "C2" and all(wb[n].freeze_panes for n in wb.sheetnames)
    assert ws["A1"].value == "排名 Rank" and ws["A1"].font.b
    assert ws["A2"].value == 1 and ws["E2"].number_format == "0.00"
    assert ws.column_dimensions["B"].width >= 10  # Chinese names counted double width
    assert ws.auto_filter.ref == ws.dimensions
    assert wb["权重 Weights"]["F2"].number_format == tables.F_WEIGHT


def test_xlsx_bytes_are_deterministic(sheets, tmp_path):
    a, b = tables.xlsx_bytes(sheets), tables.xlsx_bytes(sheets)
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2


def test_csv_has_bom_and_reads_back(sheets, tmp_path):
    raw = tables.csv_bytes(sheets[0].frame)
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype={tables.CODE: str})
    assert list(back.columns) == list(sheets[0].frame.columns)
    assert back[tables.REGION_ZH].iloc[0] == sheets[0].frame[tables.REGION_ZH].iloc[0]


def test_parquet_roundtrip_and_determinism(result, tmp_path):
    a = tables.parquet_bytes(result.scores, {"edition": "t"})
    b = tables.parquet_bytes(result.scores.sample(frac=1, random_state=1), {"edition": "t"})
    assert a == b  # row order of the input does not matter
    table = pq.read_table(io.BytesIO(a))
    assert table.schema.metadata[b"compute_index.edition"] == b"t"
    back = table.to_pandas()
    assert len(back) == len(result.scores) and set(back["level"]) == {1, 2, 3}
