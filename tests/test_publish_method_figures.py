"""The framework sunburst (COINr plot_framework) and the Sobol' chart: the data drawn, not pixels.

The sunburst's wedges are read back from the figure and must be the effective weights (each ring
summing to 1, each node inside its parent); the Sobol' bars must be the indices the analysis
estimated. Both also in English only (no CJK font needed) and in the publication's plan.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer
from matplotlib.patches import Wedge
from publish_synthetic import make_result
from test_pipeline import FW, PLAIN, dataset

from index.errors import InputError
from index.pipeline import build
from index.publish import build as pbuild
from index.publish import sobol_chart, sunburst

CJK = re.compile(r"[\u4e00-\u9fff]")

DEEP = {  # four levels: index → pillars → sub-pillars → indicators, unequal weights
    "index": {"code": "idx", "name_zh": "指数", "name_en": "Index"},
    "aggregate": [
        {"code": "p1", "parent": "idx", "weight": 2, "name_zh": "甲", "name_en": "P one"},
        {"code": "p2", "parent": "idx", "name_zh": "乙", "name_en": "P two"},
        {"code": "s1", "parent": "p1", "weight": 3},
        {"code": "s2", "parent": "p1"},
        {"code": "s3", "parent": "p2"},
    ],
    "indicator": [
        {"code": "a", "parent": "s1", "weight": 5},
        {"code": "b", "parent": "s1"},
        {"code": "c", "parent": "s2", "series": "cc"},
        {"code": "d", "parent": "s3", "weight": 2},
        {"code": "e", "parent": "s3", "series": "pop"},
    ],
}


def _wedges(fig) -> list[Wedge]:
    return [p for p in fig.axes[0].patches if isinstance(p, Wedge) and p.theta2 - p.theta1 < 360]


def test_sunburst_wedges_are_the_effective_weights():
    from index import framework as fwmod

    fw = fwmod.from_dict(DEEP)
    b = build(PLAIN.with_overrides(["denominate=false"]), dataset(), fw)
    data = sunburst.sunburst_data(b.nodes)
    eff = b.nodes.set_index("code")["eff_weight"]
    # by hand: p1 = 2/3, p2 = 1/3; s1 = 2/3 * 3/4 = 1/2, s2 = 1/6, s3 = 1/3;
    # a = 1/2 * 5/6 = 5/12, b = 1/12, c = 1/6, d = 1/3 * 2/3 = 2/9, e = 1/9
    hand = {"p1": 2 / 3, "p2": 1 / 3, "s1": 1 / 2, "s2": 1 / 6, "s3": 1 / 3, "a": 5 / 12,
            "b": 1 / 12, "c": 1 / 6, "d": 2 / 9, "e": 1 / 9}  # fmt: skip
    got = data.set_index("code")["width"]
    worst = max(abs(got[c] - v) for c, v in hand.items())
    assert worst < 1e-15
    np.testing.assert_allclose(data.groupby("ring")["width"].sum(), 1.0, rtol=0, atol=1e-15)
    for r in data.itertuples():  # nested: a child lies within its parent's wedge
        if r.ring > 1:
            p = data.set_index("code").loc[r.parent]
            assert p.start - 1e-15 <= r.start and r.start + r.width <= p.start + p.width + 1e-15
    fig = sunburst.framework_sunburst(b.nodes, bilingual=True)
    spans = sorted((w.r, round(w.theta2 - w.theta1, 9)) for w in _wedges(fig))
    want = sorted(
        (sunburst.HOLE + r.ring * sunburst.RING, round(360 * eff[r.code], 9))
        for r in data.itertuples()
    )
    assert spans == want  # every wedge drawn is 360° × the node's effective weight
    by_ring: dict[float, float] = {}
    for w in _wedges(fig):
        by_ring[w.r] = by_ring.get(w.r, 0.0) + (w.theta2 - w.theta1) / 360
    assert list(by_ring.values()) == pytest.approx([1.0, 1.0, 1.0], abs=1e-12)


def test_sunburst_in_english_without_cjk_and_refused_for_per_unit_weights():
    b = build(PLAIN, dataset(), FW)
    fig = sunburst.framework_sunburst(b.nodes, bilingual=False)
    texts = [t.get_text() for t in fig.axes[0].texts] + [fig.axes[0].get_title()]
    assert texts and not any(CJK.search(t) for t in texts)
    assert "Framework and effective weights" in fig.axes[0].get_title()
    bod = build(PLAIN.with_overrides(['aggregation.by_level={"2": "bod"}']), dataset(), FW)
    assert not sunburst.drawable(bod.nodes)
    with pytest.raises(InputError, match="per unit"):
        sunburst.sunburst_data(bod.nodes)
    with pytest.raises(InputError, match="per unit"):
        bod.plot_framework()
    assert b.plot_framework().axes  # the Build API draws it in the house style


def test_sobol_bars_are_the_estimated_indices():
    b = build(PLAIN, dataset(n_units=12), FW)
    spec = {
        "sampling": {"n": 64, "seed": 5},
        "factors": {"normalise": [{"method": "minmax", "l": 1, "u": 100}, {"method": "rank"}]},
        "weights": [{"name": "pillar_weights", "levels": [2], "noise": 0.25, "sets": 50}],
    }
    sa = b.sensitivity(64, spec=spec, seed=5, progress=False)
    overall = sa.overall()
    fig = sa.plot(bilingual=False)
    bars = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    assert len(bars) == 2
    data = sobol_chart.sobol_data(overall, bilingual=False)
    for container, col in zip(bars, ("S1", "ST"), strict=True):
        drawn = np.array([p.get_width() for p in container.patches])
        np.testing.assert_array_equal(drawn, data[col].to_numpy())
        np.testing.assert_array_equal(
            np.sort(drawn), np.sort(overall[col].to_numpy())
        )  # the same numbers as the analysis, none lost or rescaled
    assert list(data["variable"]) == list(overall["ST"].sort_values(ascending=False).index)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [
        {"normalise": "normalisation"}.get(v, "pillar weights") for v in data["variable"]
    ]
    assert not any(CJK.search(t) for t in labels)


def test_publication_plan_has_the_sunburst_and_the_sobol_chart():
    result = make_result()
    data = pbuild.figure_data(result, 2024, True)
    stems = [e.stem for e in pbuild.FIGURES if e.shown(data)]
    assert "framework" in stems and "sobol" not in stems
    result.sobol = pd.DataFrame(
        {"variable": ["normalise", "treat"], "S1": [0.5, 0.1], "ST": [0.6, 0.2]}
    )
    data = pbuild.figure_data(result, 2024, False)
    plan = {e.stem: e for e in pbuild.FIGURES if e.shown(data)}
    fig = plan["sobol"].make(data)
    drawn = [p.get_width() for c in fig.axes[0].containers for p in c.patches]
    assert drawn == [0.5, 0.1, 0.6, 0.2]
