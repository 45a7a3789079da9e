"""The publication's pool of forked worker processes: results in job order, errors raised, no
nesting, jobs run in this process with one."""

from __future__ import annotations

import os

import pytest

from index.errors import InputError, Problem
from index.publish import parallel

pytestmark = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork"
)


def _square_and_pid(k: int) -> tuple[int, int]:
    return k * k, os.getpid()


def test_results_come_back_in_job_order_from_other_processes():
    args = [(k,) for k in range(7)]
    results = parallel.run(_square_and_pid, args, 2)
    assert [r for r, _ in results] == [k * k for k in range(7)]
    assert os.getpid() not in {pid for _, pid in results}  # computed by the workers
    assert {pid for _, pid in parallel.run(_square_and_pid, args, 1)} == {os.getpid()}


def test_jobs_submitted_while_the_pool_runs_see_what_was_computed_since():
    """The pool is forked at its first job; a later job carries data made after the fork."""
    with parallel.Pool(2) as pool:
        first = pool.submit(_square_and_pid, 3)
        later = {"made": "after the fork"}
        second = pool.submit(dict.get, later, "made")
        assert first.result()[0] == 9 and second.result() == "after the fork"


def test_one_process_runs_each_job_once_when_asked_for():
    calls: list[int] = []

    def job(k: int) -> int:  # a closure: never pickled with one process
        calls.append(k)
        return -k

    with parallel.Pool(1) as pool:
        pending = pool.map(job, [(1,), (2,)])
        assert calls == []  # nothing runs before its result is asked for
        assert [p.result() for p in pending] == [-1, -2]
        assert pending[0].result() == -1 and calls == [1, 2]


def _started(name: str, gate: str) -> tuple[str, int]:
    """Wait for the file ``gate``, then note when this job started and take a moment."""
    import time
    from pathlib import Path

    while not Path(gate).exists():
        time.sleep(0.01)
    start = time.monotonic_ns()
    time.sleep(0.2)
    return name, start


def test_a_free_worker_takes_the_waiting_job_of_highest_priority(tmp_path):
    gate = str(tmp_path / "open")
    with parallel.Pool(2) as pool:
        busy = pool.map(_started, [("gate1", gate), ("gate2", gate)])  # both workers held
        low, high, middle = (
            pool.submit(_started, name, gate, priority=p)
            for name, p in (("low", 1), ("high", 3), ("middle", 2))
        )
        (tmp_path / "open").touch()
        start = dict(p.result() for p in (*busy, low, high, middle))
    assert start["low"] > start["high"] and start["low"] > start["middle"]


def _fails(k: int) -> int:
    if k == 2:
        raise InputError(Problem("f.csv", 3, "value", "not a number"))
    return k


def test_the_first_failing_job_raises_its_error_in_the_caller():
    with pytest.raises(InputError, match="f.csv:3:value: not a number") as exc:
        parallel.run(_fails, [(k,) for k in range(4)], 2)
    assert exc.value.problems == [Problem("f.csv", 3, "value", "not a number")]


def _nested(k: int) -> list[int]:
    return [parallel.processes(None, 5), *parallel.run(_square_and_pid, [(k,), (-k,)], 2)]


def test_a_job_runs_its_own_job_list_in_its_worker():
    results = parallel.run(_nested, [(1,), (2,)], 2)
    assert [r[0] for r in results] == [1, 1]
    assert [[sq for sq, _ in r[1:]] for r in results] == [[1, 1], [4, 4]]
    assert all(len({pid for _, pid in r[1:]}) == 1 for r in results)  # in the worker itself


def test_process_count():
    assert parallel.processes(1, 10) == 1
    assert parallel.processes(8, 3) == 3
    assert parallel.processes(None, 1) == 1
    with pytest.raises(ValueError, match="at least 1"):
        parallel.processes(0, 3)


def _holds(path: str) -> bool:
    """Whether this process has a descriptor open on the file ``path``."""
    want = os.stat(path)
    for fd in range(256):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            return True
    return False


def test_a_worker_drops_the_parents_publication_lock(tmp_path):
    """A worker closes its copy of the lock descriptor (the parent still holds the lock), so a
    worker outliving a killed parent cannot keep the edition locked."""
    from index.publish import folder

    with folder.locked(tmp_path / "2024"):
        (lock,) = folder._held
        assert parallel.run(_holds, [(str(lock),)] * 2, 2) == [False, False]
        assert _holds(str(lock))


def test_workers_end_when_their_parent_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = (
        "import os, sys, time\n"
        "from index.publish import parallel\n"
        "with parallel.Pool(2) as pool:\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    worker = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    for _ in range(100):  # the worker notices within a fraction of a second
        if not _alive(worker):
            break
        time.sleep(0.1)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    from pathlib import Path

    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _frozen_in_worker(_: int) -> int:
    import gc

    return gc.get_freeze_count()


@pytest.mark.parametrize("workers", [1, 2])
def test_objects_are_frozen_for_the_pools_lifetime_and_in_its_workers(workers):
    """The cyclic GC skips what existed when the pool opened (and when it forked), in this
    process and in the workers; leaving the pool, error or not, unfreezes them."""
    import gc

    assert gc.get_freeze_count() == 0
    with pytest.raises(ZeroDivisionError), parallel.Pool(workers) as pool:
        assert gc.get_freeze_count() > 0
        assert pool.submit(_frozen_in_worker, 0).result() > 0
        raise ZeroDivisionError
    assert gc.get_freeze_count() == 0
