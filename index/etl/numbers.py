"""Parse one cell as a number: thousands separators, full-width text, percent signs, missing marks.

Rules (applied after NFKC normalisation, which turns ``１２３．４`` into ``123.4`` and ``－`` into ``-``):

* ``1,234.5`` — commas are accepted only as thousands separators (groups of three digits), so
  ``1,5`` is an error rather than a silent 15 or 1.5;
* ``1.2e5``, ``-3``, ``+.5`` — plain and scientific notation;
* ``12.3%`` / ``1.5‰`` — the number as written plus the inline unit ``%`` / ``‰``; the unit
  conversion then expresses it in the catalogue unit (12.3 in ``%``, 0.123 in ``1``);
* ``—`` ``——`` ``–`` ``…`` ``...`` ``..`` ``-`` ``NA`` ``N/A`` and the empty cell → missing;
* anything else → ``ValueError`` (the caller reports it with the cell's location), including
  ``nan``/``inf``, numbers beyond the float range (``1e400``), accounting negatives ``(3.4)``,
  censored values ``<0.1`` and spreadsheet formulas ``=B2/C2`` whose result was never saved.
"""

from __future__ import annotations

import math
import re
from typing import Final

from index.etl.text import clean

MISSING: Final = frozenset({"", "-", "--", "—", "——", "–", "…", "...", "..", "na", "n/a"})
INLINE_UNITS: Final = ("%", "‰")

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?")
_MINUS = str.maketrans({"\u2212": "-", "\u2010": "-", "\u2011": "-"})


def parse_number(text: object) -> tuple[float | None, str]:
    """``(value, inline_unit)`` of a cell: value ``None`` when missing, inline unit ``%``/``‰`` or ``""``.

    Raises ``ValueError`` when the cell is neither a number nor a missing mark.
    """
    s = clean(text).translate(_MINUS)
    if s.casefold() in MISSING:
        return None, ""
    unit = next((u for u in INLINE_UNITS if s.endswith(u)), "")
    number = s.removesuffix(unit).strip() if unit else s
    if _GROUPED.fullmatch(number):
        number = number.replace(",", "")
    if s.startswith("="):
        raise ValueError(
            f"formula without a saved result: {s!r} (open and save the file in Excel, or paste "
            "the values)"
        )
    if not _PLAIN.fullmatch(number):
        raise ValueError(f"not a number: {str(text)!r}")
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {str(text)!r}")
    return value, unit


_YEAR = re.compile(r"(\d{4})(?:年|\.0+)?")


def parse_year(text: object) -> int:
    """A four-digit year written as ``2024``, ``2024年`` or ``2024.0`` (a spreadsheet number)."""
    m = _YEAR.fullmatch(clean(text))
    if not m:
        raise ValueError(f"not a year: {str(text)!r}")
    return int(m.group(1))
