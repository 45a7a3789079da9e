"""Framework files: structure, derived levels, and one readable error per problem."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from index import framework as fwmod
from index.errors import InputError

BASE = {
    "index": {"code": "idx", "name_zh": "指数", "name_en": "Index"},
    "aggregate": [
        {"code": "p1", "parent": "idx", "weight": 2},
        {"code": "sub", "parent": "p1"},
        {"code": "p2", "parent": "idx"},
    ],
    "indicator": [
        {"code": "a", "parent": "sub"},
        {"code": "b", "parent": "sub", "direction": -1},
        {"code": "c", "parent": "p1", "weight": 3},
        {"code": "d", "parent": "p2", "series": "dd", "denominator": "pop"},
    ],
}


def make(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return fwmod.from_dict(data, "fw.toml")


def test_levels_order_and_groups():
    fw = make()
    assert fw.level == {"a": 1, "b": 1, "c": 1, "d": 1, "sub": 2, "p2": 2, "p1": 3, "idx": 4}
    assert fw.codes == ["a", "b", "c", "d", "sub", "p2", "p1", "idx"]
    groups = {fw.codes[p]: [fw.codes[k] for k in kids] for p, kids in fw.groups}
    assert groups == {"sub": ["a", "b"], "p2": ["d"], "p1": ["sub", "c"], "idx": ["p1", "p2"]}
    assert list(fw.parent_idx) == [4, 4, 6, 5, 6, 7, 7, -1]
    assert fw.data_series == ["a", "b", "c", "dd", "pop"]
    np.testing.assert_array_equal(fw.directions, [1, -1, 1, 1])
    assert fw.ancestor_at("a", 3) == "p1"


def test_hierarchy_walks():
    fw = make()
    assert fw.ancestors("a") == ["sub", "p1", "idx"] and fw.ancestors("idx") == []
    assert fw.codes_at(1) == ["a", "b", "c", "d"] and fw.codes_at(2) == ["sub", "p2"]
    assert fw.codes_at(1, ["d", "sub", "zz", "a"]) == ["d", "a"]  # given order, unknown skipped
    assert fw.pillars == ["p1", "p2"]
    assert [fw.pillar_of(c) for c in ("a", "c", "p1", "d", "idx")] == ["p1", "p1", "p1", "p2", None]
    assert fw.depth_first() == ["idx", "p1", "sub", "a", "b", "c", "p2", "d"]


def test_effective_weights_by_hand():
    fw = make()  # p1 weighs 2 of 3 under idx; sub 1 of 2 under p1 (c: 3 of 4), a and b halves
    eff = dict(zip(fw.codes, fw.effective_weights(), strict=True))
    assert eff == pytest.approx(
        {"idx": 1, "p1": 2 / 3, "p2": 1 / 3, "sub": 2 / 3 / 4, "c": 2 / 3 * 3 / 4,
         "a": 2 / 3 / 8, "b": 2 / 3 / 8, "d": 1 / 3},
        rel=1e-15,
    )  # fmt: skip
    with pytest.raises(InputError, match="children of 'sub' sum to 0"):
        fw.effective_weights(np.array([0, 0, 1, 1, 1, 1, 1, 1.0]))


def test_effective_weights_reproduce_coinr(oracle_dir):
    """COINr get_eff_weights of its example framework (iMeta), and a batch of weight sets."""
    from index.coinr import framework_from_imeta

    meta = pd.read_csv(oracle_dir / "input_iMeta.csv", keep_default_na=False, na_values=[""])
    fw = framework_from_imeta(meta)
    ref = pd.read_csv(oracle_dir / "weights_effective_original.csv").set_index("iCode")
    eff = pd.Series(fw.effective_weights(), index=fw.codes)
    np.testing.assert_allclose(eff.loc[ref.index], ref["EffWeight"], rtol=1e-12)
    # the parent chain is COINr's lineage table
    lineage = pd.read_csv(oracle_dir / "input_lineage.csv")
    for row in lineage.itertuples(index=False):
        assert [row.Indicator, *fw.ancestors(row.Indicator)] == list(row)
    # leading axes: a batch of weight sets, each level's effective weights summing to 1
    batch = np.random.default_rng(0).uniform(0.5, 1.5, (20, len(fw.codes)))
    effb = fw.effective_weights(batch)
    levels = np.array([fw.level[c] for c in fw.codes])
    for level in (1, 2, 3, 4):
        np.testing.assert_allclose(effb[:, levels == level].sum(1), 1.0)
    np.testing.assert_allclose(effb[3], fw.effective_weights(batch[3]))


def test_from_table_reads_a_node_table():
    fw = make()
    rows = [
        {"code": c, "parent": fw.parent_of(c) or float("nan"), "name_en": c.upper(), "weight": -1}
        for c in fw.codes
    ]
    back = fwmod.from_table(rows)
    assert back.codes == fw.codes and back.level == fw.level
    assert back.children["idx"] == ["p2", "p1"]  # siblings in table order
    assert back.node("sub").name_en == "SUB"
    with pytest.raises(InputError, match="2 nodes without a parent"):
        fwmod.from_table([*rows, {"code": "other", "parent": None}])


def test_default_framework_loads():
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    assert fw.children[fw.root.code] == ["compute", "network", "storage", "environment"]
    assert all(i.name_zh and i.name_en for i in fw.indicators)


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"indicator": [*BASE["indicator"], {"code": "a", "parent": "p2"}]}, "duplicate code 'a'"),
        (
            {"indicator": [*BASE["indicator"], {"code": "e", "parent": "nope"}]},
            "parent 'nope' is missing",
        ),
        ({"indicator": [*BASE["indicator"], {"code": "e", "parent": "a"}]}, "is an indicator"),
        (
            {"aggregate": [*BASE["aggregate"], {"code": "empty", "parent": "idx"}]},
            "has no children",
        ),
        (
            {
                "aggregate": [
                    {"code": "p1", "parent": "sub"},
                    {"code": "sub", "parent": "p1"},
                    {"code": "p2", "parent": "idx"},
                ]
            },
            "cycle",
        ),
        (
            {"indicator": [{"code": "a", "parent": "p2", "weight": -1}]},
            "greater than or equal to 0",
        ),
        (
            {
                "indicator": [
                    {"code": "a", "parent": "sub", "weight": 0},
                    {"code": "b", "parent": "sub", "weight": 0},
                    {"code": "d", "parent": "p2"},
                    {"code": "c", "parent": "p1"},
                ]
            },
            "all zero",
        ),
        ({"indicator": [{"code": "a", "parent": "p2", "direction": 2}]}, "direction"),
    ],
)
def test_structure_errors_are_readable(changes, expected):
    with pytest.raises(InputError) as err:
        make(**changes)
    assert expected in str(err.value)
    assert "fw.toml" in str(err.value)


def test_missing_series_in_data():
    with pytest.raises(InputError, match="series 'pop' is not in the data"):
        make().check_data(["a", "b", "c", "dd"])


def test_bad_toml_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[index\ncode=", encoding="utf-8")
    with pytest.raises(InputError, match="bad.toml: not valid TOML"):
        fwmod.load(p)
    with pytest.raises(InputError, match="not found"):
        fwmod.load(tmp_path / "absent.toml")


def test_with_weights_and_round_trip():
    fw = make()
    fw2 = fw.with_weights({"p2": 5.0})
    assert fw2.node("p2").weight == 5.0 and fw.node("p2").weight == 1.0
    assert fwmod.from_dict(fw.to_dict()).codes == fw.codes
    with pytest.raises(InputError, match="no node .zz."):
        fw.with_weights({"zz": 1.0})


def test_negative_weights_only_when_allowed():
    changes = {"indicator": [{**BASE["indicator"][0], "weight": -0.5}, *BASE["indicator"][1:]]}
    with pytest.raises(InputError, match="allow_negative_weights"):
        make(**changes)
    fw = make(index={"code": "idx", "allow_negative_weights": True}, **changes)
    assert fw.node("a").weight == -0.5
    assert fwmod.from_dict(fw.to_dict()).node("a").weight == -0.5  # the flag round-trips


def test_a_unit_label_of_another_magnitude_than_the_data_is_an_error(bundled_inputs, tmp_path):
    """Data in 万个 labelled 个 would misstate every change and figure by 10⁴; a label the unit
    table cannot compare (台/百人 over 台, the intensity edition) is the framework's wording."""
    import index
    from index.dataset import load_inputs

    ds = load_inputs(bundled_inputs)
    text = (Path(index.__file__).parent / "frameworks" / "cci_public.toml").read_text("utf-8")
    assert text.count('unit = "万个"') >= 1
    path = tmp_path / "relabelled.toml"
    path.write_text(text.replace('unit = "万个"', 'unit = "个"', 1), encoding="utf-8")
    with pytest.raises(InputError) as err:
        index.build(data=ds, framework=str(path))
    (problem,) = err.value.problems
    assert problem.field == "unit" and "1/10000 × the data's unit '万个'" in problem.message
    assert index.build(data=ds, framework="cci_intensity").scores.shape[1] == 31
