"""The framework as a sunburst with effective weights (COINr ``plot_framework``).

:func:`sunburst_data` lays the hierarchy out as rings — ring 1 the index's children (the
pillars), ring 2 their children, … — where every node's wedge is its effective weight (the
product of the within-group weights up to the index, ``nodes.eff_weight``) and sits inside its
parent's wedge, children in framework order. The wedges of a complete ring therefore sum to 1:
$\\sum_{i \\in \\text{ring}} \\tilde w_i = 1$. :func:`framework_sunburst` draws it as a matplotlib
Figure (no pyplot state), with Chinese names when a CJK font is present and English otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Wedge

from index.errors import InputError, Problem
from index.publish import views

RING = 1.0  # radial width of a ring
HOLE = 0.8  # radius of the centre (the index)
LABELLED = 0.012  # wedges narrower than this share of the circle get no label


def drawable(nodes: pd.DataFrame) -> bool:
    """Whether every effective weight is a finite non-negative number: not when a group has
    per-unit weights (benefit of the doubt, OWA: NaN) or weights are negative (raw PCA)."""
    eff = nodes["eff_weight"].to_numpy(dtype=float)
    return bool(np.isfinite(eff).all() and (eff >= 0).all())


def sunburst_data(nodes: pd.DataFrame) -> pd.DataFrame:
    """One row per node below the index: code, parent, ring (1 = the index's children), start and
    width as shares of the full circle (width = effective weight), name_zh, name_en.

    Raises a located error when the effective weights cannot be drawn (:func:`drawable`)."""
    if not drawable(nodes):
        raise InputError(
            Problem("figure", "framework", "eff_weight", "the effective weights are per unit, "
                    "by position or negative: a sunburst would show weights the run does not use")
        )  # fmt: skip
    fw = views.hierarchy(nodes)
    meta = nodes.set_index("code")
    rows = []

    def place(code: str, ring: int, start: float) -> None:
        for child in fw.children.get(code, []):
            width = float(meta.at[child, "eff_weight"])
            rows.append(
                (
                    child,
                    code,
                    ring,
                    start,
                    width,
                    meta.at[child, "name_zh"],
                    meta.at[child, "name_en"],
                )
            )
            place(child, ring + 1, start)
            start += width

    place(fw.root.code, 1, 0.0)
    cols = ["code", "parent", "ring", "start", "width", "name_zh", "name_en"]
    return pd.DataFrame(rows, columns=cols)


def framework_sunburst(nodes: pd.DataFrame, *, bilingual: bool = True) -> Figure:
    """The framework's sunburst: the index in the centre, one ring per level below it, each wedge
    its effective weight (labelled with the name and the percentage), coloured by pillar."""
    from index.publish.figures import PILLAR_COLORS

    data = sunburst_data(nodes)
    pillars = list(data.loc[data["ring"] == 1, "code"])
    pillar_of = views.pillar_of(nodes)
    rings = int(data["ring"].max())
    fig = Figure(figsize=(7.5 + 1.2 * rings, 7.5 + 1.2 * rings), layout="constrained")
    ax = fig.add_subplot()
    zh, en = views.root_names(nodes)
    ax.add_patch(Wedge((0, 0), HOLE, 0, 360, facecolor="0.92", edgecolor="white"))
    ax.text(0, 0, zh if bilingual else en, ha="center", va="center", fontsize=8, wrap=True)
    for r in data.itertuples():
        inner = HOLE + (r.ring - 1) * RING
        theta1, theta2 = 90 - 360 * (r.start + r.width), 90 - 360 * r.start  # clockwise from 12
        base = to_rgb(PILLAR_COLORS[pillars.index(pillar_of[r.code]) % len(PILLAR_COLORS)])
        shade = 0.55 ** (r.ring - 1)  # outer rings lighter
        color = tuple(1 - (1 - c) * shade for c in base)
        ax.add_patch(
            Wedge((0, 0), inner + RING, theta1, theta2, width=RING, facecolor=color,
                  edgecolor="white", linewidth=0.8)
        )  # fmt: skip
        if r.width < LABELLED:
            continue
        mid = np.deg2rad((theta1 + theta2) / 2)
        radius = inner + RING / 2
        name = r.name_zh if bilingual and r.name_zh else r.name_en
        angle = np.rad2deg(mid)
        rotation = angle if -90 <= angle <= 90 else angle - 180  # radial, never upside down
        rotation = rotation if r.ring > 1 else 0.0
        ax.text(
            radius * np.cos(mid), radius * np.sin(mid), f"{name}\n{r.width:.1%}",
            ha="center", va="center", rotation=rotation, rotation_mode="anchor",
            fontsize=8 if r.ring == 1 else 6,
        )  # fmt: skip
    limit = HOLE + rings * RING + 0.05
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(views.label("框架与有效权重", "Framework and effective weights", bilingual))
    return fig
