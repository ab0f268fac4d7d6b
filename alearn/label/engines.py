"""Engines: *where* tasks run.  They hold no durable state (that lives in the job directories).

An engine has ``submit(fn, *args, key=...) -> future`` (``concurrent.futures``-like: ``done()``,
``result()``, ``cancel()``) and ``wait(futures, timeout_s) -> done futures``.  :func:`make_engine`
builds one from a :class:`~alearn.config.dispatch.DispatchConfig` as a context manager:

* ``inprocess`` — runs each task in the calling thread at submission (unit tests, cheap codes);
* ``local`` — a Dask ``LocalCluster`` on 127.0.0.1, dashboard off, one thread per worker
  process, ``OMP_NUM_THREADS=1`` in the workers;
* ``slurm`` / ``pbs`` / ``lsf`` — dask-jobqueue pilot jobs (see :mod:`alearn.label.hpc`);
* ``scheduler`` — connect to an already running Dask scheduler (its workers outlive us).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from alearn.config.dispatch import DispatchConfig
from alearn.errors import UserError
from alearn.label.hpc import NO_DASHBOARD

#: environment of Dask worker processes: one BLAS/OpenMP thread each (oversubscription is slow)
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
class Engine(Protocol):
    """Where the dispatcher's tasks run."""

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        """Start ``fn(*args)``; returns a future."""

    def wait(self, futures: Sequence[Any], timeout_s: float) -> list[Any]:
        """The futures that are done, waiting up to ``timeout_s`` for at least one."""


class InProcessEngine:
    """Runs every task immediately in the calling thread."""

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future

    def wait(self, futures: Sequence[Any], timeout_s: float) -> list[Any]:
        return [f for f in futures if f.done()]


class DaskEngine:
    """Tasks on a Dask cluster through a ``distributed.Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        return self.client.submit(fn, *args, key=key, pure=False, retries=0)

    def wait(self, futures: Sequence[Any], timeout_s: float) -> list[Any]:
        from distributed import wait

        if not futures:
            return []
        try:
            wait(list(futures), timeout=timeout_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            pass
        return [f for f in futures if f.done()]


@contextlib.contextmanager
def make_engine(config: DispatchConfig) -> Iterator[Engine]:
    """The engine ``config`` describes, closed (cluster and pilot jobs stopped) on exit."""
    if config.engine == "inprocess":
        yield InProcessEngine()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a core dependency
        raise UserError(f"engine '{config.engine}' needs dask.distributed ({exc})") from None
    if config.engine == "scheduler":
        with _connect(Client, config.scheduler_address) as client:
            yield DaskEngine(client)
        return
    if config.engine == "local":
        cluster = LocalCluster(n_workers=config.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, env=dict(WORKER_ENV),
                               silence_logs=logging.ERROR, scheduler_kwargs=dict(NO_DASHBOARD))
    else:
        from alearn.label.hpc import jobqueue_cluster

        cluster = jobqueue_cluster(config)
        cluster.scale(jobs=config.workers)
    with cluster, Client(cluster) as client:
        yield DaskEngine(client)


@contextlib.contextmanager
def _connect(client_cls: Any, address: str) -> Iterator[Any]:
    try:
        client = client_cls(address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise UserError(f"cannot reach the Dask scheduler at {address!r} ({exc}); start it "
                        "with 'dask scheduler' and its workers with 'dask worker ADDRESS', "
                        "or check [dispatch] scheduler_address") from None
    with client:
        yield client
