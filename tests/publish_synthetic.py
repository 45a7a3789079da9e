"""A synthetic Result-like object for the publication tests: made-up scores from a seeded RNG.

TEST DATA ONLY — these numbers are random and never a real ranking.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

REGIONS = [
    ("11", "北京市", "Beijing"), ("12", "天津市", "Tianjin"), ("13", "河北省", "Hebei"),
    ("14", "山西省", "Shanxi"), ("15", "内蒙古自治区", "Inner Mongolia"), ("21", "辽宁省", "Liaoning"),
    ("22", "吉林省", "Jilin"), ("23", "黑龙江省", "Heilongjiang"), ("31", "上海市", "Shanghai"),
    ("32", "江苏省", "Jiangsu"), ("33", "浙江省", "Zhejiang"), ("34", "安徽省", "Anhui"),
    ("35", "福建省", "Fujian"), ("36", "江西省", "Jiangxi"), ("37", "山东省", "Shandong"),
    ("41", "河南省", "Henan"), ("42", "湖北省", "Hubei"), ("43", "湖南省", "Hunan"),
    ("44", "广东省", "Guangdong"), ("45", "广西壮族自治区", "Guangxi"), ("46", "海南省", "Hainan"),
    ("50", "重庆市", "Chongqing"), ("51", "四川省", "Sichuan"), ("52", "贵州省", "Guizhou"),
    ("53", "云南省", "Yunnan"), ("54", "西藏自治区", "Tibet (Xizang)"), ("61", "陕西省", "Shaanxi"),
    ("62", "甘肃省", "Gansu"), ("63", "青海省", "Qinghai"), ("64", "宁夏回族自治区", "Ningxia"),
    ("65", "新疆维吾尔自治区", "Xinjiang"),
]  # fmt: skip

PILLARS = [  # code, zh, en, weight, indicators (code, zh, en, unit)
    ("compute", "算力", "Computing", 0.35, [("it_rev", "信息技术服务收入", "IT services revenue", "万元"),
                                            ("computers", "计算机数", "Computers in use", "台")]),
    ("network", "运力", "Network", 0.25, [("ports", "宽带端口", "Broadband ports", "万个"),
                                          ("cable", "光缆长度", "Optical cable", "公里"),
                                          ("traffic", "移动流量", "Mobile traffic", "万GB")]),
    ("storage", "存力", "Storage", 0.2, [("pages", "网页数", "Web pages", "万个"),
                                         ("domains", "域名数", "Domain names", "万个")]),
    ("environment", "环境", "Environment", 0.2, [("gdp", "地区生产总值", "GDP", "亿元"),
                                                 ("rd", "R&D经费", "R&D expenditure", "亿元")]),
]  # fmt: skip

YEARS = (2022, 2023, 2024)


def make_nodes() -> pd.DataFrame:
    rows = [("index", None, 3, "综合算力指数", "Composite index", 1.0, 1.0, np.nan, "", "")]
    for p, zh, en, w, inds in PILLARS:
        rows.append((p, "index", 2, zh, en, w, w, np.nan, "", ""))
        for k, (c, izh, ien, unit) in enumerate(inds):
            wi = 1.0 / len(inds)
            rows.append((c, p, 1, izh, ien, wi, wi * w, 1.0, unit, f"S{k + 1:02d}"))
    cols = [
        "code",
        "parent",
        "level",
        "name_zh",
        "name_en",
        "weight",
        "eff_weight",
        "direction",
        "unit",
        "source_ids",
    ]
    return pd.DataFrame(rows, columns=cols)


def make_result(seed: int = 20240601, years: tuple[int, ...] = YEARS) -> SimpleNamespace:
    """31 provinces × years of made-up normalised scores, ranks, raw data and rank intervals."""
    rng = np.random.default_rng(seed)
    nodes = make_nodes()
    reg = pd.DataFrame(REGIONS, columns=["region_code", "region_zh", "region_en"])
    latent = rng.normal(50, 15, len(reg))
    rows, data = [], []
    for t, year in enumerate(years):
        drift = latent + rng.normal(0, 4, len(reg)) * (t + 1)
        pillar_scores = {}
        for p, _zh, _en, _w, inds in PILLARS:
            vals = []
            for c, *_rest, unit in inds:
                v = np.clip(drift + rng.normal(0, 10, len(reg)), 0, 100)
                if c == "it_rev":
                    v[reg.index[reg["region_code"] == "54"][0]] = (
                        np.nan
                    )  # Tibet missing, as in real data
                vals.append(v)
                rows.append(
                    pd.DataFrame(
                        {
                            "year": year,
                            "region_code": reg["region_code"],
                            "code": c,
                            "level": 1,
                            "score": v,
                        }
                    )
                )
                data.append(pd.DataFrame({"year": year, "region_code": reg["region_code"], "indicator": c,
                                          "value": np.round(v * 123.4, 1), "unit": unit, "source_id": "S01"}))  # fmt: skip
            pillar_scores[p] = np.nanmean(np.vstack(vals), axis=0)
            rows.append(
                pd.DataFrame(
                    {
                        "year": year,
                        "region_code": reg["region_code"],
                        "code": p,
                        "level": 2,
                        "score": pillar_scores[p],
                    }
                )
            )
        index = sum(w * pillar_scores[p] for p, _zh, _en, w, _i in PILLARS)
        rows.append(
            pd.DataFrame(
                {
                    "year": year,
                    "region_code": reg["region_code"],
                    "code": "index",
                    "level": 3,
                    "score": index,
                }
            )
        )
    scores = pd.concat(rows, ignore_index=True).merge(reg, on="region_code")
    scores["rank"] = scores.groupby(["year", "code"])["score"].rank(ascending=False, method="min")
    scores = scores[
        ["year", "region_code", "region_zh", "region_en", "code", "level", "score", "rank"]
    ]
    last = scores[(scores["year"] == years[-1]) & (scores["code"] == "index")].set_index(
        "region_code"
    )["rank"]
    spread = rng.integers(0, 5, (len(last), 2))
    intervals = pd.DataFrame({
        "region_code": last.index, "nominal": last.to_numpy(),
        "mean": last.to_numpy() + rng.normal(0, 0.5, len(last)),
        "median": last.to_numpy(),
        "q05": np.maximum(1, last.to_numpy() - spread[:, 0]),
        "q95": np.minimum(31, last.to_numpy() + spread[:, 1]),
    })  # fmt: skip
    alternatives = pd.concat(
        [pd.DataFrame({"scheme": s, "region_code": last.index,
                       "rank": last.to_numpy() if s == "nominal" else rng.permutation(31) % 31 + 1})
         for s in ("nominal", "equal", "entropy")],
        ignore_index=True,
    )  # fmt: skip
    config = {
        "framework": "cci_public.toml",
        "normalise": {"method": "minmax", "range": [0, 100]},
        "weighting": {"method": "fixed"},
        "aggregate": {"method": "arithmetic"},
        "uncertainty": {"runs": 1000, "seed": 42},
    }
    sources = pd.DataFrame(
        {
            "source_id": ["S01", "S02", "S03", "S04"],
            "source": [
                "NBS data portal (test)",
                "NBS data portal (test)",
                "CEADs (test)",
                "unused",
            ],
            "source_table": [
                "分省年度数据 > a",
                "分省年度数据 > b",
                "CEADs 省级排放清单",
                "unused",
            ],
        }
    )
    return SimpleNamespace(
        scores=scores,
        nodes=nodes,
        data=pd.concat(data, ignore_index=True),
        config=config,
        rank_intervals=intervals,
        alternatives=alternatives,
        sources=sources,
    )


_BUILT: dict[str, object] = {}


def published():
    """One synthetic publication per test process (built once, ~15 s): the Publication object."""
    if "pub" not in _BUILT:
        import atexit
        import shutil
        import tempfile

        from index.publish import build_publication

        root = tempfile.mkdtemp(prefix="publish-test-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        source = Path(root) / "inputs.csv"
        source.write_text("year,region_code,indicator,value\n2024,11,gdp,1.0\n", encoding="utf-8")
        _BUILT["pub"] = build_publication(
            make_result(), root, edition="2024-test", inputs={"inputs.csv": source}
        )
    return _BUILT["pub"]
