"""methodology.md documents every method the code registers and every indicator of the default framework."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import framework as fwmod
from index.methods import aggregate, impute, normalize, treat, weights

TEXT = (Path(__file__).resolve().parents[1] / "methodology.md").read_text(encoding="utf-8")

REGISTRIES = {
    "normalisation": normalize.NORMALISERS,
    "imputation": impute.IMPUTERS,
    "treatment": treat.TREATMENTS,
    "weighting": weights.WEIGHTERS,
    "aggregation": aggregate.AGGREGATORS,
}


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_every_registered_method_is_documented(kind):
    missing = [name for name in REGISTRIES[kind] if f"`{name}`" not in TEXT]
    assert not missing, f"{kind} methods missing from methodology.md: {missing}"


def test_every_default_indicator_is_documented():
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    missing = [c for c in fw.codes if f"`{c}`" not in TEXT and c != fw.root.code]
    assert not missing, f"framework nodes missing from methodology.md: {missing}"


def test_references_are_cited():
    for ref in (
        "Handbook",
        "Saisana",
        "Saltelli",
        "Jansen",
        "Diakoulaki",
        "Mazziotta",
        "Hwang",
        "Saaty",
        "Shannon",
        "Cherchye",
        "Casadio Tarabusi",
        "Yager",
        "Aczél",
        "Cazals",
    ):
        assert ref in TEXT, ref
