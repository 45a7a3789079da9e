"""The optional Dask backend of the uncertainty engine: a local cluster computes the same bits as
this process, and the ways to reach it (``client=``, ``--dask ADDRESS``) refuse what would change
nothing or cannot work, readably. On the bundled real data (the default framework).

The cluster's two workers are threads of this process talking to the scheduler over TCP, so every
task and result is serialised as on a remote cluster, without the seconds that worker processes
take to start on a shared two-core machine; the cluster chooses its own free ports.
"""

from __future__ import annotations

import socket
import sys
import time

import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

import index.cli.sensitivity  # noqa: F401  (registers the command)
from index.analysis import spec as specmod
from index.analysis import workers
from index.analysis.uncertainty import Evaluator, build_evaluator
from index.cli import app
from index.cli.options import load_data
from index.config import Config
from index.errors import InputError
from index.pipeline import build

runner = CliRunner()
MOMENTS = ("n", "mean", "m2", "min", "max")


def local_cluster(n_workers: int) -> LocalCluster:
    """Worker threads over TCP; every port (the scheduler's, its HTTP server's) a free one."""
    return LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=False, protocol="tcp",
        dashboard_address="127.0.0.1:0",
    )  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(2) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def b(bundled_inputs):
    return build(Config(), load_data(bundled_inputs))


def assert_same(one, other) -> None:
    np.testing.assert_array_equal(one.counts.counts, other.counts.counts)
    np.testing.assert_array_equal(one.y, other.y)
    for name in ("ranks", "scores"):
        if getattr(one, name) is not None:
            np.testing.assert_array_equal(getattr(one, name), getattr(other, name))
    for name in MOMENTS:
        np.testing.assert_array_equal(getattr(one.moments, name), getattr(other.moments, name))


def test_a_dask_cluster_gives_the_same_bits_as_one_process(b, client):
    """Small pools so that both workers get several: rank counts, per-run ranks and scores and
    every score moment are the same bits as ``jobs=1``."""
    design = specmod.design_for("default", b.config, b.framework, n=300, seed=4)
    ev = build_evaluator(b, design)
    ev.chunk, ev.pool = 16, 40
    alts = design.alternatives(design.uniform())
    one = ev.run(alts, keep_ranks=True, keep_scores=True, progress=False)
    client.get_task_stream()  # installs the scheduler's task log
    start = time.time()  # the tasks of this run (not a timing assert)
    many = ev.run(alts, keep_ranks=True, keep_scores=True, progress=False, client=client)
    tasks = client.get_task_stream(start=start)
    assert {t["worker"] for t in tasks if "_scored" in str(t["key"])} == set(client.nthreads())
    assert_same(one, many)
    assert one.table().equals(many.table())


def test_build_uncertainty_and_sensitivity_take_a_client(b, client):
    one = b.uncertainty(200, seed=2, progress=False)
    assert_same(one, b.uncertainty(200, seed=2, progress=False, client=client))
    sa, sb = (b.sensitivity(16, seed=2, progress=False, client=c) for c in (None, client))
    assert sa.table().equals(sb.table())


def test_settings_that_would_change_nothing_are_errors(b, client):
    with pytest.raises(InputError, match="--jobs or --dask, not both"):
        b.uncertainty(20, progress=False, jobs=2, client=client)
    with pytest.raises(InputError, match="integer ≥ 1"):
        b.uncertainty(20, progress=False, jobs=0)
    with pytest.raises(TypeError, match="distributed.Client"):
        b.uncertainty(20, progress=False, client="tcp://127.0.0.1:8786")
    assert workers.mapper(client=client).workers == 2


def test_a_cluster_without_workers_is_an_error(b):
    with (
        local_cluster(0) as c,
        Client(c, set_as_default=False) as empty,
        pytest.raises(InputError, match="the Dask cluster has no workers"),
    ):
        b.uncertainty(20, progress=False, client=empty)


def test_an_error_on_a_worker_arrives_located(b, client):
    """A variant that cannot be scored fails on a worker; the same located error reaches here."""
    base = b.config.with_overrides(['normalise={"method": "zscore", "m": 0, "s": 1}'])
    design = specmod.Design(
        (specmod.config_factor("agg", "aggregation.method", ["amean", "gmean"], base),)
    )
    ev = Evaluator(base, b.dataset, b.framework, design)
    errors = []
    for c in (None, client):
        with pytest.raises(InputError) as err:
            ev.run(np.array([[0], [1]]), progress=False, client=c)
        errors.append(err.value.problems)
    assert errors[0] == errors[1] and "[agg=gmean]" in str(errors[1][0].field)


# ---- the command line ----------------------------------------------------------------------------
def sensitivity(bundled_inputs, out, *extra: str):
    args = ["sensitivity", "--data", str(bundled_inputs), "--out", str(out), "--n", "200", "-q"]
    return runner.invoke(app, [*args, *extra])


def test_cli_dask_writes_the_same_bytes(bundled_inputs, cluster, tmp_path):
    here, there = tmp_path / "one" / "u.parquet", tmp_path / "dask" / "u.parquet"
    assert sensitivity(bundled_inputs, here).exit_code == 0
    res = sensitivity(bundled_inputs, there, "--dask", cluster.scheduler_address)
    assert res.exit_code == 0, res.output
    assert here.read_bytes() == there.read_bytes()


def error_line(res) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --"), res.output
    return lines[0]


@pytest.fixture
def closed_port():
    """A local port that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_cli_unreachable_scheduler(bundled_inputs, tmp_path, closed_port):
    out = tmp_path / "u.parquet"
    with dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}):
        res = sensitivity(bundled_inputs, out, "--dask", f"tcp://127.0.0.1:{closed_port}")
    assert "cannot reach the Dask scheduler" in error_line(res) and not out.exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--dask", "nonsense://x"], "unknown address scheme 'nonsense'"),
        (["--dask", "notaurl"], "missing port number in address 'notaurl'"),
        (["--dask", "tcp://host"], "missing port number in address 'host'"),
        (["--dask", "tcp://127.0.0.1:8786", "--jobs", "2"], "give --jobs or --dask, not both"),
    ],
)
def test_cli_bad_dask_settings(bundled_inputs, tmp_path, extra, expected):
    out = tmp_path / "u.parquet"
    assert expected in error_line(sensitivity(bundled_inputs, out, *extra)) and not out.exists()


def test_cli_without_the_extra(bundled_inputs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # ``import distributed`` fails
    out = tmp_path / "u.parquet"
    line = error_line(sensitivity(bundled_inputs, out, "--dask", "tcp://127.0.0.1:8786"))
    assert "pip install 'compute-index[dask]'" in line and not out.exists()
