"""`compute-index run` and `compare` end to end on the bundled real data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from index.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_run_prints_ranking_and_writes_results(bundled_inputs, tmp_path):
    out = tmp_path / "results.parquet"
    args = ["run", "--data", str(bundled_inputs), "--out", str(out), "--year", "2024"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "2024" in res.output and "北京市" in res.output and "Compute" in res.output
    df = pd.read_parquet(out)
    assert set(df["year"]) >= {2023, 2024}
    top = df[(df["year"] == 2024) & (df["code"] == "cci")]
    assert len(top) == 31 and sorted(top["rank"]) == list(range(1, 32))
    first = out.read_bytes()
    assert runner.invoke(app, [*args, "--quiet"]).exit_code == 0
    assert out.read_bytes() == first  # byte-identical rerun


def test_run_bad_setting_is_readable(bundled_inputs, tmp_path):
    out = tmp_path / "results.parquet"
    res = runner.invoke(
        app, ["run", "--data", str(bundled_inputs), "--out", str(out), "--set", "weighting=magic"]
    )
    assert res.exit_code == 2
    assert "weighting.method" in res.output and "magic" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_run_without_ingest_says_what_to_do(tmp_path):
    res = runner.invoke(app, ["run", "--data", str(tmp_path / "absent.parquet")])
    assert res.exit_code == 2 and "compute-index ingest" in res.output


def test_compare_variants(bundled_inputs, tmp_path):
    out = tmp_path / "cmp.csv"
    res = runner.invoke(
        app,
        [
            "compare",
            "weighting=entropy",
            "aggregation=gmean,normalise.l=1",
            "--data",
            str(bundled_inputs),
            "--out",
            str(out),
            "--figure",
            str(tmp_path / "bump"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "spearman" in res.output and "weighting=entropy" in res.output
    ranks = pd.read_csv(out, encoding="utf-8-sig", dtype={"unit": str})
    assert len(ranks) == 31 and out.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert (tmp_path / "bump.png").stat().st_size > 0 and (tmp_path / "bump.svg").is_file()


def test_run_from_a_coinr_pair_matches_coinr(oracle_dir, tmp_path):
    """COINr's example pipeline from its own iData/iMeta on the command line → its nominal ranks."""
    out = tmp_path / "r.parquet"
    res = runner.invoke(
        app,
        [
            "run",
            "--coinr",
            str(oracle_dir / "input_iData.csv"),
            str(oracle_dir / "input_iMeta.csv"),
            "--set",
            "impute=mean_grp",
            "--set",
            "impute.group=EurAsia_group",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    ours = pd.read_parquet(out).query("code == 'Index'").set_index("region_code")
    ref = pd.read_csv(oracle_dir / "ua_N1000_nominal.csv").set_index("uCode")
    assert (ours.loc[ref.index, "rank"].to_numpy() == ref["Rank"].to_numpy()).all()
    assert abs(ours.loc[ref.index, "score"].to_numpy() / ref["Score"].to_numpy() - 1).max() < 1e-9


def test_run_shows_a_library_warning_as_one_line(bundled_inputs, tmp_path):
    """Raw PC1 loadings can be negative: the warning reaches the user as ``warning: …``, once per
    message, without the source path and code line Python's default format adds, also under -q."""
    out = tmp_path / "results.parquet"
    args = ["run", "--data", str(bundled_inputs), "--out", str(out), "--set", "weighting=pca", "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if "negative values" in ln]
    assert lines and all(ln.startswith("warning: pca weights of the children of") for ln in lines)
    assert len(lines) == len(set(lines))
    assert "pipeline.py" not in res.output and "weigher" not in res.output


def test_a_closed_pipe_is_not_an_internal_error(tmp_path):
    """``compute-index config | head -1``: the reader leaves before the output is written; the
    command stops quietly (exit 1, nothing on stderr), as other command-line tools do (rich's
    tables already do; plain ``typer.echo`` output raised BrokenPipeError as an internal error)."""
    import subprocess
    import sys

    code = "import sys; from index.cli import app; sys.argv[0] = 'compute-index'; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "config"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    proc.stdout.close()  # no reader before the child has even started
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert b"internal error" not in err and b"Traceback" not in err, err


def test_publication_stage_messages_show_unless_quiet(capsys):
    """``publish``/``verify`` show the publication's stage messages with the elapsed seconds;
    ``--quiet`` shows none, and nothing is left attached after the command."""
    import re

    import index.publication as publication
    from index.cli.publish import stage_messages

    with stage_messages(False):
        publication.log.info("build the index (%s)", "default")
    with stage_messages(True):
        publication.log.info("hidden under --quiet")
    publication.log.info("after the command")
    err = capsys.readouterr().err
    assert re.search(r"^\[\s*\d+\.\d s\] build the index \(default\)$", err, re.M), err
    assert "hidden" not in err and "after the command" not in err
