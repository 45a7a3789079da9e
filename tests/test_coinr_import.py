"""load_coinr on unusual but valid COINr inputs (panel iData with Time, group columns, aggregate
weights, no iName / uName) and on what COINr's check_iMeta / check_iData refuse: each refusal is
one located ``file:row:column`` problem. The reference values are COINr's own example tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index.coinr import load_coinr
from index.config import Config
from index.errors import InputError
from index.pipeline import build


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.fixture()
def tables(oracle_dir):
    return _read(oracle_dir / "input_iData.csv"), _read(oracle_dir / "input_iMeta.csv")


def _load(tmp_path, data: pd.DataFrame, meta: pd.DataFrame):
    data.to_csv(tmp_path / "iData.csv", index=False)
    meta.to_csv(tmp_path / "iMeta.csv", index=False)
    return load_coinr(tmp_path / "iData.csv", tmp_path / "iMeta.csv")


def test_panel_idata_with_time_and_groups(oracle_dir, tmp_path):
    """ASEM_iData_p (5 years): every value lands at its (Time, uCode), groups are read."""
    panel = _read(oracle_dir / "input_iData_panel.csv")
    meta = _read(oracle_dir / "input_iMeta.csv")
    fw, ds = _load(tmp_path, panel, meta)
    assert ds.years == tuple(sorted(panel["Time"].unique()))
    assert ds.unit_codes == tuple(sorted(panel["uCode"].unique()))
    codes = list(meta.loc[meta["Type"] == "Indicator", "iCode"])
    ref = panel.set_index(["Time", "uCode"])[codes]
    got = np.stack(
        [ds.select(codes)[ds.years.index(t), ds.unit_codes.index(u)] for t, u in ref.index]
    )
    np.testing.assert_array_equal(np.isnan(got), ref.isna().to_numpy())
    np.testing.assert_array_equal(got[~np.isnan(got)], ref.to_numpy(float)[~np.isnan(got)])
    eurasia = panel.drop_duplicates("uCode").set_index("uCode")["EurAsia_group"]
    np.testing.assert_array_equal(ds.group_codes("EurAsia_group"), eurasia[list(ds.unit_codes)])
    b = build(Config(treat={"method": "none"}, denominate=False), ds, fw)
    assert b.years == ds.years


def test_aggregate_weights_and_missing_names(tables, tmp_path):
    """Weight on an aggregate row is its weight within its parent; without iName / uName the
    codes are the names (COINr new_coin's default)."""
    data, meta = tables
    meta = meta.drop(columns="iName")
    meta.loc[meta["iCode"] == "Conn", "Weight"] = 3.0
    fw, ds = _load(tmp_path, data.drop(columns="uName"), meta)
    assert fw.node("Conn").name_en == "Conn" and fw.node("LPI").name_en == "LPI"
    assert ds.units.loc["AUT", "name_en"] == "AUT"
    b = build(Config(treat={"method": "none"}, denominate=False), ds, fw)
    eff = b.nodes.set_index("code")["eff_weight"]
    assert eff["Conn"] == pytest.approx(0.75) and eff["Sust"] == pytest.approx(0.25)
    conn, sust = b.stage("scores")["Conn"], b.stage("scores")["Sust"]
    np.testing.assert_allclose(b.stage("scores")["Index"], 0.75 * conn + 0.25 * sust, rtol=1e-12)


def _meta_with(meta: pd.DataFrame, code: str, column: str, value) -> pd.DataFrame:
    m = meta.copy()
    m[column] = m[column].astype(object)
    m.loc[m["iCode"] == code, column] = value
    return m


# line 2 of iMeta.csv is LPI, the first indicator
META_ERRORS = [
    ("Type", "indicator", r"iMeta\.csv:2:Type: 'indicator' is not one of"),
    ("Direction", 2, r"iMeta\.csv:2:Direction: must be 1 or -1, got 2"),
    ("Direction", np.nan, r"iMeta\.csv:2:Direction: missing for Indicator 'LPI'"),
    ("Weight", np.nan, r"iMeta\.csv:2:Weight: missing for Indicator 'LPI'"),
    ("Weight", "heavy", r"iMeta\.csv:2:Weight: not a number: 'heavy'"),
    ("Target", "x", r"iMeta\.csv:2:Target: not a number: 'x'"),
    ("Level", 2, r"iMeta\.csv:2:Level: indicator 'LPI' must be at Level 1"),
    ("Parent", "Conn", r"iMeta\.csv:2:Parent: 'LPI' \(Level 1\) has parent 'Conn' at Level 3"),
    ("iName", np.nan, r"iMeta\.csv:2:iName: missing name"),
]


@pytest.mark.parametrize(("column", "value", "message"), META_ERRORS)
def test_imeta_refusals_are_located(tables, tmp_path, column, value, message):
    data, meta = tables
    with pytest.raises(InputError, match=message):
        _load(tmp_path, data, _meta_with(meta, "LPI", column, value))


def test_duplicate_icode_and_missing_required_column(tables, tmp_path):
    data, meta = tables
    with pytest.raises(InputError, match=r"iMeta\.csv:70:iCode: duplicate code 'LPI'"):
        _load(tmp_path, data, pd.concat([meta, meta.iloc[[0]]], ignore_index=True))
    with pytest.raises(InputError, match=r"iMeta\.csv: missing columns \['Weight'\]"):
        _load(tmp_path, data, meta.drop(columns="Weight"))


def test_idata_refusals_are_located(oracle_dir, tables, tmp_path):
    data, meta = tables
    with pytest.raises(InputError, match=r"iData\.csv:1:LPI: an iMeta indicator with no iData"):
        _load(tmp_path, data.drop(columns="LPI"), meta)
    with pytest.raises(InputError, match=r"iData\.csv:53:uCode: duplicate row for unit 'AUT'"):
        _load(tmp_path, pd.concat([data, data.iloc[[0]]], ignore_index=True), meta)
    text = data.copy()
    text["LPI"] = text["LPI"].astype(object)
    text.loc[0, "LPI"] = "n/a"
    with pytest.raises(InputError, match=r"iData\.csv:2:LPI: not a number: 'n/a'"):
        _load(tmp_path, text, meta)
    panel = _read(oracle_dir / "input_iData_panel.csv")
    dup = pd.concat([panel, panel.iloc[[0]]], ignore_index=True)
    first = f"'{panel['uCode'][0]}' in Time {panel['Time'][0]}"
    with pytest.raises(
        InputError, match=rf"iData\.csv:{len(panel) + 2}:uCode: duplicate row for unit {first}"
    ):
        _load(tmp_path, dup, meta)
    bad_time = panel.astype({"Time": object})
    bad_time.loc[3, "Time"] = "2019a"
    with pytest.raises(InputError, match=r"iData\.csv:5:Time: not a whole number: '2019a'"):
        _load(tmp_path, bad_time, meta)
    moved = panel.copy()
    row = moved.index[
        (moved["uCode"] == moved["uCode"][0]) & (moved["Time"] == moved["Time"].max())
    ]
    moved.loc[row, "EurAsia_group"] = "Elsewhere"
    line = int(row[0]) + 2  # header on line 1
    with pytest.raises(
        InputError,
        match=rf"iData\.csv:{line}:EurAsia_group: unit '.+' changes group over Time \('.+' → "
        rf"'Elsewhere' in Time {moved['Time'].max()}\)",
    ):
        _load(tmp_path, moved, meta)


def test_idata_column_without_imeta_row_and_near_miss_imeta_columns(tables, tmp_path):
    """COINr's new_coin stops on an iData column iMeta does not describe; an iMeta column that is
    a near miss of one read (``target``) would have its values ignored, so it is refused too,
    while a further column of another name (COINr keeps those) is passed over."""
    data, meta = tables
    with pytest.raises(InputError, match=r"iData\.csv:1:Extra: column not in iMeta"):
        _load(tmp_path, data.assign(Extra=1.0), meta)
    with pytest.raises(InputError, match=r"iMeta\.csv:1:target: .*did you mean 'Target'"):
        _load(tmp_path, data, meta.rename(columns={"Target": "target"}))
    with pytest.raises(InputError, match=r"iMeta\.csv:1:Weigth: .*did you mean 'Weight'"):
        _load(tmp_path, data, meta.rename(columns={"Weight": "Weigth"}))
    with pytest.raises(InputError, match=r"iMeta\.csv:1:Units: .*did you mean 'Unit'"):
        _load(tmp_path, data, meta.rename(columns={"Unit": "Units"}))
    further = meta.assign(Comment="kept", Description="not read", iName_zh=meta["iName"])
    fw, _ = _load(tmp_path, data, further)
    assert len(fw.indicators) == (meta["Type"] == "Indicator").sum()
