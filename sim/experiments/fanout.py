"""Fanning tasks out: in this process, or on Dask distributed workers, with progress.

An evaluator maps a picklable function over tasks and reports each outcome through two
callbacks, as the task finishes (in any order)::

    with DaskEvaluator(workers=2) as evaluator:          # or SequentialEvaluator()
        evaluator.map(fn, tasks, on_done, on_failed)

A task that raises is reported to ``on_failed`` with a one-line message and the others
go on.  Ctrl-C cancels what is still pending and re-raises ``KeyboardInterrupt`` after
the outcomes already reported, so a caller that saves each outcome as it arrives keeps
them.  A tqdm bar on stderr shows points done, running and failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tqdm import tqdm

from sim.errors import ConfigError

__all__ = ["DaskEvaluator", "Evaluator", "SequentialEvaluator", "describe_error", "make_evaluator"]

CLOSE_TIMEOUT_S = 30
"""Longest wait, in seconds, for a Dask client and its local cluster to close."""

OnDone = Callable[[Any, Any], None]
OnFailed = Callable[[Any, str], None]


def describe_error(exc: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class Evaluator(Protocol):
    """Runs ``fn(task)`` for every task, reporting each outcome as it arrives."""

    def map(
        self,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        on_done: OnDone,
        on_failed: OnFailed,
        label: str = "points",
    ) -> None:
        """Evaluate every task; see the module docstring."""


class _Progress:
    """tqdm bar: done / total, with running and failed counts."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.failed = 0
        self.bar = tqdm(
            total=total,
            desc=label,
            unit="pt",
            file=sys.stderr,
            disable=not enabled or total == 0,
            dynamic_ncols=True,
        )

    def update(self, failed: bool, running: int) -> None:
        self.failed += failed
        self.bar.update(1)
        self.show(running)

    def show(self, running: int) -> None:
        self.bar.set_postfix_str(f"running {running}, failed {self.failed}", refresh=True)

    def close(self) -> None:
        self.bar.close()


class SequentialEvaluator:
    """Runs the tasks one after the other in this process (no Dask): notebooks, tests,
    and the reference the Dask evaluator's results are compared against."""

    def __init__(self, progress: bool = True) -> None:
        self.progress = progress

    def __enter__(self) -> SequentialEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn, tasks, on_done, on_failed, label="points") -> None:
        """Evaluate every task here, in order."""
        progress = _Progress(len(tasks), label, self.progress)
        try:
            for i, task in enumerate(tasks):
                progress.show(running=1)
                try:
                    outcome = fn(task)
                except Exception as exc:  # a failing point must not stop the sweep
                    on_failed(task, describe_error(exc))
                    progress.update(True, running=0)
                    continue
                on_done(task, outcome)
                progress.update(False, running=min(1, len(tasks) - i - 1))
        finally:
            progress.close()


class DaskEvaluator:
    """Runs the tasks on Dask distributed.

    With *scheduler* (an address such as ``tcp://10.0.0.5:8786``) it connects to that
    cluster; otherwise it starts a ``LocalCluster`` of *workers* processes (default: the
    machine's cores), one thread each, since a run holds the GIL.  Use as a context
    manager: the local cluster is closed on exit.
    """

    def __init__(
        self, workers: int | None = None, scheduler: str | None = None, progress: bool = True
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.scheduler = scheduler
        self.progress = progress
        self.client = None
        self._cluster = None

    def __enter__(self) -> DaskEvaluator:
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"--scheduler {self.scheduler}: cannot connect ({describe_error(exc)})"
                ) from None
            return self
        self._cluster = LocalCluster(
            n_workers=self.workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no dashboard; its HTTP server on any free port:
            scheduler_kwargs={"dashboard_address": ":0"},  # never a clash on 8787
            silence_logs=logging.ERROR,
        )
        self.client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        # Closing is bounded: a local cluster waits without limit for workers that are
        # still inside a run (after Ctrl-C, on a loaded machine), so a user's interrupt
        # could hang.  Past the bound the close gives up; the worker processes are this
        # process's children and end with it.
        for closable in (self.client, self._cluster):
            if closable is not None:
                with contextlib.suppress(Exception):  # best effort after an interrupt
                    closable.close(timeout=CLOSE_TIMEOUT_S)
        self.client = self._cluster = None

    def threads(self) -> int:
        """Worker threads available now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def map(self, fn, tasks, on_done, on_failed, label="points") -> None:
        """Submit every task, then report outcomes as they complete."""
        from distributed import as_completed

        if self.client is None:
            raise RuntimeError("DaskEvaluator.map outside its 'with' block")
        by_key = {}
        for i, task in enumerate(tasks):
            future = self.client.submit(fn, task, pure=False, key=f"{label}-{i}-{id(task):x}")
            by_key[future.key] = (future, task)
        progress = _Progress(len(tasks), label, self.progress)
        pending = len(tasks)
        threads = self.threads()
        progress.show(running=min(pending, threads))
        try:
            for future in as_completed([f for f, _ in by_key.values()]):
                task = by_key[future.key][1]
                pending -= 1
                if future.status == "finished":
                    on_done(task, future.result())
                    failed = False
                else:
                    on_failed(task, describe_error(future.exception()))
                    failed = True
                future.release()
                progress.update(failed, running=min(pending, threads))
        except KeyboardInterrupt:
            self.client.cancel([f for f, _ in by_key.values() if not f.done()])
            raise
        finally:
            progress.close()


def make_evaluator(
    workers: int | None, scheduler: str | None, progress: bool = True
) -> SequentialEvaluator | DaskEvaluator:
    """``workers == 0``: this process; else Dask (a scheduler address, or a local cluster)."""
    if workers == 0 and scheduler is None:
        return SequentialEvaluator(progress)
    if workers == 0:
        raise ConfigError("--workers 0 (this process) cannot be combined with --scheduler")
    return DaskEvaluator(workers, scheduler, progress)
