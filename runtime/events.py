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
gradient).

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

import json
import os
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


def record_at(kind: str, file: str, line: int, detail: str = "", related=()) -> dict:
    """Append an event at a program location remembered earlier (see program_location)."""
    related_lines = sorted({int(r) for r in related if r and int(r) != line})
    event = {"kind": kind, "line": line, "file": file, "detail": detail, "related": related_lines}
    _log.append(event)
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
