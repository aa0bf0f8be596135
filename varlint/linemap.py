"""Where a file's lines went when text edits were applied to it.

`varlint confirm` runs a copy of a program with some fixes applied, then reports what that
run observed at the original's lines. A fix can add or remove lines, so rows are mapped through
the edits themselves (not by comparing texts): every row an edit touches (from its start row to
its end row, and the rows its content occupies afterwards) is *changed* and maps to nothing in
either direction; every other row keeps its text and moves by the lines the edits above it
added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from varlint.diagnostic import Edit
from varlint.textlines import NEWLINE


@dataclass(frozen=True)
class Hunk:
    """Rows `old_first..old_last` became `new_count` rows (edits that share a row are one hunk)."""

    old_first: int
    old_last: int
    new_count: int


class LineMap:
    """Rows before the edits <-> rows after them (None: a row the edits changed)."""

    def __init__(self, edits: list[Edit]) -> None:
        self.hunks: list[Hunk] = []
        for edit in sorted(edits, key=lambda e: (e.start, e.end)):
            added = len(NEWLINE.findall(edit.content))
            growth = added - (edit.end.row - edit.start.row)
            last = self.hunks[-1] if self.hunks else None
            if last is not None and edit.start.row <= last.old_last:
                old_last = max(last.old_last, edit.end.row)
                count = last.new_count + (old_last - last.old_last) + growth
                self.hunks[-1] = Hunk(last.old_first, old_last, count)
            else:
                self.hunks.append(Hunk(edit.start.row, edit.end.row, edit.end.row - edit.start.row + 1 + growth))

    def new_row(self, row: int) -> int | None:
        shift = 0
        for hunk in self.hunks:
            if row < hunk.old_first:
                break
            if row <= hunk.old_last:
                return None
            shift += hunk.new_count - (hunk.old_last - hunk.old_first + 1)
        return row + shift

    def old_row(self, row: int) -> int | None:
        shift = 0
        for hunk in self.hunks:
            first = hunk.old_first + shift
            if row < first:
                break
            if row < first + max(hunk.new_count, 1):
                return None
            shift += hunk.new_count - (hunk.old_last - hunk.old_first + 1)
        return row - shift


class MapChain:
    """Several rounds of edits, each applied to the result of the one before."""

    def __init__(self, maps: tuple[LineMap, ...] = ()) -> None:
        self.maps = maps

    def then(self, line_map: LineMap) -> "MapChain":
        return MapChain((*self.maps, line_map))

    def new_row(self, row: int) -> int | None:
        for line_map in self.maps:
            if row is None:
                return None
            row = line_map.new_row(row)
        return row

    def old_row(self, row: int) -> int | None:
        for line_map in reversed(self.maps):
            if row is None:
                return None
            row = line_map.old_row(row)
        return row
