"""Hostile numbers: footnote marks, look-alike digits, decimal commas, exact unit conversion.

Each accepted case checks every value against the source text as a decimal; each refused case
the exit code, the one located message, no traceback and the previous output untouched.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from _hostile import (
    LONG_HEADER,
    assert_ingest_accepted,
    assert_ingest_refused,
    raw_dir,
)

from index.etl.ingest import build

PORTS = "broadband_access_ports"  # catalogue unit 万个


def _long(*values: str, unit: str = "万个", sep: str = ",") -> str:
    """A long table: one value per year from 2016 on, 北京市, broadband ports, source S01."""
    rows = [
        sep.join(["北京市", str(2016 + k), PORTS, v, unit, "S01"]) for k, v in enumerate(values)
    ]
    return LONG_HEADER.replace(",", sep) + "\n".join(rows) + "\n"


def _quoted(*values: str, sep: str) -> str:
    rows = [
        sep.join(["北京市", str(2016 + k), PORTS, f'"{v}"', "万个", "S01"])
        for k, v in enumerate(values)
    ]
    return LONG_HEADER.replace(",", sep) + "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        ("123.4①", "123.4"), ("123²", "123"), ("1595.7*", "1595.7"), ("88.5†", "88.5"),
        ("42.25 ⑵", "42.25"), ("7.5注", "7.5"), ("１２３．４①", "123.4"),
    ],
)  # fmt: skip
def test_footnote_marks_are_stripped_never_read_as_digits(tmp_path, cell, number):
    files = {"ports.csv": _long(f'"{cell}"')}
    assert_ingest_accepted(tmp_path, files, {("11", 2016, PORTS): number})
    (note,) = [n for n in build(raw_dir(tmp_path / "again", files)).notes if "footnote" in n]
    assert note.startswith("ports.csv: footnote marks") and "rows 2" in note


@pytest.mark.parametrize(
    "cell",
    ["٣٤٥", "𝟏𝟐𝟑", "12①3", "①123", "1²3", "123a", "Ⅻ"],
)
def test_look_alike_digits_and_inner_marks_are_refused(tmp_path, cell):
    assert_ingest_refused(
        tmp_path, {"ports.csv": _long(cell)}, "ports.csv:2:value: ", "not a number", repr(cell)
    )


def test_semicolon_file_with_comma_groups_is_refused_not_read_1000_times_too_large(tmp_path):
    assert_ingest_refused(
        tmp_path, {"ports.csv": _long("1,234", sep=";")}, "ports.csv:2:value: ", "'1,234'",
        "decimal comma", 'decimal = "," or decimal = "." in ports.toml',
    )  # fmt: skip


def test_tab_file_with_comma_groups_is_refused(tmp_path):
    assert_ingest_refused(
        tmp_path, {"ports.csv": _long("1,234", sep="\t")}, "ports.csv:2:value: ",
        "tab-separated", 'decimal = ","',
    )  # fmt: skip


def test_declared_decimal_comma_reads_exact_decimals(tmp_path):
    files = {
        "ports.csv": _quoted("1,234", "1.234,5", "0,035", "12 345,25", sep=";"),
        "ports.toml": 'decimal = ","\n',
    }
    expected = {
        ("11", 2016, PORTS): "1.234", ("11", 2017, PORTS): "1234.5",
        ("11", 2018, PORTS): "0.035", ("11", 2019, PORTS): "12345.25",
    }  # fmt: skip
    assert_ingest_accepted(tmp_path, files, expected)


def test_declared_decimal_comma_refuses_a_point_decimal(tmp_path):
    files = {"ports.csv": _long("1.5", sep=";"), "ports.toml": 'decimal = ","\n'}
    assert_ingest_refused(tmp_path, files, "ports.csv:2:value: ", "decimal comma", "'1.5'")


def test_declared_decimal_point_reads_comma_groups_as_thousands(tmp_path):
    files = {"ports.csv": _long("1,234", sep=";"), "ports.toml": 'decimal = "."\n'}
    assert_ingest_accepted(tmp_path, files, {("11", 2016, PORTS): "1234"})


def test_semicolon_file_with_unambiguous_numbers_needs_no_declaration(tmp_path):
    files = {"ports.csv": _long("49,670.2", "1595.7", sep=";")}
    expected = {("11", 2016, PORTS): "49670.2", ("11", 2017, PORTS): "1595.7"}
    assert_ingest_accepted(tmp_path, files, expected)


def test_unit_conversion_is_exact_decimal_arithmetic(tmp_path):
    # 0.035 亿个 is 350 万个 exactly (0.035 * 10**4 in floats is 350.00000000000006): 36 values
    # (4 regions × 9 years) of three decimals, many of them inexact as float products.
    regions = {"北京市": "11", "天津市": "12", "河北省": "13", "山西省": "14"}
    cells = [(r, 2016 + y) for r in regions for y in range(9)]
    texts = ["0.035", *(f"0.{k:03d}" for k in range(7, 7 * 36, 7))][: len(cells)]
    rows = [f"{r},{y},{PORTS},{t},亿个,S01" for (r, y), t in zip(cells, texts, strict=True)]
    expected = {(regions[r], y, PORTS): t for (r, y), t in zip(cells, texts, strict=True)}
    files = {"ports.csv": LONG_HEADER + "\n".join(rows) + "\n"}
    assert_ingest_accepted(tmp_path, files, expected, factor=Decimal(10**4))


def test_every_three_decimal_value_converts_exactly():
    from index.etl.units import convert

    texts = [f"{k / 1000:.3f}" for k in range(1, 100_000)]
    got = convert([Decimal(t) for t in texts], "亿个", "万个")
    assert all(
        Decimal(repr(float(v))) == Decimal(t) * 10**4 for v, t in zip(got, texts, strict=True)
    )


def test_percent_cell_converts_exactly_to_a_ratio():
    from index.etl.units import convert

    assert convert([Decimal("12.3")], "%", "1").tolist() == [0.123]


@pytest.mark.parametrize(
    ("cell", "phrase"),
    [("1e-400", "out of range"), ("1e400", "out of range"), ("9" * 200, "200 characters")],
)
def test_numbers_beyond_doubles_are_refused(tmp_path, cell, phrase):
    assert_ingest_refused(tmp_path, {"ports.csv": _long(cell)}, "ports.csv:2:value: ", phrase)
