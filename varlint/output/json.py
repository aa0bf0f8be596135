"""JSON output, shaped like ruff's: a list sorted by filename, row, column."""

from __future__ import annotations

import json
from typing import Any, Iterable

from varlint.diagnostic import Diagnostic, Position


def location(position: Position) -> dict[str, int]:
    return {"row": position.row, "column": position.column}


def diagnostic_to_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    fix = diagnostic.fix
    item = {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "filename": diagnostic.path,
        "location": location(diagnostic.start),
        "end_location": location(diagnostic.end),
        "fix": None
        if fix is None
        else {
            "applicability": fix.applicability.value,
            "message": fix.message,
            "edits": [
                {"content": e.content, "location": location(e.start), "end_location": location(e.end)}
                for e in fix.edits
            ],
        },
        # No hosted docs: `varlint rule CODE` prints the rule's documentation.
        "url": None,
    }
    if diagnostic.cell is not None:
        # A notebook's diagnostic: rows count from its cell's first line (as ruff).
        item["cell"] = diagnostic.cell
    return item


def render(diagnostics: Iterable[Diagnostic], context=None, extra: Iterable[dict] | None = None) -> str:
    items = [diagnostic_to_dict(d) for d in sorted(diagnostics, key=lambda d: d.sort_key)]
    if extra is not None:
        for item, more in zip(items, extra):
            item.update(more)
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
