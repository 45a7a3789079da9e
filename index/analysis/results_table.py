"""The full results table of one build year (COINr ``get_results(tab_type = "Full")``).

Columns: the optional unit-group column, ``Rank`` (of the sort code, by default the index), every
aggregate from the top level down (within a level ordered by parent code, as COINr orders iMeta by
``-Level, Parent``), then every indicator. Rows are sorted by the sort code's score, best first
(missing last). ``use="ranks"`` gives COINr ``rank_df`` ranks of every column instead of scores;
``"groupranks"`` ranks within each unit group and sorts the rows by group. Unlike COINr, scores
are not rounded.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from index.errors import InputError
from index.framework import Framework
from index.methods.rank import rank_desc


def _ranks(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(rank_desc(df.to_numpy(dtype=float), axis=0), df.index, df.columns)


def results_table(
    scores: pd.DataFrame,
    fw: Framework,
    *,
    use: Literal["scores", "ranks", "groupranks"] = "scores",
    groups: pd.Series | None = None,
    order_by: str | None = None,
) -> pd.DataFrame:
    """COINr's full results table of ``scores`` (units × all codes of one year); see the module."""
    missing = [c for c in fw.codes if c not in scores.columns]
    if missing:
        raise InputError(f"results table: codes missing from the scores: {missing}")
    aggs = sorted(
        (c for c in fw.codes if fw.level[c] > 1),
        key=lambda c: (-fw.level[c], fw.parent_of(c) or ""),
    )
    inds = fw.codes_at(1, scores.columns)
    sort_code = order_by or fw.root.code
    if sort_code not in scores.columns:
        raise InputError(f"results table: order_by '{sort_code}' is not a code of the scores")
    if use not in ("scores", "ranks", "groupranks"):
        raise InputError(f"results table: use must be scores, ranks or groupranks, got {use!r}")
    if use == "groupranks" and groups is None:
        raise InputError("results table: use='groupranks' needs the unit groups")
    body = scores[aggs + inds]
    rank = pd.Series(rank_desc(scores[sort_code].to_numpy(dtype=float)), scores.index, name="Rank")
    order = np.argsort(-scores[sort_code].to_numpy(dtype=float), kind="stable")  # NaN last
    if use == "ranks":
        body = _ranks(body)
    elif use == "groupranks" and groups is not None:  # checked above to come with groups
        g = groups.reindex(scores.index)
        body = pd.concat([_ranks(part) for _, part in body.groupby(g, sort=False)]).loc[body.index]
    out = pd.concat([rank, body], axis=1).iloc[order]
    if groups is not None:
        out.insert(0, groups.name or "group", groups.reindex(out.index))
        if use == "groupranks":
            out = out.sort_values(out.columns[0], kind="stable")
    if use != "scores":
        out = out.drop(columns="Rank")
    return out
