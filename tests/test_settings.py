"""Every setting is checked: mistaken settings exit 2 naming the key, with nothing written; the
what-ifs (--weight, --exclude, rebuild(weights=…)) equal the edited framework file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from typer.testing import CliRunner

import index
from index import framework as fwmod
from index.cli import app
from index.config import Config, load
from index.dataset import load_inputs
from index.errors import InputError
from index.pipeline import build

runner = CliRunner()

# (arguments, text the one-line message must contain: the key, and what is wrong)
MISTAKES = [
    (["--set", "weighting.compute=0.4"], "--weight compute=W"),
    (["--set", "weighting.level=[1]"], "did you mean 'levels'"),
    (["--set", "impute.methd=mean"], "did you mean 'method'"),
    (["--set", "normalise.uu=1"], "did you mean 'u'"),
    (["--set", "weighting=nonsense"], "unknown weighting method 'nonsense'"),
    (["--set", "weighting=entropi"], "did you mean 'entropy'"),
    (["--set", "normalise=minmx"], "did you mean 'minmax'"),
    (["--set", "aggregation=gmeen"], "did you mean 'gmean'"),
    (["--set", "treat=winsorize"], "did you mean 'winsorise'"),
    (["--set", "impute=latests"], "did you mean 'latest'"),
    (["--set", "normalise.u=abc"], "normalise: u: Input should be a valid number"),
    (["--set", "treat.winmax=abc"], "treat: winmax: Input should be a valid integer"),
    (["--set", "treat.winmax=-1"], "treat.winmax must be ≥ 0"),
    (["--set", "treat.f1=boxcx"], "treat.f1: unknown f1 treatment method 'boxcx' (did you mean"),
    (["--set", "treat=boxcox", "--set", "treat.winmax=2"], "did you mean f1 = 'boxcox'?"),
    (["--set", "normalise.l=200"], "needs l < u"),
    (["--set", "normalise.l=100"], "needs l < u"),
    (["--set", "normalise.l=NaN"], "normalise.l: NaN is not a finite number"),
    (["--set", "normalise.u=Infinity"], "normalise.u: Infinity is not a finite number"),
    (["--set", "normalise=zscore", "--set", "normalise.s=0"], "s: Input should be greater than 0"),
    (
        ["--set", "normalise.u=50", "--set", "normalise=zscore"],
        "normalise.u: was set, then dropped",
    ),
    (["--set", "weighting=pca", "--set", "weighting.variant=best"], "variant: Input should be"),
    (
        ["--set", "weighting=fixed", "--set", "weighting.levels=[1]"],
        "weighting.levels has no effect",
    ),
    (["--set", "weighting=entropy", "--set", "weighting.levels=[0]"], "levels ≥ 1"),
    (["--set", "aggregation.p=2"], "unknown parameter 'p' for aggregation 'amean'"),
    (["--set", "aggregation.dat_thresh=2"], "dat_thresh must lie in [0, 1]"),
    (["--set", "impute.fallback=null"], "impute.group is unused"),
    (["--set", "impute=median_grp", "--set", "impute.group=null"], "needs impute.group"),
    (["--set", "impute.fallback=latest"], "impute.fallback must be cross-sectional"),
    (["--set", "impute.max_gap=0"], "max_gap: Input should be greater than or equal to 1"),
    (["--set", "normalise.directions=[1]"], "'directions' is set by the pipeline"),
    (["--set", "wieghting=entropy"], "unknown setting 'wieghting' (did you mean 'weighting'?)"),
    (["--set", "denominate=maybe"], "denominate: Input should be a valid boolean"),
    (["--set", "years=[2030]"], "years not in data: [2030]"),
    (["--set", "nokey"], "expected key=value"),
    (["--year", "2030"], "--year: 2030 not in data years"),
    (["--weight", "computee=2"], "no node 'computee' in cci_public.toml (did you mean 'compute'?)"),
    (["--weight", "compute=abc"], "expected NODE=WEIGHT"),
    (
        ["--weight", "compute=-1"],
        "--weight:compute=-1: a weight must be a finite number in [0, 1e12]",
    ),
    (["--weight", "compute=1e308"], "--weight:compute=1e308: a weight must be a finite"),
    (["--weight", "cci=2"], "the index itself has no weight"),
    (["--weight", "web_pages=2", "--set", "weighting=entropy"], "weights.web_pages: has no effect"),
    (["--exclude", "web_pagez"], "no node 'web_pagez'"),
    (["--exclude", "cci"], "cannot exclude the index itself"),
    (
        ["--exclude", "web_pages", "--exclude", "domain_names", "--exclude", "hub_node"],
        "leaves 'storage' with no children",
    ),
    (
        ["--exclude", "storage", "--weight", "web_pages=2"],
        "weights.web_pages: 'web_pages' is excluded",
    ),
    (["-c", "no_such_config"], "config file not found"),
    (["--set", "weighting=entropy", "--set", "weighting.levels=[5]"], "weighs no group here"),
    (["--set", 'aggregation.by_level={"9": "gmean"}'], "level(s) [9] aggregate nothing"),
    (["--set", 'aggregation.dat_thresh={"9": 0.5}'], "level(s) [9] aggregate nothing"),
    (
        ["--set", 'weighting={"method": "ahp", "pairwise": {"compte": [[1, 2], [0.5, 1]]}}'],
        "no group ['compte']",
    ),
    (["--set", "denominate=false"], "denominate=false would score ['nonthermal_share']"),
    (["-f", "no_such_framework.toml"], "framework file not found"),
    # a method that is not a name at all (was an internal TypeError)
    (
        ["--set", "treat.per_indicator.hub_node.method=5"],
        "treat.per_indicator.hub_node: treatment method must be a name, got 5",
    ),
    (["--set", "treat.f1=[1, 2]"], "treat.f1: f1 treatment method must be a name, got [1, 2]"),
    (
        ["--set", "normalise.per_indicator.hub_node.method=[1]"],
        "normalise.per_indicator.hub_node: normalisation method must be a name, got [1]",
    ),
    (["--set", "weighting.method=[1, 2]"], "weighting.method: Input should be a valid string"),
    # a boolean or a float is not a number of points / a count (pydantic's lax mode took them)
    (["--set", "treat.winmax=true"], "treat: winmax: Input should be a valid integer (got True)"),
    (["--set", "normalise.u=true"], "normalise: u: Input should be a valid number (got True)"),
    (["--set", "impute.max_gap=2.0"], "max_gap: Input should be a valid integer (got 2.0)"),
    (["--set", 'normalise.u="100"'], "normalise: u: Input should be a valid number"),
    # settings that change nothing
    (["--set", "screen.dat_thresh=0.5"], "screen.dat_thresh has no effect with screen.unit_screen"),
    (
        ["--set", "screen.unit_screen=byzeros", "--set", "screen.dat_thresh=0.5"],
        "screen.dat_thresh has no effect with screen.unit_screen = 'byzeros'",
    ),
    (["--set", "weighting={}"], "weighting: an empty table changes nothing"),
    (
        ["--set", "normalise.method_defaults.dist2targ.cap=true"],
        "normalise.method_defaults.dist2targ.cap: changes nothing: no indicator is normalised "
        "with 'dist2targ'",
    ),
    (
        ["--set", "normalise.method_defaults.minmax.l=1"],
        "normalise.method_defaults.minmax.l: changes nothing: every normalisation with 'minmax' "
        "sets l itself",
    ),
    (["--set", "screen.unit_screen=[1]"], "screen.unit_screen: Input should be 'none'"),
]


def test_switching_the_screening_rule_drops_the_old_rules_thresholds(bundled_inputs, tmp_path):
    """A config's byNA threshold does not block ``--set screen.unit_screen=none`` or ``=byzeros``
    (the user did not give it in this command); given in the same command it is reported."""
    cfg = tmp_path / "s.toml"
    cfg.write_text('[screen]\nunit_screen = "byNA"\ndat_thresh = 0.5\n', encoding="utf-8")
    base = ["run", "-q", "--data", str(bundled_inputs), "-c", str(cfg)]
    for rule in ("none", "byzeros"):
        res = runner.invoke(app, [*base, "--set", f"screen.unit_screen={rule}"])
        assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, [*base, "--set", "screen.dat_thresh=0.4", "--set", "screen.unit_screen=byzeros"]
    )
    assert res.exit_code == 2 and "screen.dat_thresh has no effect" in res.output


@pytest.mark.parametrize("step", ["weighting", "treat", "aggregation"])
def test_an_empty_step_table_in_a_config_file_is_refused(bundled_inputs, tmp_path, step):
    """A step's table is laid over the framework's (same method: merged key by key), so one with
    nothing under it changes nothing, and is named (as ``--set weighting={}`` is)."""
    cfg = tmp_path / "empty.toml"
    cfg.write_text(f"[{step}]\n", encoding="utf-8")
    res = runner.invoke(app, ["run", "-q", "--data", str(bundled_inputs), "-c", str(cfg)])
    assert res.exit_code == 2
    assert f"empty.toml:{step}: an empty table changes nothing" in res.output, res.output


def test_an_empty_table_that_clears_the_frameworks_is_kept(bundled_inputs, tmp_path):
    """An empty table that is not a whole step can mean something: ``per_indicator = {}`` with
    another method clears the framework's per-indicator treatments, and the file says so."""
    from index.config import load

    cfg = tmp_path / "clear.toml"
    cfg.write_text('[treat]\nmethod = "log_CT"\nper_indicator = {}\n', encoding="utf-8")
    assert load(cfg).treat.per_indicator == {}
    res = runner.invoke(app, ["run", "-q", "--data", str(bundled_inputs), "-c", str(cfg)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("quiet", [False, True], ids=["loud", "quiet"])
@pytest.mark.parametrize("args,expected", MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_mistaken_setting_exits_2_naming_it_and_writes_nothing(
    bundled_inputs, tmp_path, args, expected, quiet
):
    out = tmp_path / "results.parquet"
    cmd = ["run", "--data", str(bundled_inputs), "--out", str(out), *args]
    res = runner.invoke(app, [*cmd, *(["-q"] if quiet else [])])
    assert res.exit_code == 2, res.output
    assert expected in res.output, res.output
    assert res.output.startswith("error: ") and "Traceback" not in res.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_at_least_thirty_mistakes_are_covered():
    assert len(MISTAKES) >= 30


def test_uncertainty_alternatives_are_validated_before_any_run(tmp_path):
    from index.analysis import spec as specmod

    spec = specmod.validate({"factors": {"normalise.uu": [1, 2]}})
    fw = fwmod.load(fwmod.DEFAULT_FRAMEWORK)
    with pytest.raises(InputError, match=r"factors.normalise.uu\[0\]: .*did you mean 'u'"):
        specmod.resolve(spec, Config(), fw, "spec.toml")


def test_frozen_config_and_methods_without_parameters():
    cfg = Config()
    with pytest.raises(ValueError, match="frozen"):
        cfg.seed = 1  # type: ignore[misc]
    with pytest.raises(InputError, match="takes no parameters"):
        Config().with_overrides(["treat=none", "treat.winmax=3"])


def test_treat_none_applies_its_per_indicator_overrides(bundled_inputs):
    ds = load_inputs(bundled_inputs)
    base = index.build(data=ds, overrides=["treat=none"])
    cfg = base.config.with_overrides(
        ['treat.per_indicator={"web_pages": {"method": "winsorise", "winmax": 5}}']
    )
    b = build(cfg, ds)
    assert not np.allclose(b.stage("treated")["web_pages"], base.stage("treated")["web_pages"])
    np.testing.assert_array_equal(
        b.stage("treated")["domain_names"], base.stage("treated")["domain_names"]
    )


# ---- what-ifs equal the edited framework file ------------------------------------------------
def _edited(tmp_path: Path, weights: dict[str, float], drop: list[str]) -> Path:
    data = tomllib.loads(fwmod.DEFAULT_FRAMEWORK.read_text(encoding="utf-8"))
    for kind in ("aggregate", "indicator"):
        for node in data[kind]:
            if node["code"] in weights:
                node["weight"] = weights[node["code"]]
        data[kind] = [n for n in data[kind] if n["code"] not in drop and n["parent"] not in drop]
    gone = set(drop) | {
        n["code"]
        for n in tomllib.loads(fwmod.DEFAULT_FRAMEWORK.read_text())["indicator"]
        if n["parent"] in drop
    }
    table = data["config"]["treat"]["per_indicator"]
    data["config"]["treat"]["per_indicator"] = {k: v for k, v in table.items() if k not in gone}
    path = tmp_path / "edited.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


WHATIFS = [
    ({"compute": 0.4}, []),
    ({"compute": 2.0, "dc_clusters": 3.0}, ["web_pages"]),
    ({}, ["storage"]),
]


@pytest.mark.parametrize("weights,drop", WHATIFS)
def test_whatif_equals_the_edited_framework(bundled_inputs, tmp_path, weights, drop):
    ds = load_inputs(bundled_inputs)
    edited = build(Config(framework=str(_edited(tmp_path, weights, drop))), ds)
    nominal = index.build(data=ds)
    for b in (
        index.build(data=ds, weights=weights, exclude=drop),
        nominal.rebuild(weights=weights, exclude=drop),
    ):
        assert b.framework.codes == edited.framework.codes
        np.testing.assert_allclose(b.scores, edited.scores, rtol=0, atol=1e-12)
    args = [f"--weight={k}={v}" for k, v in weights.items()] + [f"--exclude={c}" for c in drop]
    out = tmp_path / "r.parquet"
    res = runner.invoke(app, ["run", "--data", str(bundled_inputs), "--out", str(out), "-q", *args])
    assert res.exit_code == 0, res.output
    import pandas as pd

    got = pd.read_parquet(out)
    want = edited.scores_long
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), atol=1e-12)
    if weights or drop:
        assert not np.allclose(
            nominal.ranking(2024)["score"],
            index.build(data=ds, weights=weights, exclude=drop).ranking(2024)["score"],
        )


def test_keyword_settings_and_effective_config_round_trip(bundled_inputs, tmp_path):
    ds = load_inputs(bundled_inputs)
    a = index.build(data=ds, weighting="entropy")
    b = index.build(data=ds, overrides=["weighting=entropy"])
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.config.weighting.levels is None and a.config.weighting.method == "entropy"
    res = runner.invoke(app, ["config", "--set", "weighting=entropy", "--weight", "compute=2"])
    assert res.exit_code == 0, res.output
    path = tmp_path / "mine.toml"
    path.write_text(res.output, encoding="utf-8")
    again = build(load(path), ds)
    np.testing.assert_array_equal(
        again.scores, index.build(data=ds, weighting="entropy", weights={"compute": 2}).scores
    )


def test_methods_lists_every_method_with_parameters():
    res = runner.invoke(app, ["methods"])
    assert res.exit_code == 0
    for name in ("worst_grp", "target", "entropy", "genmean", "winsorise", "minmax"):
        assert name in res.output
    assert "max_gap" in res.output and "growth" in res.output


def test_sensitivity_for_one_region(bundled_inputs, tmp_path):
    out = tmp_path / "u.parquet"
    base = ["sensitivity", "--data", str(bundled_inputs), "--out", str(out), "--n", "64"]
    res = runner.invoke(app, [*base, "--region", "Guizou"])
    assert res.exit_code == 2 and "did you mean 'Guizhou'" in res.output and not out.exists()
    res = runner.invoke(app, [*base, "--region", "贵州"])
    assert res.exit_code == 0, res.output
    assert "贵州省 Guizhou: 排名分布 rank distribution" in res.output
    assert "Guangdong" not in res.output  # one region only


def test_method_key_is_a_method_switch_and_rebuild_keeps_the_framework(bundled_inputs):
    ds = load_inputs(bundled_inputs)
    a = index.build(data=ds, overrides=["normalise.method=zscore"])
    b = index.build(data=ds, overrides=["normalise=zscore"])
    np.testing.assert_array_equal(a.scores, b.scores)
    with pytest.raises(InputError, match="a rebuild keeps the framework"):
        a.rebuild("framework=cci_intensity")
    other = index.build(data=ds, framework="cci_intensity")
    assert other.config.framework == "cci_intensity"  # recorded: a saved config rebuilds it
    # a per-indicator table merges with the framework's (designations stay untreated)
    c = index.build(data=ds, overrides=['treat.per_indicator={"web_pages": {"winmax": 1}}'])
    assert set(c.config.treat.per_indicator) == {"web_pages", "hub_node", "dc_clusters"}


def test_config_refuses_a_null_that_toml_would_drop():
    """TOML has no null: ``treat.winmax=null`` (no limit) written without it would read back as
    the default 5, a different run; the command refuses and says how to keep it."""
    res = runner.invoke(app, ["config", "--set", "treat.winmax=null"])
    assert res.exit_code == 2
    assert "config:treat.winmax: is null, which TOML cannot write" in res.output
    res = runner.invoke(app, ["config", "--set", "treat.winmax=3"])
    assert res.exit_code == 0 and "winmax = 3" in res.output


def test_config_null_checked_with_the_framework_settings_laid_under():
    """``aggregation.dat_thresh=null`` dropped from the TOML would read back as the framework's
    recommended 1.0 (a different run): refused, as a null TOML cannot write."""
    res = runner.invoke(app, ["config", "--set", "aggregation.dat_thresh=null"])
    assert res.exit_code == 2
    assert "config:aggregation.dat_thresh: is null, which TOML cannot write" in res.output


def test_a_framework_winmax_does_not_make_the_users_f1_an_error(bundled_inputs, tmp_path):
    """A framework recommending ``winmax = 3`` and a user choosing ``f1 = boxcox`` (which does
    not Winsorise): the inherited winmax is dropped, not reported as the user's mistake; a
    winmax the user gives is still refused. --set and -c give the same run."""
    src = Path(index.__file__).parent / "frameworks" / "cci_public.toml"
    text = src.read_text(encoding="utf-8")
    assert text.count("winmax = 5") == 1
    fw = tmp_path / "fw3.toml"
    fw.write_text(text.replace("winmax = 5", "winmax = 3"), encoding="utf-8")
    base = ["run", "--data", str(bundled_inputs), "-f", str(fw), "-q"]
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    res = runner.invoke(app, [*base, "--set", "treat.f1=boxcox", "--out", str(a)])
    assert res.exit_code == 0, res.output
    cfg = tmp_path / "u.toml"
    cfg.write_text('[treat]\nmethod = "winsorise"\nf1 = "boxcox"\n', encoding="utf-8")
    res = runner.invoke(app, [*base, "-c", str(cfg), "--out", str(b)])
    assert res.exit_code == 0, res.output
    import pandas as pd  # the files differ only in the recorded overrides

    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    res = runner.invoke(app, [*base, "--set", "treat.f1=boxcox", "--set", "treat.winmax=4"])
    assert res.exit_code == 2 and "treat.winmax changes nothing" in res.output
    ds = load_inputs(bundled_inputs)
    again = index.build(data=ds, framework=str(fw)).rebuild("treat.f1=boxcox")  # the API alike
    direct = index.build(data=ds, framework=str(fw), overrides=["treat.f1=boxcox"])
    np.testing.assert_array_equal(again.scores, direct.scores)


def test_a_shared_treat_setting_problem_is_reported_once():
    """The bundled framework gives two indicators their own treat entries; a bad shared setting
    they inherit is one problem, not three."""
    res = runner.invoke(app, ["config", "--set", "treat.winmax=abc"])
    assert res.exit_code == 2 and res.output.count("Input should be a valid integer") == 1


def test_config_refuses_an_empty_table_the_framework_would_fill_again():
    """``treat.per_indicator={}`` clears the framework's entries for this run, but a file saying
    so reads back with them laid under it: refused, with what it would become and how to keep it."""
    res = runner.invoke(app, ["config", "--set", "treat.per_indicator={}"])
    assert res.exit_code == 2
    assert 'config:treat.per_indicator: would read back as {"hub_node"' in res.output
    assert "pass it as --set treat.per_indicator={} beside -c FILE" in res.output
