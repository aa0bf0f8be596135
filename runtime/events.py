"""The event log: what the runtime observed, each fact tied to the program line that caused it.

The linter predicts facts about a program ("this backward raises M20", "this .grad read is
always None"); the runtime records the same facts while it executes the program, so
`varlint confirm` and the tests can match the two by line.

An event is a plain dict, so that it serialises to JSON unchanged::

    {"kind": "backward-without-grad", "line": 12, "file": "/abs/prog.py",
     "detail": "...", "related": [9]}

`line`/`file` are the *program* location: the innermost stack frame whose file is not part
of the runtime package (nor of Python's own standard library), so a `backward()` inside a
user helper function is reported at the helper's line. `related` lists other program lines
the same fact can be reported at (for example the `step()` that consumed an accumulated
gradient), and the lines of the calls in the same file that led to the event (a `step()` in a
helper can be reported at the helper's call in the training loop).

Event kinds (the contract with `varlint confirm`):

    variable-call              every torch.autograd.Variable(...) call
    volatile                   volatile= passed to Variable, a read or a write of t.volatile
    zero-dim-index             indexing a 0-dim tensor (then IndexError M10)
    backward-without-grad      backward / autograd.backward / autograd.grad on a tensor that
                               does not require grad (then RuntimeError M20)
    backward-non-scalar        implicit-gradient backward on a tensor with >1 element (M21)
    backward-gradient-shape    gradient argument shape differs from the output's (M22)
    grad-never-populated       .grad read on a leaf that does not require grad (None)
    grad-of-non-leaf           .grad read on a non-leaf that does not retain grad (None, M29)
    grad-fn-none               .grad_fn read on a tensor that does not require grad (None)
    grad-accumulated           a backward adding into a .grad that was consumed (optimizer
                               step or in-place update) since its last reset, recorded (at
                               the backward line) once that grad is consumed again;
                               related = [lines where it was consumed before and after]
    step-after-reset           an optimizer step whose params' grads were reset after their
                               last backward; related = [line of the reset]
    history-across-iterations  an accumulator holding every iteration's graph (total += loss,
                               total = total + loss, losses.append(loss) in a loop)
    step-before-backward       a backward reaching a saved tensor that an optimizer step changed
                               in place after the graph saved it (then RuntimeError M18);
                               related = [line of the step]
    multinomial-num-samples    multinomial() without num_samples (then TypeError)
    cat-zero-dim               torch.cat of a 0-dim tensor (then RuntimeError)
    zero-dim-iteration         iteration over / len() of a 0-dim tensor (then TypeError)
    zero-dim-target            nll_loss / cross_entropy with a batched input and a 0-dim
                               target (then ValueError)
    inplace-on-grad-leaf       an in-place op on a leaf that requires grad, in grad mode (M16,
                               or M17 for item assignment)
    legacy-autograd-function   a Function subclass with a non-static forward (at its
                               `def forward`), and every call of a Function instance (M28b)
    deprecated-alias           a call of a deprecated alias that warns (nn.init.normal,
                               clip_grad_norm, F.upsample*, torch.range)
    implicit-softmax-dim       softmax / log_softmax without dim (related: the line where an
                               nn.Softmax module without dim was created)

The module also owns `warn()`, which attributes a warning to the same program line, the way
PyTorch's C++ warnings are attributed to the Python line that called into it.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import random
import re
import threading
import sys
import sysconfig
import warnings

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB_DIRS = tuple(
    os.path.abspath(p) + os.sep
    for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
)

_log: list[dict] = []


def _is_runtime_file(filename: str) -> bool:
    return filename.startswith(RUNTIME_DIR) or filename.startswith("<frozen")


def is_program_file(filename: str) -> bool:
    """True for files written by the user: not the runtime, not Python's standard library.

    site-packages is under the stdlib dir too, so third-party libraries count as "not the
    program" as well.
    """
    if _is_runtime_file(filename):
        return False
    absolute = os.path.abspath(filename)
    return not absolute.startswith(_STDLIB_DIRS)


def program_frame(start=None):
    """The innermost frame that belongs to the program (see `is_program_file`), or None."""
    frame = start if start is not None else sys._getframe(1)
    fallback = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_runtime_file(filename):
            if is_program_file(filename):
                return frame
            if fallback is None:
                fallback = frame  # a stdlib frame: used only if no program frame exists
        frame = frame.f_back
    return fallback


def program_location() -> tuple[str, int]:
    """(absolute file, line) of the current program frame; ("", 0) if there is none."""
    frame = program_frame(sys._getframe(1))
    if frame is None:
        return "", 0
    return os.path.abspath(frame.f_code.co_filename), frame.f_lineno


def program_line() -> int:
    """The current program line, for remembering where something happened."""
    return program_location()[1]


def record(kind: str, detail: str = "", related=()) -> dict:
    """Append an event at the current program location and return it."""
    file, line = program_location()
    return record_at(kind, file, line, detail, related)


def caller_lines(file: str) -> list[int]:
    """The lines of the calls in `file` that lead to the current program frame."""
    frame = program_frame(sys._getframe(1))
    lines = []
    frame = frame.f_back if frame is not None else None
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename) == file:
            lines.append(frame.f_lineno)
        frame = frame.f_back
    return lines


def record_at(kind: str, file: str, line: int, detail: str = "", related=(), callers=True) -> dict:
    """Append an event at a program location remembered earlier (see program_location);
    `callers`: add the lines of the calls leading here (False: `related` says it all)."""
    related = [*related, *(caller_lines(file) if file and callers else ())]
    related_lines = sorted({int(r) for r in related if r and int(r) != line})
    event = {"kind": kind, "line": line, "file": file, "detail": detail, "related": related_lines}
    _log.append(event)
    if _channel is not None:
        _channel.send({"type": "event", **event})
    for listener in _listeners:
        listener(event)
    return event


def log() -> list[dict]:
    """The events recorded so far (the live list)."""
    return _log


def clear() -> None:
    _log.clear()


def write_json(path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(_log, handle, indent=1)


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """warnings.warn attributed to the program line (the first frame outside the runtime)."""
    frame = sys._getframe(1)
    stacklevel = 2  # 1 would be this function, 2 its caller
    while frame is not None and _is_runtime_file(frame.f_code.co_filename):
        frame = frame.f_back
        stacklevel += 1
    if frame is None:
        stacklevel = 1
    warnings.warn(message, category, stacklevel=stacklevel)


# --- The channel to `runtime.run()` ------------------------------------------------------
#
# The parent passes the write end of a pipe; before the program runs, the runtime moves it to
# a random high, close-on-exec descriptor and closes the original, so the program finds no
# file or descriptor number to forge records on (and its own subprocesses inherit nothing).
# Every record is one JSON object per line; the parent validates each (`validate_record`).

_channel: "Channel | None" = None
_listeners: list = []  # called with each event as it is recorded (coverage's early stop)


class Channel:
    """Records are numbered and signed (HMAC-SHA256 with a key the parent handed over in a
    file the runtime deletes before the program runs): a program writing to every descriptor
    it can find produces records that fail the check, so its run is an error, not a result."""

    def __init__(self, fd: int, key: bytes) -> None:
        self._fd = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, random.randrange(300, 900))
        os.close(fd)
        self._key = key
        self._sequence = 0
        self._lock = threading.Lock()

    def send(self, record: dict) -> None:
        with self._lock:
            self._sequence += 1
            record = {**record, "seq": self._sequence}
            data = (json.dumps({**record, "mac": sign(self._key, record)}, ensure_ascii=True) + "\n").encode("ascii")
            try:
                while data:
                    data = data[os.write(self._fd, data):]
            except OSError:
                pass  # the parent stopped listening: nothing more to say


def open_channel(fd: int, key: bytes) -> Channel:
    global _channel
    _channel = Channel(fd, key)
    return _channel


def sign(key: bytes, record: dict) -> str:
    payload = json.dumps(record, sort_keys=True, ensure_ascii=True).encode("ascii")
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def check_signature(key: bytes, record, sequence: int) -> str | None:
    """Why a received record is not the runtime's next one (None: it is)."""
    if not isinstance(record, dict) or not isinstance(record.get("mac"), str):
        return "an unsigned record (not written by the runtime)"
    body = {name: value for name, value in record.items() if name != "mac"}
    if not hmac.compare_digest(sign(key, body), record["mac"]):
        return "a record with a wrong signature (not written by the runtime)"
    if body.get("seq") != sequence:
        return f"record {body.get('seq')!r} where {sequence} was due (records were replayed or lost)"
    return None


def channel() -> "Channel | None":
    return _channel


_KIND = re.compile(r"[a-z][a-z0-9-]{0,63}\Z")
_RECORD_FIELDS = {
    "event": {"kind": str, "line": int, "file": str, "detail": str, "related": list},
    "lines": {"executed": dict, "runs": dict},
    "exception": {"text": str, "gap": (str, type(None)), "line": int},
    "stop": {"reason": str},
    "end": {},
}


def validate_record(record) -> str | None:
    """Why a channel record is malformed (None: it is well formed)."""
    if not isinstance(record, dict):
        return f"a record is a JSON object, not {type(record).__name__}"
    fields = _RECORD_FIELDS.get(record.get("type"))
    if fields is None:
        return f"unknown record type {record.get('type')!r}"
    if set(record) != {"type", *fields}:
        return f"a `{record['type']}` record has the fields {sorted(fields)}, not {sorted(set(record) - {'type'})}"
    for name, kind in fields.items():
        value = record[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"field `{name}` of a `{record['type']}` record is {type(value).__name__}"
    if record["type"] == "event":
        if not _KIND.match(record["kind"]):
            return f"bad event kind {record['kind'][:80]!r}"
        if record["line"] < 0 or not all(isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in record["related"]):
            return "event lines are positive integers"
    if record["type"] == "lines":
        for file, lines in record["executed"].items():
            if not isinstance(lines, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in lines):
                return f"executed lines of {file[:80]!r} are not a list of integers"
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in record["runs"].values()):
            return "run counts are integers"
    return None
