"""Joint weight optimisation of one whole level against the index (COINr ``get_opt_weights``).

COINr optimises the weights of every element at one level at once, re-aggregating the whole
index for each trial and correlating each element with the index:

* ``optype="balance"``: minimise $\\sum_j (c_j/\\sum_k c_k - t_j)^2$ (the correlations as equal as
  possible, or in the proportions of the target importances $t$);
* ``optype="infomax"``: maximise $\\sum_j c_j$ (the index that carries most information of the
  level's elements);

$c_j$ = Pearson correlation (pairwise-complete) of element j with the index. The per-group forms
(``balance``, ``infomax`` in ``weights``) correlate with the immediate parent; at the level just
below the index the two are the same problem.

Here the weights of each parent's children are kept on the simplex (non-negative, summing to 1
within the group: aggregation divides by the group sum, so the group's scale is immaterial) and
the optimum is found by SLSQP (COINr: Nelder-Mead with ``reltol`` 0.1 on unconstrained weights,
which stops early and can return negative weights).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from index.errors import InputError, Problem
from index.methods.params import constraint
from index.methods.weights import (
    WEIGHTERS,
    _corr_with,
    balance_objective,
    infomax_objective,
    simplex_optimum,
)

OPTYPES = ("balance", "infomax")


@dataclass(frozen=True)
class LevelOptimum:
    """Optimised weights of the level's elements, their correlations with the index, objective."""

    weights: np.ndarray
    correlations: np.ndarray
    objective: float


def optimise_level(
    evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    blocks: Sequence[np.ndarray],
    *,
    optype: Literal["balance", "infomax"] = "infomax",
    targets=None,
    start=None,
) -> LevelOptimum:
    """Optimise the weights ``w (m,)`` of one level's ``m`` elements jointly.

    ``evaluate(w)`` returns the elements' scores ``(n_units, m)`` and the index ``(n_units,)``
    under ``w``; ``blocks`` are the index arrays of each parent's children (a partition of
    ``0..m-1``). ``targets`` (balance only, default equal) are normalised over all ``m``.
    ``start`` defaults to the targets within each block (balance) or equal weights (infomax).
    """
    m = sum(len(b) for b in blocks)
    if optype not in OPTYPES:
        raise InputError(f"optype must be one of {list(OPTYPES)}, got {optype!r}")
    if optype == "infomax" and targets is not None:
        raise InputError("targets apply to optype='balance' only")
    t = np.ones(m) if targets is None else np.asarray(targets, dtype=float)
    if t.shape != (m,) or not np.isfinite(t).all() or (t < 0).any() or t.sum() <= 0:
        raise InputError(
            Problem("optimise", None, "targets", f"balance targets need {m} non-negative numbers, not all zero")
        )  # fmt: skip
    t = t / t.sum()
    if start is None:
        start = np.empty(m)
        for b in blocks:
            start[b] = t[b] / t[b].sum() if optype == "balance" and t[b].sum() > 0 else 1 / len(b)
    start = np.asarray(start, dtype=float)

    def correlations(w: np.ndarray) -> np.ndarray:
        scores, index = evaluate(w)
        return _corr_with(scores, index)

    def objective(w: np.ndarray) -> float:
        c = correlations(w)
        return balance_objective(c, t) if optype == "balance" else infomax_objective(c)

    w = simplex_optimum(objective, start, blocks)
    return LevelOptimum(w, correlations(w), objective(w))


@constraint(
    "optype='balance' for targets",
    lambda p: p.get("targets") is None or p.get("optype") == "balance",
)
def optimise(
    x,
    *,
    level: Annotated[int, Field(ge=1)],
    optype: Literal["balance", "infomax"] = "infomax",
    targets: list[float] | None = None,
) -> np.ndarray:
    """COINr get_opt_weights(Level, optype): one whole level's weights optimised against the index.

    The weights of every node at ``level`` (1 = indicators) are optimised jointly, each year
    (``optimise_level`` through ``index.pipeline.optimise_level_weights``); ``targets``
    (balance only) give one importance per node of the level, in framework order.

    The optimisation needs the whole tree, not one group's children, so the build runs it (the
    registry entry declares the settings ``--set weighting=optimise --set weighting.level=2``
    and refuses to weigh a lone group)."""
    raise InputError(
        "weighting 'optimise' weighs a whole level against the index: use it in a run "
        "configuration (index.pipeline.optimise_level_weights), not on one group's children"
    )


WEIGHTERS["optimise"] = optimise
JOINT = "optimise"
"""The weighting method the build runs over the whole tree (not group by group)."""
