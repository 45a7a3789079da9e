"""The public API (``import index``): the Build analysis methods checked against hand computations
and the pipeline's own outputs, on the bundled real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import index
from index.analysis import spec as specmod
from index.analysis.sensitivity import sobol_analysis
from index.analysis.uncertainty import Evaluator
from index.pipeline import build as pipeline_build

YEAR = 2024
# one factor with two alternatives: every run is either the amean or the gmean build
TWO_WAY = {
    "sampling": {"method": "mc", "n": 40, "seed": 3},
    "factors": {"aggregation": {"method": ["amean", "gmean"]}},
}


@pytest.fixture(scope="module")
def b(bundled_inputs) -> index.Build:
    return index.build(data=bundled_inputs)


@pytest.fixture(scope="module")
def positive(b) -> index.Build:
    """Scores on [1, 100], so the geometric mean is defined."""
    return b.rebuild("normalise.l=1")


def test_public_names():
    for name in ("build", "Build", "Config", "InputError", "ahp", "load_spec", "figures", "fonts"):
        assert getattr(index, name) is not None
    assert index.figures.__name__ == "index.publish.figures"
    with pytest.raises(AttributeError):
        _ = index.nope


def test_audit_reads_the_scores_of_the_year(b):
    a = b.audit(YEAR, methods=["pearson"])
    scores = b.stage("scores", YEAR)
    kids = b.framework.children["network"]  # complete in 2024
    x = scores[kids].to_numpy()
    assert not np.isnan(x).any()
    k = len(kids)  # textbook alpha on complete data: k/(k-1) (1 - Σ var_i / var(Σ x_i))
    alpha = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))
    cron = a.cronbach.set_index("group")
    assert cron.at["network", "alpha"] == pytest.approx(alpha, rel=1e-12)
    assert cron.at["compute", "name_zh"] == "算力" and cron.at["compute", "name_en"] == "Compute"
    assert a.stats.at["compute", "mean"] == pytest.approx(scores["compute"].mean(), rel=1e-14)
    assert a.stats.at["compute", "name_en"] == "Compute" and a.stats.at["compute", "level"] == 2
    r = np.corrcoef(scores["compute"], scores[b.framework.root.code])[0, 1]
    wp = a.with_parent.set_index(["code", "ancestor"])["r"]
    assert wp[("compute", b.framework.root.code)] == pytest.approx(r, rel=1e-12)
    assert set(a.correlations) == {"pearson"}


def test_audit_of_an_earlier_stage(b):
    den = b.stage("denominated", YEAR)
    a = b.audit(YEAR, stage="denominated", methods=["pearson"])
    pd.testing.assert_series_equal(
        a.availability["all"], den.notna().mean(axis=1), check_names=False
    )
    assert list(a.stats.index) == b.framework.indicator_codes
    code = b.framework.indicator_codes[0]
    assert a.stats.at[code, "skew"] == pytest.approx(den[code].skew(), rel=1e-12)


def test_uncertainty_is_the_mixture_of_the_two_builds(positive):
    out = positive.uncertainty(spec=TWO_WAY, year=YEAR)
    assert out.n_runs == 40 and out.design.sampling.seed == 3
    gmean = positive.rebuild("aggregation=gmean")
    units = list(out.units.index)
    rank = {
        0: positive.ranking(YEAR)["rank"].loc[units].to_numpy(int),
        1: gmean.ranking(YEAR)["rank"].loc[units].to_numpy(int),
    }
    expected = np.zeros((len(units), len(units)), dtype=int)
    for alt in out.alternatives[:, 0]:
        expected[np.arange(len(units)), rank[alt] - 1] += 1
    assert 0 < out.alternatives[:, 0].sum() < 40  # both alternatives drawn
    np.testing.assert_array_equal(out.distribution().to_numpy(), expected)
    table = out.table().set_index("region_code")
    np.testing.assert_array_equal(table["nominal"].loc[units], rank[0])
    assert table.at["11", "name_zh"] == "北京市" and table.at["11", "name_en"] == "Beijing"
    mean = (expected * np.arange(1, len(units) + 1)).sum(axis=1) / 40
    np.testing.assert_allclose(table["mean"].loc[units], mean, rtol=1e-12)


def test_uncertainty_equals_the_evaluator_on_the_default_spec(b):
    ours = b.uncertainty(64, seed=5, year=YEAR, progress=False)
    spec, source = specmod.load("default")
    design = specmod.resolve(spec, b.config, b.framework, source)
    ev = Evaluator(b.config, b.dataset, b.framework, design, year=YEAR)
    direct = ev.run(design.alternatives(design.uniform(64, 5)), keep_scores=True, progress=False)
    pd.testing.assert_frame_equal(ours.table(), direct.table())
    assert ours.design.sampling.n == 64 and ours.design.spec == spec
    # a Spec object (here the packaged one with another seed) is accepted as it is
    again = b.uncertainty(64, spec=index.load_spec().model_copy(), seed=5, year=YEAR)
    pd.testing.assert_frame_equal(again.table(), ours.table())


def test_uncertainty_errors_are_input_errors(b):
    with pytest.raises(index.InputError, match="nope.toml: spec file not found"):
        b.uncertainty(spec="nope.toml")
    with pytest.raises(index.InputError, match="1990"):
        b.uncertainty(8, year=1990)
    with pytest.raises(index.InputError, match="<arguments>:n: Input should be greater"):
        b.uncertainty(0)


def test_sensitivity_equals_the_core_on_a_saltelli_design(positive):
    sa = positive.sensitivity(16, spec=TWO_WAY, year=YEAR)
    assert sa.outcome.n_runs == 16 * 3 and list(sa.overall().index) == ["aggregation.method"]
    design = specmod.resolve(specmod.validate(TWO_WAY), positive.config, positive.framework)
    ev = Evaluator(positive.config, positive.dataset, positive.framework, design, year=YEAR)
    core = sobol_analysis(ev, n=16, keep_scores=True, progress=False)
    pd.testing.assert_frame_equal(sa.table(), core.table())
    assert sa.regional_total().shape == (31, 1)


def test_leave_one_out_equals_a_build_without_the_element(b, bundled_inputs):
    loo = b.leave_one_out(["compute", "web_pages"], year=YEAR).table()
    for code in ("compute", "web_pages"):
        fw = b.framework.with_weights({code: 0.0})
        without = pipeline_build(b.config, index.load_inputs(bundled_inputs), fw)
        got = loo[loo["removed"] == code].set_index("region_code")["rank"]
        want = without.ranking(YEAR)["rank"]
        np.testing.assert_array_equal(got.loc[want.index].to_numpy(float), want.to_numpy(float))


def test_compare_gives_integer_ranks_and_their_correlation(b):
    equal = b.rebuild("weighting=equal")
    cmp = b.compare(equal, year=YEAR)
    assert cmp.labels == ["baseline", "alternative"]
    assert str(cmp.ranks["baseline"].dtype) == "Int64"
    base, alt = b.ranking(YEAR)["rank"], equal.ranking(YEAR)["rank"]
    np.testing.assert_array_equal(cmp.ranks["baseline"].to_numpy(int), base.loc[cmp.ranks.index])
    np.testing.assert_array_equal(
        cmp.shifts["alternative"].to_numpy(int), (alt - base).loc[cmp.ranks.index]
    )
    assert list(cmp.ranks["baseline"]) == list(range(1, 32))  # rows in baseline rank order
    row = cmp.correlations.iloc[0]
    assert row["spearman"] == pytest.approx(stats.spearmanr(base, alt.loc[base.index])[0])
    assert cmp.ranks.loc["11", "name_zh"] == "北京市"
    long = cmp.long()
    assert len(long) == 62 and set(long["scheme"]) == {"baseline", "alternative"}
    named = b.compare({"equal": equal}, year=YEAR, label="fixed")
    assert named.labels == ["fixed", "equal"]
    assert named.matrix().loc["fixed", "equal"] == pytest.approx(row["spearman"])
    with pytest.raises(index.InputError, match="used twice"):
        b.compare({"baseline": equal})


@pytest.mark.parametrize(
    "what_if",
    [{"weights": {"compute": 2}}, {"exclude": ["web_pages"]}, {"weighting": "entropy"}],
    ids=["weight", "exclude", "entropy"],
)
def test_uncertainty_is_centred_on_the_what_if_build(bundled_inputs, what_if):
    """The nominal run of the analysis is the build it was called on, what-ifs included."""
    b = index.build(data=bundled_inputs, **what_if)
    table = b.uncertainty(8, year=YEAR).table().set_index("region_code")
    ranking = b.ranking(YEAR)
    np.testing.assert_array_equal(table["nominal"].loc[ranking.index], ranking["rank"])
    np.testing.assert_allclose(table["score_nominal"].loc[ranking.index], ranking["score"])
