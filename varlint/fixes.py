"""Applying fixes safely.

Fixes are text edits (as in ruff). One pass applies every non-overlapping fix of the allowed
applicability; the text is re-parsed and linted again, until nothing changes (bounded). A pass
whose result does not parse is dropped, so a fix never leaves a file unparseable. Last, an
import of `Variable` whose uses were all fixed away is removed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst
import libcst.helpers
from libcst.metadata import MetadataWrapper, ScopeProvider

from varlint.analysis.names import VARIABLE, canonical
from varlint.diagnostic import Applicability, Diagnostic, Fix

MAX_PASSES = 10
NEWLINE = re.compile(r"\r\n|\r|\n")

# Which applicabilities each --fix mode applies.
APPLIES = {
    Applicability.SAFE: {Applicability.SAFE},
    Applicability.UNSAFE: {Applicability.SAFE, Applicability.UNSAFE},
}


def split_lines(text: str) -> list[str]:
    """Physical lines as libcst counts them (\\r\\n, \\r or \\n), without their newline."""
    return NEWLINE.split(text)


def _line_starts(text: str) -> list[int]:
    return [0] + [match.end() for match in NEWLINE.finditer(text)]


def apply_fixes(text: str, fixes: list[Fix]) -> tuple[str, int]:
    """Apply the fixes whose edits overlap no earlier fix's; return (text, fixes applied)."""
    text, applied = _apply(text, fixes)
    return text, len(applied)


def _apply(text: str, fixes: list[Fix]) -> tuple[str, list[int]]:
    """`apply_fixes`, returning the indexes (in `fixes`) of the fixes applied."""
    starts = _line_starts(text)

    def offset(position) -> int:
        return starts[position.row - 1] + position.column - 1

    accepted: list[tuple[int, int, str]] = []
    applied: list[int] = []
    for index in sorted(range(len(fixes)), key=lambda i: min(edit.start for edit in fixes[i].edits)):
        spans = [(offset(edit.start), offset(edit.end), edit.content) for edit in fixes[index].edits]
        if any(_overlaps(span, taken) for span in spans for taken in accepted):
            continue
        accepted.extend(spans)
        applied.append(index)
    for start, end, content in sorted(accepted, key=lambda span: (span[0], span[1]), reverse=True):
        text = text[:start] + content + text[end:]
    return text, applied


def _overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    # Two insertions at the same point conflict too: their order would be arbitrary.
    if a[0] == a[1] == b[0] == b[1]:
        return True
    return a[0] < b[1] and b[0] < a[1]


@dataclass
class FixOutcome:
    text: str
    fixed: int
    remaining: list[Diagnostic]
    fixed_codes: dict[str, int] = field(default_factory=dict)  # fixes applied per rule code


Linter = Callable[[str, str, frozenset[str]], list[Diagnostic]]


def fix_until_stable(
    path: str, text: str, codes: frozenset[str], mode: Applicability, lint: Linter
) -> FixOutcome:
    allowed = APPLIES[mode]
    fixed = 0
    fixed_codes: Counter[str] = Counter()
    original = text
    diagnostics = lint(path, text, codes)
    for _ in range(MAX_PASSES):
        fixable = [d for d in diagnostics if d.fix and d.fix.applicability in allowed]
        if not fixable:
            break
        new_text, applied = _apply(text, [d.fix for d in fixable])
        if not applied or new_text == text or not _parses(new_text):
            break
        text = new_text
        fixed += len(applied)
        fixed_codes.update(fixable[index].code for index in applied)
        diagnostics = lint(path, text, codes)
    if text != original:
        cleaned = remove_unused_variable_imports(text, original)
        if cleaned != text and _parses(cleaned):
            text = cleaned
            diagnostics = lint(path, text, codes)
    return FixOutcome(text, fixed, diagnostics, dict(fixed_codes))


def _parses(text: str) -> bool:
    try:
        cst.parse_module(text)
        compile(text, "<fixed>", "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 - any failure means "do not write this"
        return False
    return True


# --- Removing the `Variable` import once nothing uses it ---------------------------------


def remove_unused_variable_imports(text: str, original: str) -> str:
    """Drop `Variable` imports that have no references left (but had some before the fixes)."""
    if _unused_variable_imports(original):
        return text  # it was already unused before: not ours to remove
    unused = _unused_variable_imports(text)
    if not unused:
        return text
    module = cst.parse_module(text)
    return module.visit(_RemoveImportAliases(unused)).code


def _unused_variable_imports(text: str) -> set[tuple[str, str | None]]:
    """(name, asname) of each module-level `from ... import Variable` with no references."""
    wrapper = MetadataWrapper(cst.parse_module(text))
    scopes = wrapper.resolve(ScopeProvider)
    unused = set()
    for line in wrapper.module.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for statement in line.body:
            if (
                not isinstance(statement, cst.ImportFrom)
                or isinstance(statement.names, cst.ImportStar)
                or statement.relative
                or statement.module is None
            ):
                continue
            module_name = cst.helpers.get_full_name_for_node(statement.module)
            for alias in statement.names:
                if canonical(f"{module_name}.{alias.evaluated_name}") != VARIABLE:
                    continue
                bound = alias.evaluated_alias or alias.evaluated_name
                assignments = [
                    a for a in scopes[statement].assignments[bound] if getattr(a, "node", None) is statement
                ]
                if assignments and not any(a.references for a in assignments):
                    unused.add((alias.evaluated_name, alias.evaluated_alias))
    return unused


class _RemoveImportAliases(cst.CSTTransformer):
    def __init__(self, unused: set[tuple[str, str | None]]) -> None:
        self.unused = unused

    def leave_ImportFrom(self, original_node, updated_node):
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        kept = [
            alias
            for alias in updated_node.names
            if (alias.evaluated_name, alias.evaluated_alias) not in self.unused
        ]
        if len(kept) == len(updated_node.names):
            return updated_node
        if not kept:
            return cst.RemoveFromParent()
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=kept)

