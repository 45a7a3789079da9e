"""COINr's ``Treat(combine_treat = TRUE)``: ``f2`` of ``f1``'s result instead of the original values.

Expected numbers are written out by hand from the formulas, not taken from the code under test:

* ``X`` = 1..10, 30, 100, 1000, 5000 fails the test; one Winsorisation step (``winmax = 1``)
  replaces the maximum 5000 by the next value 1000, giving ``W`` = 1..10, 30, 100, 1000, 1000,
  which still fails (both statistics are computed below from the central moments). Then
  ``log_CT`` = $\\ln(x - \\min x + 0.01(\\max x - \\min x))$ is, by default, of the ORIGINAL values:
  $\\ln(x - 1 + 49.99)$; with ``combine_treat`` of the WINSORISED ones: $\\ln(w - 1 + 9.99)$.
* ``B`` = nine 1s and one 100 (tests/test_treat_stages.py): $G_1 = \\sqrt{10}$, $G_2 = 10$ before
  and after any monotone transformation. ``f1 = "log_CT_orig"`` gives $\\ln(x - 1 + 1) = \\ln x$,
  i.e. nine 0s and $\\ln 100$; combined, ``log_CT`` of that is $\\ln(0.01 \\ln 100)$ and
  $\\ln(1.01 \\ln 100)$.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _prep_oracle import indicators, units_matrix
from typer.testing import CliRunner

from index.cli import app
from index.config import Config
from index.errors import InputError
from index.methods import treat as tr

X = np.r_[np.arange(1.0, 11.0), 30.0, 100.0, 1000.0, 5000.0]
W = np.r_[np.arange(1.0, 11.0), 30.0, 100.0, 1000.0, 1000.0]  # X Winsorised once, by hand
B = np.r_[np.ones(9), 100.0]
LIN = np.arange(1.0, 15.0)


def g1_g2(v: np.ndarray) -> tuple[float, float]:
    """Adjusted skewness and excess kurtosis from the central moments (e1071 type 2)."""
    n, d = len(v), v - v.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    g1 = math.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5
    g2 = (n - 1) * ((n + 1) * (m4 / m2**2 - 3) + 6) / ((n - 2) * (n - 3))
    return g1, g2


def fails(v: np.ndarray) -> bool:
    g1, g2 = g1_g2(v)
    return abs(g1) >= 2 and g2 >= 3.5


def test_the_hand_worked_column_still_fails_after_winsorisation():
    """The statistics methodology.md quotes for this case (to two decimals)."""
    for v, (g1, g2) in (
        (X, (3.52, 12.65)),
        (W, (2.27, 3.72)),
        (np.log(X + 48.99), (2.35, 4.92)),  # the default result fails again
    ):
        assert g1_g2(v) == pytest.approx((g1, g2), abs=0.005) and fails(v)
    assert g1_g2(np.log(W + 8.99))[0] == pytest.approx(1.74, abs=0.005)  # combined: passes
    assert not fails(np.log(W + 8.99))


def test_default_f2_is_of_the_original_values_combine_of_the_winsorised_ones():
    default = tr.treat(X[:, None], winmax=1)
    np.testing.assert_allclose(default.x[:, 0], np.log(X - 1 + 0.01 * 4999), rtol=1e-14)
    assert default.details.treatment[0] == "log_CT"
    assert list(default.flags[:, 0]) == ["log_CT"] * 14

    res = tr.treat(X[:, None], winmax=1, combine_treat=True)
    np.testing.assert_allclose(res.x[:, 0], np.log(W - 1 + 0.01 * 999), rtol=1e-14)
    d = res.details.iloc[0]
    assert d.treatment == "winsorise+log_CT" and d["winsorise.nwin"] == 1
    g1, g2 = g1_g2(np.log(W + 8.99))
    assert d["check_SkewKurt2.Pass"]
    assert d["check_SkewKurt2.Skew"] == pytest.approx(g1, rel=1e-10)
    assert d["check_SkewKurt2.Kurt"] == pytest.approx(g2, rel=1e-10)
    for stage, v in ((0, X), (1, W)):  # the tests before f2 are the same either way
        assert not d[f"check_SkewKurt{stage}.Pass"]
        assert d[f"check_SkewKurt{stage}.Skew"] == pytest.approx(g1_g2(v)[0], rel=1e-10)
    # COINr's Treated_Points of a combined treatment: the Winsorised point is "winhi+log_CT"
    assert list(res.flags[:, 0]) == ["log_CT"] * 13 + ["winhi+log_CT"]


def test_combine_at_the_low_end_and_missing_values_stay_missing():
    x = np.r_[-X, np.nan][:, None]
    res = tr.treat(x, winmax=1, combine_treat=True)
    # -W: min -1000, max -1, range 999
    np.testing.assert_allclose(res.x[:14, 0], np.log(-W + 1000 + 0.01 * 999), rtol=1e-14)
    assert np.isnan(res.x[14, 0]) and res.flags[14, 0] == ""
    assert list(res.flags[:14, 0]) == ["log_CT"] * 13 + ["winlo+log_CT"]


def test_combine_after_a_first_stage_transformation():
    default = tr.treat(B[:, None], f1="log_CT_orig")
    np.testing.assert_allclose(default.x[:, 0], np.r_[[math.log(0.99)] * 9, math.log(99.99)])
    res = tr.treat(B[:, None], f1="log_CT_orig", combine_treat=True)
    ln100 = math.log(100.0)  # T1(B) = ln B: nine 0s and ln 100
    np.testing.assert_allclose(
        res.x[:, 0], np.r_[[math.log(0.01 * ln100)] * 9, math.log(1.01 * ln100)], rtol=1e-14
    )
    d = res.details.iloc[0]
    assert d.treatment == "log_CT_orig+log_CT"
    for stage in (0, 1, 2):
        assert not d[f"check_SkewKurt{stage}.Pass"]
        assert d[f"check_SkewKurt{stage}.Skew"] == pytest.approx(math.sqrt(10), rel=1e-12)
        assert d[f"check_SkewKurt{stage}.Kurt"] == pytest.approx(10.0, rel=1e-12)
    assert (res.flags[:, 0] == "log_CT_orig+log_CT").all()


def test_combine_boxcox_then_log_of_the_boxcox_values():
    # f1 = boxcox (λ = 0.5) of B: y = x - 1 + 1 = x, (√y - 1)/0.5 → nine 0s and 18; still
    # two-valued, so f2 = log1p applies: ln(1 + 0) = 0 and ln 19
    res = tr.treat(B[:, None], f1="boxcox", f2="log1p", combine_treat=True)
    np.testing.assert_allclose(res.x[:, 0], np.r_[[0.0] * 9, math.log(19.0)], rtol=1e-15)
    assert res.details.treatment[0] == "boxcox+log1p"


def test_indicators_that_pass_are_untouched_and_per_indicator_combine():
    x = np.column_stack([X, X, LIN])
    res = tr.treat(x, winmax=1, per_indicator={1: {"combine_treat": True}})
    np.testing.assert_allclose(res.x[:, 0], np.log(X + 48.99), rtol=1e-14)
    np.testing.assert_allclose(res.x[:, 1], np.log(W + 8.99), rtol=1e-14)
    np.testing.assert_array_equal(res.x[:, 2], LIN)
    assert list(res.details.treatment) == ["log_CT", "winsorise+log_CT", "none"]
    # combine everywhere: the passing column is still untouched
    both = tr.treat(x, winmax=1, combine_treat=True)
    np.testing.assert_array_equal(both.x[:, 1:], res.x[:, 1:])
    assert list(both.details.treatment) == ["winsorise+log_CT"] * 2 + ["none"]


@pytest.fixture(scope="module")
def raw(oracle_dir):
    codes = list(indicators(oracle_dir).iCode)
    return units_matrix(oracle_dir, "input_raw_dset_sorted.csv", codes)


def test_combine_is_f2_of_the_first_stage_result_on_coinr_data(raw, oracle_dir):
    """On COINr's ASEM data with winmax 1 (9 indicators fall back on log_CT in COINr's
    Dets_Table): the combined result is log_CT, by its formula, of what f2 = "none" keeps (the
    Winsorised values)."""
    first = tr.treat(raw, winmax=1, f2="none")
    default = tr.treat(raw, winmax=1)
    res = tr.treat(raw, winmax=1, combine_treat=True)
    fell = default.details.treatment.to_numpy() == "log_CT"
    ref = pd.read_csv(oracle_dir / "treatcat_winmax1_details.csv")
    np.testing.assert_array_equal(fell, ref["check_SkewKurt2.Pass"].notna().to_numpy())
    assert fell.sum() == 9
    w = first.x[:, fell]
    lo, hi = np.nanmin(w, axis=0), np.nanmax(w, axis=0)
    np.testing.assert_allclose(res.x[:, fell], np.log(w - lo + 0.01 * (hi - lo)), rtol=1e-13)
    np.testing.assert_array_equal(res.x[:, ~fell], default.x[:, ~fell])
    assert set(res.details.treatment[fell]) == {"winsorise+log_CT"}
    marks = first.flags[:, fell]
    expected = np.where(marks == "", "log_CT", np.char.add(marks.astype(str), "+log_CT"))
    np.testing.assert_array_equal(res.flags[:, fell], np.where(np.isnan(w), "", expected))


def test_batch_shared_walks_and_columns_agree_with_combine(raw):
    """The vectorised paths (a leading batch axis, walks shared across winmax, all columns at
    once) give the per-item, fresh, per-column results."""
    stack = np.stack([raw, raw[::-1] * 2.0 + 1.0])
    batch = tr.treat(stack, winmax=1, combine_treat=True)
    for k in range(2):
        single = tr.treat(stack[k], winmax=1, combine_treat=True)
        np.testing.assert_array_equal(batch.x[k], single.x)
        np.testing.assert_array_equal(batch.flags[k], single.flags)
    for j in range(raw.shape[1]):
        col = tr.treat(raw[:, [j]], winmax=1, combine_treat=True)
        np.testing.assert_array_equal(col.x[:, 0], batch.x[0][:, j])
        np.testing.assert_array_equal(col.flags[:, 0], batch.flags[0][:, j])
    fresh = {
        (wm, c): tr.treat(raw, winmax=wm, combine_treat=c) for wm in (1, 3) for c in (False, True)
    }
    with tr.shared_walks({}) as store:
        for wm, c in ((3, True), (1, False), (1, True), (3, False)):
            shared = tr.treat(raw, winmax=wm, combine_treat=c)
            np.testing.assert_array_equal(shared.x, fresh[wm, c].x)
            np.testing.assert_array_equal(shared.flags, fresh[wm, c].flags)
            pd.testing.assert_frame_equal(shared.details, fresh[wm, c].details)
        assert len(store) == 1  # combine_treat acts after the walk: one walk serves both


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"f2": "none"}, "combine_treat changes nothing: f2 = 'none' applies no second stage"),
        ({"f1": "none"}, "combine_treat changes nothing: f1 = 'none' leaves the values"),
        ({"winmax": 0}, "combine_treat changes nothing: winmax = 0 Winsorises nothing"),
        ({"method": "log_CT"}, "combine_treat changes nothing: method 'log_CT'"),
        ({"method": "none", "per_indicator": {0: {"method": "winsorise", "f2": "none"}}}, ""),
    ],
)
def test_combine_that_changes_nothing_is_an_error(kwargs, message):
    with pytest.raises(InputError, match=message or "combine_treat changes nothing"):
        tr.treat(np.column_stack([X, LIN]), combine_treat=True, **kwargs)


def test_combine_in_an_entry_that_changes_nothing_names_the_column():
    with pytest.raises(InputError, match="column 1: combine_treat changes nothing: f2 = 'none'"):
        tr.treat(np.column_stack([X, X]), per_indicator={1: {"combine_treat": True, "f2": "none"}})
    # inherited by an entry that cannot use it, but used by the others: not an error
    tr.treat(np.column_stack([X, X]), combine_treat=True, per_indicator={1: {"f2": "none"}})


@pytest.mark.parametrize("value", ["no", 1, None])
def test_combine_must_be_a_bool_in_the_python_api(value):
    with pytest.raises(InputError, match="combine_treat must be true or false"):
        tr.treat(X[:, None], combine_treat=value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["treat.combine_treat=1"], r"combine_treat: Input should be a valid boolean \(got 1\)"),
        (['treat.combine_treat="true"'], r"combine_treat: Input should be a valid boolean"),
        (
            ["treat.combine_treat=true", "treat.f2=none"],
            r"treat.combine_treat changes nothing: f2 = 'none'",
        ),
        (["treat=log_CT", "treat.combine_treat=true"], r"treat.combine_treat changes nothing"),
        (
            ['treat.per_indicator={"a": {"f1": "none", "combine_treat": true}}'],
            r"treat.per_indicator.a.combine_treat changes nothing: f1 = 'none'",
        ),
        (
            ['treat.per_indicator={"a": {"combine_treat": "yes"}}'],
            r"treat.per_indicator.a: combine_treat: Input should be a valid boolean",
        ),
        # no limit: Winsorised until it passes (or is constant), so no fallback runs
        (
            ["treat.winmax=null", "treat.combine_treat=true"],
            r"treat.combine_treat changes nothing: winmax = None",
        ),
        (["treat.winmax=null", "treat.f2=boxcox"], r"treat.f2 changes nothing: winmax = None"),
    ],
)
def test_config_refuses_combine_of_the_wrong_type_or_without_effect(overrides, message):
    with pytest.raises(InputError, match=message):
        Config().with_overrides(overrides)


def test_config_and_cli_accept_combine_treat(tmp_path):
    cfg = Config().with_overrides(["treat.combine_treat=true"])
    assert cfg.treat.params["combine_treat"] is True
    entry = Config().with_overrides(['treat.per_indicator={"a": {"combine_treat": true}}'])
    assert entry.treat.per_indicator["a"] == {"combine_treat": True}
    runner = CliRunner()
    res = runner.invoke(app, ["config", "--set", "treat.combine_treat=true"])
    assert res.exit_code == 0, res.output
    assert "combine_treat = true" in res.output
    path = tmp_path / "c.toml"
    path.write_text(res.output, encoding="utf-8")
    again = runner.invoke(app, ["config", "-c", str(path)])
    assert again.exit_code == 0 and again.output == res.output  # round trip
    path.write_text('[treat]\ncombine_treat = "yes"\n', encoding="utf-8")
    bad = runner.invoke(app, ["config", "-c", str(path)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert f"{path.name}:treat: combine_treat: Input should be a valid boolean" in bad.output


def test_build_rebuild_with_combine_treat(oracle_dir):
    """On a build (COINr's ASEM data, winmax 1): ``rebuild("treat.combine_treat=true")`` (or the
    keyword form) treats the 9 indicators that fall back as f2 of the Winsorised values, and the
    build's treatment details and flags say so."""
    from test_build_outputs import asem_build

    b = asem_build(oracle_dir, treat={"method": "winsorise", "winmax": 1})
    c = b.rebuild("treat.combine_treat=true")
    assert c.config.treat.params["combine_treat"] is True
    same = b.rebuild(**{"treat.combine_treat": True})
    np.testing.assert_array_equal(same.stages["treated"], c.stages["treated"])
    before, after = b.treatment_details(), c.treatment_details()
    fell = before.index[before.treatment == "log_CT"]
    assert len(fell) == 9 and (after.loc[fell, "treatment"] == "winsorise+log_CT").all()
    rest = before.index.difference(fell)
    pd.testing.assert_frame_equal(after.loc[rest], before.loc[rest])
    flags, old = c.treatment_flags()[fell], b.treatment_flags()[fell]
    assert set(np.unique(flags)) <= {"", "log_CT", "winhi+log_CT", "winlo+log_CT"}
    assert ((flags != "") == (old == "log_CT")).all().all()  # f2 on the same points
    on_top = flags.isin(["winhi+log_CT", "winlo+log_CT"]).sum()  # the Winsorised points
    np.testing.assert_array_equal(on_top, after.loc[fell, "winsorise.nwin"])
    changed = ~np.isclose(b.stages["treated"], c.stages["treated"], equal_nan=True)
    cols = [b.framework.indicator_codes.index(code) for code in fell]
    assert changed[..., cols].any(axis=-2).all() and not np.delete(changed, cols, axis=-1).any()


def test_uncertainty_factor_varying_combine_equals_the_two_builds(oracle_dir):
    """An uncertainty factor over combine_treat (the engine's shared stage cache and walks):
    every region's lowest and highest score over the runs are its scores in the two builds."""
    from test_build_outputs import asem_build

    b = asem_build(oracle_dir, treat={"method": "winsorise", "winmax": 1})
    c = b.rebuild("treat.combine_treat=true")
    alts = [{"method": "winsorise", "winmax": 1, "combine_treat": flag} for flag in (False, True)]
    spec = {"sampling": {"method": "mc", "n": 16, "seed": 1}, "factors": {"treat": alts}}
    t = b.uncertainty(spec=spec, keep_scores=True).table().set_index("region_code")
    s1 = b.ranking().score
    s2 = c.ranking().score.loc[s1.index]
    assert (s1 != s2).any()
    np.testing.assert_allclose(t.score_min.loc[s1.index], np.minimum(s1, s2), rtol=1e-12)
    np.testing.assert_allclose(t.score_max.loc[s1.index], np.maximum(s1, s2), rtol=1e-12)


def test_recommended_combine_made_useless_by_the_user_is_dropped_not_refused():
    """A framework's recommended ``combine_treat = true`` under the user's ``f2 = "none"`` is not
    the user's mistake: it is dropped (as an inherited winmax under f1 = "boxcox")."""
    from index import config as cfgmod

    recommended = {"treat": {"method": "winsorise", "winmax": 5, "combine_treat": True}}
    dropped = cfgmod.effective(Config().with_overrides(["treat.f2=none"]), recommended)
    assert "combine_treat" not in dropped.treat.params and dropped.treat.params["f2"] == "none"
    kept = cfgmod.effective(Config().with_overrides(["treat.f2=log"]), recommended)
    assert kept.treat.params["combine_treat"] is True
