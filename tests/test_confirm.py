"""The reference runtime confirms varlint's semantic diagnostics on every runnable fixture.

For each fixture program under fixtures/ (fixed outputs included; `no-run` ones excluded) the
program runs on the runtime (`runtime.run`), varlint lints it with every rule selected, and
varlint/confirm.py pairs the two by line:

- every diagnostic of a rule that predicts a runtime event is confirmed by that event, unless
  its line never ran (the runtime reports the program lines it executed: a crash, a branch not
  taken);
- every event of a predicted kind is matched by a diagnostic: the linter misses nothing the
  fixtures exercise;
- a diagnostic on the line the program crashed at (the innermost frame of the program file in
  the final traceback) that quotes an exception quotes the one the program raised (the runtime
  raises PyTorch's texts, checked by the runtime suites).

Folder fixtures (fixtures/project/NAME/ with a `main.py`) are confirmed the same way, module
by module: the folder is linted as one project, `main.py` runs, and each module's diagnostics
are paired with the events and executed lines of that module's file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import runtime
from fixture_support import project_cases
from runtime_harness import directives, fixture_id, fixture_programs
from varlint import engine
from varlint.config import Settings
from varlint.confirm import EVENT_KINDS, match

ALL_RULES = Settings(select=("ALL",))
PROGRAMS = [path for path in fixture_programs() if "no-run" not in directives(path)]
FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.M)


def crash_line(stderr: str, program: Path) -> int | None:
    """The program line the final traceback was raised from (None: the program did not crash)."""
    if "Traceback (most recent call last):" not in stderr:
        return None
    traceback = stderr.rsplit("Traceback (most recent call last):", 1)[1]
    lines = [
        int(frame["line"])
        for frame in FRAME.finditer(traceback)
        if os.path.realpath(frame["file"]) == os.path.realpath(program)
    ]
    return lines[-1] if lines else None


def quotes(message: str, exception: str) -> bool:
    """Whether `message` quotes `exception`: whole, or up to a `...` standing for the parts
    that depend on the program (M18's tensor, shape and versions)."""
    if exception in message:
        return True
    exception_type = exception.split(":", 1)[0]
    for quoted in re.findall(rf"`({re.escape(exception_type)}: [^`]*)\.\.\.`", message):
        if len(quoted) > len(exception_type) + 20 and exception.startswith(quoted):
            return True
    return False


def describe(diagnostic) -> str:
    return f"line {diagnostic.start.row} {diagnostic.code}: {diagnostic.message}"


def test_there_are_programs_to_confirm():
    assert PROGRAMS, "no runnable fixture programs found"


@pytest.mark.parametrize("program", PROGRAMS, ids=[fixture_id(path) for path in PROGRAMS])
def test_runtime_confirms_diagnostics(program: Path):
    result = runtime.run(program, timeout=60)
    assert not result.timed_out, f"{fixture_id(program)} timed out on the runtime"
    diagnostics = [d for d in engine.check_file(str(program), ALL_RULES).diagnostics if d.code in EVENT_KINDS]
    assert result.executed_lines is not None, "the runtime did not report the lines it ran"
    confirmations, missed = match(diagnostics, result.events, str(program), set(result.executed_lines))

    unconfirmed = [describe(c.diagnostic) for c in confirmations if c.confirmed is False]
    assert not unconfirmed, (
        f"{fixture_id(program)}: the runtime ran these lines without the predicted event:\n  "
        + "\n  ".join(unconfirmed)
    )
    crashed_at = crash_line(result.stderr, program)
    if crashed_at is not None and result.exception:
        # A diagnostic on the crash line that names an exception names the one raised.
        exception_type = result.exception.split(":", 1)[0]
        for diagnostic in diagnostics:
            on_crash_line = diagnostic.start.row <= crashed_at <= diagnostic.end.row
            if on_crash_line and f"{exception_type}:" in diagnostic.message:
                assert quotes(diagnostic.message, result.exception), (
                    f"{fixture_id(program)}: {describe(diagnostic)}\n  raised: {result.exception}"
                )
    # `# fixture: unpredicted:KIND`: an event the linter cannot know about, by design.
    allowed = {word.split(":", 1)[1] for word in directives(program) if word.startswith("unpredicted:")}
    missed = [event for event in missed if event["kind"] not in allowed]
    assert not missed, (
        f"{fixture_id(program)}: the runtime recorded events no diagnostic predicts:\n  "
        + "\n  ".join(f"line {e['line']} {e['kind']}: {e.get('detail', '')}" for e in missed)
    )


def test_a_quoted_exception_may_leave_out_its_program_dependent_end():
    raised = "RuntimeError: one of the variables ... modified: [torch.FloatTensor [6, 1]] is at version 2"
    assert quotes("raises `RuntimeError: one of the variables ... modified: ...`", raised)
    assert not quotes("raises `RuntimeError: one of the other variables: ...`", raised)
    assert not quotes("raises `RuntimeError: ...`", raised)  # too short to say which error


def test_crash_line_is_the_innermost_program_frame(tmp_path):
    program = tmp_path / "crash.py"
    program.write_text("def inner():\n    raise ValueError('x')\n\ninner()\nprint('never')\n")
    result = runtime.run(program)
    assert result.exception == "ValueError: x"
    assert crash_line(result.stderr, program) == 2
    assert crash_line(result.stderr, tmp_path / "other.py") is None
    assert {2, 4} <= result.executed_lines and 5 not in result.executed_lines


PROJECTS = [p for p in project_cases() if p.main is not None and "no-run" not in p.directives]


@pytest.mark.parametrize("project", [project.param() for project in PROJECTS])
def test_runtime_confirms_project_diagnostics(project):
    result = runtime.run(project.main, timeout=60)
    assert not result.timed_out, f"{project.id} timed out on the runtime"
    assert result.executed_files, "the runtime did not report the lines it ran"
    modules = [str(module.path) for module in project.modules()]
    allowed = {word.split(":", 1)[1] for word in project.directives if word.startswith("unpredicted:")}
    problems = []
    for checked in engine.check_paths(modules, ALL_RULES, jobs=1):
        diagnostics = [d for d in checked.diagnostics if d.code in EVENT_KINDS]
        executed = set(result.executed_files.get(os.path.abspath(checked.path), ()))
        confirmations, missed = match(diagnostics, result.events, checked.path, executed)
        name = os.path.relpath(checked.path, project.folder)
        problems += [f"{name}: ran without its event: {describe(c.diagnostic)}" for c in confirmations if c.confirmed is False]
        problems += [
            f"{name}: event no diagnostic predicts: line {e['line']} {e['kind']}: {e.get('detail', '')}"
            for e in missed if e["kind"] not in allowed
        ]
    assert not problems, f"{project.id}:\n  " + "\n  ".join(problems)
