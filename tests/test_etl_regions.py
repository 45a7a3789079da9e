"""Province keys and aliases (index.etl.regions)."""

from __future__ import annotations

import pytest

from index.etl.regions import DROP, PROVINCES, labels, province, resolve


def test_31_provinces_with_unique_gbt2260_codes():
    codes = [p.code for p in PROVINCES]
    assert len(codes) == 31 == len(set(codes))
    assert codes[0] == "11" and codes[-1] == "65"
    assert all(len(c) == 2 and c.isdigit() for c in codes)
    table = labels()
    assert table.shape == (31, 3)
    assert table.loc["15"].tolist() == ["内蒙古自治区", "内蒙古", "Inner Mongolia"]
    assert table.loc["54", "name_en"] == "Tibet"
    assert province("45").name_zh == "广西壮族自治区"


@pytest.mark.parametrize("p", PROVINCES, ids=lambda p: p.code)
def test_every_name_and_alias_resolves_to_its_own_code(p):
    for name in (p.code, p.name_zh, p.short_zh, p.name_en, *p.aliases):
        assert resolve(name) == p.code, name
    assert resolve(p.code + "0000") == p.code
    assert resolve(p.code + "0000000000") == p.code


@pytest.mark.parametrize(
    ("name", "code"),
    [
        (" 北京市 ", "11"), ("北　京", "11"), ("ＢＥＩＪＩＮＧ", "11"), ("beijing", "11"),
        ("Beijing Municipality", "11"), ("Beijing Shi", "11"), (110000, "11"), ("110000.0", "11"),
        ("內蒙古", "15"), ("內蒙古自治區", "15"), ("Nei Mongol", "15"), ("Nei Menggu", "15"),
        ("Inner Mongolia Autonomous Region", "15"), ("Nei Mongol Zizhiqu", "15"),
        ("Guangxi Zhuang Autonomous Region", "45"), ("廣西壯族自治區", "45"), ("广西壮族自治区", "45"),
        ("Ningxia Hui Autonomous Region", "64"), ("Ningxia Hui", "64"),
        ("Xinjiang Uygur Autonomous Region", "65"), ("Xinjiang Uyghur", "65"), ("新疆维吾尔自治区", "65"),
        ("Xizang", "54"), ("Tibet", "54"), ("Tibet (Xizang)", "54"), ("Xizang Autonomous Region", "54"),
        ("Hebei Province", "13"), ("河北省", "13"), ("黑龍江", "23"), ("陝西", "61"),
        ("Shanxi", "14"), ("Shaanxi", "61"), ("Anhui", "34"), ("650000000000", "65"),
    ],
)  # fmt: skip
def test_aliases(name, code):
    assert resolve(name) == code


@pytest.mark.parametrize(
    "name",
    ["全国", "全国合计", "合计", "总计", "National", "TOTAL", "China", "香港", "香港特别行政区",
     "Hong Kong SAR", "澳门", "澳門", "Macau", "Macao", "台湾", "台灣", "台湾省", "Taiwan", "710000", "81"],
)  # fmt: skip
def test_non_provinces_are_dropped(name):
    assert resolve(name) is DROP


@pytest.mark.parametrize(
    "name", ["火星", "广州市", "吉林市", "", "Shanxii", "110100", "东部地区", None]
)
def test_unknown_names_do_not_resolve(name):
    assert resolve(name) is None
