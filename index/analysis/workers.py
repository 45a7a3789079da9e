"""Who evaluates the uncertainty engine's pools: this process, joblib worker processes, or the
workers of a Dask cluster.

:meth:`index.analysis.uncertainty.Evaluator.run` deals its pools of chunks to ``mapper.workers``
shares and merges whatever comes back, combining the score moments in pool order, so the output is
the same bits whoever computed a share and in whichever order the shares finish. A mapper is only
"apply a pure function to each share": the function, its shared arguments (the design's rows and
the prepared variants) and the shares are all a worker receives.

Dask is an optional extra (``pip install 'compute-index[dask]'``): it is imported only when a
client is given or an address is connected to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from index.errors import InputError, Problem

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")
EXTRA = "pip install 'compute-index[dask]'"


class Mapper(Protocol):
    """Applies ``fn(item, **shared)`` to every item in other processes, yielding the results in
    any order."""

    @property
    def workers(self) -> int:
        """How many shares to deal the work into (one per worker)."""
        ...

    def map(self, fn: Callable[..., R], items: list[T], **shared: Any) -> Iterator[R]: ...


@dataclass(frozen=True)
class InProcess:
    """Everything in this process: the evaluator scores every pool straight into the design's
    rows (one share, nothing to map or merge)."""

    workers: int = 1


@dataclass(frozen=True)
class Processes:
    """``jobs`` joblib (loky) worker processes on this machine; joblib memory-maps large arrays."""

    workers: int

    def map(self, fn: Callable[..., R], items: list[T], **shared: Any) -> Iterator[R]:
        from joblib import Parallel, delayed  # type: ignore[import-untyped]

        return iter(Parallel(n_jobs=self.workers)(delayed(fn)(item, **shared) for item in items))


@dataclass(frozen=True)
class Cluster:
    """The workers of a Dask cluster: the shared arguments are sent to every worker once
    (``scatter(broadcast=True)``), then one task per item; results as the tasks finish. An error
    in a task is raised here and the other tasks are cancelled."""

    client: Client

    @property
    def workers(self) -> int:
        """The threads of the cluster's workers now (a share per thread)."""
        return sum(self.client.nthreads().values())

    def map(self, fn: Callable[..., R], items: list[T], **shared: Any) -> Iterator[R]:
        from distributed import as_completed

        sent = {
            k: self.client.scatter([v], broadcast=True, hash=False)[0] for k, v in shared.items()
        }
        futures = self.client.map(fn, items, pure=False, **sent)
        try:
            for future in as_completed(futures, loop=self.client.loop):
                yield future.result()
        finally:
            self.client.cancel([*futures, *sent.values()])


def mapper(jobs: int = 1, client: Client | None = None) -> InProcess | Mapper:
    """The mapper for ``jobs`` processes or a Dask ``client`` (one or the other).

    ``jobs``: an integer ≥ 1 (1 = this process). ``client``: a ``distributed.Client`` whose
    cluster has at least one worker; with a client, ``jobs`` must stay 1 (the cluster decides
    how many workers there are: a ``jobs`` beside it would change nothing).
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InputError(Problem("--jobs", None, None, f"expected an integer ≥ 1, got {jobs!r}"))
    if client is None:
        return InProcess() if jobs == 1 else Processes(jobs)
    try:
        from distributed import Client

        is_client = isinstance(client, Client)
    except ImportError:  # then nothing given can be a client
        is_client = False
    if not is_client:
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
    _alone(jobs)
    cluster = Cluster(client)
    if cluster.workers < 1:
        raise InputError(
            Problem("--dask", None, _address(client), "the Dask cluster has no workers")
        )
    return cluster


def _alone(jobs: int) -> None:
    """A Dask cluster decides how many workers there are: a ``jobs`` beside it would change
    nothing, so it is an error rather than silently ignored."""
    if jobs != 1:
        raise InputError(
            Problem("--jobs", None, None, "give --jobs or --dask, not both: the Dask cluster's "
                    "workers do the work")
        )  # fmt: skip


@contextlib.contextmanager
def connect(address: str | None, jobs: int = 1) -> Iterator[Client | None]:
    """A Dask client of the scheduler at ``address`` (closed on exit); None without an address.

    A readable error when ``jobs`` is not 1 beside an address, when the extra is not installed,
    and when the address is malformed or the scheduler cannot be reached within Dask's connect
    timeout (``distributed.comm.timeouts.connect``: 30 s unless configured, e.g. with the
    environment variable ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s``).
    """
    if address is None:
        yield None
        return
    _alone(jobs)
    try:
        from distributed import Client
        from distributed.comm import parse_address
        from distributed.comm.addressing import parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError:
        raise InputError(
            Problem("--dask", None, address, f"the Dask extra is not installed: {EXTRA}")
        ) from None
    try:
        scheme, location = parse_address(address)  # all before a Client, whose clean-up
        get_backend(scheme)  # would hang for a minute on a malformed address
        if scheme in ("tcp", "tls"):
            parse_host_port(location)  # a missing port number
        client = Client(address, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(
            Problem("--dask", None, address, f"cannot reach the Dask scheduler: {message}")
        ) from None
    with client:
        yield client


def _address(client: Client) -> str | None:
    return getattr(client.scheduler, "address", None)
