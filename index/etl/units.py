"""Units as (dimension, factor) pairs, built from tables, and exact conversion between them.

A unit string is read as ``[zh magnitude][base]`` or ``numerator/denominator`` of such terms:

* zh magnitudes multiply character by character: 十 10, 百 100, 千 10³, 万 10⁴, 亿 10⁸, so
  百万 = 10⁶, 千万 = 10⁷, 万亿 = 10¹²;
* a base unit is a named unit (元, 公里, 户, 千瓦时 …) or an SI prefix (k M G T P E, decimal) on an
  SI symbol (FLOPS, B, Wh, W, m, t, tCO2): ``PFLOPS``, ``EB``, ``kWh``, ``Mt CO2``;
* the longest base that ends the string wins, so 千瓦时 is kWh and 亿千瓦时 is 10⁸ kWh.

The value in unit ``a`` is expressed in ``b`` by the factor $f_a / f_b$, defined only when
``a`` and ``b`` share a dimension. Unknown units and different dimensions raise ``UnitError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from index.etl.text import simplified

ZH_MAGNITUDES: Final = {"十": 10, "百": 100, "千": 10**3, "万": 10**4, "亿": 10**8}
SI_PREFIXES: Final = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}  # fmt: skip

# dimension → {symbol: factor relative to the dimension's reference unit}
NAMED_UNITS: Final[dict[str, dict[str, Fraction | int]]] = {
    "CNY": {"元": 1, "人民币元": 1},
    "USD": {"美元": 1},
    "length": {"米": 1, "公里": 1000},
    "count": {"个": 1},
    "subscriptions": {"户": 1},
    "persons": {"人": 1},
    "devices": {"台": 1},
    "lines": {"门": 1},
    "circuit_ends": {"路端": 1},
    "racks": {"架": 1, "机架": 1},
    "energy": {"千瓦时": 1, "千瓦小时": 1, "度": 1, "KWh": 1, "kwh": 1},
    "power": {"瓦": 1},
    "mass": {"吨": 1},
    "co2": {"吨CO2": 1, "吨二氧化碳": 1},
    "ratio": {"1": 1, "%": Fraction(1, 100), "‰": Fraction(1, 1000)},
}
# dimension → {SI symbol: factor}; each also takes the decimal prefixes in SI_PREFIXES.
SI_UNITS: Final[dict[str, dict[str, Fraction | int]]] = {
    "compute": {"FLOPS": 1, "Flops": 1, "flops": 1},
    "data": {"B": 1},
    "energy": {"Wh": Fraction(1, 1000)},
    "power": {"W": 1},
    "length": {"m": 1},
    "mass": {"t": 1},
    "co2": {"tCO2": 1},
}


class UnitError(ValueError):
    """A unit that is unknown, or a conversion between different dimensions."""


@dataclass(frozen=True)
class Unit:
    """A parsed unit: its dimension (``"CNY"``, ``"CNY/persons"`` …) and factor to the reference."""

    dimension: str
    factor: Fraction


def _base_table() -> dict[str, Unit]:
    table = {
        sym: Unit(dim, Fraction(f))
        for dim, units in NAMED_UNITS.items()
        for sym, f in units.items()
    }
    for dim, units in SI_UNITS.items():
        for sym, f in units.items():
            for prefix, p in SI_PREFIXES.items():
                table.setdefault(prefix + sym, Unit(dim, Fraction(f) * p))
    return table


_BASES: Final = _base_table()
_LONGEST_FIRST: Final = sorted(_BASES, key=len, reverse=True)


def _term(text: str) -> Unit:
    """One ``[zh magnitude][base]`` term, e.g. 亿千瓦时 = 10⁸ × kWh."""
    for sym in _LONGEST_FIRST:
        head = text[: len(text) - len(sym)]
        if text.endswith(sym) and all(c in ZH_MAGNITUDES for c in head):
            base = _BASES[sym]
            return Unit(base.dimension, base.factor * math.prod(ZH_MAGNITUDES[c] for c in head))
    raise UnitError(f"unknown unit {text!r}")


@cache
def parse_unit(text: str) -> Unit:
    """Parse a unit string (full-width, traditional characters and spaces are normalised first)."""
    s = simplified(text)
    if not s:
        raise UnitError("no unit given")
    num, sep, den = s.partition("/")
    try:
        top = _term(num)
        if not sep:
            return top
        bottom = _term(den)
    except UnitError:
        raise UnitError(f"unknown unit {text!r}") from None
    return Unit(f"{top.dimension}/{bottom.dimension}", top.factor / bottom.factor)


def factor(src: str, dst: str) -> Fraction:
    """Exact factor that turns a value in ``src`` into ``dst``: $f_{src} / f_{dst}$."""
    a, b = parse_unit(src), parse_unit(dst)
    if a.dimension != b.dimension:
        raise UnitError(
            f"cannot convert {src!r} ({a.dimension}) to {dst!r} ({b.dimension}): different dimensions"
        )
    return a.factor / b.factor


def convert(values: ArrayLike, src: str, dst: str) -> NDArray[np.float64]:
    """``values`` from ``src`` to ``dst`` as exact decimal arithmetic, correctly rounded once.

    Each value is taken as the decimal it is written as — a ``Decimal`` as is, a float as its
    shortest round-trip form (``0.035``) — multiplied by the exact factor, and rounded to the
    nearest double only at the end: ``0.035 亿个 → 万个`` gives 350.0, not ``0.035 * 10**4 =
    350.00000000000006``; 12.3 % in unit 1 gives 0.123. NaN stays NaN; a result beyond the float
    range gives ``inf``, which validation reports.
    """
    f = factor(src, dst)
    items = list(np.asarray(values, dtype=object).ravel())
    if f == 1:
        return np.array([float(v) for v in items], dtype=np.float64)
    return np.array([_scaled(v, f) for v in items], dtype=np.float64)


def _scaled(value: object, f: Fraction) -> float:
    """``value × f`` exactly (``Fraction`` arithmetic), then the nearest double."""
    x = value if isinstance(value, Decimal) else float(value)  # type: ignore[arg-type]
    if isinstance(x, float) and not math.isfinite(x):
        return x
    exact = Fraction(x if isinstance(x, Decimal) else repr(x)) * f
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf
