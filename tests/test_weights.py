"""Weights: COINr oracle (PCA per pillar), pymcdm (entropy, CRITIC, AHP), published
and hand-worked examples, and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from index.errors import InputError
from index.methods import ConstantIndicatorError, IndicatorError
from index.methods.aggregate import amean
from index.methods.weights import (
    SAATY_RI,
    WEIGHTERS,
    InconsistentJudgementsError,
    ahp,
    ahp_consistency,
    ahp_group,
    balance,
    compute_weights,
    critic,
    entropy,
    pca,
    pca_loadings,
    varimax,
)


def read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


# ---------------------------------------------------------------- COINr oracle


def test_pca_per_pillar_reproduces_coinr_up_to_sign(oracle_dir):
    """get_PCA(dset = "Normalised", Level = 1, by_groups = TRUE) of COINr's example build. Its
    "Normalised" data set (denominate -> impute -> treat -> min-max 0-100) is norm_n_minmax_0_100.csv
    (which has no NaN, matching n_rows_used = 51). LAPACK's sign differs from our convention (sum of
    loadings > 0) in Political and Social; magnitudes and variance shares agree to 1e-9."""
    data = read(oracle_dir / "norm_n_minmax_0_100.csv")
    details = read(oracle_dir / "pca_L1_bygroups_Normalised_details.csv")
    weights = read(oracle_dir / "pca_L1_bygroups_Normalised_weights.csv").set_index("iCode")
    flipped = []
    for group, d in details.groupby("group"):
        x = data[list(d["iCode"])].to_numpy(float)
        loadings, share = pca_loadings(x)
        ref = d["PC1_loading"].to_numpy(float)
        sign = np.sign(ref @ loadings)
        if sign < 0:
            flipped.append(group)
        np.testing.assert_allclose(sign * loadings, ref, rtol=1e-9, err_msg=group)
        np.testing.assert_allclose(share, d["PC1_var_explained"].iloc[0], rtol=1e-9)
        assert loadings.sum() > 0
        np.testing.assert_allclose(ref, weights.loc[d["iCode"], "Weight"].to_numpy(float))
        np.testing.assert_array_equal(pca(x), loadings)
    assert flipped == ["Political", "Social"]


def test_pca_uses_complete_rows_like_prcomp(oracle_dir):
    """With NaN (pipeline A1): rows with any NaN dropped; reference = SVD of the scaled data."""
    scores = read(oracle_dir / "pipe_A1_minmax_amean_scores.csv")
    meta = read(oracle_dir / "input_iMeta.csv")
    kids = meta.loc[meta["Parent"] == "P2P", "iCode"]
    x = scores[kids].to_numpy(float)
    assert np.isnan(x).any()
    xc = x[~np.isnan(x).any(axis=1)]
    z = (xc - xc.mean(0)) / xc.std(0, ddof=1)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    ref = vt[0] * np.sign(vt[0].sum())
    loadings, share = pca_loadings(x)
    np.testing.assert_allclose(loadings, ref, rtol=1e-9)
    assert share == pytest.approx(s[0] ** 2 / (len(xc) - 1) / len(kids), rel=1e-12)


# ---------------------------------------------------------------- AHP

# Saaty's "relative wealth of nations" matrix (US, USSR, China, France, UK, Japan, W. Germany).
SAATY_WEALTH = np.array(
    [
        [1, 4, 9, 6, 6, 5, 5],
        [1 / 4, 1, 7, 5, 5, 3, 4],
        [1 / 9, 1 / 7, 1, 1 / 5, 1 / 5, 1 / 7, 1 / 5],
        [1 / 6, 1 / 5, 5, 1, 1, 1 / 3, 1 / 3],
        [1 / 6, 1 / 5, 5, 1, 1, 1 / 3, 1 / 3],
        [1 / 5, 1 / 3, 7, 3, 3, 1, 2],
        [1 / 5, 1 / 4, 5, 3, 3, 1 / 2, 1],
    ]
)


def test_ahp_saaty_wealth_of_nations():
    """Saaty, T.L. (1980) The Analytic Hierarchy Process, McGraw-Hill (also Saaty 1977, J. Math.
    Psychol. 15:234-281): the wealth-of-nations example, published eigenvector .427 .230 .021 .052
    .052 .123 .094, lambda_max = 7.61, CI = 0.10, CR = 0.08 (RI_7 = 1.32)."""
    res = ahp(SAATY_WEALTH)
    np.testing.assert_allclose(
        res.weights, [0.427, 0.230, 0.021, 0.052, 0.052, 0.123, 0.094], atol=5e-4
    )
    assert res.lambda_max == pytest.approx(7.61, abs=5e-3)
    assert res.ci == pytest.approx(0.10, abs=5e-3)
    assert res.cr == pytest.approx(0.08, abs=5e-3)


def test_ahp_equals_pymcdm():
    from pymcdm.weights.subjective import AHP

    ref = AHP(matrix=SAATY_WEALTH)
    res = ahp(SAATY_WEALTH)
    np.testing.assert_allclose(res.weights, ref(), rtol=1e-12)
    # pymcdm divides the same CI by Tummala & Ling's RI (1.3322 for n = 7) instead of Saaty's 1.32
    assert res.ci == pytest.approx(ref.get_cr() * AHP.RI_M[6], rel=1e-12)


def test_ahp_consistent_matrix_and_warning():
    w = np.array([0.5, 0.3, 0.2])
    res = ahp(w[:, None] / w[None, :])
    np.testing.assert_allclose(res.weights, w, rtol=1e-12)
    assert abs(res.cr) < 1e-12
    with pytest.raises(InputError, match="reciprocal"):
        ahp([[1, 2], [2, 1]])
    x = np.ones((4, 3))
    np.testing.assert_allclose(compute_weights(x, "ahp", pairwise=w[:, None] / w[None, :]), w)


CYCLIC = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]  # intransitive: 1 > 2 > 3 > 1


def test_saaty_random_index_table():
    """Saaty (1980), Table 1.3: RI for n = 1..10."""
    published = [0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49]
    assert list(SAATY_RI[:10]) == published


def test_ahp_inconsistent_matrix_by_hand_is_an_error():
    """The circulant matrix with first row (1, 9, 1/9) has lambda_max = 1 + 9 + 1/9 = 91/9, so
    CI = (91/9 - 3)/2 = 32/9 and CR = CI / 0.58 = 6.13; by symmetry the weights are equal."""
    res = ahp(CYCLIC)
    assert res.lambda_max == pytest.approx(91 / 9, rel=1e-12)
    assert res.ci == pytest.approx(32 / 9, rel=1e-12)
    assert res.cr == pytest.approx(32 / 9 / 0.58, rel=1e-12)
    assert not res.consistent and res.ri == 0.58
    np.testing.assert_allclose(res.weights, [1 / 3] * 3, rtol=1e-12)
    x = np.ones((4, 3))
    with pytest.raises(InconsistentJudgementsError, match=r"CR = 6\.130 > 0\.1"):
        compute_weights(x, "ahp", pairwise=CYCLIC)
    w = compute_weights(x, "ahp", pairwise=CYCLIC, allow_inconsistent=True)
    np.testing.assert_allclose(w, [1 / 3] * 3, rtol=1e-12)
    # Saaty's wealth-of-nations matrix (CR = 0.08) passes
    assert ahp(SAATY_WEALTH).consistent
    compute_weights(np.ones((2, 7)), "ahp", pairwise=SAATY_WEALTH)


def test_group_ahp_geometric_mean():
    """Aczél & Saaty (1983): the geometric mean keeps reciprocity and unanimity; consistent experts
    with priorities w1, w2 give the consistent matrix of sqrt(w1 * w2) (worked by hand)."""
    w1, w2 = np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.2, 0.6])
    group = ahp_group([w1[:, None] / w1[None, :], w2[:, None] / w2[None, :]])
    g = np.sqrt(w1 * w2)
    np.testing.assert_allclose(group, g[:, None] / g[None, :], rtol=1e-14)
    res = ahp([w1[:, None] / w1[None, :], w2[:, None] / w2[None, :]])
    np.testing.assert_allclose(res.weights, g / g.sum(), rtol=1e-12)
    assert res.n_experts == 2 and abs(res.cr) < 1e-12
    # unanimity: three copies of Saaty's wealth matrix are Saaty's matrix (lambda_max 7.61)
    same = ahp(np.stack([SAATY_WEALTH] * 3))
    assert same.lambda_max == pytest.approx(ahp(SAATY_WEALTH).lambda_max, rel=1e-12)
    # reciprocity of the synthesis for inconsistent experts; 2x2 by hand: sqrt(3 * 1/3) = 1
    mixed = ahp_group([SAATY_WEALTH, SAATY_WEALTH.T])
    np.testing.assert_allclose(mixed * mixed.T, 1.0, rtol=1e-14)
    np.testing.assert_allclose(ahp_group([[[1, 3], [1 / 3, 1]], [[1, 1 / 3], [3, 1]]]), 1.0)
    with pytest.raises(InputError, match="expert 2"):
        ahp_group([[[1, 3], [1 / 3, 1]], [[1, 3], [3, 1]]])


def test_ahp_consistency_table():
    t = ahp_consistency({"P1": SAATY_WEALTH, "P2": CYCLIC, "P3": [[[1, 2], [0.5, 1]]] * 2})
    assert list(t["group"]) == ["P1", "P2", "P3"]
    assert list(t["consistent"]) == [True, False, True]
    assert list(t["experts"]) == [1, 1, 2]
    assert t["CR"].iloc[0] == pytest.approx(0.08, abs=5e-3)
    assert t["RI"].tolist() == [1.32, 0.58, 0.0]


# ---------------------------------------------------------------- entropy


def test_entropy_hand_worked_binary_entropy():
    """Shannon (1948): the binary entropy H(1/4) = 2 - (3/4) log2 3 = 0.811278 bits.

    Two units, three children: (1, 1) -> p = (1/2, 1/2), e = 1, d = 0; (1, 0) -> p = (1, 0),
    e = 0 (0 ln 0 = 0), d = 1; (1, 3) -> p = (1/4, 3/4), e = H(1/4), d = 1 - H(1/4) = 0.188722.
    w = d / sum(d) = (0, 1/(2 - H), (1 - H)/(2 - H)).
    """
    h = 2 - 0.75 * np.log2(3)
    x = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 3.0]])
    np.testing.assert_allclose(
        entropy(x), [0.0, 1 / (2 - h), (1 - h) / (2 - h)], rtol=1e-12, atol=1e-15
    )


def test_entropy_equals_pymcdm_on_positive_data(oracle_dir):
    """pymcdm sets e_j = 0 for any column containing a zero (we use 0 ln 0 = 0), so compare on the
    strictly positive [1, 100] normalised data set, pillar by pillar, and on random data."""
    from pymcdm.weights import entropy_weights

    data = read(oracle_dir / "norm_n_minmax_1_100.csv")
    meta = read(oracle_dir / "input_iMeta.csv")
    for pillar in meta.loc[meta["Level"] == 2, "iCode"]:
        x = data[meta.loc[meta["Parent"] == pillar, "iCode"]].to_numpy(float)
        np.testing.assert_allclose(entropy(x), entropy_weights(x), rtol=1e-10, err_msg=pillar)
    x = np.random.default_rng(4).uniform(0.1, 50, (31, 7))
    np.testing.assert_allclose(entropy(x), entropy_weights(x), rtol=1e-10)


def test_entropy_rejects_negative_data_and_drops_missing_units():
    with pytest.raises(IndicatorError, match="non-negative") as err:
        entropy(np.array([[1.0, -1.0], [2.0, 3.0], [1.0, 2.0]]))
    assert err.value.columns == (1,)
    x = np.array([[1.0, 4.0], [2.0, np.nan], [3.0, 1.0], [5.0, 2.0]])
    ref = entropy(np.array([[1.0, 4.0], [3.0, 1.0], [5.0, 2.0]]))
    d1 = 1 - entropy_column(x[:, 0])
    d2 = 1 - entropy_column(x[[0, 2, 3], 1])
    np.testing.assert_allclose(entropy(x), np.array([d1, d2]) / (d1 + d2), rtol=1e-12)
    assert not np.allclose(entropy(x), ref)  # unit 2's child 1 still counts


def entropy_column(v: np.ndarray) -> float:
    p = v / v.sum()
    return float(-(p * np.log(p)).sum() / np.log(len(v)))


# ---------------------------------------------------------------- CRITIC


def test_critic_hand_worked():
    """Diakoulaki, Mavrotas & Papayannakis (1995) formula on a hand-worked 3 x 3 example.

    Min-max columns: a = (0, 1/2, 1), b = (1, 0, 1/2), c = (0, 0, 1).
    Sample sd: s_a = s_b = 1/2, s_c = 1/sqrt(3). Correlations: r_ab = -1/2, r_ac = sqrt(3)/2, r_bc = 0.
    C_a = 1/2 (3/2 + 1 - sqrt(3)/2), C_b = 1/2 (3/2 + 1), C_c = (1/sqrt(3)) (1 - sqrt(3)/2 + 1).
    """
    x = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.5, 1.0]]) * 7 + 3  # affine: no effect
    r3 = np.sqrt(3)
    c = np.array([0.5 * (2.5 - r3 / 2), 0.5 * 2.5, (2 - r3 / 2) / r3])
    np.testing.assert_allclose(critic(x), c / c.sum(), rtol=1e-12)


def test_critic_equals_pymcdm(oracle_dir):
    from pymcdm.weights import critic_weights

    data = read(oracle_dir / "norm_n_minmax_0_100.csv")
    meta = read(oracle_dir / "input_iMeta.csv")
    for pillar in meta.loc[meta["Level"] == 2, "iCode"]:
        x = data[meta.loc[meta["Parent"] == pillar, "iCode"]].to_numpy(float)
        np.testing.assert_allclose(critic(x), critic_weights(x), rtol=1e-10, err_msg=pillar)


def test_critic_constant_child_is_an_error():
    with pytest.raises(ConstantIndicatorError):
        critic(np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]]))


# ---------------------------------------------------------------- PCA, OECD variant


def test_varimax_equals_scikit_learn_rotation():
    """Independent iteration: scikit-learn's (private) _ortho_rotation on Kaiser-normalised rows,
    run for a fixed 20 000 iterations (tol = -1; its criterion-based stop is far less precise)."""
    from sklearn.decomposition._factor_analysis import _ortho_rotation

    loadings = np.random.default_rng(8).normal(size=(9, 3))
    h = np.sqrt((loadings**2).sum(1, keepdims=True))
    ref = _ortho_rotation(loadings / h, tol=-1, max_iter=20_000).T * h
    np.testing.assert_allclose(varimax(loadings), ref, atol=1e-11)


def test_oecd_pca_on_two_independent_blocks_gives_equal_weights():
    """Two uncorrelated blocks of three equally intercorrelated indicators: two factors (eigenvalues
    > 1), varimax aligns one factor per block, equal loadings and equal explained variance -> 1/6."""
    rng = np.random.default_rng(1)
    # orthonormal, zero-mean columns (QR against a column of ones): exactly uncorrelated
    q = np.linalg.qr(np.column_stack([np.ones(500), rng.normal(size=(500, 8))]))[0][:, 1:]
    f, e = q[:, :2], q[:, 2:]
    x = np.column_stack([f[:, [0]] + 0.5 * e[:, :3], f[:, [1]] + 0.5 * e[:, 3:]])
    np.testing.assert_allclose(pca(x, variant="oecd"), np.full(6, 1 / 6), rtol=1e-9)


def test_oecd_pca_single_factor_is_squared_pc1():
    """One factor retained (eigenvalue > 1, > 60 % of variance): weights = squared PC1 loadings."""
    rng = np.random.default_rng(2)
    common = rng.normal(size=(200, 1))
    x = common + 0.3 * rng.normal(size=(200, 4)) * [1, 2, 3, 4]
    loadings, share = pca_loadings(x)
    assert share > 0.6
    np.testing.assert_allclose(pca(x, variant="oecd"), loadings**2, rtol=1e-10)


def test_pca_unknown_variant():
    with pytest.raises(InputError, match="variant"):
        pca(np.random.default_rng(0).normal(size=(5, 3)), variant="spss")


# ---------------------------------------------------------------- balance (COINr get_opt_weights)


def balance_data(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(60, 1))
    return 50 + 10 * (common * [1.0, 0.6, 0.3] + rng.normal(size=(60, 3)) * [0.5, 0.8, 1.0])


def corr_with_parent(x, w):
    y = amean(x, w)
    return np.array([np.corrcoef(x[:, j], y)[0, 1] for j in range(x.shape[1])])


def test_balance_equalises_correlations_with_the_parent():
    x = balance_data()
    c_equal = corr_with_parent(x, np.ones(3))
    assert np.ptp(c_equal) > 0.1  # equal weights are far from balanced
    w = balance(x)
    np.testing.assert_allclose(w.sum(), 1.0)
    c = corr_with_parent(x, w)
    np.testing.assert_allclose(c / c.sum(), np.full(3, 1 / 3), atol=1e-6)


def test_balance_targets_stay_with_their_children():
    """COINr sorts one side alphabetically and mis-assigns unequal targets; we keep the order.
    Targets = the correlation shares of known interior weights, so they are attainable."""
    x = balance_data()
    w_star = np.array([0.1, 0.6, 0.3])
    c_star = corr_with_parent(x, w_star)
    target = c_star / c_star.sum()
    assert np.ptp(target) > 0.05
    w = balance(x, targets=target * 7)
    c = corr_with_parent(x, w)
    np.testing.assert_allclose(c / c.sum(), target, atol=1e-6)
    np.testing.assert_allclose(w, w_star, atol=1e-4)


# ---------------------------------------------------------------- registry


def test_registry_unknown_names_and_bad_parameters():
    x = np.random.default_rng(0).uniform(1, 2, (6, 3))
    with pytest.raises(InputError, match="unknown weighting method 'magic'"):
        compute_weights(x, "magic")
    with pytest.raises(InputError, match="pca"):
        compute_weights(x, "pca", rotation="varimax")
    with pytest.raises(InputError, match="non-negative"):
        compute_weights(x, "fixed", weights=[1, -1, 1])
    assert set(WEIGHTERS) == {
        "equal",
        "fixed",
        "ahp",
        "entropy",
        "critic",
        "pca",
        "balance",
        "infomax",
        "optimise",
    }


# ---------------------------------------------------------------- properties

positive = st.floats(0.5, 100.0)
data = arrays(
    np.float64, st.tuples(st.integers(4, 10), st.integers(2, 5)), elements=positive
).filter(lambda a: np.ptp(a, axis=0).min() > 1e-3)
SUMMING = ["equal", "entropy", "critic"]


@settings(max_examples=40, deadline=None)
@given(data, st.sampled_from(SUMMING + ["pca_oecd", "fixed"]))
def test_weights_sum_to_one(x, method):
    if method == "pca_oecd":
        w = pca(x, variant="oecd")
    elif method == "fixed":
        w = compute_weights(x, "fixed", weights=x[0])
    else:
        w = compute_weights(x, method)
    assert w.shape == x.shape[-1:]
    assert (w >= 0).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


SAATY_SCALE = [1 / 9, 1 / 7, 1 / 5, 1 / 3, 1.0, 3.0, 5.0, 7.0, 9.0]


def reciprocal(n: int, upper: list[float]) -> np.ndarray:
    a = np.ones((n, n))
    a[np.triu_indices(n, 1)] = upper
    return np.triu(a) + np.tril(1 / a.T, -1)


ahp_matrices = st.integers(1, 9).flatmap(
    lambda n: st.lists(
        st.sampled_from(SAATY_SCALE), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2
    ).map(lambda v: reciprocal(n, v))
)


@pytest.mark.filterwarnings("ignore:AHP consistency ratio")
@settings(max_examples=40, deadline=None)
@given(ahp_matrices)
def test_ahp_weights_sum_to_one(a):
    res = ahp(a)
    assert (res.weights > 0).all()
    assert res.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert res.ci >= -1e-12  # lambda_max >= n for positive reciprocal matrices


@settings(max_examples=40, deadline=None)
@given(data, st.randoms(use_true_random=False), st.sampled_from(SUMMING + ["pca"]))
def test_weights_do_not_depend_on_unit_order(x, rnd, method):
    if method == "pca":  # with tied leading eigenvalues PC1 is not unique: no order to keep
        values = np.linalg.eigvalsh(np.corrcoef(x, rowvar=False))[::-1]
        assume(np.isfinite(values).all() and values[0] - values[1] > 1e-6 * abs(values[0]))
    perm = np.array(rnd.sample(range(x.shape[0]), x.shape[0]))
    np.testing.assert_allclose(
        compute_weights(x[perm], method), compute_weights(x, method), rtol=1e-9, atol=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(data, st.integers(0, 4))
def test_identical_indicators_get_identical_entropy_weights(x, j):
    j = j % x.shape[1]
    w = entropy(np.column_stack([x, x[:, j]]))
    assert w[j] == w[-1]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.sampled_from(SUMMING + ["pca"]), st.integers(0, 10_000))
def test_batch_path_equals_single_runs(n_rep, method, seed):
    xs = np.random.default_rng(seed).uniform(1, 100, (n_rep, 12, 4))
    batch = compute_weights(xs, method)
    for b in range(n_rep):
        np.testing.assert_allclose(batch[b], compute_weights(xs[b], method), rtol=1e-12)
