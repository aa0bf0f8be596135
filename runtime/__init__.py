"""varlint's reference runtime: a small numpy autograd that stands in for `torch`.

Legacy PyTorch programs run unchanged on it (`python -m runtime PROGRAM.py`), behave as on
PyTorch 2.13 (values, errors and warnings with PyTorch's texts, tensor printing), and leave an
event log that confirms the linter's diagnostics (events.py lists the kinds).

Layout:
    tensor.py        Tensor, autograd nodes, in-place/view semantics, event bookkeeping
    engine.py        the backward engine (backward, autograd.grad)
    dtypes.py        dtypes, torch.Size, type promotion
    grad_mode.py     no_grad / enable_grad / set_grad_enabled
    printing.py      repr(tensor) as PyTorch formats it
    torch_facade.py  the `torch` module a program imports
    autograd.py      torch.autograd (Variable, backward, grad, Function)
    nn.py, functional.py, optim.py   torch.nn, torch.nn.functional, torch.optim
    data.py          torch.utils.data (datasets, samplers, DataLoader, default_collate)
    random.py        PyTorch's CPU generator (mt19937) and its sampling kernels, bit for bit
    random_ops.py    torch.rand/randn/..., Tensor.normal_/uniform_/..., torch.Generator
    loader.py        serves the modules above under the `torch` names
    history.py       detects accumulators that keep every iteration's graph
    events.py        the event log

`run(path)` runs a program in a fresh subprocess with a time limit and returns a `Result`.
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
    # The lines of the program file that ran (None if the log could not be read).
    executed_lines: frozenset[int] | None = None


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def run(path, args=(), timeout: float = 30.0) -> Result:
    """Run PROGRAM on the runtime in a subprocess (cwd = its directory); never raises for
    anything the program does."""
    program = os.path.abspath(os.fspath(path))
    with tempfile.TemporaryDirectory(prefix="varlint-runtime-") as scratch:
        events_path = os.path.join(scratch, "events.json")
        exception_path = os.path.join(scratch, "exception.txt")
        lines_path = os.path.join(scratch, "lines.json")
        command = [sys.executable, "-m", "runtime", "--events", events_path,
                   "--exception-file", exception_path, "--lines", lines_path,
                   program, *map(str, args)]
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PROJECT_ROOT, environment.get("PYTHONPATH")) if p)
        environment.setdefault("PYTHONIOENCODING", "utf-8")
        process = subprocess.Popen(command, cwd=os.path.dirname(program), env=environment,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            process.send_signal(signal.SIGTERM)  # lets the runtime write its event log
            try:
                stdout, stderr = process.communicate(timeout=2.0)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
        event_log = _read_json(events_path) or []
        executed = _read_json(lines_path)
        if executed is not None:
            executed = frozenset(executed.get(program, ()))
        exception = None
        if os.path.exists(exception_path):
            with open(exception_path, encoding="utf-8") as handle:
                exception = handle.read().strip() or None
    return Result(stdout=_text(stdout), stderr=_text(stderr), exception=exception,
                  returncode=process.returncode, events=event_log, timed_out=timed_out,
                  executed_lines=executed)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None
