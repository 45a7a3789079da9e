"""Forked worker processes of the publication: results in job order, errors raised, no nesting."""

from __future__ import annotations

import functools
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
    jobs = [functools.partial(_square_and_pid, k) for k in range(7)]
    results = parallel.run(jobs, 2)
    assert [r for r, _ in results] == [k * k for k in range(7)]
    assert os.getpid() not in {pid for _, pid in results}  # computed by the workers
    assert {pid for _, pid in parallel.run(jobs, 1)} == {os.getpid()}


def test_closures_over_unpicklable_data_run_in_the_workers():
    data = {"f": lambda x: x + 1}  # a lambda cannot be pickled: the workers inherit it
    assert parallel.run([lambda k=k: data["f"](k) for k in range(3)], 2) == [1, 2, 3]


def _fails(k: int) -> int:
    if k == 2:
        raise InputError(Problem("f.csv", 3, "value", "not a number"))
    return k


def test_the_first_failing_job_raises_its_error_in_the_caller():
    with pytest.raises(InputError, match="f.csv:3:value: not a number") as exc:
        parallel.run([functools.partial(_fails, k) for k in range(4)], 2)
    assert exc.value.problems == [Problem("f.csv", 3, "value", "not a number")]


def _nested(k: int) -> list[int]:
    return [parallel.processes(None, 5), *parallel.run([lambda: k, lambda: -k], 2)]


def test_a_job_runs_its_own_job_list_in_its_worker():
    assert parallel.run([functools.partial(_nested, k) for k in (1, 2)], 2) == [
        [1, 1, -1],
        [1, 2, -2],
    ]


def test_process_count():
    assert parallel.processes(1, 10) == 1
    assert parallel.processes(8, 3) == 3
    assert parallel.processes(None, 1) == 1
    with pytest.raises(ValueError, match="at least 1"):
        parallel.processes(0, 3)
