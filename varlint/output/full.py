"""`full` (the default): each diagnostic's line, its source with the range underlined by
carets and two lines of context either side (as ruff's), and its fix hint."""

from __future__ import annotations

import functools
import unicodedata

import click

from varlint.diagnostic import Applicability, Diagnostic
from varlint.textlines import split_lines
from varlint.output.concise import header

CONTEXT = 2
MAX_RANGE_LINES = 6
HELP = {
    Applicability.SAFE: "fix",
    Applicability.UNSAFE: "unsafe fix",
    Applicability.DISPLAY_ONLY: "suggestion",
}


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def snippet(diagnostic: Diagnostic, lines: list[str], color: bool) -> list[str]:
    first, last = diagnostic.start.row, max(diagnostic.end.row, diagnostic.start.row)
    if not 1 <= first <= len(lines):
        return []
    last = min(last, len(lines), first + MAX_RANGE_LINES - 1)
    shown = range(max(1, first - CONTEXT), min(len(lines), last + CONTEXT) + 1)
    gutter = len(str(shown[-1]))
    blank = " " * gutter + " |"

    def carets(row: int) -> str:
        line = lines[row - 1].expandtabs(1)
        begin = diagnostic.start.column - 1 if row == first else len(line) - len(line.lstrip())
        end = diagnostic.end.column - 1 if row == diagnostic.end.row else len(line)
        end = max(end, begin + 1)
        marks = "^" * max(1, width(line[begin:end]))
        if color:
            marks = click.style(marks, fg="red", bold=True)
        label = f" {diagnostic.code}" if row == last else ""
        return f"{blank} {' ' * width(line[:begin])}{marks}{label}"

    out = [blank]
    for row in shown:
        number = str(row).rjust(gutter)
        if color:
            number = click.style(number, fg="blue", bold=True)
        out.append(f"{number} | {lines[row - 1].expandtabs(1)}".rstrip())
        if first <= row <= last:
            out.append(carets(row))
    out.append(blank)
    return out


def help_line(diagnostic: Diagnostic) -> str | None:
    if diagnostic.fix is None:
        return None
    return f"  = help ({HELP[diagnostic.fix.applicability]}): {diagnostic.fix.message}"


def render(diagnostics: list[Diagnostic], context) -> str:
    blocks = []
    for diagnostic in diagnostics:
        lines = [header(diagnostic, context)]
        text = context.source(diagnostic.path, diagnostic.cell)
        if text is not None and diagnostic.code not in ("VL901",):
            source_lines = list(_lines(text))
            if len(source_lines) > 1 and source_lines[-1] == "":
                source_lines.pop()  # the "line" after the final newline is not shown
            lines.extend(snippet(diagnostic, source_lines, context.color))
        hint = help_line(diagnostic)
        if hint is not None:
            lines.append(hint)
        blocks.append("\n".join(lines) + "\n\n")
    return "".join(blocks)


@functools.lru_cache(maxsize=4)
def _lines(text: str) -> tuple[str, ...]:
    """The lines of a file's text, split once for all its diagnostics (they come sorted by file)."""
    return tuple(split_lines(text))
