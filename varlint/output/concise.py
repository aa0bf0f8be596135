"""`concise`: one line per diagnostic, `path:row:col: CODE [*] message`."""

from __future__ import annotations

import click

from varlint.diagnostic import Diagnostic


def header(diagnostic: Diagnostic, context) -> str:
    cell = "" if diagnostic.cell is None else f"cell {diagnostic.cell}:"
    location = f"{diagnostic.path}:{cell}{diagnostic.start.row}:{diagnostic.start.column}:"
    code = diagnostic.code
    if context.color:
        location = click.style(location, bold=True)
        code = click.style(code, fg="red", bold=True)
    return f"{location} {code} {context.fix_marker(diagnostic)}{diagnostic.message}"


def render(diagnostics: list[Diagnostic], context) -> str:
    return "".join(header(diagnostic, context) + "\n" for diagnostic in diagnostics)
