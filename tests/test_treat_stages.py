"""COINr's two-stage Treat(f1, f2) with any first stage: hand-worked cases and the settings rules.

Expected numbers are derived by hand, not by the code:

* ``G = 2^k`` (k = 0..9) fails the test (|skew| 2.09 ≥ 2 and kurtosis 4.27 ≥ 3.5); its log is
  ``k ln 2``, ten equally spaced points, whose adjusted skewness is 0 and whose adjusted excess
  kurtosis is −1.2 (population $g_2 = -6(n^2+1)/(5(n^2-1))$ = −1.2242 for n = 10, then
  $G_2 = ((n+1)g_2 + 6)(n-1)/((n-2)(n-3))$ = −1.2): it passes.
* ``B`` = nine 1s and one 100 is two-valued with p = 0.1: $g_1 = (1-2p)/\\sqrt{p(1-p)}$ = 8/3, so
  $G_1 = g_1\\sqrt{n(n-1)}/(n-2) = \\sqrt{10}$; $g_2 = (1 - 6p(1-p))/(p(1-p))$ = 46/9, so
  $G_2 = (11 \\cdot 46/9 + 6) \\cdot 9/56$ = 10. Every monotone transformation keeps it two-valued
  with the same p, so it fails before and after any f1 or f2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from index import config as cfgmod
from index.config import Config
from index.errors import InputError
from index.methods import treat as tr

G = 2.0 ** np.arange(10)
LIN = np.arange(1.0, 11.0)
B = np.r_[np.ones(9), 100.0]


def test_f1_transforms_only_the_failing_indicator_and_it_passes():
    x = np.column_stack([G, LIN])
    res = tr.treat(x, f1="log")
    np.testing.assert_allclose(res.x[:, 0], np.arange(10) * math.log(2), rtol=1e-15)
    np.testing.assert_array_equal(res.x[:, 1], LIN)  # passes the test: untouched
    d = res.details
    assert list(d.treatment) == ["log", "none"]
    assert list(d["check_SkewKurt0.Pass"]) == [False, True]
    assert d.at[0, "check_SkewKurt1.Pass"]
    assert abs(d.at[0, "check_SkewKurt1.Skew"]) < 1e-12
    assert d.at[0, "check_SkewKurt1.Kurt"] == pytest.approx(-1.2, abs=1e-12)
    assert d["check_SkewKurt2.Pass"].isna().all() and d["winsorise.nwin"].isna().all()
    assert (res.flags[:, 0] == "log").all() and (res.flags[:, 1] == "").all()


def test_f2_is_applied_to_the_original_values_when_f1_does_not_pass():
    res = tr.treat(B[:, None], f1="log_CT_orig")  # ln(x - 1 + 1): still two-valued
    # f2 = log_CT of the ORIGINAL x: ln(x - 1 + 0.01 * 99)
    np.testing.assert_allclose(res.x[:, 0], np.r_[[math.log(0.99)] * 9, math.log(99.99)])
    d = res.details.iloc[0]
    assert d.treatment == "log_CT"
    for stage in (0, 1, 2):
        assert not d[f"check_SkewKurt{stage}.Pass"]
        assert d[f"check_SkewKurt{stage}.Skew"] == pytest.approx(math.sqrt(10), rel=1e-12)
        assert d[f"check_SkewKurt{stage}.Kurt"] == pytest.approx(10.0, rel=1e-12)
    assert (res.flags[:, 0] == "log_CT").all()


def test_f1_boxcox_kept_when_f2_is_none_and_missing_values_stay_missing():
    x = np.r_[B, np.nan][:, None]
    res = tr.treat(x, f1="boxcox", boxcox_lambda=0.5, f2="none")
    # y = x - min + 1 = x; (sqrt(y) - 1) / 0.5
    np.testing.assert_allclose(res.x[:, 0], np.r_[[0.0] * 9, 18.0, np.nan], rtol=1e-15)
    assert res.details.treatment[0] == "boxcox"
    assert res.details["check_SkewKurt2.Pass"].isna().all()
    assert list(res.flags[:, 0]) == ["boxcox"] * 10 + [""]


def test_f1_none_sends_failing_indicators_straight_to_f2():
    res = tr.treat(G[:, None], f1="none", f2="log")
    np.testing.assert_allclose(res.x[:, 0], np.arange(10) * math.log(2), rtol=1e-15)
    d = res.details.iloc[0]
    assert d.treatment == "log" and d["check_SkewKurt1.Skew"] == d["check_SkewKurt0.Skew"]
    assert d["check_SkewKurt2.Pass"]


def test_f1_per_indicator_and_default_winsorise_side_by_side():
    x = np.column_stack([G, G])
    res = tr.treat(x, per_indicator={0: {"f1": "log"}})
    np.testing.assert_allclose(res.x[:, 0], np.arange(10) * math.log(2), rtol=1e-15)
    # column 1 is Winsorised: 512 → 256 gives skew 1.27 < 2 (scipy), so one point
    assert res.details.treatment[1] == "winsorise" and res.details["winsorise.nwin"][1] == 1
    np.testing.assert_array_equal(res.x[:, 1], np.r_[G[:9], 256.0])
    assert list(res.flags[:, 1]) == [""] * 9 + ["winhi"]


def test_f1_domain_error_names_the_column():
    x = np.column_stack([LIN, np.r_[0.0, G[1:]]])  # column 1 fails and holds a 0
    with pytest.raises(tr.IndicatorError) as err:
        tr.treat(x, f1="log")
    assert list(err.value.columns) == [1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"f1": "lg"}, "unknown f1 'lg'"),
        ({"f1": "log", "winmax": 2}, "winmax changes nothing: f1 = 'log' does not Winsorise"),
        ({"f1": "log", "force_win": True}, "force_win changes nothing"),
        ({"method": "boxcox", "skew_thresh": 1.0}, "did you mean f1 = 'boxcox'"),
        ({"method": "log_CT", "f2": "boxcox"}, "f2 changes nothing"),
        ({"boxcox_lambda": 0.2}, "neither f1 nor f2 is 'boxcox'"),
        ({"per_indicator": {0: {"method": "log", "winmax": 3}}}, "column 0: winmax changes"),
    ],
)
def test_options_that_change_nothing_are_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        tr.treat(np.column_stack([G, LIN]), **kwargs)


def test_inherited_options_are_not_errors():
    x = np.column_stack([G, LIN])
    # winmax is used by column 1; column 0's own method ignores what it inherits
    tr.treat(x, winmax=2, per_indicator={0: {"method": "none"}})
    tr.treat(x, method="none", winmax=2, per_indicator={1: {"method": "winsorise"}})
    with pytest.raises(InputError, match="winmax changes nothing"):  # nobody uses it
        tr.treat(x, winmax=2, per_indicator={0: {"method": "none"}, 1: {"method": "log"}})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["treat.f1=boxcx"],
            r"treat.f1: unknown f1 treatment method 'boxcx' \(did you mean 'boxcox'",
        ),
        (["treat.f2=log_ct"], r"did you mean 'log_CT'"),
        (["treat=boxcox", "treat.winmax=2"], r"treat.winmax changes nothing.*f1 = 'boxcox'"),
        (["treat.f1=log1p", "treat.winmax=2"], r"treat.winmax changes nothing"),
        (["treat.boxcox_lambda=0.3"], r"treat.boxcox_lambda changes nothing"),
        (
            ['treat.per_indicator={"a": {"f1": "log", "force_win": true}}'],
            r"treat.per_indicator.a.force_win changes nothing",
        ),
        (['treat.per_indicator={"a": {"f1": "lgo"}}'], r"per_indicator.a.f1: .*'log'"),
    ],
)
def test_config_rejects_misspelt_stages_and_options_that_change_nothing(overrides, message):
    with pytest.raises(InputError, match=message):
        Config().with_overrides(overrides)


def test_config_accepts_first_stages_and_lists_them():
    cfg = Config().with_overrides(["treat.f1=boxcox", "treat.boxcox_lambda=0.3"])
    assert cfg.treat.params.items() >= {"f1": "boxcox", "boxcox_lambda": 0.3}.items()
    Config().with_overrides(["treat.f1=winsorise", "treat.winmax=2"])
    row = next(
        r for r in cfgmod.catalogue() if r["section"] == "treat" and r["method"] == "winsorise"
    )
    f1_type = row["parameters"]["f1"][0]
    assert all(f"'{name}'" in f1_type for name in [*tr.TRANSFORMS, "winsorise"])
    transforms = [r for r in cfgmod.catalogue() if r["section"] == "treat" and r["method"] == "log"]
    assert transforms[0]["parameters"] == {}  # a transformation as method reads no option


def test_explicit_winsorise_first_stage_is_coinr_default(oracle_dir):
    from _prep_oracle import assert_close, indicators, units_matrix

    codes = list(indicators(oracle_dir).iCode)
    x = units_matrix(oracle_dir, "input_raw_dset_sorted.csv", codes)
    for stem, params in (("treatcat_default_winmax5", {}), ("treatcat_winmax1", {"winmax": 1})):
        res = tr.treat(x, f1="winsorise", **params)
        assert_close(res.x, units_matrix(oracle_dir, f"{stem}.csv", codes))
