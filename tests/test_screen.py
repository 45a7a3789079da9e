"""Unit screening (COINr Screen / get_data_avail): hand-worked cases and COINr's raw example data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index import framework as fwmod
from index.analysis.audit import indicator_stats, unit_availability
from index.errors import InputError
from index.methods.screen import data_availability, screen

# rows: full data; one NaN of four; two NaN and one zero of the two present; all zeros; no data
X = np.array(
    [
        [1.0, 2.0, 3.0, 4.0],
        [1.0, np.nan, 3.0, 4.0],
        [np.nan, 0.0, np.nan, 5.0],
        [0.0, 0.0, 0.0, 0.0],
        [np.nan, np.nan, np.nan, np.nan],
    ]
)


def test_data_availability_by_hand():
    missing, zero, avail, non_zero = data_availability(X)
    np.testing.assert_array_equal(missing, [0, 1, 2, 0, 4])
    np.testing.assert_array_equal(zero, [0, 0, 1, 4, 0])
    np.testing.assert_allclose(avail, [1, 0.75, 0.5, 1, 0])
    np.testing.assert_allclose(non_zero[:4], [1, 1, 0.5, 0])  # zeros among the values present
    assert np.isnan(non_zero[4])


@pytest.mark.parametrize(
    ("rule", "keep"),
    [
        ("byNA", [True, True, False, True, False]),  # 0.5 < 2/3
        ("byzeros", [True, True, True, False, False]),  # 0 < 0.05; no data = no non-zero value
        ("byNAandzeros", [True, True, False, False, False]),
    ],
)
def test_rules(rule, keep):
    res = screen(X, unit_screen=rule)
    np.testing.assert_array_equal(res.keep, keep)
    np.testing.assert_array_equal(res.removed, np.nonzero(~np.array(keep))[0])


def test_threshold_is_inclusive_and_force_overrides():
    assert screen(X, dat_thresh=0.75).keep[1]  # exactly 0.75 kept (COINr: Dat_Avail < thresh drops)
    assert not screen(X, dat_thresh=0.76).keep[1]
    res = screen(X, unit_screen="byNA", force={2: True, 0: False})
    np.testing.assert_array_equal(res.keep, [False, True, True, True, False])
    with pytest.raises(InputError, match="unknown unit row"):
        screen(X, force={9: True})
    with pytest.raises(InputError, match="true or false"):
        screen(X, force={1: "yes"})
    with pytest.raises(InputError, match="unit_screen"):
        screen(X, unit_screen="byNa")
    with pytest.raises(InputError, match="dat_thresh"):
        screen(X, dat_thresh=1.5)


def test_leading_axes():
    res = screen(np.stack([X, X[::-1]]), unit_screen="byNA")
    assert res.keep.shape == (2, 5)
    np.testing.assert_array_equal(res.removed, [0, 2, 4])


def test_coinr_raw_example(oracle_dir):
    """COINr's Raw ASEM data: availability per unit against pandas counts; the example pipeline's
    Screen(byNA, dat_thresh = 0.9) on the imputed data removes nobody (oracle README)."""
    raw = pd.read_csv(
        oracle_dir / "input_raw_dset_sorted.csv", keep_default_na=False, na_values=[""]
    )
    x = raw.drop(columns="uCode").to_numpy(float)
    missing, zero, avail, _ = data_availability(x)
    np.testing.assert_array_equal(missing, raw.drop(columns="uCode").isna().sum(axis=1))
    np.testing.assert_array_equal(zero, (raw.drop(columns="uCode") == 0).sum(axis=1))
    assert missing.sum() == 63  # the README's count of missing raw values
    imputed = pd.read_csv(
        oracle_dir / "impute_i_mean_grp_EurAsia.csv", keep_default_na=False, na_values=[""]
    )
    xi = imputed.select_dtypes("number").to_numpy(float)
    assert screen(xi, unit_screen="byNA", dat_thresh=0.9).keep.all()
    low = screen(x, unit_screen="byNA", dat_thresh=0.9)
    np.testing.assert_array_equal(low.keep, avail >= 0.9)


def test_audit_counts_zeros():
    df = pd.DataFrame(X, columns=list("abcd"), index=list("uvwyz"))
    stats = indicator_stats(df)
    np.testing.assert_array_equal(stats["n_zero"], [1, 2, 1, 1])
    fw = fwmod.from_table(
        [{"code": "P", "parent": None}, *({"code": c, "parent": "P"} for c in "abcd")]
    )
    av = unit_availability(df, fw)
    np.testing.assert_array_equal(av["N_zero"], [0, 0, 1, 4, 0])
    np.testing.assert_array_equal(av["N_missing"], [0, 1, 2, 0, 4])
    np.testing.assert_allclose(av["Non_Zero"][:4], [1, 1, 0.5, 0])
    np.testing.assert_allclose(av["all"], [1, 0.75, 0.5, 1, 0])


def test_screen_step_in_a_build_drops_units_with_too_little_data():
    import pandas as pd

    from index import framework as fwmod
    from index.config import Config
    from index.dataset import Dataset
    from index.pipeline import build

    fw = fwmod.from_dict(
        {"index": {"code": "i"}, "indicator": [{"code": c, "parent": "i"} for c in "abcd"]}
    )
    rows = [
        {"year": 2024, "region_code": u, "indicator": c, "value": float(k + j + 1)}
        for k, u in enumerate("uvwxy")
        for j, c in enumerate("abcd")
        if not (u == "y" and c != "a")  # y reports one indicator of four
    ]
    ds = Dataset.from_long(pd.DataFrame(rows))
    plain = Config(treat={"method": "none"})
    assert "y" in build(plain, ds, fw).dataset.unit_codes
    cfg = Config(treat={"method": "none"}, screen={"unit_screen": "byNA", "dat_thresh": 0.5})
    b = build(cfg, ds, fw)
    assert b.dataset.unit_codes == ("u", "v", "w", "x")
    forced = Config(
        treat={"method": "none"},
        screen={"unit_screen": "byNA", "dat_thresh": 0.5, "force": {"y": True}},
    )
    assert "y" in build(forced, ds, fw).dataset.unit_codes
    with pytest.raises(InputError, match="unknown unit"):
        build(Config(screen={"unit_screen": "byNA", "force": {"zz": True}}), ds, fw)
    with pytest.raises(ValueError, match="screen settings need screen.unit_screen"):
        Config(screen={"force": {"y": True}})


def test_screening_table_rebuild_and_cli(bundled_inputs):
    """The build keeps COINr's screening table; a rebuild without screening restores the units
    (it starts from the data as given); ``run`` names the units screened out."""
    from typer.testing import CliRunner

    import index
    from index.cli import app

    b = index.build(data=bundled_inputs, screen={"unit_screen": "byzeros", "nonzero_thresh": 0.84})
    t = b.screening.set_index("region_code")
    gone = list(t.index[~t["Included"]])
    assert gone and not set(gone) & set(b.dataset.unit_codes)
    assert (t.loc[gone, "Non_Zero"] < 0.84).all() and (t.loc[gone, "LowNonZero"]).all()
    x = b.input_dataset.subset_years(list(b.years)).select(
        [i.data_series for i in b.framework.indicators]
    )
    k = list(b.input_dataset.unit_codes).index(gone[0])
    zeros = (x[:, k] == 0).sum(axis=-1)
    assert t.loc[gone[0], "N_zero"] == zeros.max()
    back = b.rebuild(screen={"unit_screen": "none"})
    assert back.screening is None and set(gone) <= set(back.dataset.unit_codes)
    res = CliRunner().invoke(
        app,
        ["run", "--data", str(bundled_inputs), "--out", str(bundled_inputs.parent / "s.parquet"),
         "--set", "screen.unit_screen=byzeros", "--set", "screen.nonzero_thresh=0.84"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "screened out (byzeros): " + gone[0] in res.output


def test_screening_table_is_coinr_data_summary_on_asem(oracle_dir):
    """One year of COINr's raw ASEM data through a build's screen step: the table is COINr
    Screen's DataSummary recomputed from its definition (get_data_avail) with pandas."""
    from index.coinr import dataset_from_idata, framework_from_imeta
    from index.config import Config
    from index.pipeline import build

    imeta = pd.read_csv(oracle_dir / "input_iMeta.csv", keep_default_na=False, na_values=[""])
    raw = pd.read_csv(
        oracle_dir / "input_raw_dset_sorted.csv", keep_default_na=False, na_values=[""]
    )
    fw, ds = framework_from_imeta(imeta), dataset_from_idata(raw, imeta)
    cfg = Config.model_validate(
        {
            "denominate": False,
            "treat": {"method": "none"},
            "screen": {"unit_screen": "byNAandzeros", "dat_thresh": 0.9, "nonzero_thresh": 0.9},
        }
    )
    t = build(cfg, ds, fw).screening.set_index("region_code")
    x = raw.set_index("uCode")
    na, zero = x.isna().sum(axis=1), (x == 0).sum(axis=1)
    avail, nonzero = 1 - na / x.shape[1], 1 - zero / (x.shape[1] - na)
    np.testing.assert_array_equal(t["N_missing"], na[t.index])
    np.testing.assert_array_equal(t["N_miss_or_zero"], (na + zero)[t.index])
    np.testing.assert_allclose(t["Dat_Avail"], avail[t.index], rtol=1e-15)
    np.testing.assert_allclose(t["Non_Zero"], nonzero[t.index], rtol=1e-15)
    flag = (avail < 0.9) | (nonzero < 0.9)
    np.testing.assert_array_equal(t["LowDatOrZeroFlag"], flag[t.index])
    np.testing.assert_array_equal(t["Included"], ~flag[t.index])
    assert 0 < flag.sum() < len(flag)
