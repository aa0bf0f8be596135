"""Which program lines ran, so `varlint confirm` can tell "never reached" from "ran, and the
predicted event did not happen".

A trace function is installed only for frames of program files (see events.is_program_file):
runtime and library frames are not traced line by line, which keeps the cost small.
"""

from __future__ import annotations

import os
import sys
import threading

from . import events, history

executed: dict[str, set[int]] = {}
_decider: "Decider | None" = None
_is_program: dict[str, bool] = {}


def _trace_calls(frame, event, arg):
    filename = frame.f_code.co_filename
    if filename not in _is_program:
        _is_program[filename] = events.is_program_file(filename)
    if not _is_program[filename]:
        return None
    absolute = os.path.abspath(filename)
    lines = executed.setdefault(absolute, set())
    watching = _decider is not None and absolute == _decider.program

    def trace_lines(frame, event, arg):
        if event == "line":
            lines.add(frame.f_lineno)
            if watching:
                _decider.ran(frame.f_lineno)
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


# --- Stopping once every diagnostic is decided (`varlint confirm`) ------------------------


class Decider:
    """Watches the program's diagnostics: each is a set of rows and the event kinds that
    confirm it. One is decided when such an event names one of its rows, or when one of its
    rows has run `runs` times to the end without it (PyTorch's events come within an
    iteration or two of their line). Once all are decided, `on_decided` is called (it stops
    the program: the rest of a 100-epoch script has nothing left to tell)."""

    def __init__(self, program: str, watched: list[tuple[set[int], set[str]]], runs: int, on_decided) -> None:
        self.program = program
        self.pending = [(frozenset(rows), frozenset(kinds)) for rows, kinds in watched]
        self.runs = runs
        self.counts: dict[int, int] = {}
        self.on_decided = on_decided
        self.watched_rows = {row for rows, _ in self.pending for row in rows}

    def ran(self, line: int) -> None:
        if line not in self.watched_rows:
            return
        count = self.counts[line] = self.counts.get(line, 0) + 1
        if count > self.runs and not history.pending_at(self.program, line):
            # the line started again after `runs` complete executions (and no event of it is
            # still to be decided, as an accumulation's that awaits a backward: history.py)
            self._settle(lambda rows, kinds: line in rows)

    def saw(self, event: dict) -> None:
        if os.path.abspath(event.get("file") or "") != self.program:
            # an event of an imported module decides the program's lines its calls passed
            # through (varlint.confirm matches it there by its caller chain)
            lines = {line for file, line in event.get("callers", ()) if os.path.abspath(file) == self.program}
            if lines:
                self._settle(lambda rows, kinds: event["kind"] in kinds and bool(rows & lines))
            return
        lines = {event["line"], *event.get("related", ())}
        self._settle(lambda rows, kinds: event["kind"] in kinds and bool(rows & lines))

    def _settle(self, decides) -> None:
        before = len(self.pending)
        self.pending = [entry for entry in self.pending if not decides(*entry)]
        if before and not self.pending:
            self.on_decided()


def watched_runs() -> dict[str, int]:
    """How often each watched line started ({"line": count}; JSON keys are strings)."""
    return {str(line): count for line, count in _decider.counts.items()} if _decider else {}


def watch(decider: Decider) -> None:
    global _decider
    _decider = decider
    events._listeners.append(decider.saw)
