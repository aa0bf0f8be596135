"""`azure`: Azure Pipelines logging commands (`##vso[task.logissue ...]`), as ruff's."""

from __future__ import annotations

from varlint.diagnostic import Diagnostic


def escape(value: str) -> str:
    # Azure's escaping of logging-command values (`;` and `]` end a property / the header).
    return (value.replace("%", "%AZP25").replace(";", "%3B").replace("]", "%5D")
            .replace("\r", "%0D").replace("\n", "%0A"))


def render(diagnostics: list[Diagnostic], context=None) -> str:
    return "".join(
        f"##vso[task.logissue type=error;sourcepath={escape(d.path)};linenumber={d.start.row};"
        f"columnnumber={d.start.column};code={d.code};]{d.message.replace(chr(10), ' ')}\n"
        for d in diagnostics
    )
