"""The language server's lint thread: runs engine calls one at a time, off the event loop, and
can stop a call midway (a lint of a version the user has already edited away).

A thread cannot be stopped from outside in Python, except by an asynchronous exception
(`PyThreadState_SetAsyncExc`), raised in the thread at its next bytecode. The engine keeps no
state across calls that such an exception could leave half-written (its caches are filled by
one assignment once computed; per-file state is dropped with the call), and every engine call
of the server runs in this one thread, so a lock the exception might leave held (the lock of a
`functools.cached_property`) is held by the only thread that takes it (they are re-entrant).

The exception may also arrive late (once the call is over): the thread's own loop never loses
a job to it. Jobs stay in the queue until their result is handed over, each step is repeated
when interrupted, a job interrupted by a cancellation meant for an earlier one is run again,
and the thread waits for work in `os.read` (C code: the exception waits until it returns,
and a lost wake-up byte is harmless, the queue is the truth).

Garbage collection: the cyclic collector is off while the server runs, and this thread collects
when it has been idle for IDLE_COLLECT_SECONDS after a call (the result is published by then),
every IDLE_CHECK_SECONDS while idle if allocations are pending, and before a call once many
are. A lint allocates a whole tree and the
analyses' tables: collections during it scanned them again and again (about 15% of a 500-line
file's lint), and one collection afterwards costs less and outside the edit's latency.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import dataclasses
import gc
import os
import select
import threading
import time

IDLE_COLLECT_SECONDS = 0.05
IDLE_CHECK_SECONDS = 5.0  # idle, the collector is run when allocations are pending
IDLE_PENDING_ALLOCATIONS = 10_000
PENDING_ALLOCATIONS_MAX = 2_000_000  # then a collection before the next call, idle or not


class Cancelled(BaseException):
    """Raised in the lint thread to stop the call it runs."""


CANCELLED = object()  # the result of a cancelled call


@dataclasses.dataclass(eq=False)
class Job:
    function: object
    arguments: tuple
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    cancellable: bool
    outcome: tuple | None = None  # (ok, value or exception)
    delivered: bool = False
    cpu: float = 0.0  # thread CPU seconds the call used


class LintWorker:
    def __init__(self, collect_when_idle: bool = True) -> None:
        self.jobs: collections.deque[Job] = collections.deque()
        self.collect_when_idle = collect_when_idle
        self.garbage = False  # calls have run since the last collection
        if collect_when_idle:
            gc.disable()
        self.current: Job | None = None
        self.target: Job | None = None  # the job a cancellation was sent for
        self.cancelled = 0  # calls stopped midway
        self.collections = 0  # garbage collections run by this thread
        self._wake_read, self._wake_write = os.pipe()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="varlint-lint", daemon=True)
        self._thread.start()

    def submit(self, function, *arguments, cancellable: bool = False) -> Job:
        """Queue `function(*arguments)`; `await job.future` gives its result (CANCELLED when it
        was cancelled, its exception when it raised)."""
        loop = asyncio.get_running_loop()
        job = Job(function, arguments, loop.create_future(), loop, cancellable)
        self.jobs.append(job)
        os.write(self._wake_write, b"x")
        return job

    def cancel(self, job: Job) -> None:
        """Stop `job`: dropped if it has not started, interrupted if it runs and is cancellable."""
        if job.outcome is not None or not job.cancellable:
            return
        if self.current is job:
            self.target = job
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread.ident), ctypes.py_object(Cancelled))
        elif job in self.jobs:
            job.outcome = (True, CANCELLED)

    def stop(self) -> None:
        self._stopped = True
        os.write(self._wake_write, b"x")
        if self.collect_when_idle:
            gc.enable()

    # --- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped:
            try:
                self._step()
            except Cancelled:
                continue  # a late cancellation: the step is done again
            except Exception as error:  # noqa: BLE001 - a bug here must not stop every later lint
                if self.jobs and self.jobs[0].outcome is None:
                    self.jobs[0].outcome = (False, error)
                time.sleep(0.01)

    def _step(self) -> None:
        if not self.jobs:
            timeout = IDLE_COLLECT_SECONDS if self.garbage else IDLE_CHECK_SECONDS
            if not select.select([self._wake_read], [], [], timeout)[0]:
                if self.garbage or gc.get_count()[0] > IDLE_PENDING_ALLOCATIONS:
                    self._collect()  # (the event loop's own garbage, without lints)
                return
            os.read(self._wake_read, 4096)
            return
        job = self.jobs[0]
        if job.outcome is None:
            if self.collect_when_idle and gc.get_count()[0] > PENDING_ALLOCATIONS_MAX:
                self._collect()
            self._execute(job)
            return
        if not job.delivered:
            try:
                job.loop.call_soon_threadsafe(_settle, job)
            except RuntimeError:  # the event loop is closed: nobody waits any more
                pass
            job.delivered = True
        if self.jobs and self.jobs[0] is job:
            self.jobs.popleft()

    def _collect(self) -> None:
        gc.collect()
        self.garbage = False
        self.collections += 1

    def _execute(self, job: Job) -> None:
        started = time.thread_time()
        try:
            self.current = job
            value = job.function(*job.arguments)
            outcome = (True, value)
        except Cancelled:
            outcome = (True, CANCELLED) if self.target is job else None  # None: run it again
            if outcome is not None:
                self.cancelled += 1
        except Exception as error:  # noqa: BLE001 - handed to the awaiting coroutine
            outcome = (False, error)
        finally:
            self.current = None
        job.cpu = time.thread_time() - started
        job.outcome = outcome
        self.garbage = self.collect_when_idle


def freeze_survivors() -> None:
    """Collect, then leave what survives (modules, the engine's tables: start-up objects) out
    of the collections to come: they are never garbage, and scanning them made each one slower."""
    gc.collect()
    gc.freeze()


def _settle(job: Job) -> None:
    if job.future.done():
        return
    ok, value = job.outcome
    if ok:
        job.future.set_result(value)
    else:
        job.future.set_exception(value)
