"""A small synthetic index for the uncertainty tests: 3 pillars × 3 indicators, 14 units, 2 years.

TEST DATA ONLY — seeded random numbers, never a real ranking.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from index import framework as fwmod
from index.dataset import Dataset

PILLARS = {"p1": ["a", "b", "c"], "p2": ["d", "e", "f"], "p3": ["g", "h", "i"]}
WEIGHTS = {"p1": 2.0, "p2": 1.0, "p3": 1.0, "a": 1.0, "b": 2.0, "c": 1.0}
DIRECTIONS = {"e": -1}
UNITS = [f"U{k:02d}" for k in range(14)]
YEARS = (2020, 2021)


def framework_dict() -> dict:
    return {
        "index": {"code": "idx", "name_zh": "合成指数", "name_en": "Synthetic index"},
        "aggregate": [
            {"code": p, "parent": "idx", "name_en": p.upper(), "weight": WEIGHTS.get(p, 1.0)}
            for p in PILLARS
        ],
        "indicator": [
            {
                "code": c,
                "parent": p,
                "name_en": c.upper(),
                "weight": WEIGHTS.get(c, 1.0),
                "direction": DIRECTIONS.get(c, 1),
            }
            for p, kids in PILLARS.items()
            for c in kids
        ],
    }


def framework() -> fwmod.Framework:
    return fwmod.from_dict(framework_dict(), "synthetic.toml")


def long_table(seed: int = 7) -> pd.DataFrame:
    """Skewed positive data with a few gaps (so treatment and NaN handling both matter)."""
    rng = np.random.default_rng(seed)
    rows = []
    inds = [c for kids in PILLARS.values() for c in kids]
    for year in YEARS:
        for j, ind in enumerate(inds):
            values = rng.lognormal(mean=j % 3, sigma=1.0 + 0.2 * j, size=len(UNITS))
            for u, v in zip(UNITS, values, strict=True):
                if (u, ind) in {("U03", "b"), ("U07", "h")}:
                    continue
                rows.append((year, u, f"单位{u}", f"Unit {u}", ind, float(v)))
    cols = ["year", "region_code", "region_zh", "region_en", "indicator", "value"]
    return pd.DataFrame(rows, columns=cols)


def dataset(seed: int = 7) -> Dataset:
    return Dataset.from_long(long_table(seed), source="synthetic")


def _toml_value(v) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


def write_framework(path: Path) -> Path:
    """The framework as a TOML file (for the CLI)."""
    d = framework_dict()
    lines = ["[index]", *(f"{k} = {_toml_value(v)}" for k, v in d["index"].items())]
    for section in ("aggregate", "indicator"):
        for node in d[section]:
            lines += ["", f"[[{section}]]", *(f"{k} = {_toml_value(v)}" for k, v in node.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_inputs(path: Path) -> Path:
    """The processed long panel as Parquet (what `compute-index ingest` writes)."""
    long_table().to_parquet(path, index=False)
    return path
