"""`azure`: Azure Pipelines logging commands (`##vso[task.logissue ...]`), as ruff's. A
notebook's diagnostic names its cell first in the message (`cell 3: ...`); its line number
counts from the cell's first line."""

from __future__ import annotations

from varlint.diagnostic import Diagnostic
from varlint.output import in_cell


def escape(value: str) -> str:
    # Azure's escaping of logging-command values (`;` and `]` end a property / the header).
    return (value.replace("%", "%AZP25").replace(";", "%3B").replace("]", "%5D")
            .replace("\r", "%0D").replace("\n", "%0A"))


def render(diagnostics: list[Diagnostic], context=None) -> str:
    return "".join(
        f"##vso[task.logissue type=error;sourcepath={escape(d.path)};linenumber={d.start.row};"
        f"columnnumber={d.start.column};code={d.code};]{in_cell(d)}{d.message.replace(chr(10), ' ')}\n"
        for d in diagnostics
    )
