"""Cell parsing (index.etl.numbers)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.etl.numbers import parse_number, parse_year

FULL_WIDTH = str.maketrans("0123456789.,-+", "０１２３４５６７８９．，－＋")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("49670.2", (49670.2, "")), ("1,234.5", (1234.5, "")), ("2,502,431.07", (2502431.07, "")),
        ("１２３．４", (123.4, "")), ("－５", (-5.0, "")), ("−3", (-3.0, "")), ("  7 ", (7.0, "")),
        ("12.3%", (12.3, "%")), ("６．５８％", (6.58, "%")), ("1.5‰", (1.5, "‰")), ("12.3 %", (12.3, "%")),
        ("1.2e5", (120000.0, "")), ("3E-2", (0.03, "")), ("+.5", (0.5, "")), ("0.00", (0.0, "")),
        (2183, (2183.0, "")), (49670.2, (49670.2, "")),
    ],
)  # fmt: skip
def test_numbers(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text", ["", "  ", "—", "——", "–", "…", "...", "..", "-", "－", "NA", "na", "N/A", "n/a", None]
)
def test_missing_marks(text):
    assert parse_number(text) == (None, "")


@pytest.mark.parametrize(
    "text",
    ["abc", "1,5", "1,23.4", "12,3456", "%", "1e", "1 234", "0x10", "1_000", "nan", "inf", "十"],
)
def test_non_numbers_are_errors(text):
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e400", "number out of range: '1e400'"), ("-1e309", "number out of range"),
        ("=B2/C2", "formula without a saved result: '=B2/C2'"), ("＝SUM(A1:A3)", "formula"),
    ],
)  # fmt: skip
def test_overflow_and_formulas_are_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_number(text)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_grouped_and_full_width_round_trip(x):
    plain = f"{x:.2f}"
    expected = float(plain)
    assert parse_number(f"{x:,.2f}") == (expected, "")
    assert parse_number(f"{x:,.2f}".translate(FULL_WIDTH)) == (expected, "")
    assert parse_number(f"{x:.6e}")[0] == float(f"{x:.6e}")
    assert parse_number(f"{plain}%") == (expected, "%")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_repr_round_trips_exactly(x):
    # XLSX numeric cells are read as repr(float): the parse must give back the same double
    value, _ = parse_number(repr(x))
    assert value == x and math.copysign(1, value) == math.copysign(1, x)


@pytest.mark.parametrize(
    ("text", "year"),
    [("2024", 2024), ("2024年", 2024), ("２０２４年", 2024), (2024, 2024), (2024.0, 2024)],
)
def test_years(text, year):
    assert parse_year(text) == year


@pytest.mark.parametrize("text", ["24", "2024年度", "最近20年", "", "2024.5"])
def test_bad_years(text):
    with pytest.raises(ValueError, match="not a year"):
        parse_year(text)
