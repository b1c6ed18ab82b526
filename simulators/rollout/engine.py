"""Where shards and sweep points run: a Dask distributed cluster.

``simulate --workers K`` and ``sweep`` hand their jobs (one shard of one run each) to an ``Engine``:
by default a ``LocalCluster`` of worker processes listening on loopback only (free ports, no
dashboard), or an existing cluster when a scheduler address is given. A job is a pure function of
its arguments (a shard's tally depends on its configuration and seed alone), so where and how often
it ran does not change its result: the engine keeps exactly one result per job key. A job whose
worker died is run again by the scheduler (Dask reschedules the tasks of a lost worker), and one that
raised is retried up to ``retries`` times; either way only the finished run's result is kept, never
a partial one, so nothing is counted twice. Callers merge the results in job order, not in the
order they finished, which is what makes the merged numbers the same for any number of workers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Hashable, Sequence
from typing import Any

RETRIES = 2  # a job that raised runs at most this many times more (worker deaths: Dask's own limit)


class EngineError(Exception):
    """The cluster could not be reached or started: one line for the user (a harness error)."""


class Job:
    """One unit of work: ``fn(*args)`` on some worker, known by ``key`` (unique in a run)."""

    def __init__(self, key: Hashable, fn: Callable[..., Any], *args: Any):
        self.key, self.fn, self.args = key, fn, args


class Engine:
    """``with Engine(workers=2) as engine: results = engine.run(jobs, on_done)``.

    ``scheduler``: the address of a running cluster (``tcp://HOST:8786``); its workers must have
    this project installed. Without it a local cluster of ``workers`` processes is started and
    always closed on leaving the block.
    """

    def __init__(self, workers: int = 1, scheduler: str | None = None, retries: int = RETRIES,
                 connect_timeout: str = "10s"):
        self.workers = workers
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> Engine:
        from distributed import Client, LocalCluster

        try:
            if self.scheduler:
                self.client = Client(self.scheduler, timeout=self.connect_timeout)
            else:
                # Loopback only, ports the OS picks, no dashboard: nothing is reachable from outside.
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                                            silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError) as exc:
            self.close()
            where = f"scheduler {self.scheduler}" if self.scheduler else "a local cluster"
            raise EngineError(f"could not reach {where}: {exc}") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def run(self, jobs: Sequence[Job],
            on_done: Callable[[Hashable, Any], None] | None = None) -> dict[Hashable, Any]:
        """Every job's result by key; ``on_done(key, result)`` as each finishes (any order). The
        first job that fails for good raises its exception here, after the others are cancelled."""
        from distributed import as_completed

        keys = [job.key for job in jobs]
        if len(set(keys)) != len(keys):
            raise ValueError("job keys must be unique: a result is kept per key")
        run_id = uuid.uuid4().hex[:12]  # a shared cluster may hold another run's tasks
        futures = {}
        for n, job in enumerate(jobs):
            future = self.client.submit(job.fn, *job.args, key=f"concierge-sim-{run_id}-{n}",
                                        pure=False, retries=self.retries)
            futures[future.key] = (future, job.key)
        results: dict[Hashable, Any] = {}
        try:
            for future in as_completed([f for f, _ in futures.values()]):
                key = futures[future.key][1]
                result = future.result()
                results[key] = result
                if on_done is not None:
                    on_done(key, result)
        finally:
            self.client.cancel([f for f, _ in futures.values()])
        return results

    def worker_pids(self) -> dict[str, int]:
        """Each worker's process id by address (tests kill one to see its jobs run again)."""
        import os

        return self.client.run(os.getpid)
