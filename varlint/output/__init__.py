"""Output formats, one module per format (as ruff's emitters): each has
`render(diagnostics, context) -> str`. `HUMAN` formats end with a summary; the others are for
machines (no summary, no progress, no colour).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Callable

from varlint.diagnostic import Applicability, Diagnostic

FORMATS = {
    "full": "full",
    "concise": "concise",
    "grouped": "grouped",
    "json": "json",
    "json-lines": "json_lines",
    "junit": "junit",
    "github": "github",
    "gitlab": "gitlab",
    "pylint": "pylint",
    "azure": "azure",
    "rdjson": "rdjson",
    "sarif": "sarif",
}
ALIASES = {"text": "full"}  # the name of the default format before `full` and `concise`
HUMAN = {"full", "concise", "grouped"}


@dataclass
class OutputContext:
    color: bool = False
    unsafe_fixes: bool = False  # --unsafe-fixes: unsafe fixes count as available
    source: Callable[..., str | None] = lambda path, cell=None: None  # (path, cell) -> text, for snippets
    cwd: str = field(default_factory=os.getcwd)

    def fix_marker(self, diagnostic: Diagnostic) -> str:
        """`[*]` a fix `--fix` would apply (with the flags given), `[-]` an unsafe fix."""
        fix = diagnostic.fix
        if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
            return ""
        if fix.applicability is Applicability.SAFE or self.unsafe_fixes:
            return "[*] "
        return "[-] "


def renderer(name: str):
    name = ALIASES.get(name, name)
    return importlib.import_module(f"{__name__}.{FORMATS[name]}").render


def in_cell(diagnostic: Diagnostic) -> str:
    """`cell 3: ` before the message of a notebook's diagnostic, for the formats that have no
    field for the cell (its rows count from the cell's first line, not the file's)."""
    return "" if diagnostic.cell is None else f"cell {diagnostic.cell}: "


def relative_path(path: str, base: str) -> str:
    """`path` relative to `base` when it is below it (as ruff shows paths), else as given."""
    absolute = os.path.abspath(path)
    if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, base)
    return path
