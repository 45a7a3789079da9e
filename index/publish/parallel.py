"""One pool of forked worker processes for a whole run; jobs submitted as their inputs are known.

The publication's slow parts are many independent pieces of work: one figure each (render to
bytes), one share of the province profiles each (pooled re-runs of the pipeline), while the
main process runs the analyses and writes the tables. The pool is forked once, at its first job
(after the build: the workers inherit every module loaded so far, matplotlib's font cache
included), and each later job is submitted the moment its inputs exist (a figure of the build
alone before the analyses end, a figure of an analysis as soon as its table is known),
travelling pickled: a module-level function and its arguments (a build pickles in
milliseconds). Each job's result depends on the job alone, so the output is the same bytes
whatever the number of processes (``jobs=1``: every job runs in this process when its result is
asked for, as where ``fork`` is unavailable). A free worker takes the waiting job of highest
priority (:class:`Pool`).
"""

from __future__ import annotations

import functools
import gc
import heapq
import itertools
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_IN_WORKER = False  # a worker runs nested pools' jobs itself (daemonic processes cannot fork)


def processes(jobs: int | None, tasks: int) -> int:
    """How many processes run ``tasks`` jobs: ``jobs`` (None = one per core), never more than
    the tasks, and 1 inside a worker or where ``fork`` is unavailable."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    wanted = jobs if jobs is not None else (os.cpu_count() or 1)
    if _IN_WORKER or "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(wanted, tasks))


def _worker_start(parent: int) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    """End this worker once the process that forked it is gone (killed: nobody will ask for
    the results, and an orphan would wait for jobs forever)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


class Pending(Generic[T]):
    """The result of a submitted job: :meth:`result` waits for it (and raises its error)."""

    def __init__(self, future: Future[T] | None, job: Callable[[], T] | None = None) -> None:
        self._future, self._job = future, job
        self._done = False
        self._value: T | None = None

    def result(self) -> T:
        """The job's result; in a one-process pool the job runs now (once)."""
        if self._future is not None:
            return self._future.result()
        if not self._done:
            assert self._job is not None
            self._value, self._done, self._job = self._job(), True, None
        return self._value  # type: ignore[return-value]


class Pool:
    """``workers`` forked processes (one per core when None, see :func:`processes`; with one,
    every job runs in this process when its result is asked for). Use as a context manager:
    leaving it stops the workers, error or not (jobs not yet started are cancelled).

    Jobs wait here, not in the workers' queue: each worker is handed the waiting job of highest
    ``priority`` when it is free (the earliest submitted among equals), so a job submitted
    later can still run before those waiting (a result the main process waits for, the
    longest job)."""

    def __init__(self, workers: int | None = None, *, tasks: int = 1 << 30) -> None:
        self.workers = processes(workers, tasks)
        self._executor = (
            ProcessPoolExecutor(
                self.workers,
                mp_context=mp.get_context("fork"),
                initializer=_worker_start,
                initargs=(os.getpid(),),
            )
            if self.workers > 1
            else None
        )
        self._waiting: list[tuple[float, int, Callable[..., Any], tuple, Future]] = []
        self._order = itertools.count()
        self._running = 0
        self._forked = False
        self._lock = threading.RLock()  # the executor's thread hands out jobs too

    def submit(self, fn: Callable[..., T], /, *args: Any, priority: float = 0.0) -> Pending[T]:
        """Queue ``fn(*args)`` (picklable: a module-level function and its arguments); the
        first submission forks the workers."""
        if self._executor is None:
            return Pending(None, lambda: fn(*args))
        outcome: Future[T] = Future()
        with self._lock:
            heapq.heappush(self._waiting, (-priority, next(self._order), fn, args, outcome))
        self._dispatch()
        return Pending(outcome)

    def map(
        self, fn: Callable[..., T], argsets: Iterable[Sequence[Any]], *, priority: float = 0.0
    ) -> list[Pending[T]]:
        """:meth:`submit` ``fn(*args)`` for every tuple of ``argsets``, in order."""
        return [self.submit(fn, *args, priority=priority) for args in argsets]

    def _dispatch(self) -> None:
        """Hand waiting jobs to free workers, the highest priority first."""
        assert self._executor is not None
        with self._lock:
            while self._waiting and self._running < self.workers:
                _, _, fn, args, outcome = heapq.heappop(self._waiting)
                self._running += 1
                if not self._forked:  # this submission forks: the workers inherit all frozen
                    gc.freeze()
                    self._forked = True
                job = self._executor.submit(fn, *args)
                job.add_done_callback(functools.partial(self._finished, outcome))

    def _finished(self, outcome: Future, job: Future) -> None:
        """A job ended (in the executor's thread): pass its result on, start the next one."""
        with self._lock:
            self._running -= 1
        if job.cancelled():
            outcome.cancel()
        elif (error := job.exception()) is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(job.result())
        if not job.cancelled():
            self._dispatch()

    def __enter__(self) -> Pool:
        """Freeze the objects that exist now (:func:`gc.freeze`: the modules, the inputs) for
        the pool's lifetime: the cyclic garbage collector no longer walks them at each full
        collection (~0.5 s over a publication's hundreds of thousands of objects), and the
        workers, forked later, inherit them frozen. Leaving the pool unfreezes them."""
        gc.freeze()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._executor is not None:
                with self._lock:
                    waiting, self._waiting = self._waiting, []
                for *_, outcome in waiting:
                    outcome.cancel()
                self._executor.shutdown(wait=True, cancel_futures=True)
        finally:
            gc.unfreeze()


def run(
    fn: Callable[..., T], argsets: Sequence[Sequence[Any]], workers: int | None = None
) -> list[T]:
    """``fn(*args)`` for every tuple of ``argsets`` by a pool of ``workers``, results in order
    (the first failing job's error is raised)."""
    with Pool(workers, tasks=len(argsets)) as pool:
        return [p.result() for p in pool.map(fn, argsets)]
