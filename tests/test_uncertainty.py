"""Uncertainty spec and the batched evaluator: every batched run equals a pipeline build of that run.

Synthetic index from ``uncertainty_synthetic`` (TEST DATA ONLY).
"""

from __future__ import annotations

import tomllib
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import uncertainty_synthetic as syn

from index import framework as fwmod
from index.analysis import spec as sp
from index.analysis.rankstats import rank_stats
from index.analysis.uncertainty import Evaluator, ScoreMoments, _groups, publication_intervals
from index.config import Config
from index.errors import InputError
from index.methods.rank import rank_desc
from index.pipeline import build

BASE = Config(denominate=False)

SPEC = """
[sampling]
method = "mc"
n = 60
seed = 3

[factors]
treat = [{method = "none"}, {method = "winsorise", winmax = 1}, {method = "winsorise", winmax = 3}]
normalise = [{method = "minmax", l = 1, u = 100}, {method = "zscore", m = 10, s = 2}, {method = "rank"}]
aggregation.method = ["amean", "gmean"]

[[weights]]
name = "w_ind"
levels = [1]
noise = 0.25
sets = 50

[[weights]]
name = "w_pil"
levels = [2]
concentration = 20
sets = 50

[[exclude]]
codes = ["a", "e", "i"]
"""


@pytest.fixture(scope="module")
def fw():
    return syn.framework()


@pytest.fixture(scope="module")
def ds():
    return syn.dataset()


@pytest.fixture(scope="module")
def design(fw):
    return sp.resolve(sp.validate(tomllib.loads(SPEC)), BASE, fw, "spec.toml")


def run_by_build(ev: Evaluator, alts: np.ndarray, ds, fw) -> np.ndarray:
    """Index scores of each run from a full ``build`` with that run's config and weights."""
    out = []
    for row in alts:
        overrides, w = [], fw.nominal_weights()
        for f, a in zip(ev.design.factors, row, strict=True):
            if f.stage == "weights":
                w = w * f.multipliers[a]
            else:
                overrides.append(f.overrides[a])
        fw_i = fw.with_weights(dict(zip(fw.codes, w, strict=True)))
        b = build(BASE.with_overrides(overrides), ds, fw_i)
        out.append(b.stage("scores", ev.year)[fw.root.code].to_numpy())
    return np.array(out)


# ---- the spec ----------------------------------------------------------------------------------
def test_factors_flatten_dotted_keys_with_labels(design):
    assert design.names == ["treat", "normalise", "aggregation.method", "w_ind", "w_pil", "exclude"]
    assert list(design.n_alts) == [3, 3, 2, 50, 50, 4]
    assert design.factors[1].labels == ("minmax(l=1,u=100)", "zscore(m=10,s=2)", "rank")
    assert design.factors[2].overrides == (
        'aggregation.method="amean"',
        'aggregation.method="gmean"',
    )
    assert [f.stage for f in design.factors] == [
        "upstream",
        "upstream",
        "aggregation",
        "weights",
        "weights",
        "weights",
    ]
    assert design.factors[5].labels == ("none", "a", "e", "i")


@pytest.mark.parametrize(
    "text,where,message",
    [
        ("[factors]\nframework = ['a', 'b']", "factors.framework", "cannot vary"),
        ("[factors]\ntreat.winmax = [3]", "factors.treat.winmax", "at least 2"),
        (
            "[factors]\nnormalise.panel = ['per_year', 'sometimes']",
            "factors.normalise.panel[1]",
            "",
        ),
        (
            "[[weights]]\nname = 'w'\nlevels = [3]\nnoise = 0.2",
            "weights.w.levels",
            "levels are 1..2",
        ),
        (
            "[[weights]]\nname = 'w'\nlevels = [1]\nnoise = 0.2\nconcentration = 3",
            "weights.0",
            "exactly one",
        ),
        ("[[exclude]]\ncodes = ['zz']", "exclude.exclude.codes", "zz"),
        ("[sampling]\nmethod = 'lhs'", "sampling.method", ""),
        ("[factor]\ntreat = []", "factor", "Extra inputs"),
        ("", "", "varies nothing"),
    ],
)
def test_spec_errors_are_located(fw, text, where, message):
    with pytest.raises(InputError) as err:
        sp.resolve(sp.validate(tomllib.loads(text), "bad.toml"), BASE, fw, "bad.toml")
    text = "\n".join(map(str, err.value.problems))
    assert text.startswith("bad.toml") and where in text and message in text


def test_noise_tables_perturb_only_their_level(design, fw):
    levels = np.array([fw.level[c] for c in fw.codes])
    noise = design.factors[3].multipliers
    assert noise.shape == (50, len(fw.codes))
    assert np.all(noise[:, levels != 1] == 1.0)
    assert np.all(np.abs(noise[:, levels == 1] - 1) <= 0.25) and noise[:, levels == 1].std() > 0.1
    again = sp.resolve(sp.validate(tomllib.loads(SPEC)), BASE, fw)
    np.testing.assert_array_equal(again.factors[3].multipliers, noise)  # seeded


def test_dirichlet_table_keeps_group_totals(design, fw):
    levels = np.array([fw.level[c] for c in fw.codes])
    table = design.factors[4].multipliers
    w = fw.nominal_weights() * table
    pillars = levels == 2
    np.testing.assert_allclose(w[:, pillars].sum(axis=1), fw.nominal_weights()[pillars].sum())
    assert np.all(table[:, ~pillars] == 1.0) and table[:, pillars].std() > 0.05


def test_exclusion_table_zeroes_one_element(design, fw):
    table = design.factors[5].multipliers
    assert np.all(table[0] == 1.0)
    for row, code in zip(table[1:], ["a", "e", "i"], strict=True):
        assert np.flatnonzero(row == 0).tolist() == [fw.codes.index(code)]


def test_default_spec_resolves_against_default_framework():
    spec, source = sp.load()
    design = sp.resolve(spec, Config(), fwmod.load(fwmod.DEFAULT_FRAMEWORK), source)
    assert design.names == [
        "treat",
        "normalise",
        "weighting",
        "aggregation.method",
        "indicator_weights",
        "pillar_weights",
    ]
    assert list(design.n_alts) == [6, 3, 3, 2, 1000, 1000]


def test_floor_mapping_is_balanced(design):
    u = design.uniform(4096)
    alts = design.alternatives(u)
    assert alts.shape == (4096, 6) and alts.min() == 0
    assert np.all(alts.max(axis=0) == design.n_alts - 1)


# ---- the evaluator -------------------------------------------------------------------------------
def test_batched_runs_equal_builds_run_by_run(design, ds, fw):
    ev = Evaluator(BASE, ds, fw, design)
    alts = design.alternatives(design.uniform(40, seed=11))
    out = ev.run(alts, keep_ranks=True, keep_scores=True, progress=False)
    expected = run_by_build(ev, alts, ds, fw)
    np.testing.assert_allclose(out.scores, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(out.ranks, rank_desc(expected, axis=-1))
    nominal = build(BASE, ds, fw).stage("scores", ev.year)[fw.root.code].to_numpy()
    np.testing.assert_allclose(ev.nominal_scores, nominal, rtol=1e-13)


def test_data_driven_weighting_equals_build(ds, fw):
    base = BASE.with_overrides(['weighting={"method": "entropy", "levels": [1]}'])
    design = sp.Design(
        (sp.config_factor("wm", "weighting", [{"method": "critic"}, {"method": "equal"}], base),)
    )
    ev = Evaluator(base, ds, fw, design)
    np.testing.assert_allclose(
        ev.nominal_scores, build(base, ds, fw).stage("scores")[fw.root.code], rtol=1e-13
    )
    out = ev.run(np.array([[0], [1]]), keep_scores=True, progress=False)
    for row, over in zip(out.scores, design.factors[0].overrides, strict=True):
        b = build(base.with_overrides([over]), ds, fw)
        np.testing.assert_allclose(row, b.stage("scores")[fw.root.code], rtol=1e-12)


def test_chunk_size_does_not_change_the_result(design, ds, fw):
    alts = design.alternatives(design.uniform(300, seed=5))
    big = Evaluator(BASE, ds, fw, design).run(alts, keep_ranks=True, progress=False)
    small_ev = Evaluator(BASE, ds, fw, design)
    small_ev.chunk, small_ev.pool = 7, 12  # chunks and pooled updates across variants
    small = small_ev.run(alts, keep_ranks=True, progress=False)
    np.testing.assert_array_equal(big.counts.counts, small.counts.counts)
    np.testing.assert_array_equal(big.ranks, small.ranks)
    np.testing.assert_array_equal(big.y, small.y)
    np.testing.assert_allclose(big.moments.mean, small.moments.mean, rtol=1e-12)


def test_worker_processes_give_the_same_result(design, ds, fw):
    """Any number of processes streams the same pools and combines their moments in pool
    order: every output is the same bits (a publication's Parquet files are byte-identical)."""
    ev = Evaluator(BASE, ds, fw, design)
    ev.chunk, ev.pool = 5, 11
    alts = design.alternatives(design.uniform(200, seed=6))
    one = ev.run(alts, keep_ranks=True, keep_scores=True, progress=False)
    for jobs in (2, 3):
        many = ev.run(alts, keep_ranks=True, keep_scores=True, progress=False, jobs=jobs)
        np.testing.assert_array_equal(one.counts.counts, many.counts.counts)
        np.testing.assert_array_equal(one.ranks, many.ranks)
        np.testing.assert_array_equal(one.scores, many.scores)
        np.testing.assert_array_equal(one.y, many.y)
        for name in ("n", "mean", "m2", "min", "max"):
            np.testing.assert_array_equal(getattr(one.moments, name), getattr(many.moments, name))


def test_streamed_statistics_match_the_full_arrays(design, ds, fw):
    ev = Evaluator(BASE, ds, fw, design)
    ev.chunk, ev.pool = 16, 40
    alts = design.alternatives(design.uniform(200, seed=8))
    out = ev.run(alts, keep_ranks=True, keep_scores=True, progress=False)
    ref = rank_stats(out.ranks, ev.nominal_ranks)
    got = out.rank_stats
    for a, b in [(got.mean, ref.mean), (got.median, ref.median), (got.quantiles, ref.quantiles)]:
        np.testing.assert_array_equal(a, b)
    table = out.table()
    np.testing.assert_allclose(table["score_mean"], out.scores.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(table["score_sd"], out.scores.std(axis=0, ddof=1), rtol=1e-10)
    np.testing.assert_array_equal(table["score_max"], out.scores.max(axis=0))
    np.testing.assert_array_equal(table["score_q95"], np.quantile(out.scores, 0.95, axis=0))
    assert out.distribution().to_numpy().sum() == 200 * len(ds.unit_codes)
    y = np.abs(out.ranks - ev.nominal_ranks).mean(axis=1)
    np.testing.assert_allclose(out.y, y)
    assert 0 <= out.within((0, 100)).iloc[0] <= 1 and out.within((0, 100)).iloc[1] == 1.0


def test_score_moments_skip_nan():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[:, 3] = np.nan
    m = ScoreMoments(4)
    for part in np.array_split(x, 7):
        m.update(part)
    f = m.frame()
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_allclose(f["score_mean"], np.nanmean(x, axis=0), rtol=1e-12)
        np.testing.assert_allclose(f["score_sd"], np.nanstd(x, axis=0, ddof=1), rtol=1e-12)
    assert np.isnan(f["score_min"][3])


def test_groups_split_runs_by_config_choices():
    cols = np.array([[1, 0], [0, 2], [1, 0], [0, 2], [1, 1]])
    groups = _groups(cols, np.array([2, 3]))
    assert [(k, r.tolist()) for k, r in groups] == [
        ((0, 2), [1, 3]),
        ((1, 0), [0, 2]),
        ((1, 1), [4]),
    ]
    assert [r.tolist() for _, r in _groups(cols[:, :0], np.array([], dtype=int))] == [
        [0, 1, 2, 3, 4]
    ]


def test_panel_normalisation_uses_every_year(ds, fw):
    base = BASE.with_overrides(["normalise.panel=global"])
    design = sp.Design((sp.config_factor("agg", "aggregation.method", ["amean", "hmean"], base),))
    ev = Evaluator(base, ds, fw, design, year=2020)
    assert ev.data.years == syn.YEARS
    ref = build(base, ds, fw).stage("scores", 2020)[fw.root.code]
    np.testing.assert_allclose(ev.nominal_scores, ref, rtol=1e-13)
    assert Evaluator(BASE, ds, fw, design, year=2020).data.years == (2020,)


def test_impossible_combination_names_the_variant(ds, fw):
    base = BASE.with_overrides(['normalise={"method": "zscore", "m": 0, "s": 1}'])
    design = sp.Design((sp.config_factor("agg", "aggregation.method", ["amean", "gmean"], base),))
    ev = Evaluator(base, ds, fw, design)
    with pytest.raises(InputError) as err:
        ev.run(np.array([[0], [1]]), progress=False)
    assert "agg=gmean" in str(err.value) and "negative" in str(err.value)


def test_year_and_alternatives_are_checked(design, ds, fw):
    with pytest.raises(InputError, match="1999"):
        Evaluator(BASE, ds, fw, design, year=1999)
    ev = Evaluator(BASE, ds, fw, design)
    with pytest.raises(InputError, match="w_ind"):
        ev.run(np.array([[0, 0, 0, 50, 0, 0]]), progress=False)
    with pytest.raises(InputError, match="integer array"):
        ev.run(np.zeros((2, 3)), progress=False)


def test_publication_intervals(tmp_path, ds, fw):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    b = build(BASE, ds, fw)
    settings = SimpleNamespace(spec=str(spec), runs=64, seed=1)
    one = publication_intervals(b, settings, 2021)
    assert list(one.columns) == ["region_code", "nominal", "mean", "median", "q05", "q95"]
    assert len(one) == len(ds.unit_codes) and (one["q05"] <= one["q95"]).all()
    pd.testing.assert_frame_equal(one, publication_intervals(b, settings, 2021))


def test_linear_variants_are_one_product_equal_to_node_by_node(design, ds, fw):
    """A variant whose tree is one weighted mean (complete data, amean or gmean at every level)
    is scored by one effective-weights product; it equals the node-by-node pass."""
    import dataclasses

    from index.analysis.uncertainty import _linear_kind

    complete = BASE.with_overrides(["impute=mean"])  # the synthetic data have gaps
    design = sp.resolve(sp.validate(tomllib.loads(SPEC)), complete, fw, "spec.toml")
    ev = Evaluator(complete, ds, fw, design)
    alts = design.alternatives(design.uniform(300, seed=11))
    kinds = []
    for key, runs in _groups(alts[:, ev._cfg_cols], design.n_alts[ev._cfg_cols]):
        v = ev.variant(key)
        m = ev.multipliers(alts[runs])
        kinds.append(None if v.linear is None else ("gmean" if v.log else "amean"))
        slow = ev.scores(m, dataclasses.replace(v, linear=None))
        np.testing.assert_allclose(ev.scores(m, v), slow, rtol=1e-12)
    assert {"amean", "gmean"} <= set(kinds)
    v = ev.nominal
    gap = v.xn.copy()
    gap[0, 0] = np.nan  # missing values re-normalise per unit: node by node
    assert _linear_kind(dataclasses.replace(v, xn=gap), fw) is None
    for options in ({**v.options, "dat_thresh": 2.0}, {**v.options, "method": "hmean"}):
        assert _linear_kind(dataclasses.replace(v, options=options), fw) is None
    assert _linear_kind(v, fw) == "amean"  # every child present: a threshold changes nothing
    assert _linear_kind(dataclasses.replace(v, options={**v.options, "dat_thresh": 1.0}), fw)


def test_variant_configs_equal_the_overrides_applied_together(design, ds, fw):
    """A variant's config is composed from its factors' alternatives validated one by one; it is
    the config ``with_overrides`` gives for the whole combination (fields, given fields, record
    of overrides), and factors writing one section fall back to that combination."""
    import itertools

    shared = sp.Design(
        (
            sp.config_factor("u", "normalise.u", [50, 100], BASE),
            sp.config_factor("l", "normalise.l", [0, 1], BASE),
            sp.config_factor("agg", "aggregation.method", ["amean", "gmean"], BASE),
        )
    )
    for d in (design, shared):
        ev = Evaluator(BASE, ds, fw, d)
        factors = [d.factors[k] for k in ev._cfg_cols]
        assert (ev._sections is None) == (d is shared)
        for key in itertools.product(*(range(f.n_alt) for f in factors)):
            got = ev._config_of(key)
            want = BASE.with_overrides([f.overrides[a] for f, a in zip(factors, key, strict=True)])
            assert got == want and got.overrides == want.overrides
            assert got.model_dump(exclude_unset=True) == want.model_dump(exclude_unset=True)


def test_factor_configs_are_reused_only_for_the_config_resolved_for():
    """A config factor's alternatives are validated once, at resolve, for its base config; for
    any other base they are validated again, so an alternative that is wrong there is still an
    error (here ``normalise.l``, which a z-score does not take)."""
    f = sp.config_factor("l", "normalise.l", [0, 1], BASE)
    assert [f.config(BASE, a) for a in range(2)] == [BASE.with_overrides([o]) for o in f.overrides]
    assert f.config(BASE, 1) is f.configs[1]
    other = BASE.with_overrides(["normalise.u=50"])
    assert f.config(other, 1) == other.with_overrides(["normalise.l=1"])
    zscore = BASE.with_overrides(['normalise={"method": "zscore"}'])
    with pytest.raises(InputError, match="unknown parameter 'l' for normalisation 'zscore'"):
        f.config(zscore, 0)


def test_effective_weights_table_gives_the_per_run_scores(ds, fw):
    """Runs sharing few weight choices read their effective weights from one table per variant;
    the scores are bit for bit those of the per-chunk product (and of the node-by-node pass to
    1e-12)."""
    import dataclasses

    from index.analysis.uncertainty import _weight_choices

    complete = BASE.with_overrides(["impute=mean", "normalise.l=1"])  # complete, positive
    rng = np.random.default_rng(5)
    sets = fw.nominal_weights() * rng.uniform(0.5, 1.5, size=(4, len(fw.codes)))
    design = sp.Design(
        (
            sp.config_factor("agg", "aggregation.method", ["amean", "gmean"], complete),
            sp.weight_sets("w", fw, sets),
        )
    )
    ev = Evaluator(complete, ds, fw, design)
    alts = design.alternatives(design.uniform(200, seed=2))
    assert _weight_choices(alts, [1], design.n_alts) is not None
    out = ev.run(alts, keep_scores=True, progress=False)
    for key, runs in _groups(alts[:, ev._cfg_cols], design.n_alts[ev._cfg_cols]):
        v = ev.variant(key)
        assert v.linear is not None
        m = ev.multipliers(alts[runs])
        np.testing.assert_array_equal(out.scores[runs], ev.scores(m, v))
        slow = ev.scores(m, dataclasses.replace(v, linear=None))
        np.testing.assert_allclose(out.scores[runs], slow, rtol=1e-12)
