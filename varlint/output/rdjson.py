"""`rdjson`: the Reviewdog Diagnostic Format (JSON), with each fix's edits as suggestions. The
format has no field for a notebook's cell: the message starts with it (`cell 3: ...`), and the
range counts from the cell's first line."""

from __future__ import annotations

import json

from varlint.diagnostic import Diagnostic, Position
from varlint.output import in_cell


def position(p: Position) -> dict:
    return {"line": p.row, "column": p.column}


def diagnostic(d: Diagnostic) -> dict:
    item = {
        "message": in_cell(d) + d.message,
        "location": {"path": d.path, "range": {"start": position(d.start), "end": position(d.end)}},
        "code": {"value": d.code},
    }
    if d.fix is not None and d.fix.edits:
        item["suggestions"] = [
            {"range": {"start": position(e.start), "end": position(e.end)}, "text": e.content}
            for e in d.fix.edits
        ]
    return item


def render(diagnostics: list[Diagnostic], context=None) -> str:
    document = {
        "source": {"name": "varlint"},
        "severity": "WARNING",
        "diagnostics": [diagnostic(d) for d in diagnostics],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
