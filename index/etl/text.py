"""Text normalisation shared by every lookup: full-width → half-width, traditional → simplified."""

from __future__ import annotations

import re
import unicodedata

# Traditional characters that occur in province, aggregate and unit names (simplified on lookup).
_TRAD_TO_SIMP = str.maketrans(
    "內廣東龍遼陝肅寧維爾雲貴慶蘇臺灣門區壯國計總億萬個戶時電",
    "内广东龙辽陕肃宁维尔云贵庆苏台湾门区壮国计总亿万个户时电",
)
_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def clean(text: object) -> str:
    """NFKC-normalise (full-width digits, letters, punctuation and spaces → ASCII) and strip."""
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()


def squeeze(text: object) -> str:
    """``clean`` plus removal of all whitespace: ``"Mt CO2"`` → ``"MtCO2"``, ``"北 京"`` → ``"北京"``."""
    return _SPACE.sub("", clean(text))


def simplified(text: object) -> str:
    """``squeeze`` plus traditional → simplified for the characters of region and unit names."""
    return squeeze(text).translate(_TRAD_TO_SIMP)


def key(text: object) -> str:
    """Lookup key: ``simplified``, case-folded, punctuation removed."""
    return _NOT_WORD.sub("", simplified(text).casefold())
