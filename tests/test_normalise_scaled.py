"""COINr's n_scaled (``normalise = "scaled"``) and the iMeta columns that parametrise it and
n_dist2targ's cap (scaled_lower, scaled_upper, scale_factor, dist2targ_cap_max).

Expected values are worked by hand from COINr's formula $(x - l)/(u - l)\\cdot f$ applied to the
directed value $d\\,x$ (COINr's Normalise multiplies by the direction before calling f_n)."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from index.analysis import spec as sp
from index.cli import app
from index.coinr import load_coinr
from index.config import Config, catalogue, validate
from index.errors import InputError
from index.methods import normalize as nz
from index.pipeline import build

# three indicators under one index, four units; B is "less is better"
DATA = pd.DataFrame(
    {
        "uCode": ["U1", "U2", "U3", "U4"],
        "A": [2.0, 4.0, 6.0, 8.0],
        "B": [1.0, 3.0, 5.0, 7.0],
        "C": [10.0, 20.0, 30.0, 40.0],
    }
)
META = pd.DataFrame(
    {
        "Level": [1, 1, 1, 2],
        "iCode": ["A", "B", "C", "Index"],
        "Direction": [1, -1, 1, 1],
        "Weight": [1, 1, 1, 1],
        "Parent": ["Index", "Index", "Index", None],
        "Type": ["Indicator", "Indicator", "Indicator", "Aggregate"],
    }
)
PLAIN = {"denominate": False, "treat": {"method": "none"}}


def _load(tmp_path, **columns):
    meta = META.copy()
    for col, values in columns.items():
        meta[col] = values
    DATA.to_csv(tmp_path / "iData.csv", index=False)
    meta.to_csv(tmp_path / "iMeta.csv", index=False)
    return load_coinr(tmp_path / "iData.csv", tmp_path / "iMeta.csv")


def _normalised(fw, ds, normalise: dict, *overrides: str) -> np.ndarray:
    cfg = Config.model_validate({**PLAIN, "normalise": normalise}).with_overrides(list(overrides))
    return build(cfg, ds, fw).stages["normalised"][0]


def test_formula_by_hand():
    x = np.array([[2.0], [4.0], [6.0], [np.nan]])
    np.testing.assert_array_equal(
        nz.normalise(x, "scaled", l=0.0, u=10.0, scale_factor=100.0)[:, 0], [20, 40, 60, np.nan]
    )
    # methodology.md's example with direction −1: the formula on −x
    minus = nz.normalise(-np.array([[2.0], [4.0], [6.0]]), "scaled", l=0.0, u=10.0)
    np.testing.assert_array_equal(minus[:, 0], [-20, -40, -60])
    # (3 - 1)/(5 - 1)·1 = 0.5; outside [l, u] is not clipped: (9 - 1)/4 = 2
    np.testing.assert_array_equal(
        nz.normalise(np.array([[3.0], [9.0]]), "scaled", l=1.0, u=5.0, scale_factor=1.0)[:, 0],
        [0.5, 2.0],
    )
    # COINr's defaults npara = c(0, 100), scale_factor = 100: x itself
    np.testing.assert_allclose(nz.scaled(np.array([[7.0], [-3.0]]))[:, 0], [7.0, -3.0], rtol=1e-15)
    # u < l is a reversed linear map, not an error: (2 - 10)/(0 - 10)·100 = 80
    assert nz.scaled(np.array([[2.0]]), l=10.0, u=0.0)[0, 0] == 80.0


def test_direction_applied_first_as_coinr(tmp_path):
    """B has direction −1: the formula on −x, (−x − 0)/(10 − 0)·100."""
    fw, ds = _load(tmp_path)
    got = _normalised(fw, ds, {"method": "scaled", "u": 10.0})
    np.testing.assert_array_equal(got[:, 0], [20, 40, 60, 80])
    np.testing.assert_array_equal(got[:, 1], [-10, -30, -50, -70])
    np.testing.assert_array_equal(got[:, 2], [100, 200, 300, 400])
    # the same through --set, and per indicator (B alone on [−10, 0]: (−x + 10)/10·100)
    again = _normalised(fw, ds, {"method": "minmax"}, "normalise=scaled", "normalise.u=10")
    np.testing.assert_array_equal(again, got)
    own = _normalised(
        fw, ds, {"method": "minmax", "per_indicator": {"B": {"method": "scaled", "l": -10, "u": 0}}}
    )
    np.testing.assert_array_equal(own[:, 1], [90, 70, 50, 30])
    np.testing.assert_allclose(own[:, 0], [0, 100 / 3, 200 / 3, 100])  # A stays min-max


def test_imeta_bounds_and_scale_factor(tmp_path):
    """scaled_lower/upper per indicator where given (B on [−10, 0], C on [0, 50]), the config's
    l, u for A; scale_factor 1 from iMeta."""
    fw, ds = _load(
        tmp_path,
        scaled_lower=[None, -10.0, 0.0, None],
        scaled_upper=[None, 0.0, 50.0, None],
        scale_factor=[1.0, 1.0, 1.0, None],  # an aggregate's cell is not read
    )
    assert fw.node("B").scaled_bounds == (-10.0, 0.0)
    assert fw.node("A").scaled_bounds is None
    assert fw.config == {"normalise": {"method_defaults": {"scaled": {"scale_factor": 1.0}}}}
    got = _normalised(fw, ds, {"method": "scaled", "u": 10.0})
    np.testing.assert_array_equal(got[:, 0], [0.2, 0.4, 0.6, 0.8])  # (x - 0)/10
    np.testing.assert_array_equal(got[:, 1], [0.9, 0.7, 0.5, 0.3])  # (−x + 10)/10
    np.testing.assert_array_equal(got[:, 2], [0.2, 0.4, 0.6, 0.8])  # x/50
    # the config's own scale_factor wins over iMeta's
    mine = _normalised(fw, ds, {"method": "scaled", "u": 10.0, "scale_factor": 100.0})
    np.testing.assert_allclose(mine, got * 100, rtol=1e-15)
    # another method ignores them: min-max as without the columns
    (tmp_path / "plain").mkdir()
    plain_fw, _ = _load(tmp_path / "plain")
    np.testing.assert_array_equal(
        _normalised(fw, ds, {"method": "minmax"}), _normalised(plain_fw, ds, {"method": "minmax"})
    )


@pytest.mark.parametrize(
    "normalise,message",
    [
        ({"l": 5.0, "u": 5.0}, "needs u != l"),
        ({"u": "10"}, "u: Input should be a valid number"),
        ({"scale_factor": True}, "scale_factor: Input should be a valid number"),
        ({"scale_factor": 0.0}, "scale_factor: Input should be greater than 0"),
        ({"l": float("inf")}, "l: Input should be a finite number"),
        ({"scaled_bounds": [[0, 1]] * 3}, "'scaled_bounds' is set by the pipeline"),
        ({"lower": [0, 0, 0]}, "unknown parameter 'lower' for normalisation 'scaled'"),
    ],
)
def test_config_refusals(normalise, message):
    with pytest.raises(InputError, match=message):
        validate({"normalise": {"method": "scaled", **normalise}}, "run.toml")


@pytest.mark.parametrize(
    "columns,message",
    [
        (
            {"scaled_lower": [None, -10.0, None, None]},
            "iMeta.csv:3:scaled_upper: give both scaled_lower and scaled_upper or neither "
            r"\('B' has scaled_lower only\)",
        ),
        (
            {"scaled_lower": [None, 1.0, None, None], "scaled_upper": [None, 1.0, None, None]},
            "iMeta.csv:B:scaled_bounds: lower and upper bounds are equal",
        ),
        (
            {"scaled_lower": [None, "low", None, None], "scaled_upper": [None, 1.0, None, None]},
            "iMeta.csv:3:scaled_lower: not a number: 'low'",
        ),
        (
            {"scale_factor": [100.0, 10.0, 100.0, None]},
            r"iMeta.csv:3:scale_factor: 10 differs from 100 above \(line 2\); set one "
            "normalise.scale_factor for all instead",
        ),
        (
            {"scale_factor": [100.0, None, 100.0, None]},
            "iMeta.csv:3:scale_factor: a blank differs from 100 above",
        ),
        ({"scale_factor": [-1.0] * 3 + [None]}, "iMeta.csv:2:scale_factor: .*greater than 0"),
        (
            {"dist2targ_cap_max": ["TRUE", "maybe", "TRUE", None]},
            "iMeta.csv:3:dist2targ_cap_max: not TRUE or FALSE: 'maybe'",
        ),
        (
            {"dist2targ_cap_max": ["TRUE", "FALSE", "TRUE", None]},
            "iMeta.csv:3:dist2targ_cap_max: FALSE differs from TRUE above",
        ),
        ({"Scale_factor": [1.0] * 4}, "did you mean 'scale_factor'"),
        ({"scaled_uper": [1.0] * 4}, "did you mean 'scaled_upper'"),
    ],
)
def test_imeta_refusals(tmp_path, columns, message):
    with pytest.raises(InputError, match=message):
        _load(tmp_path, **columns)


@pytest.fixture(scope="module")
def asem_meta(oracle_dir):
    return pd.read_csv(oracle_dir / "input_iMeta.csv", keep_default_na=False, na_values=[""])


def test_dist2targ_cap_max_from_imeta_is_normalise_cap(oracle_dir, asem_meta, tmp_path):
    """COINr's ASEM tables with dist2targ_cap_max = TRUE for every indicator build exactly as
    ``normalise.cap = true`` on the tables without it; the cap matters (values above 1 without)."""
    idata = oracle_dir / "input_iData.csv"
    meta = asem_meta.copy()
    meta["dist2targ_cap_max"] = np.where(meta["Type"] == "Indicator", "TRUE", "")
    meta.to_csv(tmp_path / "capped.csv", index=False)
    fw_cap, ds = load_coinr(idata, tmp_path / "capped.csv")
    fw, _ = load_coinr(idata, oracle_dir / "input_iMeta.csv")
    assert fw_cap.config == {"normalise": {"method_defaults": {"dist2targ": {"cap": True}}}}
    from_imeta = _normalised(fw_cap, ds, {"method": "dist2targ"})
    by_setting = _normalised(fw, ds, {"method": "dist2targ", "cap": True})
    uncapped = _normalised(fw, ds, {"method": "dist2targ"})
    np.testing.assert_array_equal(from_imeta, by_setting)
    assert np.nanmax(uncapped) > 1 and np.nanmax(from_imeta) == 1
    np.testing.assert_array_equal(from_imeta, np.minimum(uncapped, 1.0))
    # the config's own cap = false wins over iMeta's TRUE
    mine = _normalised(fw_cap, ds, {"method": "dist2targ", "cap": False})
    np.testing.assert_array_equal(mine, uncapped)
    # switching method keeps the recommended defaults (a later switch back uses them)
    back = _normalised(fw_cap, ds, {"method": "minmax"}, "normalise=dist2targ")
    np.testing.assert_array_equal(back, by_setting)


def test_scaled_bounds_in_a_framework_file_round_trip(tmp_path):
    from index import framework as fwmod

    fw, _ = _load(
        tmp_path, scaled_lower=[None, -10.0, None, None], scaled_upper=[None, 0.0, None, None]
    )
    again = fwmod.from_dict(fw.to_dict())
    assert again.node("B").scaled_bounds == (-10.0, 0.0)
    assert again.indicators == fw.indicators


def test_listed_and_in_the_uncertainty_spec(tmp_path):
    row = next(r for r in catalogue() if r["method"] == "scaled")
    assert row["section"] == "normalise" and "n_scaled" in row["summary"]
    assert set(row["parameters"]) == {"l", "u", "scale_factor"}
    res = CliRunner().invoke(app, ["methods", "normalise"])
    assert res.exit_code == 0 and "scaled" in res.output.split()
    fw, ds = _load(tmp_path)
    spec = tomllib.loads(
        '[factors]\nnormalise = [{method = "scaled", u = 10}, {method = "minmax"}]\n'
    )
    design = sp.resolve(sp.validate(spec), Config.model_validate(PLAIN), fw, "spec.toml")
    assert design.factors[0].labels == ("scaled(u=10)", "minmax")
    b = build(Config.model_validate(PLAIN), ds, fw)
    out = b.uncertainty(16, spec=spec, seed=1, keep_scores=True)
    for run, alt in enumerate(out.alternatives[:, 0]):
        ref = build(
            Config.model_validate(PLAIN).with_overrides([design.factors[0].overrides[alt]]), ds, fw
        )
        np.testing.assert_allclose(out.scores[run], ref.stage("scores")["Index"], rtol=1e-12)
    assert set(out.alternatives[:, 0]) == {0, 1}


def test_a_files_method_defaults_merge_with_the_frameworks():
    """A config giving one method's defaults keeps the framework's for the others (as
    ``per_indicator`` entries merge), parameter by parameter."""
    from index.config import effective

    recommended = {
        "normalise": {"method": "dist2targ", "method_defaults": {"dist2targ": {"cap": True}}}
    }
    mine = Config.model_validate(
        {"normalise": {"method": "dist2targ", "method_defaults": {"scaled": {"u": 10.0}}}}
    )
    got = effective(mine, recommended).normalise.method_defaults
    assert got == {"dist2targ": {"cap": True}, "scaled": {"u": 10.0}}


def test_method_defaults_are_checked_with_the_parameters_they_join():
    """The method runs with its defaults under the config's own parameters: that whole set is
    checked (min-max's l < u), not each half alone."""
    spec = {
        "method": "rank",
        "method_defaults": {"minmax": {"l": 50.0}},
        "per_indicator": {"A": {"method": "minmax", "u": 10.0}},
    }
    with pytest.raises(ValueError, match=r"normalise.per_indicator.A: .*l < u"):
        Config.model_validate({"normalise": spec})
    with pytest.raises(ValueError, match=r"normalise with its method_defaults: .*u != l"):
        Config.model_validate(
            {"normalise": {"method": "scaled", "l": 5.0, "method_defaults": {"scaled": {"u": 5.0}}}}
        )
