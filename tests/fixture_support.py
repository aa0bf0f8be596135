"""The linter side of the fixture tests: which fixtures there are and what each expects.

Discovery, directives and `# expect:` annotations are read by tests/runtime_harness.py (shared
with the runtime suites); this module adds what the lint/fix tests need on top:

- `lint_fixtures()`: the fixture programs themselves (not their `.fixed.py` outputs);
- `FixtureCase`: one fixture with its expected safe and unsafe fix outputs, resolved by the
  fallback rules of fixtures/README.md (no `.unsafe-fixed.py` means "same as `.fixed.py`",
  no `.fixed.py` means "unchanged").
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
