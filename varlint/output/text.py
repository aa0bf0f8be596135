"""The human formats' closing lines: the summary, `--statistics` and `--show-fixes`."""

from __future__ import annotations

import json
from collections import Counter
from typing import Iterable

from varlint.diagnostic import Applicability, Diagnostic
from varlint.rules import rule_by_code


def summary(remaining: list[Diagnostic], fixed: int, unsafe_fixes: bool = False, unchecked: int = 0) -> str:
    total = len(remaining) + fixed
    if total == 0:
        if unchecked:
            # An internal error is not a pass: the file was not (fully) checked.
            return f"No errors found, but {unchecked} file{'s' * (unchecked != 1)} could not be checked (see above)."
        return "All checks passed!"
    lines = []
    if fixed:
        lines.append(f"Found {total} error{'s' * (total != 1)} ({fixed} fixed, {len(remaining)} remaining).")
    else:
        lines.append(f"Found {total} error{'s' * (total != 1)}.")
    safe = sum(1 for d in remaining if d.fix and d.fix.applicability is Applicability.SAFE)
    unsafe = sum(1 for d in remaining if d.fix and d.fix.applicability is Applicability.UNSAFE)
    if unsafe_fixes:
        if safe + unsafe:
            lines.append(f"[*] {safe + unsafe} fixable with `--fix --unsafe-fixes`.")
        return "\n".join(lines)
    if safe:
        lines.append(f"[*] {safe} fixable with the `--fix` option.")
    if unsafe:
        lines.append(f"[-] {unsafe} more fixable with `--fix --unsafe-fixes`.")
    return "\n".join(lines)


def _fixable(diagnostic: Diagnostic, unsafe_fixes: bool) -> bool:
    fix = diagnostic.fix
    allowed = {Applicability.SAFE, Applicability.UNSAFE} if unsafe_fixes else {Applicability.SAFE}
    return fix is not None and fix.applicability in allowed


def statistics_rows(diagnostics: Iterable[Diagnostic], unsafe_fixes: bool = False) -> list[dict]:
    diagnostics = list(diagnostics)
    counts = Counter((d.code, d.name) for d in diagnostics)
    fixable = Counter(d.code for d in diagnostics if _fixable(d, unsafe_fixes))
    return [
        {"code": code, "name": name, "count": count, "fixable": fixable[code] > 0}
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def statistics(diagnostics: Iterable[Diagnostic], unsafe_fixes: bool = False) -> str:
    rows = statistics_rows(diagnostics, unsafe_fixes)
    return "".join(
        f"{row['count']:>5}\t{row['code']}\t{'[*]' if row['fixable'] else '   '} {row['name']}\n" for row in rows
    )


def statistics_json(diagnostics: Iterable[Diagnostic], unsafe_fixes: bool = False) -> str:
    return json.dumps(statistics_rows(diagnostics, unsafe_fixes), indent=2) + "\n"


def fixes_applied(fixed_by_path: dict[str, dict[str, int]]) -> str:
    """`--show-fixes`, as ruff: per file, `3 × VL001 (variable-wrapper)`."""
    total = sum(sum(codes.values()) for codes in fixed_by_path.values())
    if not total:
        return ""
    lines = [f"Fixed {total} error{'s' * (total != 1)}:"]
    for path in sorted(fixed_by_path):
        codes = fixed_by_path[path]
        if not codes:
            continue
        lines.append(f"- {path}:")
        for code, count in sorted(codes.items(), key=lambda item: (-item[1], item[0])):
            rule = rule_by_code(code)
            lines.append(f"    {count} × {code} ({rule.name if rule else code})")
    return "\n".join(lines) + "\n"
