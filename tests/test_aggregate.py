"""Aggregation: COINr oracle (pipelines A1-A4, A1T, goalposts, dat_thresh, genmean, panel), pymcdm and
hand-worked examples for the methods COINr lacks, and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from index.errors import InputError
from index.methods.aggregate import AGGREGATORS, aggregate, amean, copeland, genmean, topsis
from index.methods.rank import rank_desc

RTOL = 1e-9


def read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def imeta(oracle_dir):
    meta = read(oracle_dir / "input_iMeta.csv")
    return meta[meta["Type"].isin(["Indicator", "Aggregate"])]


def aggregate_tree(data: dict[str, np.ndarray], imeta, method: str, **kw) -> dict[str, np.ndarray]:
    """Level by level (2, 3, 4): each parent from its children (Parent column) with their weights."""
    out = dict(data)
    for level in sorted(imeta["Level"].unique())[1:]:
        for parent in imeta.loc[imeta["Level"] == level, "iCode"]:
            kids = imeta[imeta["Parent"] == parent]
            x = np.stack([out[c] for c in kids["iCode"]], axis=-1)
            out[parent] = aggregate(x, kids["Weight"].to_numpy(float), method, **kw)
    return out


def max_rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    assert np.array_equal(np.isnan(ours), np.isnan(ref)), "missing-value pattern differs"
    ok = ~np.isnan(ref)
    return float(np.max(np.abs(ours[ok] - ref[ok]) / np.maximum(np.abs(ref[ok]), 1e-300)))


# oracle scores file stem -> (input file or None for the file's own indicator columns, method, params)
ORACLE = {
    "pipe_A1_minmax_amean": (None, "amean", {}),
    "pipe_A2_zscore_amean": (None, "amean", {}),
    "pipe_A3_minmax1_gmean": (None, "gmean", {}),
    "pipe_A4_minmax1_hmean": (None, "hmean", {}),
    "pipe_A1T_treat_minmax_amean": (None, "amean", {}),
    "goalposts_trunc_amean": (None, "amean", {}),
    "datthresh_0.8_A1": ("pipe_A1_minmax_amean_scores.csv", "amean", {"dat_thresh": 0.8}),
    "genmean_p2": ("genmean_input_normalised_minmax1.csv", "genmean", {"p": 2}),
}


@pytest.mark.parametrize("stem", sorted(ORACLE))
def test_levels_reproduce_coinr_scores_and_ranks(oracle_dir, imeta, stem):
    """Aggregate the normalised indicators level by level; every aggregate to 1e-9 rel, ranks exact."""
    source, method, kw = ORACLE[stem]
    scores = read(oracle_dir / f"{stem}_scores.csv")
    ranks = read(oracle_dir / f"{stem}_ranks.csv")
    inputs = scores if source is None else read(oracle_dir / source)
    assert list(inputs["uCode"]) == list(scores["uCode"])
    indicators = imeta.loc[imeta["Level"] == 1, "iCode"]
    aggregates = [c for c in scores.columns if c not in set(indicators) | {"uCode"}]
    assert len(aggregates) == 11
    if source is not None:  # the input really is the indicator part of that scores file
        np.testing.assert_array_equal(inputs[indicators].to_numpy(), scores[indicators].to_numpy())
    ours = aggregate_tree({c: inputs[c].to_numpy(float) for c in indicators}, imeta, method, **kw)
    for code in aggregates:
        assert max_rel_err(ours[code], scores[code].to_numpy(float)) <= RTOL, code
    for code in ranks.columns.drop("uCode"):
        np.testing.assert_array_equal(
            rank_desc(ours[code]), ranks[code].to_numpy(float), err_msg=code
        )


def test_dat_thresh_file_really_blanks_parents(oracle_dir):
    """Guard: the dat_thresh oracle differs from plain A1 (so the test above can fail)."""
    a1 = read(oracle_dir / "pipe_A1_minmax_amean_scores.csv")
    dt = read(oracle_dir / "datthresh_0.8_A1_scores.csv")
    aggs = a1.columns[-11:]
    assert dt[aggs].isna().to_numpy().sum() > a1[aggs].isna().to_numpy().sum() == 0


@pytest.mark.parametrize("kind", ["global", "peryear"])
def test_panel_years_aggregate_as_one_leading_axis(oracle_dir, imeta, kind):
    """Panel (5 years x 51 units): one call per parent with x of shape (5, 51, k); ranks per year."""
    scores = read(oracle_dir / f"panel_minmax_{kind}_amean_scores_long.csv")
    ranks = read(oracle_dir / f"panel_minmax_{kind}_amean_ranks_long.csv")
    wide = scores.pivot_table(
        index=["Time", "uCode"], columns="iCode", values="value", dropna=False
    )
    years = wide.index.get_level_values("Time").unique()
    shape = (len(years), -1)
    cube = {c: wide[c].to_numpy(float).reshape(shape) for c in wide.columns}
    indicators = imeta.loc[imeta["Level"] == 1, "iCode"]
    ours = aggregate_tree({c: cube[c] for c in indicators}, imeta, "amean")
    rank_wide = ranks.pivot_table(index=["Time", "uCode"], columns="iCode", values="value")
    for code in imeta.loc[imeta["Level"] > 1, "iCode"]:
        assert max_rel_err(ours[code], cube[code]) <= RTOL, code
        ref = rank_wide[code].to_numpy(float).reshape(shape)
        np.testing.assert_array_equal(rank_desc(ours[code], axis=-1), ref, err_msg=code)


def test_gmean_on_minmax_zero_data_is_an_input_error(oracle_dir):
    """COINr fails here too (note_minmax0_gmean_error.txt): ln 0 is undefined."""
    x = read(oracle_dir / "pipe_A1_minmax_amean_scores.csv")[["LPI", "Flights", "Ship"]].to_numpy()
    with pytest.raises(InputError, match="zero or negative"):
        aggregate(x, np.ones(3), "gmean")


# ---------------------------------------------------------------- NaN and dat_thresh semantics


def test_amean_skips_nan_and_renormalises_weights():
    x = np.array([[1.0, np.nan, 4.0], [np.nan, np.nan, np.nan]])
    np.testing.assert_allclose(amean(x, [1.0, 5.0, 3.0]), [(1 + 12) / 4, np.nan])


def test_dat_thresh_boundary_is_kept():
    x = np.array([[1, 2, 3, 4, np.nan], [1, 2, 3, np.nan, np.nan]], dtype=float)
    out = aggregate(x, np.ones(5), "amean", dat_thresh=0.8)
    np.testing.assert_allclose(out, [2.5, np.nan])
    np.testing.assert_allclose(aggregate(x, np.ones(5), "amean", dat_thresh=0.6), [2.5, 2.0])


def test_genmean_special_cases_and_nan_skipping():
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 100, (7, 4))
    w = rng.uniform(0.5, 2, 4)
    np.testing.assert_allclose(genmean(x, w, p=1), aggregate(x, w, "amean"), rtol=1e-13)
    np.testing.assert_allclose(genmean(x, w, p=-1), aggregate(x, w, "hmean"), rtol=1e-13)
    np.testing.assert_allclose(genmean(x, w, p=0), aggregate(x, w, "gmean"), rtol=1e-13)
    np.testing.assert_allclose(genmean(x, w, p=1e-9), aggregate(x, w, "gmean"), rtol=1e-6)
    x[0, 1] = np.nan  # COINr's a_genmean would return NA here; we skip the child like a_amean
    expected = (np.nansum(w * x[0] ** 2) / w[[0, 2, 3]].sum()) ** 0.5
    assert genmean(x, w, p=2)[0] == pytest.approx(expected, rel=1e-13)


def test_unknown_method_and_bad_parameters_are_input_errors():
    x = np.ones((3, 2))
    with pytest.raises(InputError, match="unknown aggregation method 'median'"):
        aggregate(x, [1, 1], "median")
    with pytest.raises(InputError, match="genmean"):
        aggregate(x, [1, 1], "genmean")  # p missing
    with pytest.raises(InputError, match="weights"):
        aggregate(x, [1, 1, 1], "amean")
    with pytest.raises(InputError, match="dat_thresh"):
        aggregate(x, [1, 1], "amean", dat_thresh=1.5)
    with pytest.raises(InputError, match="polarity"):
        aggregate(x, [1, 1], "mpi", polarity="up")


# ---------------------------------------------------------------- Copeland


def coinr_copeland(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Line-by-line transcription of COINr's outrankMatrix() + a_copeland() loops (reference)."""
    w = w / np.nansum(w)
    n = x.shape[0]
    orm = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i < j:
                with np.errstate(invalid="ignore"):
                    gt, eq = x[i] > x[j], x[i] == x[j]
                orm[i, j] = w[gt].sum() + w[eq].sum() / 2
            elif i > j:
                orm[i, j] = 1 - orm[j, i]
    s = np.where(orm > 0.5, 1.0, np.where(orm < 0.5, -1.0, 0.0))
    np.fill_diagonal(s, 0)
    return s.sum(axis=1)


def test_copeland_hand_example():
    """Three units A, B, C; equal weights 1/3 on three children.

    A = (3, 3, 1), B = (2, 2, 2), C = (1, 3, 2), D = (1, 1, 1):
    o_AB = 2/3 -> +1; o_AC = 1/3 + (1/3)/2 = 1/2 -> 0; o_BC = 1/3 + (1/3)/2 = 1/2 -> 0;
    D loses to everyone except o_DC = 0 + (1/3)/2 = 1/6 -> still -1.
    A = 1 + 0 + 1 = 2, B = -1 + 0 + 1 = 0, C = 0 + 0 + 1 = 1, D = -3.
    """
    x = np.array([[3.0, 3.0, 1.0], [2.0, 2.0, 2.0], [1.0, 3.0, 2.0], [1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(copeland(x, np.ones(3)), [2.0, 0.0, 1.0, -3.0])


def test_copeland_matches_coinr_loops_with_missing_values(oracle_dir, imeta):
    """COINr's Aggregate() cannot run a_copeland (note_a_copeland_via_Aggregate_error.txt), so the
    reference is its own outrankMatrix loop, on every pillar of pipeline A1 (with its NaNs)."""
    scores = read(oracle_dir / "pipe_A1_minmax_amean_scores.csv")
    rng = np.random.default_rng(0)
    for pillar in imeta.loc[imeta["Level"] == 2, "iCode"]:
        kids = imeta.loc[imeta["Parent"] == pillar, "iCode"]
        x = scores[kids].to_numpy(float)
        w = rng.uniform(0.5, 2.0, x.shape[1])
        np.testing.assert_array_equal(copeland(x, w), coinr_copeland(x, w), err_msg=pillar)


# ---------------------------------------------------------------- Mazziotta-Pareto


def test_mpi_hand_worked():
    """Hand-worked MPI (De Muro, Mazziotta & Pareto 2011 formulas, equal weights).

    Child 1 = (1, 1, 3, 3): mean 2, population sd 1 -> z = (90, 90, 110, 110).
    Child 2 = (4, 0, 4, 0): mean 2, population sd 2 -> z = (110, 90, 110, 90).
    Unit 1: z = (90, 110), M = 100, S = 10, cv = 0.1 -> MPI- = 100 - 10*0.1 = 99, MPI+ = 101.
    Unit 2: (90, 90) -> 90 (S = 0). Unit 3: (110, 110) -> 110. Unit 4: (110, 90) -> 99 / 101.
    """
    x = np.array([[1.0, 4.0], [1.0, 0.0], [3.0, 4.0], [3.0, 0.0]])
    np.testing.assert_allclose(aggregate(x, [1, 1], "mpi"), [99, 90, 110, 99], rtol=1e-14)
    np.testing.assert_allclose(
        aggregate(x, [1, 1], "mpi", polarity="negative"), [101, 90, 110, 101], rtol=1e-14
    )


def test_ampi_hand_worked():
    """AMPI (Mazziotta & Pareto 2016) with goalposts 0 and 60: r = 70 + 60 (x - 0)/60 = 70 + x.

    Unit 1: x = (30, 30) -> r = (100, 100) -> 100. Unit 2: x = (0, 60) -> r = (70, 130):
    M = 100, S = 30, cv = 0.3 -> AMPI- = 100 - 9 = 91, AMPI+ = 109.
    """
    x = np.array([[30.0, 30.0], [0.0, 60.0]])
    kw = {"lower": [0.0, 0.0], "upper": [60.0, 60.0]}
    np.testing.assert_allclose(aggregate(x, [1, 1], "ampi", **kw), [100, 91], rtol=1e-14)
    np.testing.assert_allclose(
        aggregate(x, [1, 1], "ampi", polarity="negative", **kw), [100, 109], rtol=1e-14
    )


def test_mpi_equals_direct_formula_with_scipy_zscore():
    """Independent path: scipy.stats.zscore (ddof = 0) and numpy row mean / population sd."""
    from scipy.stats import zscore

    x = np.random.default_rng(5).uniform(0, 100, (31, 6))
    z = 100 + 10 * zscore(x, axis=0, ddof=0)
    m, s = z.mean(axis=1), z.std(axis=1)
    np.testing.assert_allclose(aggregate(x, np.ones(6), "mpi"), m - s * s / m, rtol=1e-12)


# ---------------------------------------------------------------- TOPSIS

FIGHTERS = np.array(
    [
        [2.0, 1500, 20000, 5.5, 5, 9],
        [2.5, 2700, 18000, 6.5, 3, 5],
        [1.8, 2000, 21000, 4.5, 7, 7],
        [2.2, 1800, 20000, 5.0, 5, 5],
    ]
)
FIGHTER_W = np.array([0.2, 0.1, 0.1, 0.1, 0.2, 0.3])
FIGHTER_DIR = np.array([1, 1, 1, -1, 1, 1])  # acquisition cost is a cost attribute


def test_topsis_hwang_yoon_fighter_example():
    """Hwang, C.L. & Yoon, K. (1981) Multiple Attribute Decision Making, Springer LNEMS 186: the
    fighter-aircraft example (4 aircraft; max speed, ferry range, max payload, acquisition cost,
    reliability, maneuverability; w = .2 .1 .1 .1 .2 .3), published closeness C* = 0.643, 0.268,
    0.613, 0.312 (3 decimals). The cost attribute enters with direction -1 (x * direction, our
    convention), which under vector normalisation is exactly H&Y's min-ideal for costs."""
    c = topsis(FIGHTERS * FIGHTER_DIR, FIGHTER_W)
    np.testing.assert_allclose(c, [0.643, 0.268, 0.613, 0.312], atol=1e-3)
    assert list(rank_desc(c)) == [1, 4, 2, 3]


def test_topsis_equals_pymcdm():
    from pymcdm.methods import TOPSIS
    from pymcdm.normalizations import vector_normalization

    rng = np.random.default_rng(11)
    ref = TOPSIS(normalization_function=vector_normalization)
    for _ in range(5):
        x = rng.uniform(1, 100, (31, 5))
        w = rng.dirichlet(np.ones(5))
        types = rng.choice([-1, 1], 5)
        np.testing.assert_allclose(topsis(x * types, w), ref(x, w, types), rtol=1e-12)
    np.testing.assert_allclose(
        topsis(FIGHTERS * FIGHTER_DIR, FIGHTER_W), ref(FIGHTERS, FIGHTER_W, FIGHTER_DIR), rtol=1e-12
    )


# ---------------------------------------------------------------- batches and properties


def method_params(method: str) -> dict:
    return {"genmean": {"p": 2.0}, "owa": {"atleast": 2}}.get(method, {})


# Compind's bod, rbod and owa weigh by unit / by position: equal child weights, complete data only
POSITIONAL = {"bod", "rbod", "owa"}


def child_weights(method: str, w: np.ndarray) -> np.ndarray:
    return np.ones_like(w) if method in POSITIONAL else w


@pytest.mark.parametrize("method", sorted(AGGREGATORS))
def test_batch_of_weights_equals_loop(oracle_dir, method):
    """UA hot path: x (n, k) with 50 weight sets (50, k) in one call, and x (50, n, k) likewise."""
    x = read(oracle_dir / "genmean_input_normalised_minmax1.csv")[
        ["LPI", "Flights", "Ship", "Bord"]
    ]
    x = x.to_numpy(float)
    if method not in POSITIONAL:
        x[[2, 7], [1, 3]] = np.nan
    w = child_weights(method, np.random.default_rng(2).uniform(0.75, 1.25, (50, 4)))
    kw = method_params(method)
    batch = aggregate(x, w, method, **kw)
    loop = np.stack([aggregate(x, wb, method, **kw) for wb in w])
    np.testing.assert_allclose(batch, loop, rtol=1e-12)
    xs = np.stack([x * (1 + 0.01 * b) for b in range(50)])
    batch3 = aggregate(xs, w, method, **kw)
    loop3 = np.stack([aggregate(xb, wb, method, **kw) for xb, wb in zip(xs, w, strict=True)])
    np.testing.assert_allclose(batch3, loop3, rtol=1e-12)


positive = st.floats(1.0, 100.0)
data = arrays(
    np.float64, st.tuples(st.integers(3, 8), st.integers(2, 5)), elements=positive
).filter(lambda a: np.ptp(a, axis=0).min() > 0)  # every child varies (MPI/AMPI/TOPSIS need spread)


@settings(max_examples=40, deadline=None)
@given(data, st.randoms(use_true_random=False), st.sampled_from(sorted(AGGREGATORS)))
def test_permuting_units_permutes_scores(x, rnd, method):
    perm = np.array(rnd.sample(range(x.shape[0]), x.shape[0]))
    w = child_weights(method, np.linspace(1.0, 2.0, x.shape[1]))
    kw = method_params(method)
    np.testing.assert_allclose(
        aggregate(x[perm], w, method, **kw), aggregate(x, w, method, **kw)[perm], rtol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(data, st.data())
def test_raising_an_indicator_never_lowers_amean(x, draw):
    i = draw.draw(st.integers(0, x.shape[0] - 1))
    j = draw.draw(st.integers(0, x.shape[1] - 1))
    bump = draw.draw(st.floats(0.0, 50.0))
    w = draw.draw(arrays(np.float64, x.shape[1], elements=st.floats(0.0, 5.0)))
    if w.sum() == 0:
        w[0] = 1.0
    raised = x.copy()
    raised[i, j] += bump
    assert amean(raised, w)[i] >= amean(x, w)[i] - 1e-12


@settings(max_examples=30, deadline=None)
@given(data, st.sampled_from(sorted(AGGREGATORS)), st.integers(1, 6))
def test_batch_path_equals_single_runs(x, method, n_rep):
    w = child_weights(method, np.random.default_rng(n_rep).uniform(0.1, 1.0, (n_rep, x.shape[1])))
    kw = method_params(method)
    batch = aggregate(x, w, method, **kw)
    for b in range(n_rep):
        np.testing.assert_allclose(batch[b], aggregate(x, w[b], method, **kw), rtol=1e-12)
