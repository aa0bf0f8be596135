"""`github`: GitHub Actions workflow commands, which annotate the lines in a pull request:
`::error title=varlint (VL001),file=...,line=...,col=...,endLine=...,endColumn=...::message`.

An annotation cannot point into a notebook's cell (its lines are the JSON file's): a
notebook's diagnostic annotates the file as a whole, its message starting with
`path:cell N:row:col:`."""

from __future__ import annotations

from varlint.diagnostic import Diagnostic


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(diagnostics: list[Diagnostic], context=None) -> str:
    out = []
    for d in diagnostics:
        fields = [("title", f"varlint ({d.code})"), ("file", d.path)]
        if d.cell is None:
            fields += [("line", d.start.row), ("col", d.start.column), ("endLine", d.end.row), ("endColumn", d.end.column)]
        properties = ",".join(f"{key}={escape_property(str(value))}" for key, value in fields)
        cell = "" if d.cell is None else f"cell {d.cell}:"
        message = f"{d.path}:{cell}{d.start.row}:{d.start.column}: {d.code} {d.message}"
        out.append(f"::error {properties}::{escape_data(message)}\n")
    return "".join(out)
