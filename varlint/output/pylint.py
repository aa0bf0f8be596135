"""`pylint`: `path:row: [CODE] message`, as pylint's parseable format (and ruff's)."""

from __future__ import annotations

from varlint.diagnostic import Diagnostic


def render(diagnostics: list[Diagnostic], context=None) -> str:
    return "".join(f"{d.path}:{d.start.row}: [{d.code}] {d.message}\n" for d in diagnostics)
