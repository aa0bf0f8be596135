"""Checking files in worker processes, one file at a time per worker, results streamed back.

Each worker is a process with a pipe: the parent sends it the next file when it returns the
previous result, so the parent always knows which file each worker is on. A worker that dies
(a segfault in the parser, an `os._exit`, the OOM killer) costs only that file: it gets an
internal error and a new worker takes over the rest. On Linux the workers are forked, so the
project index and settings are shared without being pickled.
"""

from __future__ import annotations

import os
from typing import Callable

MIN_FILES_PER_WORKER = 4  # fewer files than this per worker: checking in-process is faster

# The parent's ends of the workers' pipes. A forked worker inherits all of them and must close
# them: holding its own pipe's other end, it would never see end-of-file when the parent dies
# (killed, say) and would wait forever.
_PARENT_ENDS: list = []


def _context():
    import multiprocessing  # here: a run in one process never needs it

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _serve(connection, check: Callable) -> None:
    for inherited in _PARENT_ENDS:
        inherited.close()
    _PARENT_ENDS.clear()
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task is None:
            return
        number, path = task
        connection.send((number, check(path)))


class _Worker:
    def __init__(self, context, check: Callable) -> None:
        self.connection, child = context.Pipe()
        _PARENT_ENDS.append(self.connection)
        self.process = context.Process(target=_serve, args=(child, check), daemon=True)
        self.process.start()
        child.close()
        self.task: tuple[int, str] | None = None

    def send(self, task) -> None:
        self.task = task
        self.connection.send(task)

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
        self.close()

    def close(self) -> None:
        if self.connection in _PARENT_ENDS:
            _PARENT_ENDS.remove(self.connection)
        self.connection.close()


def crash_detail(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            import signal

            name = signal.Signals(-exitcode).name
        except (ValueError, ImportError):
            name = f"signal {-exitcode}"
        return f"the worker process checking it was killed by {name}"
    return f"the worker process checking it exited unexpectedly (exit code {exitcode})"


def run(tasks: list[tuple[int, str]], check: Callable, jobs: int, arrived: Callable) -> None:
    """Call `arrived(number, check(path))` for every (number, path) task, in worker processes."""
    from multiprocessing.connection import wait

    from varlint.engine import FileResult

    context = _context()
    queue = list(reversed(tasks))
    workers = [_Worker(context, check) for _ in range(min(jobs, len(tasks)))]
    try:
        for worker in workers:
            worker.send(queue.pop())
        busy = list(workers)
        while busy:
            ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
            for worker in list(busy):
                message = None
                if worker.connection in ready or worker.process.sentinel in ready:
                    try:
                        if worker.connection.poll():
                            message = worker.connection.recv()
                    except (EOFError, OSError):
                        message = None
                    if message is None and worker.process.is_alive():
                        continue  # the sentinel fired spuriously: nothing to read yet
                else:
                    continue
                if message is None:
                    worker.process.join()
                    number, path = worker.task
                    arrived(number, FileResult(path, internal_error=crash_detail(worker.process.exitcode)))
                    busy.remove(worker)
                    workers.remove(worker)
                    worker.close()
                    if queue:
                        replacement = _Worker(context, check)
                        workers.append(replacement)
                        replacement.send(queue.pop())
                        busy.append(replacement)
                    continue
                arrived(*message)
                worker.task = None
                if queue:
                    task = queue.pop()
                    try:
                        worker.send(task)
                    except OSError:  # it died after answering: the task goes to a new worker
                        queue.append(task)
                        busy.remove(worker)
                        workers.remove(worker)
                        replacement = _Worker(context, check)
                        workers.append(replacement)
                        replacement.send(queue.pop())
                        busy.append(replacement)
                else:
                    busy.remove(worker)
    finally:
        for worker in workers:
            worker.stop()


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
