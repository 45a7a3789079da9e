"""A chart of Sobol' sensitivity indices: first-order $S_i$ and total $S_{Ti}$ per uncertain factor.

:func:`sobol_data` orders the factors of ``SobolAnalysis.overall()`` (index = variable; S1, ST
and, when bootstrapped, their interval bounds) by total index and gives each a bilingual label;
:func:`sobol_chart` draws them as paired horizontal bars with the bootstrap intervals as whiskers.
$S_i$ is the share of the output variance due to factor $i$ alone, $S_{Ti}$ that due to $i$ with
all its interactions ($S_{Ti} \\ge S_i$ up to estimation error; methodology § 6.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from index.publish import views

FACTOR_NAMES = {
    "treat": ("异常值处理", "outlier treatment"),
    "normalise": ("标准化", "normalisation"),
    "weighting": ("权重方法", "weighting method"),
    "aggregation": ("汇总方法", "aggregation"),
    "aggregation.method": ("汇总方法", "aggregation"),
    "impute": ("缺失值填补", "imputation"),
    "indicator_weights": ("指标权重扰动", "indicator weights"),
    "pillar_weights": ("分项权重扰动", "pillar weights"),
    "exclude": ("剔除指标", "excluded indicator"),
}
"""Bilingual names of the factors of the bundled uncertainty specs (others show their own name)."""


def sobol_data(overall: pd.DataFrame, *, bilingual: bool = True) -> pd.DataFrame:
    """The factors by descending total index: variable, label, S1, ST and any interval bounds
    (S1_lo, S1_hi, ST_lo, ST_hi) exactly as estimated."""
    df = overall.reset_index() if "variable" not in overall.columns else overall.copy()
    df["label"] = [
        views.label(*FACTOR_NAMES[v], bilingual) if v in FACTOR_NAMES else str(v)
        for v in df["variable"]
    ]
    return df.sort_values(["ST", "variable"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def sobol_chart(overall: pd.DataFrame, *, bilingual: bool = True, output: str = "") -> Figure:
    """Paired bars of $S_i$ and $S_{Ti}$ per factor (largest total first), with bootstrap
    intervals when present; ``output`` names what the indices are of (default: the mean
    absolute rank change, the publication's scalar output)."""
    from index.publish.figures import PILLAR_COLORS

    data = sobol_data(overall, bilingual=bilingual)
    y = np.arange(len(data))
    fig = Figure(figsize=(8, 0.55 * len(data) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    h = 0.38
    for k, (col, zh, en) in enumerate((("S1", "一阶指数", "first order S1"),
                                        ("ST", "总效应指数", "total ST"))):  # fmt: skip
        lo, hi = data.get(f"{col}_lo"), data.get(f"{col}_hi")
        err = None
        if lo is not None and hi is not None:
            err = np.vstack([data[col] - lo, hi - data[col]]).clip(min=0)
        ax.barh(y + (k - 0.5) * h, data[col], height=h, color=PILLAR_COLORS[k], xerr=err,
                ecolor="0.3", capsize=2, label=views.label(zh, en, bilingual))  # fmt: skip
    ax.set_yticks(y, list(data["label"]))
    ax.set_ylim(len(y) - 0.5, -0.5)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_xlabel(
        views.label("Sobol' 指数（方差份额）", "Sobol' index (share of variance)", bilingual)
    )
    what = output or views.label("平均绝对排名变化", "mean absolute rank change", bilingual)
    ax.set_title(views.label("敏感性分析", "Sensitivity analysis", bilingual) + f" — {what}")
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    return fig
