"""Legacy programs run on PyTorch 2.x after `varlint check --fix` (issue 11's measure).

The set: every runnable fixture program that carries `# expect:` annotations, and the programs
of examples/ (and fixtures/real/ when present). Each original runs on the reference runtime; a
program whose crash varlint predicted (a diagnostic on the crash line quoting the exception,
or naming its type) with a safe fix must, after `--fix`, run to the end, and, where a
hand-ported version exists (tests/ported/, the crash ported by hand and nothing else), print
what it prints. The same holds under real PyTorch 2.13 (a test of its own, skipped only where
PyTorch is not installed; CI sets VARLINT_REQUIRE_TORCH=1, which turns its absence into a
failure): there the original must also raise what it raises on the runtime.

`python tests/test_runs_after_fix.py` prints the counts (crashing / warning originals, crashes
with a safe fix, gone after --fix, matching the hand port).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import runtime_harness as harness
from fixture_support import expected_diagnostics, lint_fixtures
from test_confirm import crash_line
from varlint import engine
from varlint.config import Settings
from varlint.diagnostic import Applicability

ROOT = Path(__file__).resolve().parent.parent
PORTED_DIR = Path(__file__).resolve().parent / "ported"


def legacy_programs() -> list[Path]:
    programs = [
        case.path
        for case in lint_fixtures()
        if "no-run" not in case.directives and expected_diagnostics(case.path)
    ]
    for folder in (ROOT / "examples", ROOT / "fixtures" / "real"):
        programs += [
            path for path in sorted(folder.glob("*.py"))
            if "no-run" not in harness.directives(path) and path not in programs
        ]
    return programs


def program_id(path: Path) -> str:
    return str(path.relative_to(ROOT / "fixtures" if "fixtures" in path.parts else ROOT))


def ported_version(path: Path) -> Path:
    return PORTED_DIR / (program_id(path).replace("/", "__"))


@dataclass
class Outcome:
    original: harness.ProgramRun
    fixed: harness.ProgramRun
    fixed_path: Path
    safe_fixable_crash: bool  # the original crashed where a diagnostic with a safe fix said it would

    @property
    def warned(self) -> bool:
        return "Warning:" in self.original.stderr


def run_original_and_fixed(program: Path, directory: Path) -> Outcome:
    original = harness.run_with_runtime(program)
    copy = directory / program.name
    shutil.copy2(program, copy)
    fix_result = engine.check_file(str(copy), Settings(), fix=Applicability.SAFE)
    engine.write_fixes(fix_result)
    fixed = harness.run_with_runtime(copy)
    safe_fixable = False
    line = crash_line(original.stderr, program) if original.exception else None
    if line is not None:
        diagnostics = engine.check_file(str(program), Settings()).diagnostics
        # The crash's own diagnostic: on the crash line, quoting the exception raised (without
        # the "Did you mean" that Python's traceback display adds to an AttributeError), or at
        # least naming its type.
        raised = re.sub(r"\. Did you mean: .*\?$", "", original.exception)
        exception_type = raised.split(":", 1)[0]
        safe_fixable = any(
            d.fix is not None
            and d.fix.applicability is Applicability.SAFE
            and d.start.row <= line <= d.end.row
            and (raised in d.message or f"`{exception_type}`" in d.message)
            for d in diagnostics
        )
    return Outcome(original, fixed, copy, safe_fixable)


PROGRAMS = legacy_programs()


def test_there_are_legacy_programs():
    assert len(PROGRAMS) > 20


@pytest.mark.parametrize("program", PROGRAMS, ids=[program_id(p) for p in PROGRAMS])
def test_safe_fixable_crash_is_gone_after_fix(program: Path, tmp_path: Path):
    outcome = run_original_and_fixed(program, tmp_path)
    ported = ported_version(program)
    if not outcome.safe_fixable_crash:
        assert not ported.exists(), f"{ported.name}: a hand port of a program without a safe-fixable crash"
        return
    assert outcome.fixed.exception is None, (
        f"{program_id(program)}: crashed with {outcome.original.exception!r} at a line varlint fixes "
        f"safely, and after --fix still raises {outcome.fixed.exception!r}\n{outcome.fixed.stderr}"
    )
    if not ported.exists():
        return  # no hand port written yet: running to the end is all that is checked
    by_hand = harness.run_with_runtime(ported)
    assert by_hand.exception is None, by_hand.stderr
    assert outcome.fixed.stdout == by_hand.stdout, (
        f"{program_id(program)}: after --fix it prints\n{outcome.fixed.stdout}\nthe hand port prints\n{by_hand.stdout}"
    )


@pytest.mark.skipif(not harness.torch_available(), reason="PyTorch is not installed")
@pytest.mark.parametrize("program", PROGRAMS, ids=[program_id(p) for p in PROGRAMS])
def test_safe_fixable_crash_is_gone_after_fix_under_pytorch(program: Path, tmp_path: Path):
    """The same under real PyTorch 2.13: the original crashes as on the runtime, the fixed
    program runs to the end and prints what its hand port prints."""
    if harness.directives(program) & harness.NOT_COMPARED_WITH_TORCH:
        pytest.skip("not comparable with PyTorch (see the program's directive: torchvision stand-ins)")
    outcome = run_original_and_fixed(program, tmp_path)
    if not outcome.safe_fixable_crash:
        return
    original_torch = harness.run_with_torch(program)
    assert original_torch.exception == outcome.original.exception, (
        f"{program_id(program)}: the runtime raised {outcome.original.exception!r}, PyTorch "
        f"{original_torch.exception!r}"
    )
    fixed_torch = harness.run_with_torch(outcome.fixed_path)
    assert fixed_torch.exception is None, f"{program_id(program)} after --fix, under PyTorch:\n{fixed_torch.stderr}"
    ported = ported_version(program)
    if ported.exists():
        ported_torch = harness.run_with_torch(ported)
        assert ported_torch.exception is None, ported_torch.stderr
        assert fixed_torch.stdout == ported_torch.stdout, f"{program_id(program)}: under PyTorch 2.13"


def test_pytorch_is_installed_where_required():
    """CI (.ci/run) sets VARLINT_REQUIRE_TORCH=1: the PyTorch half of this measure must not
    silently skip there."""
    if os.environ.get("VARLINT_REQUIRE_TORCH") == "1":
        assert harness.torch_available(), "VARLINT_REQUIRE_TORCH=1 but PyTorch cannot be imported"


def test_every_hand_port_has_its_program():
    ports = {ported_version(program).name for program in PROGRAMS}
    assert sorted(path.name for path in PORTED_DIR.glob("*.py") if path.name not in ports) == []


def measure() -> None:
    import tempfile

    crashed = warned = safe = gone = matched = 0
    torch_compared = torch_gone = torch_matched = 0
    with_torch = harness.torch_available()
    for program in PROGRAMS:
        with tempfile.TemporaryDirectory() as directory:
            outcome = run_original_and_fixed(program, Path(directory))
            crashed += outcome.original.exception is not None
            warned += outcome.original.exception is None and outcome.warned
            if outcome.safe_fixable_crash:
                safe += 1
                ported = ported_version(program)
                if outcome.fixed.exception is None:
                    gone += 1
                    matched += ported.exists() and harness.run_with_runtime(ported).stdout == outcome.fixed.stdout
                if with_torch and not harness.directives(program) & harness.NOT_COMPARED_WITH_TORCH:
                    torch_compared += 1
                    fixed_torch = harness.run_with_torch(outcome.fixed_path)
                    torch_gone += fixed_torch.exception is None
                    torch_matched += (
                        fixed_torch.exception is None and ported.exists()
                        and harness.run_with_torch(ported).stdout == fixed_torch.stdout
                    )
    print(f"{len(PROGRAMS)} legacy programs: {crashed} crash on 2.13 semantics, {warned} only warn; "
          f"{safe} crash at a line with a safe fix, {gone} of them run to the end after --fix, "
          f"{matched} print what the hand port prints")
    if with_torch:
        print(f"under PyTorch 2.13: {torch_gone} of the {torch_compared} comparable ones run to the end after --fix, "
              f"{torch_matched} print what the hand port prints")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    measure()
