"""Text output: `path:row:col: CODE message`, a fix hint, and the closing summary."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

import click

from varlint.diagnostic import Applicability, Diagnostic

HINTS = {
    Applicability.SAFE: "[*]",
    Applicability.UNSAFE: "[-]",
}


def render_diagnostic(diagnostic: Diagnostic, color: bool = False) -> str:
    cell = "" if diagnostic.cell is None else f"cell {diagnostic.cell}:"
    location = f"{diagnostic.path}:{cell}{diagnostic.start.row}:{diagnostic.start.column}:"
    code = diagnostic.code
    if color:
        location = click.style(location, bold=True)
        code = click.style(code, fg="red", bold=True)
    marker = ""
    fix = diagnostic.fix
    if fix is not None and fix.applicability in HINTS:
        marker = HINTS[fix.applicability] + " "
    line = f"{location} {code} {marker}{diagnostic.message}"
    if fix is not None:
        hint = {
            Applicability.SAFE: "fix",
            Applicability.UNSAFE: "unsafe fix",
            Applicability.DISPLAY_ONLY: "suggestion",
        }[fix.applicability]
        line += f"\n  = help ({hint}): {fix.message}"
    return line


def summary(remaining: list[Diagnostic], fixed: int) -> str:
    total = len(remaining) + fixed
    if total == 0:
        return "All checks passed!"
    lines = []
    if fixed:
        lines.append(f"Found {total} error{'s' * (total != 1)} ({fixed} fixed, {len(remaining)} remaining).")
    else:
        lines.append(f"Found {total} error{'s' * (total != 1)}.")
    safe = sum(1 for d in remaining if d.fix and d.fix.applicability is Applicability.SAFE)
    unsafe = sum(1 for d in remaining if d.fix and d.fix.applicability is Applicability.UNSAFE)
    if safe:
        lines.append(f"[*] {safe} fixable with the `--fix` option.")
    if unsafe:
        lines.append(f"[-] {unsafe} more fixable with `--fix --unsafe-fixes`.")
    return "\n".join(lines)


def statistics(diagnostics: Iterable[Diagnostic]) -> str:
    counts = Counter((d.code, d.name) for d in diagnostics)
    fixable = Counter(
        d.code for d in diagnostics if d.fix and d.fix.applicability is Applicability.SAFE
    )
    rows = []
    for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        marker = "[*]" if fixable[code] else "   "
        rows.append(f"{count:>5}\t{code}\t{marker} {name}")
    return "\n".join(rows)
