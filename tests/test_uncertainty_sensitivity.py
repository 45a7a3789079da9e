"""Sobol' indices and leave-one-out on the batched evaluator (synthetic index, TEST DATA ONLY)."""

from __future__ import annotations

import numpy as np
import pytest
import uncertainty_synthetic as syn

from index.analysis import spec as sp
from index.analysis.sensitivity import SCALAR, leave_one_out, sobol_analysis
from index.analysis.uncertainty import Evaluator
from index.config import Config
from index.methods.rank import rank_desc
from index.pipeline import build

BASE = Config(denominate=False)


@pytest.fixture(scope="module")
def fw():
    return syn.framework()


@pytest.fixture(scope="module")
def ds():
    return syn.dataset()


def design(fw, layout: str = "coinr", convention: str = "coinr", n_boot: int = 50) -> sp.Design:
    spec = sp.Spec.model_validate(
        {
            "sampling": {"method": "sobol", "n": 64, "seed": 4},
            "sobol": {"layout": layout, "convention": convention, "n_boot": n_boot},
            "factors": {
                "normalise": [{"method": "minmax", "l": 1, "u": 100}, {"method": "rank"}],
                # two identical alternatives: a dummy input that cannot matter
                "aggregation": {"method": ["amean", "amean"]},
            },
            "weights": [{"name": "w", "levels": [1, 2], "noise": 0.25, "sets": 64}],
        }
    )
    return sp.resolve(spec, BASE, fw)


def test_sobol_dummy_factor_has_zero_indices(fw, ds):
    sa = sobol_analysis(Evaluator(BASE, ds, fw, design(fw)))
    assert sa.outcome.n_runs == 64 * (3 + 2)
    dummy = sa.names.index("aggregation.method")
    assert sa.scalar.S1[dummy] == 0.0 and sa.scalar.ST[dummy] == 0.0
    assert np.all(np.nan_to_num(sa.regional.ST[dummy]) == 0.0)
    assert sa.scalar.ST[sa.names.index("normalise")] > 0.05
    table = sa.table()
    assert set(table["output"]) == {SCALAR, *ds.unit_codes}
    assert {"S1_lo", "S1_hi", "ST_lo", "ST_hi"} <= set(table.columns)
    assert sa.regional_total().shape == (len(ds.unit_codes), 3)


def test_sobol_layouts_give_the_same_indices(fw, ds):
    a = sobol_analysis(Evaluator(BASE, ds, fw, design(fw, "coinr", n_boot=0)))
    b = sobol_analysis(Evaluator(BASE, ds, fw, design(fw, "salib", n_boot=0)))
    # the same base sample evaluated in another order (other chunks: BLAS may round differently)
    np.testing.assert_allclose(a.scalar.S1, b.scalar.S1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.scalar.ST, b.scalar.ST, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.regional.ST, b.regional.ST, rtol=1e-12, atol=1e-15)
    c = sobol_analysis(Evaluator(BASE, ds, fw, design(fw, "salib", "salib", n_boot=20)))
    assert c.scalar.S1_ci is not None and np.all(c.scalar.S1_ci[0] <= c.scalar.S1_ci[1])


def test_leave_one_out_equals_builds_without_each_element(fw, ds):
    ev = Evaluator(BASE, ds, fw, design(fw))
    res = leave_one_out(ev)
    assert res.removed == fw.codes[:-1]
    for k, code in enumerate(res.removed):
        b = build(BASE, ds, fw.with_weights({code: 0.0}))
        expected = rank_desc(b.stage("scores", ev.year)[fw.root.code].to_numpy())
        np.testing.assert_array_equal(res.shifts.ranks[k], expected, err_msg=code)
    summary = res.summary()
    assert list(summary.columns) == [
        "removed", "level", "name_zh", "name_en", "mean_abs_shift", "max_abs_shift"
    ]  # fmt: skip
    assert summary.set_index("removed").at[fw.codes[0], "name_en"] == fw.node(fw.codes[0]).name_en
    assert summary["mean_abs_shift"].gt(0).any()
    table = res.table()
    assert len(table) == len(res.removed) * len(ds.unit_codes)
    np.testing.assert_array_equal(table["shift"], table["nominal"] - table["rank"])
