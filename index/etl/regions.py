"""The 31 mainland provinces keyed by GB/T 2260 code, and resolution of the many ways to name them.

The canonical key is the 2-digit GB/T 2260 code as a string ("11" 北京 … "65" 新疆); names are labels.
``resolve`` accepts zh full/short names, English and pinyin variants, traditional characters,
full-width text and 2-, 6- or 12-digit codes. National totals and Hong Kong/Macao/Taiwan resolve
to ``DROP`` (the caller drops the row with a note); anything else resolves to ``None``.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

import pandas as pd

from index.etl.text import key, squeeze


class Province(NamedTuple):
    code: str
    name_zh: str
    short_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()


PROVINCES: Final[tuple[Province, ...]] = (
    Province("11", "北京市", "北京", "Beijing", ("Peking",)),
    Province("12", "天津市", "天津", "Tianjin"),
    Province("13", "河北省", "河北", "Hebei"),
    Province("14", "山西省", "山西", "Shanxi"),
    Province(
        "15", "内蒙古自治区", "内蒙古", "Inner Mongolia",
        ("Nei Mongol", "Nei Menggu", "Neimenggu", "Nei Monggol", "Inner Mongolia (Nei Mongol)"),
    ),
    Province("21", "辽宁省", "辽宁", "Liaoning"),
    Province("22", "吉林省", "吉林", "Jilin"),
    Province("23", "黑龙江省", "黑龙江", "Heilongjiang"),
    Province("31", "上海市", "上海", "Shanghai"),
    Province("32", "江苏省", "江苏", "Jiangsu"),
    Province("33", "浙江省", "浙江", "Zhejiang"),
    Province("34", "安徽省", "安徽", "Anhui"),
    Province("35", "福建省", "福建", "Fujian"),
    Province("36", "江西省", "江西", "Jiangxi"),
    Province("37", "山东省", "山东", "Shandong"),
    Province("41", "河南省", "河南", "Henan"),
    Province("42", "湖北省", "湖北", "Hubei"),
    Province("43", "湖南省", "湖南", "Hunan"),
    Province("44", "广东省", "广东", "Guangdong"),
    Province(
        "45", "广西壮族自治区", "广西", "Guangxi",
        ("广西壮族", "广西自治区", "Guangxi Zhuang", "Guangxi Zhuangzu"),
    ),
    Province("46", "海南省", "海南", "Hainan"),
    Province("50", "重庆市", "重庆", "Chongqing"),
    Province("51", "四川省", "四川", "Sichuan"),
    Province("52", "贵州省", "贵州", "Guizhou"),
    Province("53", "云南省", "云南", "Yunnan"),
    Province("54", "西藏自治区", "西藏", "Tibet", ("Xizang", "Tibet (Xizang)", "Xizang (Tibet)")),
    Province("61", "陕西省", "陕西", "Shaanxi"),
    Province("62", "甘肃省", "甘肃", "Gansu"),
    Province("63", "青海省", "青海", "Qinghai"),
    Province("64", "宁夏回族自治区", "宁夏", "Ningxia", ("宁夏回族", "Ningxia Hui", "Ningxia Huizu")),
    Province(
        "65", "新疆维吾尔自治区", "新疆", "Xinjiang",
        ("新疆维吾尔", "Xinjiang Uygur", "Xinjiang Uyghur", "Xinjiang Uighur", "Xinjiang Weiwuer"),
    ),
)  # fmt: skip

# Rows that are not one of the 31 provinces but are expected in real tables: dropped with a note.
NON_PROVINCES: Final[tuple[str, ...]] = (
    "全国", "全国合计", "全国总计", "合计", "总计", "中国", "全国平均",
    "National", "National total", "Nationwide", "Total", "China", "All China",
    "香港", "香港特别行政区", "Hong Kong", "Hong Kong SAR", "Hongkong", "HK",
    "澳门", "澳门特别行政区", "Macao", "Macau", "Macao SAR", "Macau SAR",
    "台湾", "台湾省", "Taiwan", "Taiwan Province",
    "71", "81", "82",
)  # fmt: skip


class _Drop:
    """Sentinel type: the name is a known non-province row (total, HK, Macao, Taiwan)."""

    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()

# Administrative suffixes removed as a fallback ("Hebei Province" → "hebei", "河北省" → "河北").
_SUFFIX = re.compile(
    r"(autonomousregion|specialadministrativeregion|sar|province|municipality|zizhiqu|sheng|shi"
    r"|自治区|特别行政区|省)$"
)
# GB/T 2260 codes: 2 digits, optionally padded to 6 or 12 digits; spreadsheets may add ".0".
_CODE = re.compile(r"(\d{2})(?:0{4}|0{10})?(?:\.0+)?")


def _keys(name: str) -> set[str]:
    k = key(name)
    return {k, _SUFFIX.sub("", k)} - {""}


def _build() -> dict[str, str | _Drop]:
    table: dict[str, str | _Drop] = {}
    for name in NON_PROVINCES:
        table.update(dict.fromkeys(_keys(name), DROP))
    for p in PROVINCES:
        for name in (p.code, p.name_zh, p.short_zh, p.name_en, *p.aliases):
            table.update(dict.fromkeys(_keys(name), p.code))
    return table


_LOOKUP: Final = _build()
_BY_CODE: Final = {p.code: p for p in PROVINCES}


def resolve(name: object) -> str | _Drop | None:
    """Province code for ``name``; ``DROP`` for totals/HK/Macao/Taiwan; ``None`` if unknown."""
    code = _CODE.fullmatch(squeeze(name))
    k = code.group(1) if code else key(name)
    if k in _LOOKUP:
        return _LOOKUP[k]
    return _LOOKUP.get(_SUFFIX.sub("", k)) if k else None


def province(code: str) -> Province:
    """The ``Province`` record for a 2-digit code (KeyError if not one of the 31)."""
    return _BY_CODE[code]


def labels() -> pd.DataFrame:
    """One row per province, indexed by code: ``name_zh``, ``short_zh``, ``name_en``."""
    return pd.DataFrame(
        [(p.code, p.name_zh, p.short_zh, p.name_en) for p in PROVINCES],
        columns=["code", "name_zh", "short_zh", "name_en"],
    ).set_index("code")
