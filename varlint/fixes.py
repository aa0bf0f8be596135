"""Applying fixes safely.

Fixes are text edits (as in ruff). One pass applies every non-overlapping fix of the allowed
applicability; the text is parsed again (once: its libcst module and stdlib AST go to the
lint, see `Linter`) and linted again, until nothing changes (bounded). When
the fixes of a pass together do not parse, they are applied one at a time: every fix that keeps
the text parseable is kept, and each one that breaks it is left out and reported as a varlint
bug (`FixFailure`), so a fix never leaves a file unparseable and never takes good fixes down
with it. Last, a module-level import of `Variable` whose uses were all fixed away is removed
in the same pass, unless another module of the tree still uses the name through this one (`from
model import *`): never a NameError elsewhere (varlint/variable_imports.py).

Counting: `fixed` is how many of the file's diagnostics the fixes made go away (the file's
diagnostics before, minus those remaining after), so `check`'s total, `--diff`'s "Would fix N"
and `--fix`'s "N fixed" count the same things; a fix that removes two diagnostics counts two.
"""

from __future__ import annotations

import ast
import functools
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from varlint import variable_imports
from varlint.diagnostic import Applicability, Diagnostic, Fix
from varlint.textlines import line_starts, split_lines  # noqa: F401 - split_lines: used by importers

MAX_PASSES = 10

# Which applicabilities each --fix mode applies.
APPLIES = {
    Applicability.SAFE: {Applicability.SAFE},
    Applicability.UNSAFE: {Applicability.SAFE, Applicability.UNSAFE},
}


def apply_fixes(text: str, fixes: list[Fix]) -> tuple[str, int]:
    """Apply the fixes whose edits overlap no earlier fix's; return (text, fixes applied)."""
    text, applied = _apply(text, fixes)
    return text, len(applied)


def _apply(text: str, fixes: list[Fix]) -> tuple[str, list[int]]:
    """`apply_fixes`, returning the indexes (in `fixes`) of the fixes applied."""
    starts = line_starts(text)

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


# `lint(path, text, codes, parsed=None)`: the diagnostics of `text`; `parsed` (its libcst module
# and stdlib AST, from `parse_fixed`) spares the lint parsing it again.
Linter = Callable[..., list[Diagnostic]]


def fix_until_stable(
    path: str, text: str, codes: frozenset[str], mode: Applicability, lint: Linter, project=None
) -> FixOutcome:
    """Fix `text` until stable. `project` (the run's ProjectIndex) tells which imports other
    modules of the tree still need (see `variable_imports`)."""
    allowed = APPLIES[mode]
    original = variable_imports.OriginalImports(text)
    needed = needed_elsewhere(project, path)
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
        step = None  # (the pass's text, its parse)
        if new_text != text:
            tree = _compiled(new_text)
            # The `Variable` imports the fixes left unused go in the same pass: one lint less.
            step = None if tree is None else _without_unused_imports(new_text, tree, None, original, needed)
            if step is None:  # the fixes together do not parse
                new_text, bad, parsed = apply_parseable_fixes(text, fixable)
                broken.update(fix_key(diagnostic) for diagnostic in bad)
                failures.extend(FixFailure(diagnostic, text) for diagnostic in bad)
                if parsed is not None:
                    step = _without_unused_imports(new_text, parsed[1], parsed[0], original, needed)
        if new_text == text:
            if bad:
                continue  # the fixes that overlapped the bad ones get their turn
            break
        text, parsed = step
        diagnostics = lint(path, text, codes, parsed=parsed)
    fixed_codes = Counter()
    if text != original.text:
        fixed_codes = Counter(d.code for d in initial) - Counter(d.code for d in diagnostics)
    return FixOutcome(text, sum(fixed_codes.values()), diagnostics, dict(fixed_codes), failures)


def fix_key(diagnostic: Diagnostic) -> tuple:
    """What a fix does, independent of where earlier fixes moved it."""
    return (diagnostic.code, diagnostic.fix.message, tuple(edit.content for edit in diagnostic.fix.edits))


def apply_parseable_fixes(text: str, fixable: list[Diagnostic]) -> tuple[str, list[Diagnostic], Parsed | None]:
    """Apply the fixes one by one (in source order), keeping each that leaves the text
    parseable; return the text, the diagnostics whose fix broke it, and the parse of the text
    (None if no fix was kept)."""
    accepted: list[Fix] = []
    bad: list[Diagnostic] = []
    result, parsed = text, None
    for diagnostic in sorted(fixable, key=lambda d: min(edit.start for edit in d.fix.edits)):
        candidate, applied = apply_fixes(text, [*accepted, diagnostic.fix])
        if applied <= len(accepted):
            continue  # overlaps a fix already taken: the next pass sees it again
        candidate_parsed = parse_fixed(candidate)
        if candidate_parsed is not None:
            accepted.append(diagnostic.fix)
            result, parsed = candidate, candidate_parsed
        else:
            bad.append(diagnostic)
    return result, bad, parsed


Parsed = tuple[cst.Module, ast.Module]  # a text's libcst module and stdlib AST (see engine.parse_source)


def parse_fixed(text: str) -> Parsed | None:
    """The libcst module and the stdlib AST of a fixed text, once CPython compiled it too (the
    lint of the text takes them: see engine.lint_text); None if either parser refuses it."""
    tree = _compiled(text)
    module = None if tree is None else _libcst_module(text)
    return None if module is None else (module, tree)


def _compiled(text: str) -> ast.Module | None:
    """The stdlib AST of `text` once CPython compiled it (as engine.compile_source), or None."""
    try:
        with warnings.catch_warnings():
            # CPython warns about the fixed text (`<fixed>:134: SyntaxWarning: ...`): the
            # original had the same construct, and the user did not run this compile.
            warnings.simplefilter("ignore")
            tree = compile(text, "<fixed>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            compile(tree, "<fixed>", "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 - any failure means "do not write this"
        return None
    return tree


def _libcst_module(text: str) -> cst.Module | None:
    try:
        return cst.parse_module(text)
    except Exception:  # noqa: BLE001 - any failure means "do not write this"
        return None


class _Refused(Exception):
    """libcst refuses the fixed text."""


def _without_unused_imports(
    text: str, tree: ast.Module, module: cst.Module | None, original: variable_imports.OriginalImports, needed
) -> tuple[str, Parsed] | None:
    """The text of a pass: the fixed `text` (compiled into `tree`; `module`, its libcst module
    if parsed yet) without the `Variable` imports the fixes left unused, with its parse; None
    if libcst refuses `text`. The text is parsed by libcst once: when imports go, only the
    text without them is (see variable_imports)."""
    @functools.cache
    def text_module() -> cst.Module:
        found = module if module is not None else _libcst_module(text)
        if found is None:
            raise _Refused
        return found

    try:
        cleaned = variable_imports.remove_unused_variable_imports(text, tree, text_module, original, needed)
        if cleaned is not None and cleaned != text:
            cleaned_parsed = parse_fixed(cleaned)
            if cleaned_parsed is not None:
                return cleaned, cleaned_parsed
        return text, (text_module(), tree)
    except _Refused:
        return None


def parses(text: str) -> bool:
    return parse_fixed(text) is not None


# --- Removing the `Variable` import once nothing uses it ---------------------------------


def needed_elsewhere(project, path: str) -> Callable[[str], bool]:
    """`needed(name)`: does another module of the tree get `name` from the file at `path`
    (through `from file import *`, by name, or as an attribute) and use it? Without an index,
    nothing else is known to need it."""
    module = project.module_name(path) if project is not None else None
    if module is None:
        return lambda name: False
    return lambda name: bool(project.importers_needing(module, name))
