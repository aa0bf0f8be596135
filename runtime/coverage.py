"""Which program lines ran, so `varlint confirm` can tell "never reached" from "ran, and the
predicted event did not happen".

A trace function is installed only for frames of program files (see events.is_program_file):
runtime and library frames are not traced line by line, which keeps the cost small.
"""

from __future__ import annotations

import os
import sys
import threading

from . import events

executed: dict[str, set[int]] = {}
_is_program: dict[str, bool] = {}


def _trace_calls(frame, event, arg):
    filename = frame.f_code.co_filename
    if filename not in _is_program:
        _is_program[filename] = events.is_program_file(filename)
    if not _is_program[filename]:
        return None
    lines = executed.setdefault(os.path.abspath(filename), set())

    def trace_lines(frame, event, arg):
        if event == "line":
            lines.add(frame.f_lineno)
        return trace_lines

    return trace_lines


def install() -> None:
    sys.settrace(_trace_calls)
    threading.settrace(_trace_calls)


def uninstall() -> None:
    sys.settrace(None)
    threading.settrace(None)


def as_json() -> dict[str, list[int]]:
    return {filename: sorted(lines) for filename, lines in executed.items()}
