"""What it takes, searched in lockstep with batched re-runs (the searches of several units
pooled), equals the same searches re-run one trial at a time through the build's own stages (the re-run as it was before batching: the whole
panel imputed with its bookkeeping, treatment year by year, normalisation, aggregation), bit for
bit, on the bundled real data under choices that change which stages read across years or units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index.analysis import claims as cl
from index.config import Config
from index.dataset import load_inputs
from index.errors import InputError
from index.framework import Framework
from index.methods import IndicatorError
from index.pipeline import (
    _impute,
    _normalise,
    _treat,
    aggregate_tree,
    aggregation_options,
    build,
    config_weigher,
    nominal_weights,
)

CHOICES = {
    "default": [],  # latest + worst_grp over the whole panel, the year scored alone
    "cross-sectional": ["impute=mean"],  # the year alone throughout
    "linear": ["impute.method=linear", "impute.fallback=median"],
    "latest, mean": ["impute.method=latest", "impute.fallback=mean"],  # a fallback that sums
    "panel": ["normalise.panel=global"],  # normalised over the built years: the panel re-run
    "reference year": ["normalise.panel=2022"],
    "geometric": ["aggregation=gmean", "normalise.l=1"],  # not linear: searched, not exact
    "own normalisation": ['normalise.per_indicator={"%s": {"method": "zscore"}}'],
    "data-driven weights": ["weighting=entropy"],
}


@pytest.fixture(scope="module")
def inputs(bundled_inputs):
    return load_inputs(bundled_inputs)


@pytest.fixture(scope="module")
def default_build(inputs):
    return build(Config(), inputs)


def one_at_a_time(rs: cl.Rescorer, trials: list[cl.Trial]) -> list[np.ndarray | None]:
    """Each trial re-run alone through the build's stage functions, as before batching."""
    b, out = rs.b, []
    cfg, fw = b.config, b.framework
    for trial in trials:
        d = rs.base.copy()
        for (u, i), v in trial.items():
            d[rs.row(), u, i] = v
        try:
            x, data = _impute(d, cfg, fw, rs.data)[0], rs.data
            if not rs.panel:
                x, data = x[[rs.row()]], rs.year_data
            x = _normalise(_treat(x, cfg, fw, data)[0], cfg, fw, data)
            w = b.weights[rs.yi] if cfg.weighting.joint else nominal_weights(cfg, fw)
            s, _ = aggregate_tree(
                x, fw, np.broadcast_to(w, (len(x), len(w))), weigher=config_weigher(cfg),
                **aggregation_options(cfg),
            )  # fmt: skip
            out.append(s[rs.yi if rs.panel else 0, :, -1])
        except (InputError, IndicatorError):
            out.append(None)
    return out


def _units(b) -> list[int]:
    """Second place, the middle and the last ranked unit of the latest year."""
    r = b.ranks[-1, :, -1]
    order = np.argsort(np.where(np.isnan(r), np.inf, r))[: int((~np.isnan(r)).sum())]
    return [int(order[1]), int(order[len(order) // 2]), int(order[-1])]


def _compare(b, monkeypatch) -> list[pd.DataFrame]:
    units = _units(b)
    batched = cl.what_it_takes_many(b, units)  # the searches of the three units pooled
    with monkeypatch.context() as m:
        m.setattr(cl.Rescorer, "scores_many", one_at_a_time)
        alone = [cl.what_it_takes(b, u) for u in units]
    for u, got, want in zip(units, batched, alone, strict=True):
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=f"unit {u}")
        assert got.attrs == want.attrs
        for c in ("value", "change", "new_value", "change_pct"):  # bit for bit, NaN included
            assert got[c].to_numpy(float).tobytes() == want[c].to_numpy(float).tobytes()
    return batched


@pytest.mark.parametrize("choice", list(CHOICES))
def test_batched_searches_equal_one_trial_at_a_time(default_build, inputs, monkeypatch, choice):
    own = default_build.framework.indicators[5].code
    overrides = [o % own if "%s" in o else o for o in CHOICES[choice]]
    b = build(Config().with_overrides(overrides), inputs) if overrides else default_build
    tables = pd.concat(_compare(b, monkeypatch))
    assert tables["method"].str.startswith("search").any()  # the bisection ran
    if choice == "default":  # the linear answer and the rounding to whole units are covered
        assert (tables["method"] == "exact").any()
        assert tables["method"].str.endswith("whole units").any()


def test_batched_searches_of_a_lower_is_better_indicator(default_build, inputs, monkeypatch):
    fw = default_build.framework
    flip = {fw.indicators[k].code for k in (0, 3)}
    low = Framework.from_nodes(
        fw.root, fw.aggregates,
        [i.model_copy(update={"direction": -1}) if i.code in flip else i for i in fw.indicators],
        fw.source, fw.config,
    )  # fmt: skip
    tables = pd.concat(_compare(build(default_build.config, inputs, low), monkeypatch))
    rows = tables[tables["code"].isin(flip) & tables["method"].str.startswith(("search", "exact"))]
    assert len(rows) and (rows["change"] < 0).all()  # lower is better: the answer is a decrease


def test_a_refused_trial_leaves_the_others_of_its_batch_scored(default_build):
    """A trial the pipeline refuses (a negative value where the treatment takes logs) is None;
    the others of its batch are scored as when alone."""
    code = default_build.framework.indicators[0].code
    b = default_build.rebuild(f'treat.per_indicator={{"{code}": {{"method": "log"}}}}')
    rs = cl.Rescorer(b, len(b.years) - 1)
    u = _units(b)[1]
    y = rs.row()
    trials = [{(u, 0): rs.base[y, u, 0] * 1.5}, {(u, 0): -5.0}, {(u, 1): rs.base[y, u, 1] * 2}]
    got, want = rs.scores_many(trials), one_at_a_time(rs, trials)
    assert got[1] is None and want[1] is None
    for k in (0, 2):
        assert got[k] is not None and want[k] is not None
        assert got[k].tobytes() == want[k].tobytes()
    assert got[0].tobytes() != got[2].tobytes()


def test_a_batch_scores_each_trial_as_alone_with_wide_groups_and_gaps():
    """Six children with uneven weights (where a matrix product's rounding depends on the memory
    layout of its operands) and gaps kept (no imputation): a trial scored in a batch beside
    others, one of them with an extra gap, gets the bits it gets alone."""
    import uncertainty_synthetic as syn

    from index import framework as fwmod

    w = {"a": 0.3, "b": 0.7, "c": 1.1, "d": 1.3, "e": 0.9, "f": 1.7}
    fw = fwmod.from_dict(
        {
            "index": {"code": "idx", "name_en": "Wide"},
            "aggregate": [{"code": "p1", "parent": "idx", "weight": 0.37},
                          {"code": "p2", "parent": "idx", "weight": 0.61}],
            "indicator": [{"code": c, "parent": "p1" if c in w else "p2", "weight": w.get(c, 1.0)}
                          for c in "abcdefghi"],
        },
        "wide.toml",
    )  # fmt: skip
    cfg = Config().with_overrides(["impute=none", "aggregation.dat_thresh=0", "treat=none"])
    b = build(cfg, syn.dataset(), fw)
    rs = cl.Rescorer(b, len(b.years) - 1)
    y, n_units = rs.row(), len(b.dataset.unit_codes)
    for u in range(n_units):
        for i in range(6):
            trial = rs.base.copy()
            trial[y, u, i] *= 1.3
            gap = rs.base.copy()
            gap[y, (u + 1) % n_units, (i + 1) % 6] = np.nan
            alone = rs.scores(trial)
            assert rs._batch(np.stack([trial, gap]))[0].tobytes() == alone.tobytes(), (u, i)
