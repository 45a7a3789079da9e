"""The publication's bounds column, bounds figure and province profiles (index.publish.claims), on the
bundled real data for a few provinces (the full run is `make index`)."""

from __future__ import annotations

import re

import pytest
from matplotlib.figure import Figure

from index.analysis import claims as cl
from index.config import Config
from index.dataset import load_inputs
from index.pipeline import build
from index.publish import claims as pc
from index.publish import report, tables


@pytest.fixture(scope="module")
def parts(bundled_inputs):
    b = build(Config(), load_inputs(bundled_inputs))
    c = b.claims(0.5, mc=300, seed=3)
    table = c.table()
    codes = list(table["region_code"][table["rank"].notna()])
    picks = [codes[0], codes[len(codes) // 2], codes[-1]]
    return b, table, [cl.profile(b, code, None, c) for code in picks]


def test_ranking_sheet_gets_bounds_and_profile_links(parts):
    b, table, profiles = parts
    sheet = tables.ranking(b.scores_long, b.nodes, year=b.years[-1])
    out = pc.with_bounds(sheet, table)
    cols = list(out.frame.columns)
    assert cols[cols.index(tables.RANK) + 1] == pc.BOUNDS
    row = out.frame.iloc[0]
    t = table.set_index("region_code").loc[row[tables.CODE]]
    assert row[pc.BOUNDS].lstrip("≈") == f"{t['best']}–{t['worst']}"
    assert row[pc.BOUNDS].startswith("≈") == (not t["exact"])
    page = report.table_html(out)
    code = row[tables.CODE]
    assert f'<a href="#profile-{code}">{row[tables.REGION_ZH]}</a>' in page
    assert "<a " not in report.table_html(sheet)  # no links unless asked


def test_profile_sections_have_anchors_and_both_languages(parts):
    _, table, profiles = parts
    page = pc.profiles_html(profiles, report.table_html, None, 0.5)
    for p in profiles:
        assert f'id="profile-{p.code}"' in page
    assert page.count("<section") == len(profiles)
    for zh, en in (("优势", "Strengths"), ("短板", "Weaknesses"), ("排名历史", "Rank history")):
        assert zh in page and en in page
    first = profiles[0]
    assert "无需追赶" in page if first.rank == 1 else "What it takes" in page
    assert "What it takes" in page  # the middle and last provinces have someone above
    assert not re.search(r"<script", page)


def test_bounds_figure(parts):
    _, table, _ = parts
    fig = pc.bounds_figure(table, None, bilingual=False)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == int(table["rank"].notna().sum())
