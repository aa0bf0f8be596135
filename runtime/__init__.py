"""varlint's reference runtime: a small numpy autograd that stands in for `torch`.

Legacy PyTorch programs run unchanged on it (`python -m runtime PROGRAM.py`), behave as on
PyTorch 2.13 (values, errors and warnings with PyTorch's texts, tensor printing), and leave an
event log that confirms the linter's diagnostics (events.py lists the kinds).

Layout (imports point down this list; no module imports one above it):
    torch_facade.py  the `torch` module a program imports (factories, dtypes, torch.cuda, ...)
    autograd.py      torch.autograd (Variable, backward, grad, Function)
    nn/, functional.py, optim.py, data.py   torch.nn, torch.nn.functional, torch.optim,
                     torch.utils.data
    tensor.py        `Tensor` with every op bound onto it (import Tensor from here)
    engine.py        the backward engine (backward, autograd.grad)
    ops/             the ops, one module per family, each op's forward and backward together:
                     creation, conversions, arithmetic, comparison,
                     pointwise, reductions, linalg, views, indexing; ops/__init__.py binds
                     them as Tensor methods and torch functions
    core.py          the Tensor class (storage, grad, in-place/view machinery), Node, record_op
    printing.py      repr(tensor) as PyTorch formats it
    random_ops.py    torch.rand/randn/..., Tensor.normal_/uniform_/..., torch.Generator
    random.py        PyTorch's CPU generator (mt19937) and its sampling kernels, bit for bit
    gradbook.py      per-leaf gradient bookkeeping for the event log
    device.py, dtypes.py, messages.py, grad_mode.py   devices, dtypes and type promotion,
                     PyTorch's message texts, no_grad / enable_grad
    history.py       detects accumulators that keep every iteration's graph
    events.py        the event log
    loader.py        serves the modules above under the `torch` names

`run(path)` runs a program in a fresh, sandboxed subprocess (limits, temporary cwd, its events on
a private pipe) and returns a `Result`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile

_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str
    exception: str | None  # final line of the traceback, e.g. "RuntimeError: ..."; None if none
    returncode: int
    events: list
    timed_out: bool
    # The lines of the program file that ran (None if the run did not report them).
    executed_lines: frozenset[int] | None = None
    # The lines that ran in every program file (the program and the modules it imported
    # from its tree), by absolute path.
    executed_files: dict = dataclasses.field(default_factory=dict)
    # How often each line of a watched diagnostic started (`run(watch=...)`).
    line_runs: dict = dataclasses.field(default_factory=dict)
    gap: str | None = None  # the torch API the runtime lacks, if that stopped the program
    decided: bool = False  # stopped early: every watched diagnostic was decided
    exception_line: int = 0  # the program's line the exception came from (0: unknown or none)
    channel_error: str | None = None  # the event data was malformed (then events are [])

    @property
    def ended_early(self) -> bool:
        """The program did not run to its end: an exception, a signal, the time limit."""
        return not self.decided and (self.timed_out or self.exception is not None or self.returncode != 0)

    @property
    def stop_reason(self) -> str:
        """Why the program stopped, in words."""
        if self.channel_error:
            return f"its event data is malformed ({self.channel_error})"
        if self.decided:
            return "stopped once every diagnostic was decided"
        if self.timed_out:
            return "stopped at the time limit"
        if self.gap:
            return f"runtime lacks {self.gap} ({self.exception})"
        if self.exception and self.exception.startswith("EOFError"):
            return f"it read standard input, which is closed under the runtime ({self.exception})"
        if self.exception and self.exception.startswith("MemoryError"):
            return f"it ran out of memory under the runtime's memory limit ({self.exception})"
        if self.exception:
            return f"it raised {self.exception}"
        if self.returncode < 0:
            name = signal.Signals(-self.returncode).name if -self.returncode in signal.valid_signals() else -self.returncode
            return f"it was killed by {name}"
        return "it ran to the end" + (f" (exit status {self.returncode})" if self.returncode else "")


# Limits of a run: output kept (head and tail of each stream), event data, address space, and
# processes beyond those already running (the program may fork a few, not a fork bomb).
OUTPUT_KEPT = 1 << 20
CHANNEL_LIMIT = 64 << 20
MEMORY_LIMIT = 4 << 30
EXTRA_PROCESSES = 64
EXIT_GRACE = 2.0  # after the program exits or is told to stop, its leftovers get this long
RUNS_WITHOUT_EVENT = 5  # a watched line that ran this often without its event is decided


class _Capture:
    """The head and the tail of a stream that may be hundreds of MB long."""

    def __init__(self, keep: int = OUTPUT_KEPT) -> None:
        self.keep, self.head, self.tail, self.dropped = keep, bytearray(), bytearray(), 0

    def add(self, data: bytes) -> None:
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.tail) > self.keep:
            self.dropped += len(self.tail) - self.keep
            del self.tail[: len(self.tail) - self.keep]

    def text(self) -> str:
        middle = f"\n[... {self.dropped} bytes of output omitted ...]\n".encode() if self.dropped else b""
        return bytes(self.head + middle + self.tail).decode("utf-8", "replace")


def _limits(memory: int):
    """Resource limits set in the child before it runs Python (POSIX)."""
    import resource

    def apply() -> None:
        os.setsid()  # its own process group: the whole group is killed at the end
        for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_NPROC, _process_ceiling())):
            if value is None:
                continue
            soft, hard = resource.getrlimit(limit)
            if hard == resource.RLIM_INFINITY or value < hard:
                try:
                    resource.setrlimit(limit, (value, hard))
                except (ValueError, OSError):
                    pass

    return apply


def _process_ceiling() -> int | None:
    """The tasks running now plus EXTRA_PROCESSES (RLIMIT_NPROC counts a user's tasks)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            return int(handle.read().split()[3].split("/")[1]) + EXTRA_PROCESSES
    except (OSError, IndexError, ValueError):
        return None


def _kill_group(process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(path, args=(), timeout: float = 30.0, watch=None, memory: int | None = MEMORY_LIMIT,
        home: str | None = None) -> Result:
    """Run PROGRAM on the runtime in a subprocess and return what happened; never raises for
    anything the program does.

    The program gets `args`, a closed standard input, a temporary working directory (files it
    writes do not land beside it; its own directory is first on sys.path, so its sibling
    modules import), limits on time, memory and processes, and its own process group, killed
    at the end (a grandchild holding stdout open cannot hang the run). Its output is kept
    head and tail (OUTPUT_KEPT bytes each). Events come back on a pipe the program is not
    given (events.Channel), and every record is validated: malformed data is
    `Result.channel_error`, never an exception here. `watch`, a list of (rows, event kinds)
    of the program's diagnostics, stops the program once each is decided (coverage.Decider).
    """
    import selectors
    import time

    from . import events as event_log

    program = os.path.abspath(os.fspath(path))
    with tempfile.TemporaryDirectory(prefix="varlint-runtime-") as scratch:
        workdir = os.path.join(scratch, "cwd")
        os.mkdir(workdir)
        key = os.urandom(32)
        settings_path = os.path.join(scratch, "run.json")
        with open(os.open(settings_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
            json.dump({"key": key.hex(), "runs": RUNS_WITHOUT_EVENT, "home": home and os.path.abspath(home), "diagnostics": [
                {"rows": sorted(rows), "kinds": sorted(kinds)} for rows, kinds in (watch or ())]}, handle)
        command = [sys.executable, "-m", "runtime", "--watch", settings_path]
        reader, writer = os.pipe()
        command += ["--channel", str(writer), program, *map(str, args)]
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PROJECT_ROOT, environment.get("PYTHONPATH")) if p)
        environment.setdefault("PYTHONIOENCODING", "utf-8")
        for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            environment.setdefault(threads, "1")
        try:
            process = subprocess.Popen(
                command, cwd=workdir, env=environment, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(writer,),
                preexec_fn=_limits(memory))
        finally:
            os.close(writer)
        captures = {process.stdout.fileno(): _Capture(), process.stderr.fileno(): _Capture()}  # in order
        channel_data = bytearray()
        channel_error = None
        selector = selectors.DefaultSelector()
        for fd in (*captures, reader):
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        start = time.monotonic()
        deadline, timed_out, terminated = start + timeout, False, False
        open_fds = {*captures, reader}
        while open_fds:
            now = time.monotonic()
            if now >= deadline:
                if process.poll() is None and not terminated:
                    timed_out, terminated = True, True
                    try:
                        os.killpg(process.pid, signal.SIGTERM)  # the runtime reports what ran
                    except ProcessLookupError:
                        pass
                    deadline = now + EXIT_GRACE
                    continue
                break  # the program and its leftovers had their grace: stop listening
            if process.poll() is not None and deadline > now + EXIT_GRACE:
                deadline = now + EXIT_GRACE  # exited: leftovers holding the pipes get the grace
            for ready, _ in selector.select(timeout=min(0.1, max(deadline - now, 0))):
                fd = ready.fd
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    selector.unregister(fd)
                    open_fds.discard(fd)
                elif fd == reader:
                    if len(channel_data) + len(data) > CHANNEL_LIMIT:
                        channel_error = channel_error or f"more than {CHANNEL_LIMIT} bytes of event data"
                    else:
                        channel_data += data
                else:
                    captures[fd].add(data)
        _kill_group(process)
        try:
            process.wait(timeout=EXIT_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        selector.close()
        os.close(reader)
        process.stdout.close()
        process.stderr.close()
    records, error = _decode_records(bytes(channel_data), key, event_log)
    channel_error = channel_error or error
    return _result(process, records, channel_error, timed_out, program, list(captures.values()))


def _decode_records(data: bytes, key: bytes, event_log) -> tuple[list[dict], str | None]:
    """The runtime's records, each checked (signature, order, schema): the first bad one makes
    the whole log an error."""
    records = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):  # an unfinished last line is cut off
        try:
            record = json.loads(line)
        except ValueError as error:
            return [], f"record {number} is not JSON ({error})"
        problem = event_log.check_signature(key, record, number)
        if problem is None:
            record = {name: value for name, value in record.items() if name not in ("mac", "seq")}
            problem = event_log.validate_record(record)
        if problem:
            return [], f"record {number}: {problem}"
        records.append(record)
    return records, None


def _result(process, records, channel_error, timed_out, program, outputs) -> Result:
    stdout, stderr = outputs
    events, executed, exception, gap, decided, line_runs, crash_line = [], None, None, None, False, {}, 0
    executed_files = {}
    if channel_error is None:
        for record in records:
            kind = record["type"]
            if kind == "event":
                events.append({key: value for key, value in record.items() if key != "type"})
            elif kind == "lines":
                executed = frozenset(record["executed"].get(program, ()))
                executed_files = {file: frozenset(lines) for file, lines in record["executed"].items()}
                line_runs = {int(line): count for line, count in record["runs"].items() if line.isdigit()}
            elif kind == "exception":
                exception, gap, crash_line = record["text"], record["gap"], record["line"]
            elif kind == "stop":
                decided = record["reason"] == "decided"
    return Result(stdout=stdout.text(), stderr=stderr.text(), exception=exception,
                  returncode=process.returncode, events=events, timed_out=timed_out and not decided,
                  executed_lines=executed, executed_files=executed_files, line_runs=line_runs, gap=gap, decided=decided,
                  channel_error=channel_error, exception_line=crash_line)
