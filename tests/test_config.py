"""Run configuration: defaults, --set overrides, and readable errors."""

from __future__ import annotations

import pytest

from index.config import Config, load
from index.errors import InputError


def test_overrides_are_parsed_and_recorded():
    cfg = Config().with_overrides(
        ["weighting=entropy", "normalise.u=1", "aggregation.dat_thresh=0.5"]
    )
    assert cfg.weighting.method == "entropy"
    assert cfg.normalise.params["u"] == 1 and cfg.normalise.method == "minmax"
    assert cfg.aggregation.dat_thresh == 0.5
    assert cfg.overrides == ["weighting=entropy", "normalise.u=1", "aggregation.dat_thresh=0.5"]


@pytest.mark.parametrize(
    "item,expected",
    [
        ("nokey", "expected key=value"),
        ("bogus.x=1", "unknown setting .bogus."),
        ("aggregation.dat_thresh=2", "dat_thresh"),
    ],
)
def test_bad_overrides(item, expected):
    with pytest.raises(InputError, match=expected):
        Config().with_overrides([item])


def test_load_toml(tmp_path):
    p = tmp_path / "run.toml"
    p.write_text(
        '[weighting]\nmethod = "critic"\n[normalise]\nmethod = "zscore"\nm = 0\ns = 1\n',
        encoding="utf-8",
    )
    cfg = load(p)
    assert cfg.weighting.method == "critic" and cfg.normalise.params == {"m": 0, "s": 1}
    p.write_text("unknown_key = 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown_key"):
        load(p)


def test_setting_a_method_keeps_the_steps_own_settings():
    a = Config().with_overrides(["weighting.levels=[2]", "weighting=entropy"])
    b = Config().with_overrides(["weighting=entropy", "weighting.levels=[2]"])
    assert a.weighting == b.weighting and a.weighting.levels == [2]
    c = Config().with_overrides(["normalise.panel=global", "normalise=zscore"])
    assert c.normalise.panel == "global" and c.normalise.params == {}  # minmax's l, u dropped


def test_years_are_sorted_and_unique():
    assert Config(years=[2021, 2019, 2021]).years == [2019, 2021]
    assert Config(years=[]).years is None


def test_a_table_setting_given_a_word_says_it_wants_a_table():
    with pytest.raises(
        InputError, match="aggregation.by_level: Input should be a valid dictionary"
    ):
        Config().with_overrides(["aggregation.by_level=gmean"])
    cfg = Config().with_overrides(['aggregation.by_level={"3": "gmean"}'])
    assert cfg.aggregation.by_level == {3: "gmean"}
