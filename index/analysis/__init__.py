"""Analysis of a built index: statistical audit, uncertainty design, Sobol' sensitivity, rank statistics.

Modules (pure functions over arrays / wide DataFrames); a build reaches them through its methods
``Build.audit``, ``Build.uncertainty``, ``Build.sensitivity`` and ``Build.leave_one_out``:

- :mod:`index.analysis.audit`      correlations, flags, Cronbach's alpha, PCA, indicator statistics
- :mod:`index.analysis.sampling`   Monte Carlo / Sobol' designs, Saltelli layouts, noisy weights
- :mod:`index.analysis.sobol`      first-order and total Sobol' indices (COINr and SALib conventions)
- :mod:`index.analysis.rankstats`  rank intervals and an exact streaming rank-count accumulator
- :mod:`index.analysis.loo`        leave-one-out rank shifts
- :mod:`index.analysis.spec`       the uncertainty specification (TOML) resolved into a design
- :mod:`index.analysis.uncertainty` the batched, exact evaluator of a design's runs
- :mod:`index.analysis.sensitivity` Sobol' indices and leave-one-out on that evaluator
"""

from __future__ import annotations

import importlib

HELPERS: tuple[tuple[str, str, str, str], ...] = (
    # (name, COINr / Compind counterpart, how a user reaches it, function "module:name")
    ("strengths/weaknesses", "COINr get_str_weak", "compute-index profile REGION; Build.profile",
     "index.analysis.profiles:strengths_weaknesses"),
    ("trends", "COINr get_trends, CAGR, prc_change", "Build.trends; audit workbook sheet trends",
     "index.analysis.trends:trends"),
    ("correlation p-values", "COINr get_pvals", "Build.audit().pvalues; audit sheets pvalue_*",
     "index.analysis.significance:correlation_pvalues"),
    ("denominator correlations", "COINr get_denom_corr",
     "Build.audit().denominator_corr; audit sheet denominator_corr",
     "index.analysis.significance:denominator_correlations"),
    ("data availability, zero counts", "COINr get_data_avail, get_stats",
     "Build.audit().availability / .stats; audit sheets availability, stats",
     "index.analysis.audit:unit_availability"),
    ("unit screening", "COINr Screen", "[screen] in a run config; --set screen.unit_screen=byNA",
     "index.methods.screen:screen"),
    ("AHP consistency", "Saaty CR; group AHP by geometric mean", "index.ahp; weighting=ahp",
     "index.methods.weights:ahp"),
    ("COINr import", "COINr new_coin (iData/iMeta, goalposts, panel Time)",
     "compute-index run --coinr iData.csv iMeta.csv; index.load_coinr",
     "index.coinr:load_coinr"),
)  # fmt: skip
"""The analysis, screening and import functions that are not a step method of a run config,
with how a user reaches each; ``compute-index methods`` lists them."""


def helper_catalogue() -> list[dict[str, str]]:
    """:data:`HELPERS` with the first paragraph of each function's docstring (what it computes)."""
    rows = []
    for name, counterpart, reached, target in HELPERS:
        module, attr = target.split(":")
        doc = (getattr(importlib.import_module(module), attr).__doc__ or "").strip()
        first = _first_sentence(" ".join(doc.split("\n\n")[0].split()).replace("``", ""))
        rows.append({"name": name, "counterpart": counterpart, "reached": reached, "what": first})
    return rows


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not the one of "e.g." or "i.e.")."""
    out = ""
    for piece in text.split(". "):
        out = f"{out}. {piece}" if out else piece
        if not out.endswith(("e.g", "i.e")):
            break
    return out if out.endswith(".") else out + "."
