"""The results varlint produces: diagnostics, fixes and text edits (frozen dataclasses)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Applicability(str, enum.Enum):
    """How sure a fix is, as in ruff: only `safe` fixes are applied by plain `--fix`."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True, order=True)
class Position:
    """A place in a source file: 1-based row, 1-based column (in characters), as ruff reports."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between `start` (inclusive) and `end` (exclusive) with `content`."""

    start: Position
    end: Position
    content: str


@dataclass(frozen=True)
class Fix:
    applicability: Applicability
    message: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    path: str
    start: Position
    end: Position
    fix: Fix | None = None
    cell: int | None = None  # in a notebook: the cell (from 1) that `start` and `end` are in

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.start.row, self.start.column, self.code)
