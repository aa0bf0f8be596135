"""The reference runtime confirms varlint's semantic diagnostics on every runnable fixture.

For each fixture program under fixtures/ (fixed outputs included; `no-run` ones excluded) the
program runs on the runtime (`runtime.run`), varlint lints it with every rule selected, and
varlint/confirm.py pairs the two by line:

- every diagnostic of a rule that predicts a runtime event is confirmed by that event, unless
  its line was never reached because the program crashed before it: lines after the crash line
  (the furthest program line among the frames of the final traceback: the module-level statement
  that was running, or a line inside a function it called) never ran;
- every event of a predicted kind is matched by a diagnostic: the linter misses nothing the
  fixtures exercise;
- a diagnostic on the line where the program crashed that quotes an exception quotes the one
  the program raised (the runtime raises PyTorch's texts, checked by the runtime suites).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from runtime_harness import directives, fixture_id, fixture_programs
from varlint import engine
from varlint.config import Settings
from varlint.confirm import EVENT_KINDS, match

runtime = pytest.importorskip("runtime")
if not hasattr(runtime, "run"):
    pytest.skip("the reference runtime has no `run` entry point yet", allow_module_level=True)

ALL_RULES = Settings(select=("ALL",))
PROGRAMS = [path for path in fixture_programs() if "no-run" not in directives(path)]
FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.M)


def crash_line(stderr: str, program: Path) -> int | None:
    """The last program line that can have run before the crash (None: no crash)."""
    if "Traceback (most recent call last):" not in stderr:
        return None
    traceback = stderr.rsplit("Traceback (most recent call last):", 1)[1]
    lines = [
        int(frame["line"])
        for frame in FRAME.finditer(traceback)
        if os.path.realpath(frame["file"]) == os.path.realpath(program)
    ]
    return max(lines) if lines else None


def describe(diagnostic) -> str:
    return f"line {diagnostic.start.row} {diagnostic.code}: {diagnostic.message}"


def test_there_are_programs_to_confirm():
    assert PROGRAMS, "no runnable fixture programs found"


@pytest.mark.parametrize("program", PROGRAMS, ids=[fixture_id(path) for path in PROGRAMS])
def test_runtime_confirms_diagnostics(program: Path):
    result = runtime.run(program, timeout=60)
    assert not result.timed_out, f"{fixture_id(program)} timed out on the runtime"
    diagnostics = [d for d in engine.check_file(str(program), ALL_RULES).diagnostics if d.code in EVENT_KINDS]
    crashed_at = crash_line(result.stderr, program)
    reached = None if crashed_at is None else set(range(1, crashed_at + 1))
    confirmations, missed = match(diagnostics, result.events, str(program), reached)

    unconfirmed = [describe(c.diagnostic) for c in confirmations if c.confirmed is False]
    assert not unconfirmed, (
        f"{fixture_id(program)}: the runtime ran these lines without the predicted event:\n  "
        + "\n  ".join(unconfirmed)
    )
    if crashed_at is not None and result.exception:
        # A diagnostic on the crash line that names an exception names the one raised.
        exception_type = result.exception.split(":", 1)[0]
        for diagnostic in diagnostics:
            on_crash_line = diagnostic.start.row <= crashed_at <= diagnostic.end.row
            if on_crash_line and f"{exception_type}:" in diagnostic.message:
                assert result.exception in diagnostic.message, (
                    f"{fixture_id(program)}: {describe(diagnostic)}\n  raised: {result.exception}"
                )
    assert not missed, (
        f"{fixture_id(program)}: the runtime recorded events no diagnostic predicts:\n  "
        + "\n  ".join(f"line {e['line']} {e['kind']}: {e.get('detail', '')}" for e in missed)
    )


def test_crash_line_is_the_furthest_program_frame(tmp_path):
    program = tmp_path / "crash.py"
    program.write_text("def inner():\n    raise ValueError('x')\n\ninner()\nprint('never')\n")
    result = runtime.run(program)
    assert result.exception == "ValueError: x"
    assert crash_line(result.stderr, program) == 4  # `inner()`: line 5 never ran
    assert crash_line(result.stderr, tmp_path / "other.py") is None
