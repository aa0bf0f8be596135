"""`pylint`: `path:row: [CODE] message`, as pylint's parseable format (and ruff's). A
notebook's diagnostic keeps that shape (parsers expect a number after the path) and names its
cell first in the message: `nb.ipynb:2: [VL001] cell 3: ...`, the row counted in the cell."""

from __future__ import annotations

from varlint.diagnostic import Diagnostic
from varlint.output import in_cell


def render(diagnostics: list[Diagnostic], context=None) -> str:
    return "".join(f"{d.path}:{d.start.row}: [{d.code}] {in_cell(d)}{d.message}\n" for d in diagnostics)
