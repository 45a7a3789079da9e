"""Unit parsing and conversion (index.etl.units)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from index.etl.units import NAMED_UNITS, ZH_MAGNITUDES, Unit, UnitError, convert, factor, parse_unit


@pytest.mark.parametrize(
    ("unit", "dimension", "f"),
    [
        ("元", "CNY", 1), ("万元", "CNY", 10**4), ("亿元", "CNY", 10**8), ("百万元", "CNY", 10**6),
        ("万亿元", "CNY", 10**12), ("千万元", "CNY", 10**7), ("万美元", "USD", 10**4),
        ("公里", "length", 1000), ("万公里", "length", 10**7), ("km", "length", 1000), ("千米", "length", 1000),
        ("万个", "count", 10**4), ("万户", "subscriptions", 10**4), ("万人", "persons", 10**4),
        ("台", "devices", 1), ("万门", "lines", 10**4), ("万路端", "circuit_ends", 10**4),
        ("亿千瓦时", "energy", 10**8), ("亿千瓦小时", "energy", 10**8), ("亿kWh", "energy", 10**8),
        ("GWh", "energy", 10**6), ("万千瓦", "power", 10**7), ("MW", "power", 10**6),
        ("GB", "data", 10**9), ("万GB", "data", 10**13), ("TB", "data", 10**12), ("PB", "data", 10**15),
        ("EB", "data", 10**18), ("FLOPS", "compute", 1), ("PFLOPS", "compute", 10**15),
        ("EFLOPS", "compute", 10**18), ("%", "ratio", Fraction(1, 100)), ("％", "ratio", Fraction(1, 100)),
        ("‰", "ratio", Fraction(1, 1000)), ("1", "ratio", 1), ("Mt CO2", "co2", 10**6),
        ("MtCO₂", "co2", 10**6), ("百万吨二氧化碳", "co2", 10**6), ("Mt", "mass", 10**6),
        ("元/人", "CNY/persons", 1), ("万元/万人", "CNY/persons", 1), ("台/百人", "devices/persons", Fraction(1, 100)),
        (" 万 元 ", "CNY", 10**4), ("億元", "CNY", 10**8),
    ],
)  # fmt: skip
def test_parse(unit, dimension, f):
    parsed = parse_unit(unit)
    assert (parsed.dimension, parsed.factor) == (dimension, f)


def test_every_named_unit_takes_every_zh_magnitude():
    for dimension, units in NAMED_UNITS.items():
        for symbol, f in units.items():
            if symbol in ("%", "‰", "1"):
                continue
            for prefix, m in ZH_MAGNITUDES.items():
                assert parse_unit(prefix + symbol) == Unit(dimension, Fraction(f) * m)


@pytest.mark.parametrize(
    ("values", "src", "dst", "expected"),
    [
        ([1.5, 49670.2], "亿元", "万元", [15000.0, 496702000.0]),
        ([1234.0], "PFLOPS", "EFLOPS", [1.234]),
        ([3.0], "PB", "EB", [0.003]),
        ([1.0], "万GB", "TB", [10.0]),
        ([0.43], "万公里", "公里", [4300.0]),
        ([4300.0], "公里", "万公里", [0.43]),
        ([0.123], "1", "%", [12.3]),
        ([1281.0], "亿千瓦小时", "亿千瓦时", [1281.0]),
        ([194.7097847273696], "Mt CO2", "百万吨CO2", [194.7097847273696]),
        ([228167.0], "元/人", "万元/万人", [228167.0]),
    ],
)
def test_convert_is_exact_for_powers_of_ten(values, src, dst, expected):
    assert convert(values, src, dst).tolist() == expected


def test_percent_to_fraction_is_the_decimal_shifted_exactly():
    # 12.3 % is the decimal 0.123: the double nearest 0.123, not the float division 12.3 / 100
    assert convert([12.3], "%", "1").tolist() == [0.123] != [12.3 / 100]
    assert convert([0.035], "亿个", "万个").tolist() == [350.0]


def test_convert_keeps_nan_and_same_unit_is_identity():
    x = np.array([0.1, np.nan, 3.0e-7])
    out = convert(x, "万元", "万元")
    assert np.array_equal(out, x, equal_nan=True) and out.dtype == np.float64
    assert factor("亿千瓦时", "千瓦时") == 10**8


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        ("万户", "万元", "different dimensions"), ("台", "个", "different dimensions"),
        ("元", "元/人", "different dimensions"), ("Mt", "Mt CO2", "different dimensions"),
        ("%", "万元", "different dimensions"), ("亿美刀", "元", "unknown unit"),
        ("pflops", "EFLOPS", "unknown unit"), ("万", "元", "unknown unit"), ("", "元", "no unit"),
        ("元/人/年", "元", "unknown unit"),
    ],
)  # fmt: skip
def test_unknown_or_incompatible_units_raise(src, dst, message):
    with pytest.raises(UnitError, match=message):
        convert([1.0], src, dst)
