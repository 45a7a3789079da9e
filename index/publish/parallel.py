"""Independent jobs run by forked worker processes, their results in submission order.

The publication's slow parts are many independent pieces of work over data already in memory:
one figure each (render and save), one province profile each (re-runs of the pipeline). Forked
workers inherit that data, the house style and the chosen font, so a job is a plain closure (never
pickled: a worker finds it by position in :data:`_JOBS`, set just before the fork); only its
result travels back. Each job's result depends on the job alone, so the output is the same bytes
whatever the number of processes (``jobs=1``: everything in this process, as where ``fork`` is
unavailable).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_JOBS: Sequence[Callable[[], Any]] = ()  # the jobs of the pool being forked
_IN_WORKER = False  # a worker runs nested job lists itself (daemonic processes cannot fork)


def processes(jobs: int | None, tasks: int) -> int:
    """How many processes run ``tasks`` jobs: ``jobs`` (None = one per core), never more than
    the tasks, and 1 inside a worker or where ``fork`` is unavailable."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    wanted = jobs if jobs is not None else (os.cpu_count() or 1)
    if _IN_WORKER or "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(wanted, tasks))


def _worker_start() -> None:
    global _IN_WORKER
    _IN_WORKER = True


def _run(k: int) -> Any:
    return _JOBS[k]()


@contextlib.contextmanager
def started(
    jobs: Sequence[Callable[[], T]], n_jobs: int | None = None
) -> Iterator[Callable[[], list[T]]]:
    """Start every job; yield a function that waits for them and returns their results in the
    order of ``jobs`` (the first job's error is raised there). The caller can do other work in
    between. Workers are stopped on leaving, error or not.

    ``n_jobs``: processes (None = one per core, see :func:`processes`); with one, the jobs run in
    this process when the results are asked for.
    """
    global _JOBS
    workers = processes(n_jobs, len(jobs))
    if workers < 2:
        yield lambda: [job() for job in jobs]
        return
    previous, _JOBS = _JOBS, jobs
    try:
        pool = ProcessPoolExecutor(
            workers, mp_context=mp.get_context("fork"), initializer=_worker_start
        )
        futures = [pool.submit(_run, k) for k in range(len(jobs))]  # forks the workers here
    finally:
        _JOBS = previous
    try:
        yield lambda: [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run(jobs: Sequence[Callable[[], T]], n_jobs: int | None = None) -> list[T]:
    """Every job's result, in order (:func:`started` and wait)."""
    with started(jobs, n_jobs) as results:
        return results()
