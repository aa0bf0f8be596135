"""Checking files in worker processes, one file at a time per worker, results streamed back.

Each worker is a process with a pipe: the parent sends it the next file when it returns the
previous result, so the parent always knows which file each worker is on. A worker that dies
(a segfault in the parser, an `os._exit`, the OOM killer) costs only that file: it gets an
internal error and a new worker takes over the rest.

A run over a tree (`check_paths`) starts its workers before the project index exists: they
index the files in shares (the stdlib `ast` pass of varlint/project.py) and, while the parent
assembles the index and consults the cache, load libcst and the rules. The parent then sends
them the index once and the files, largest first (the last files to finish are small ones).
"""

from __future__ import annotations

import os
from typing import Callable

from varlint import collection

MIN_FILES_PER_WORKER = 4  # fewer files than this per worker: checking in-process is faster

# The parent's ends of the workers' pipes. A forked worker inherits all of them and must close
# them: holding its own pipe's other end, it would never see end-of-file when the parent dies
# (killed, say) and would wait forever.
_PARENT_ENDS: list = []

# What a worker was sent for the whole run (the project index), by name.
_SHARED: dict = {}

# A control message's first item is one of these strings (a task's is its number).
_INDEX, _SHARE, _WARM = "index", "share", "warm"


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
        if isinstance(task[0], str):
            kind = task[0]
            if kind == _INDEX:
                with collection.between_files():
                    infos = [_index_module(*item) for item in task[1]]
                connection.send((_INDEX, infos))
            elif kind == _SHARE:
                _SHARED[task[1]] = task[2]
            elif kind == _WARM:
                _warm_up()
            continue
        number, path = task
        connection.send((number, check(path)))


def _index_module(path: str, name: str, is_package: bool):
    from varlint.project import read_module, read_text

    text = read_text(path)
    return None if text is None else read_module(name, path, text, is_package)


WARM_UP_TEXT = """\
import torch
from torch.autograd import Variable
for x, y in data:
    opt.zero_grad()
    loss = criterion(model(Variable(x)), y)
    loss.backward()
    opt.step()
    print(loss.data[0])
"""


def _warm_up() -> None:
    """Import what checking needs (libcst, the rules, the analyses they load on first use) by
    checking a small text once: a worker does it while the parent assembles the index."""
    try:
        from varlint import engine
        from varlint.rules import rule_table

        engine.lint_text("warm_up.py", WARM_UP_TEXT, frozenset(rule.code for rule in rule_table()))
    except Exception:  # noqa: BLE001 - only a head start: the real check reports any problem
        pass


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


class Pool:
    """`jobs` worker processes calling `check(path)`; `share` sends them run-wide data first."""

    def __init__(self, jobs: int, check: Callable) -> None:
        self.context = _context()
        self.check = check
        self.shared: list[tuple] = []  # sent again to a replacement worker
        self.workers = [_Worker(self.context, check) for _ in range(jobs)]

    def _new_worker(self) -> _Worker:
        worker = _Worker(self.context, self.check)
        for message in self.shared:
            worker.connection.send(message)
        return worker

    def _drop(self, worker: _Worker) -> None:
        worker.process.join(timeout=5)
        self.workers.remove(worker)
        worker.close()

    def index(self, items: list[tuple[str, str, bool]], sizes: dict[str, int]) -> list:
        """ModuleInfo (or None) of each (path, name, is_package), indexed by the workers in
        shares of about equal size; then the workers warm up. A share whose worker dies is
        indexed here."""
        from multiprocessing.connection import wait

        shares: list[list] = [[] for _ in self.workers]
        loads = [0] * len(self.workers)
        for item in sorted(items, key=lambda item: -sizes.get(item[0], 0)):
            lightest = loads.index(min(loads))
            shares[lightest].append(item)
            loads[lightest] += sizes.get(item[0], 0) + 1
        found: dict[str, object] = {}
        waiting: dict[_Worker, list] = {}
        for worker, share in zip(list(self.workers), shares):
            try:
                worker.connection.send((_INDEX, share))
                worker.connection.send((_WARM,))
                waiting[worker] = share
            except OSError:
                found.update((item[0], _index_module(*item)) for item in share)
        while waiting:
            ready = wait([w.connection for w in waiting] + [w.process.sentinel for w in waiting])
            for worker in list(waiting):
                message = _receive(worker, ready)
                if message is _NOT_YET:
                    continue
                share = waiting.pop(worker)
                if message is None:  # it died: its share is indexed here, a new worker joins
                    found.update((item[0], _index_module(*item)) for item in share)
                    self._drop(worker)
                    self.workers.append(self._new_worker())
                else:
                    found.update(zip((item[0] for item in share), message[1]))
        return [found.get(item[0]) for item in items]

    def share(self, name: str, value) -> None:
        message = (_SHARE, name, value)
        self.shared.append(message)
        for worker in list(self.workers):
            try:
                worker.connection.send(message)
            except OSError:  # dead already: run() replaces it
                pass

    def run(self, tasks: list[tuple[int, str]], arrived: Callable) -> None:
        """Call `arrived(number, check(path))` for every (number, path) task."""
        from multiprocessing.connection import wait

        from varlint.engine import FileResult

        queue = list(reversed(tasks))
        busy = []
        for worker in list(self.workers):
            if not queue:
                break
            task = queue.pop()
            try:
                worker.send(task)
                busy.append(worker)
            except OSError:
                queue.append(task)
                self._drop(worker)
                replacement = self._new_worker()
                self.workers.append(replacement)
                replacement.send(queue.pop())
                busy.append(replacement)
        while busy:
            ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
            for worker in list(busy):
                message = _receive(worker, ready)
                if message is _NOT_YET:
                    continue
                if message is None:
                    worker.process.join()
                    number, path = worker.task
                    arrived(number, FileResult(path, internal_error=crash_detail(worker.process.exitcode)))
                    busy.remove(worker)
                    self._drop(worker)
                    if queue:
                        replacement = self._new_worker()
                        self.workers.append(replacement)
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
                        self._drop(worker)
                        replacement = self._new_worker()
                        self.workers.append(replacement)
                        replacement.send(queue.pop())
                        busy.append(replacement)
                else:
                    busy.remove(worker)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []


def run(tasks: list[tuple[int, str]], check: Callable, jobs: int, arrived: Callable) -> None:
    """Call `arrived(number, check(path))` for every (number, path) task, in worker processes."""
    pool = Pool(min(jobs, len(tasks)), check)
    try:
        pool.run(tasks, arrived)
    finally:
        pool.close()


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def shared(name: str, default=None):
    """Run-wide data the parent sent this worker (`Pool.share`), or `default`."""
    return _SHARED.get(name, default)


_NOT_YET = object()


def _receive(worker, ready):
    """What `worker` sent, if `wait` listed it in `ready`: its message, None if it died, or
    _NOT_YET (not listed, or the sentinel fired spuriously: nothing to read yet)."""
    if worker.connection not in ready and worker.process.sentinel not in ready:
        return _NOT_YET
    message = None
    try:
        if worker.connection.poll():
            message = worker.connection.recv()
    except (EOFError, OSError):
        message = None
    if message is None and worker.process.is_alive():
        return _NOT_YET
    return message
