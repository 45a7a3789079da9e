"""Readers for the COINr oracle (ASEM example) shared by the prep-stage tests (read at test time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def read(oracle_dir: Path, name: str) -> pd.DataFrame:
    """An oracle CSV with COINr's NA convention (empty field = NA)."""
    return pd.read_csv(oracle_dir / name, keep_default_na=False, na_values=[""])


def indicators(oracle_dir: Path) -> pd.DataFrame:
    """Level-1 rows of iMeta, in COINr's column order."""
    meta = read(oracle_dir, "input_iMeta.csv")
    return meta[meta.Level == 1].reset_index(drop=True)


def units_matrix(oracle_dir: Path, name: str, codes: list[str]) -> np.ndarray:
    """A uCode × indicator oracle table as an array (rows sorted by uCode, as COINr stores them)."""
    df = read(oracle_dir, name).sort_values("uCode").set_index("uCode")
    return df[codes].to_numpy(float)


def denominated(oracle_dir: Path) -> tuple[np.ndarray, pd.DataFrame]:
    """COINr ``Denominate``: indicator / the iMeta Denominator column; returns (x, iData sorted)."""
    ind = indicators(oracle_dir)
    data = read(oracle_dir, "input_iData.csv").sort_values("uCode").reset_index(drop=True)
    x = data[list(ind.iCode)].to_numpy(float)
    for j, den in enumerate(ind.Denominator):
        if isinstance(den, str):
            x[:, j] /= data[den].to_numpy(float)
    return x, data


def panel_cube(df: pd.DataFrame, codes: list[str]) -> tuple[np.ndarray, list, list]:
    """Long-by-row panel (Time, uCode, indicators...) → (years, units, indicators) array."""
    years, units = sorted(df.Time.unique()), sorted(df.uCode.unique())
    wide = df.set_index(["Time", "uCode"])[codes]
    cube = np.stack([wide.loc[y].reindex(units).to_numpy(float) for y in years])
    return cube, years, units


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-9) -> float:
    """Same NaN pattern and relative agreement (abs 1e-12 floor for values at zero); max rel err."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-12)
    ok = ~np.isnan(expected) & (expected != 0)
    return float(np.max(np.abs(actual[ok] - expected[ok]) / np.abs(expected[ok]), initial=0.0))
