"""`gitlab`: a GitLab code quality report (a JSON list), as ruff's. Paths are relative to
`CI_PROJECT_DIR` when it is set, else to the working directory; a fingerprint identifies each
finding across runs (rule, file, cell and message, made unique within the report). A
notebook's diagnostic says its cell in the description (`VL001 (cell 3): ...`); GitLab has no
field for it, and its `lines` count from the cell's first line."""

from __future__ import annotations

import hashlib
import json
import os

from varlint.diagnostic import Diagnostic


def fingerprint(diagnostic: Diagnostic, path: str, salt: str) -> str:
    cell = "" if diagnostic.cell is None else str(diagnostic.cell)
    key = "\0".join((salt, diagnostic.code, path, cell, diagnostic.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def render(diagnostics: list[Diagnostic], context=None) -> str:
    project = os.environ.get("CI_PROJECT_DIR") or os.getcwd()
    seen: set[str] = set()
    items = []
    for d in diagnostics:
        path = os.path.relpath(os.path.abspath(d.path), project).replace(os.sep, "/")
        mark = fingerprint(d, path, "")
        while mark in seen:  # the same finding twice in a file: make it unique, stably
            mark = fingerprint(d, path, mark)
        seen.add(mark)
        items.append({
            "check_name": d.code,
            # GitLab does not show check_name in the merge request widget: repeat it here.
            "description": f"{d.code}{'' if d.cell is None else f' (cell {d.cell})'}: {d.message}",
            "severity": "major",
            "fingerprint": mark,
            "location": {"path": path, "lines": {"begin": d.start.row, "end": d.end.row}},
        })
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
