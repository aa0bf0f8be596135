"""The linter side of the fixture tests: which fixtures there are and what each expects.

Discovery, directives and `# expect:` annotations are read by tests/runtime_harness.py (shared
with the runtime suites); this module adds what the lint/fix tests need on top:

- `lint_fixtures()`: the fixture programs themselves (not their `.fixed.py` outputs);
- `FixtureCase`: one fixture with its expected safe and unsafe fix outputs, resolved by the
  fallback rules of fixtures/README.md (no `.unsafe-fixed.py` means "same as `.fixed.py`",
  no `.fixed.py` means "unchanged");
- `ProjectFixture`: a folder fixture (fixtures/project/NAME/), several modules checked as one
  project; each module carries its own `# expect:` lines and `.fixed.py` beside it, and
  `main.py`, when there is one, is the program the runtime runs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from runtime_harness import (
    FIXTURES_DIR,
    directives,
    expected_diagnostics,
    fixture_id,
    fixture_programs,
    original_of,
    project_fixtures,
)

__all__ = [
    "FIXTURES_DIR",
    "FixtureCase",
    "clean_fixtures",
    "directives",
    "expected_diagnostics",
    "fixture_id",
    "lint_fixtures",
    "orphan_outputs",
    "ProjectFixture",
    "project_cases",
]


@dataclasses.dataclass(frozen=True)
class FixtureCase:
    path: Path

    @property
    def id(self) -> str:
        return fixture_id(self.path)

    @property
    def directives(self) -> frozenset[str]:
        return directives(self.path)

    @property
    def fixed_path(self) -> Path | None:
        candidate = self.path.with_name(self.path.stem + ".fixed.py")
        return candidate if candidate.exists() else None

    @property
    def unsafe_fixed_path(self) -> Path | None:
        candidate = self.path.with_name(self.path.stem + ".unsafe-fixed.py")
        return candidate if candidate.exists() else None

    def expected_safe_output(self) -> Path:
        """The file `varlint check --fix` must produce (the fixture itself: nothing to fix)."""
        return self.fixed_path or self.path

    def expected_unsafe_output(self) -> Path:
        """The file `varlint check --fix --unsafe-fixes` must produce."""
        return self.unsafe_fixed_path or self.expected_safe_output()


def lint_fixtures() -> list[FixtureCase]:
    """Every fixture program (recursively under fixtures/), its expected outputs excluded."""
    return [FixtureCase(path) for path in fixture_programs() if original_of(path) is None]


def clean_fixtures() -> list[FixtureCase]:
    return [case for case in lint_fixtures() if case.path.parent == FIXTURES_DIR / "clean"]


def orphan_outputs() -> list[Path]:
    """`.fixed.py` / `.unsafe-fixed.py` files without the fixture they belong to (a typo)."""
    return [
        path for path in fixture_programs() if (original := original_of(path)) and not original.exists()
    ]


@dataclasses.dataclass(frozen=True)
class ProjectFixture:
    """fixtures/project/NAME/: modules (packages allowed) linted as one tree."""

    folder: Path

    @property
    def id(self) -> str:
        return fixture_id(self.folder)

    def modules(self) -> list[FixtureCase]:
        return [FixtureCase(path) for path in fixture_programs(self.folder) if original_of(path) is None]

    @property
    def main(self) -> Path | None:
        candidate = self.folder / "main.py"
        return candidate if candidate.exists() else None

    @property
    def directives(self) -> frozenset[str]:
        return frozenset().union(*(module.directives for module in self.modules()))

    @property
    def pending(self) -> bool:
        """`# fixture: pending`: its annotations state a shape the analysis does not find
        across modules yet (its comment says which); the tests that depend on it are strict
        xfails, so they fail loudly the day it is found and the directive must go."""
        return "pending" in self.directives

    def has_fixed_outputs(self) -> bool:
        return any(module.fixed_path or module.unsafe_fixed_path for module in self.modules())

    def param(self, pending_applies: bool = True):
        """This fixture as a pytest parameter, a strict xfail when pending (and it applies)."""
        import pytest

        marks = []
        if self.pending and pending_applies:
            marks.append(pytest.mark.xfail(
                strict=True, reason=f"{self.id}: `# fixture: pending` (not found across modules yet)"
            ))
        return pytest.param(self, marks=marks, id=self.id)

    def expected(self) -> dict[str, list[tuple[int, str]]]:
        """`# expect:` annotations per module (path relative to the folder)."""
        return {
            module.path.relative_to(self.folder).as_posix(): expected_diagnostics(module.path)
            for module in self.modules()
        }


def project_cases() -> list[ProjectFixture]:
    return [ProjectFixture(folder) for folder in project_fixtures()]
