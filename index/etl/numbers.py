"""Parse one cell as a number: thousands separators, full-width text, percent signs, missing marks.

A cell is read as the exact decimal it shows (``parse_decimal``); ``parse_number`` is the same as a
float. Rules, in order:

* width folding, not Unicode normalisation: only the full-width ASCII forms (``１２３．４`` →
  ``123.4``), the ideographic space and the minus/hyphen variants (``−`` ``－`` ``‐`` ``﹣``) are
  mapped to ASCII. Nothing else is: NFKC would turn ``123.4①`` into ``123.41`` and ``123²`` into
  ``1232``, and Python's ``float`` reads Arabic-Indic digits; after folding, the number may hold
  ASCII characters only;
* footnote marks: a trailing run of the marks in ``FOOTNOTE_MARKS`` (circled and parenthesised
  numbers ``①`` ``⑴`` ``❶`` ``➀``, superscript digits ``¹²³``, ``*`` ``†`` ``‡`` ``§`` ``#`` ``※``
  ``注``, half- or full-width) is stripped — the value is the number before it, and the reader
  notes how many cells carried a mark; a mark anywhere else is an error;
* ``1,234.5`` — commas are accepted only as thousands separators (groups of three digits), so
  ``1,5`` is an error rather than a silent 15 or 1.5. With ``decimal=","`` (a decimal-comma file,
  declared in its sidecar) the roles swap: ``1.234,5`` or ``1 234,5`` is 1234.5;
* ``1.2e5``, ``-3``, ``+.5`` — plain and scientific notation;
* ``12.3%`` / ``1.5‰`` — the number as written plus the inline unit ``%`` / ``‰``; the unit
  conversion then expresses it in the catalogue unit (12.3 in ``%``, 0.123 in ``1``);
* ``—`` ``——`` ``–`` ``…`` ``...`` ``..`` ``-`` ``NA`` ``N/A`` and the empty cell → missing;
* anything else → ``ValueError`` (the caller reports it with the cell's location), including
  ``nan``/``inf``, numbers beyond the float range (``1e400``, or a non-zero ``1e-400`` that would
  read as 0), more than ``MAX_CHARS`` characters, accounting negatives ``(3.4)``, censored values
  ``<0.1`` and spreadsheet formulas ``=B2/C2`` whose result was never saved.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Final, Literal

MISSING: Final = frozenset({"", "-", "--", "—", "——", "–", "…", "...", "..", "na", "n/a"})
INLINE_UNITS: Final = ("%", "‰")
#: Footnote marks stripped from the end of a number cell (documented in methodology.md, ETL).
FOOTNOTE_MARKS: Final = frozenset(
    "".join(chr(c) for c in range(0x2460, 0x2474))  # ① … ⑳
    + "".join(chr(c) for c in range(0x2474, 0x2488))  # ⑴ … ⒇
    + "".join(chr(c) for c in range(0x2776, 0x2794))  # ❶ … ❿, ➀ … ➉, ➊ … ➓
    + "⁰¹²³⁴⁵⁶⁷⁸⁹*＊†‡§#＃※注"
)
MAX_CHARS: Final = 64  # a cell longer than this is not a number a statistics table prints

_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")
_COMMA_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+")  # 1,234: thousands or 1.234?
_EURO = re.compile(
    r"[+-]?(?:[0-9]{1,3}(?:([. \u00a0\u202f])[0-9]{3})(?:\1[0-9]{3})*|[0-9]+)(?:,[0-9]+)?"
)
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {
    0x3000: " ", 0x2212: "-", 0x2010: "-", 0x2011: "-", 0xFE63: "-",
}  # fmt: skip
Decimals = Literal[".", ","]


def fold(text: object) -> str:
    """Full-width ASCII forms, the ideographic space and minus variants → ASCII; stripped."""
    return ("" if text is None else str(text)).translate(_WIDTH).strip()


def footnote(text: object) -> str:
    """The trailing run of footnote marks of a cell ('' if none): ``"123.4①"`` → ``"①"``."""
    s = fold(text)
    body = s.rstrip("".join(FOOTNOTE_MARKS) + " ")
    return s[len(body) :].strip() if body != s else ""


def ambiguous_comma(text: object) -> bool:
    """Whether a cell reads differently with a decimal comma: ``1,234`` (1234 or 1.234?)."""
    s = fold(text)
    s = s[: len(s) - len(footnote(s))].strip()
    for u in INLINE_UNITS:
        s = s.removesuffix(u).strip()
    return bool(_COMMA_GROUPED.fullmatch(s))


def parse_decimal(text: object, decimal: Decimals = ".") -> tuple[Decimal | None, str]:
    """``(value, inline_unit)`` of a cell: the exact decimal written (``None`` when missing) and
    its inline unit ``%``/``‰`` or ``""``. ``decimal`` is the file's decimal mark.

    Raises ``ValueError`` when the cell is neither a number nor a missing mark.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = repr(text)  # a spreadsheet number: its shortest round-trip form
    s = fold(text)
    if len(s) > MAX_CHARS:
        raise ValueError(f"not a number: {s[:20]!r}… ({len(s)} characters)")
    mark = footnote(s)
    s = s[: len(s) - len(mark)].strip() if mark else s
    if s.casefold() in MISSING:
        return None, ""
    if s.startswith("="):
        raise ValueError(
            f"formula without a saved result: {s!r} (open and save the file in Excel, or paste "
            "the values)"
        )
    unit = next((u for u in INLINE_UNITS if s.endswith(u)), "")
    number = s.removesuffix(unit).strip() if unit else s
    if decimal == ",":
        m = _EURO.fullmatch(number)
        if not m:
            raise ValueError(f"not a number with a decimal comma: {str(text)!r}")
        number = re.sub(r"[. \u00a0\u202f]", "", number).replace(",", ".")
    elif _GROUPED.fullmatch(number):
        number = number.replace(",", "")
    if not _PLAIN.fullmatch(number):
        hint = (
            ' (a decimal comma? then declare decimal = "," in the file\'s sidecar TOML)'
            if _DECIMAL_COMMA.fullmatch(number)
            else ""
        )
        raise ValueError(f"not a number: {str(text)!r}{hint}")
    value = Decimal(number)
    as_float = float(value)
    if not math.isfinite(as_float) or (value and not as_float):
        raise ValueError(f"number out of range: {str(text)!r}")
    return value, unit


def parse_number(text: object, decimal: Decimals = ".") -> tuple[float | None, str]:
    """``parse_decimal`` as the nearest float: ``(value, inline_unit)``."""
    value, unit = parse_decimal(text, decimal)
    return (None if value is None else float(value)), unit


_YEAR = re.compile(r"([0-9]{4})(?:年|\.0+)?")


def parse_year(text: object) -> int:
    """A four-digit year written as ``2024``, ``2024年`` or ``2024.0`` (a spreadsheet number)."""
    m = _YEAR.fullmatch(fold(text))
    if not m:
        raise ValueError(f"not a year: {str(text)!r}")
    return int(m.group(1))
