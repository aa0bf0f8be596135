"""Applying fixes safely.

Fixes are text edits (as in ruff). One pass applies every non-overlapping fix of the allowed
applicability; the text is re-parsed and linted again, until nothing changes (bounded). When
the fixes of a pass together do not parse, they are applied one at a time: every fix that keeps
the text parseable is kept, and each one that breaks it is left out and reported as a varlint
bug (`FixFailure`), so a fix never leaves a file unparseable and never takes good fixes down
with it. Last, an import of `Variable` whose uses were all fixed away is removed, unless another
module of the tree still uses the name through this one (`from model import *`): never a
NameError elsewhere.

Counting: `fixed` is how many of the file's diagnostics the fixes made go away (the file's
diagnostics before, minus those remaining after), so `check`'s total, `--diff`'s "Would fix N"
and `--fix`'s "N fixed" count the same things; a fix that removes two diagnostics counts two.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst
import libcst.helpers

from varlint.analysis.names import VARIABLE, canonical
from varlint.diagnostic import Applicability, Diagnostic, Fix
from varlint.textlines import NEWLINE, split_lines  # noqa: F401 - split_lines: used by importers

MAX_PASSES = 10

# Which applicabilities each --fix mode applies.
APPLIES = {
    Applicability.SAFE: {Applicability.SAFE},
    Applicability.UNSAFE: {Applicability.SAFE, Applicability.UNSAFE},
}


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


@dataclass(frozen=True)
class FixFailure:
    """A fix left out because its result does not parse (or, in a notebook, because it
    reaches across a cell boundary): a bug in the rule that built it."""

    diagnostic: Diagnostic
    text: str = ""  # the text the diagnostic's positions refer to (of the pass that found it)
    reason: str = "produces code that does not parse"

    def describe(self) -> str:
        d = self.diagnostic
        cell = "" if d.cell is None else f"cell {d.cell}:"
        message = f" ({d.fix.message})" if d.fix is not None else ""
        return f"the {d.code} fix at {d.path}:{cell}{d.start.row}:{d.start.column}{message} {self.reason}; it was not applied"


@dataclass
class FixOutcome:
    text: str
    fixed: int
    remaining: list[Diagnostic]
    fixed_codes: dict[str, int] = field(default_factory=dict)  # diagnostics fixed per rule code
    failures: list[FixFailure] = field(default_factory=list)


Linter = Callable[[str, str, frozenset[str]], list[Diagnostic]]


def fix_until_stable(
    path: str, text: str, codes: frozenset[str], mode: Applicability, lint: Linter, project=None
) -> FixOutcome:
    """Fix `text` until stable. `project` (the run's ProjectIndex) tells which imports other
    modules of the tree still need (see `remove_unused_variable_imports`)."""
    allowed = APPLIES[mode]
    original = text
    diagnostics = lint(path, text, codes)
    initial = diagnostics
    failures: list[FixFailure] = []
    broken: set[tuple] = set()  # fixes known not to parse, by what they do
    for _ in range(MAX_PASSES):
        fixable = [
            d for d in diagnostics
            if d.fix and d.fix.applicability in allowed and fix_key(d) not in broken
        ]
        if not fixable:
            break
        new_text, _ = _apply(text, [d.fix for d in fixable])
        bad: list[Diagnostic] = []
        if new_text != text and not parses(new_text):
            new_text, bad = apply_parseable_fixes(text, fixable)
            broken.update(fix_key(diagnostic) for diagnostic in bad)
            failures.extend(FixFailure(diagnostic, text) for diagnostic in bad)
        if new_text == text:
            if bad:
                continue  # the fixes that overlapped the bad ones get their turn
            break
        # The `Variable` imports the fixes left unused go in the same pass: one lint less.
        cleaned = remove_unused_variable_imports(new_text, original, needed_elsewhere(project, path))
        text = cleaned if cleaned != new_text and parses(cleaned) else new_text
        diagnostics = lint(path, text, codes)
    fixed_codes = Counter()
    if text != original:
        fixed_codes = Counter(d.code for d in initial) - Counter(d.code for d in diagnostics)
    return FixOutcome(text, sum(fixed_codes.values()), diagnostics, dict(fixed_codes), failures)


def fix_key(diagnostic: Diagnostic) -> tuple:
    """What a fix does, independent of where earlier fixes moved it."""
    return (diagnostic.code, diagnostic.fix.message, tuple(edit.content for edit in diagnostic.fix.edits))


def apply_parseable_fixes(text: str, fixable: list[Diagnostic]) -> tuple[str, list[Diagnostic]]:
    """Apply the fixes one by one (in source order), keeping each that leaves the text
    parseable; return the text and the diagnostics whose fix broke it."""
    accepted: list[Fix] = []
    bad: list[Diagnostic] = []
    result = text
    for diagnostic in sorted(fixable, key=lambda d: min(edit.start for edit in d.fix.edits)):
        candidate, applied = apply_fixes(text, [*accepted, diagnostic.fix])
        if applied <= len(accepted):
            continue  # overlaps a fix already taken: the next pass sees it again
        if parses(candidate):
            accepted.append(diagnostic.fix)
            result = candidate
        else:
            bad.append(diagnostic)
    return result, bad


# The text `parses` accepted last and its libcst module: the lint of the fixed text that
# follows takes it instead of parsing the same text again (see engine.parse_cst).
_last_parsed: tuple[str, cst.Module] | None = None


def parses(text: str) -> bool:
    global _last_parsed
    try:
        with warnings.catch_warnings():
            # CPython warns about the fixed text (`<fixed>:134: SyntaxWarning: ...`): the
            # original had the same construct, and the user did not run this compile.
            warnings.simplefilter("ignore")
            module = cst.parse_module(text)
            compile(text, "<fixed>", "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 - any failure means "do not write this"
        return False
    _last_parsed = (text, module)
    return True


def parsed_module(text: str) -> cst.Module | None:
    """The libcst module of `text` if `parses` accepted that text last (libcst modules are
    immutable: sharing one is safe)."""
    last = _last_parsed
    return last[1] if last is not None and last[0] == text else None


# --- Removing the `Variable` import once nothing uses it ---------------------------------


def needed_elsewhere(project, path: str) -> Callable[[str], bool]:
    """`needed(name)`: does another module of the tree get `name` from the file at `path`
    (through `from file import *`, by name, or as an attribute) and use it? Without an index,
    nothing else is known to need it."""
    module = project.module_name(path) if project is not None else None
    if module is None:
        return lambda name: False
    return lambda name: bool(project.importers_needing(module, name))


def remove_unused_variable_imports(
    text: str, original: str, needed: Callable[[str], bool] = lambda name: False
) -> str:
    """Drop `Variable` imports that have no references left (but had some before the fixes),
    except those another module still needs (`needed(bound name)`): removing them there would
    be a NameError in that module (as ruff, the import is kept)."""
    if "Variable" not in text:
        return text  # no import of it left (no import can bind `Variable` without spelling it)
    module, unused_now = _unused_variable_imports(text)
    unused = {(name, alias) for name, alias in unused_now if not needed(alias or name)}
    if not unused or _unused_variable_imports(original)[1]:
        return text  # nothing to remove, or it was already unused before: not ours to remove
    return module.visit(_RemoveImportAliases(unused)).code


def _unused_variable_imports(text: str) -> tuple[cst.Module, set[tuple[str, str | None]]]:
    """The module of `text` and the (name, asname) of each of its module-level
    `from ... import Variable` with no references."""
    from varlint.analysis.names import NameResolver

    module = cst.parse_module(text)
    resolver = NameResolver(module)
    scope = resolver.module_scope
    exported = _dunder_all(module)
    unused = set()
    for line in module.body:
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
                bindings = [b for b in scope.bindings.get(bound, []) if b.node is statement]
                if bound in exported:
                    continue  # re-exported by name
                if bindings and not any(resolver.references(b) for b in bindings):
                    unused.add((alias.evaluated_name, alias.evaluated_alias))
    return module, unused


def _dunder_all(module: cst.Module) -> set[str]:
    """The strings of a module-level `__all__ = [...]`."""
    names: set[str] = set()
    for line in module.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for statement in line.body:
            if isinstance(statement, (cst.Assign, cst.AugAssign)):
                targets = [t.target for t in statement.targets] if isinstance(statement, cst.Assign) else [statement.target]
                if any(isinstance(t, cst.Name) and t.value == "__all__" for t in targets) and isinstance(
                    statement.value, (cst.List, cst.Tuple)
                ):
                    names |= {
                        e.value.evaluated_value
                        for e in statement.value.elements
                        if isinstance(e.value, cst.SimpleString)
                    }
    return names


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

