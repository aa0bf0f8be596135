"""`grouped`: the diagnostics under their file's name, `  row:col CODE [*] message`."""

from __future__ import annotations

from itertools import groupby

import click

from varlint.diagnostic import Diagnostic


def render(diagnostics: list[Diagnostic], context) -> str:
    out = []
    for path, group in groupby(diagnostics, key=lambda d: d.path):
        group = list(group)
        out.append((click.style(path, bold=True, underline=True) if context.color else path) + ":")
        places = [("" if d.cell is None else f"cell {d.cell}:") + f"{d.start.row}:{d.start.column}" for d in group]
        pad = max(len(place) for place in places)
        for place, diagnostic in zip(places, group):
            code = click.style(diagnostic.code, fg="red", bold=True) if context.color else diagnostic.code
            out.append(f"  {place.ljust(pad)} {code} {context.fix_marker(diagnostic)}{diagnostic.message}")
        out.append("")
    return "".join(line + "\n" for line in out)
