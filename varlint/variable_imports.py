"""Removing the `Variable` imports the fixes left unused (a step of fixes.fix_until_stable).

An import of `Variable` whose uses were all fixed away is removed, unless another module of the
tree still uses the name through this one (`from model import *`: never a NameError elsewhere),
and unless the file had an unused `Variable` import before the fixes (not ours to remove).

Which imports are unused is what NameResolver says (a read of the name in a scope that sees the
module's binding is a reference), but most texts are decided from their stdlib AST and their
text alone, without a libcst parse and a name pass: a name spelled nowhere but in the module's
import lines has no reference; a name read somewhere, and bound nowhere but at module level, is
referenced. Only the other texts go through NameResolver.

The removal edits the module-level import lines only, and splices their new text into the
text: the rest of the module is neither visited nor generated again.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from typing import Callable

import libcst as cst
import libcst.helpers

from varlint.analysis.names import VARIABLE, canonical
from varlint.textlines import line_starts

ImportedAs = tuple[str, "str | None"]  # (name, asname) of an imported alias


def unused_variable_imports(
    text: str, tree: ast.Module, module: Callable[[], cst.Module]
) -> tuple[set[ImportedAs], cst.Module | None]:
    """The (name, asname) of each module-level `from ... import Variable` of `text` (`tree`:
    its stdlib AST; `module()`: its libcst module, asked for only when needed) that has no
    references; with the libcst module if it was asked for."""
    imported = _variable_imports(tree)
    if not imported:
        return set(), None
    if "__all__" not in text:  # (a name `__all__` lists is re-exported: NameResolver's path)
        verdicts = {}
        for name, asname in imported:
            bound = asname or name
            if bound not in verdicts:
                verdicts[bound] = _referenced(text, tree, bound)
        if None not in verdicts.values():
            return {(name, asname) for name, asname in imported if not verdicts[asname or name]}, None
    parsed = module()
    return _resolved_unused(parsed), parsed


def _variable_imports(tree: ast.Module) -> list[ImportedAs]:
    """The module-level absolute `from M import name [as asname]` importing Variable."""
    found = []
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and not statement.level and statement.module is not None:
            for alias in statement.names:
                if alias.name != "*" and canonical(f"{statement.module}.{alias.name}") == VARIABLE:
                    found.append((alias.name, alias.asname))
    return found


def _referenced(text: str, tree: ast.Module, bound: str) -> bool | None:
    """Whether NameResolver finds a reference to the module-level binding of `bound`; None
    when only NameResolver can tell (another scope binds the name)."""
    spelled = [match.start() for match in re.finditer(rf"(?<!\w){re.escape(bound)}(?!\w)", text)]
    import_lines = _import_only_lines(tree)
    starts = line_starts(text)
    if all(bisect.bisect_right(starts, offset) in import_lines for offset in spelled):
        # Every libcst Name spelled `bound` is in an import statement (never a read): none
        # is a reference.
        return False
    read = False
    module_level_imports = {id(alias) for statement in tree.body
                            if isinstance(statement, (ast.Import, ast.ImportFrom)) for alias in statement.names}
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Name:
            if node.id == bound:
                if type(node.ctx) is not ast.Load:
                    return None  # bound (or deleted) here: maybe in another scope
                read = True
        elif _binds(node, kind, bound, module_level_imports):
            return None
    # A read sees the module's binding when no scope binds the name but the module: every
    # stdlib Name read is a NameResolver read (no handler makes it a target or a non-read).
    # Without one, the name is spelled only where libcst's Name is not a read (an attribute,
    # a keyword, an import's names) or not a Name (a string, a comment).
    return read


def _binds(node: ast.AST, kind: type, bound: str, module_level_imports: set[int]) -> bool:
    """Whether `node` binds (or declares) `bound` other than by a module-level import, or
    spells it where libcst has a Name that NameResolver may read (a class pattern's keyword)."""
    if kind is ast.arg:
        return node.arg == bound
    if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
        return node.name == bound
    if kind is ast.alias:
        return id(node) not in module_level_imports and (node.asname or node.name.partition(".")[0]) == bound
    if kind in (ast.Global, ast.Nonlocal):
        return bound in node.names
    if kind in (ast.ExceptHandler, ast.MatchAs, ast.MatchStar):
        return node.name == bound
    if kind is ast.MatchMapping:
        return node.rest == bound
    if kind is ast.MatchClass:
        return bound in node.kwd_attrs
    return False


def _import_only_lines(tree: ast.Module) -> set[int]:
    """The rows on which only module-level import statements are (and comments)."""
    rows: dict[int, bool] = {}
    for statement in tree.body:
        is_import = isinstance(statement, (ast.Import, ast.ImportFrom))
        for row in range(statement.lineno, (statement.end_lineno or statement.lineno) + 1):
            rows[row] = rows.get(row, True) and is_import
    return {row for row, only_imports in rows.items() if only_imports}


def _resolved_unused(module: cst.Module) -> set[ImportedAs]:
    """`unused_variable_imports` by NameResolver."""
    from varlint.analysis.names import NameResolver

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
    return unused


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


class OriginalImports:
    """Whether the text before the fixes had an unused `Variable` import: asked at most once
    per file, when a pass leaves one unused."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._had_unused: bool | None = None

    def had_unused(self) -> bool:
        if self._had_unused is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the file's SyntaxWarnings: the lint's business
                tree = compile(self.text, "<original>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            self._had_unused = bool(unused_variable_imports(self.text, tree, lambda: cst.parse_module(self.text))[0])
        return self._had_unused


def remove_unused_variable_imports(
    text: str, tree: ast.Module, module: Callable[[], cst.Module], original: OriginalImports,
    needed: Callable[[str], bool] = lambda name: False,
) -> str | None:
    """`text` without its `Variable` imports that have no references left (but had some before
    the fixes: `original`), except those another module still needs (`needed(bound name)`):
    removing them there would be a NameError in that module (as ruff, the import is kept).
    `tree` is the stdlib AST of `text`, `module()` its libcst module (parsed only if the lines
    before the last import to change are not enough). None when nothing is removed."""
    if "Variable" not in text:
        return None  # no import of it left (no import can bind `Variable` without spelling it)
    found, parsed = unused_variable_imports(text, tree, module)
    unused = {(name, alias) for name, alias in found if not needed(alias or name)}
    if not unused or original.had_unused():
        return None  # nothing to remove, or it was already unused before: not ours to remove
    if parsed is None:
        head = _head(text, tree, unused)
        if head is not None:
            end, head_module = head
            return _without_aliases(text[:end], head_module, unused, whole=end == len(text)) + text[end:]
        parsed = module()
    return _without_aliases(text, parsed, unused)


def _head(text: str, tree: ast.Module, unused: set[ImportedAs]) -> tuple[int, cst.Module] | None:
    """(end, libcst module of `text[:end]`) for the lines of `text` up to the last module-level
    `from` import that imports one of `unused` (libcst parses them as in the whole text: a
    module's lines are parsed in order, the last one ends with its newline); None when those
    lines do not end a statement line."""
    rows = [statement.end_lineno for statement in tree.body if isinstance(statement, ast.ImportFrom)
            and any((alias.name, alias.asname) in unused for alias in statement.names)]
    if not rows:
        return None
    row = max(rows)
    if any(statement.lineno <= row < (statement.end_lineno or statement.lineno) for statement in tree.body):
        return None  # another statement goes on past the row
    starts = line_starts(text)
    end = starts[row] if row < len(starts) else len(text)
    if text[starts[row - 1]:end].rstrip("\r\n").endswith("\\"):
        return None  # a backslash joins the next row to the line
    try:
        return end, cst.parse_module(text[:end])
    except Exception:  # noqa: BLE001 - then the whole text is parsed
        return None


def _without_aliases(text: str, module: cst.Module, unused: set[ImportedAs], whole: bool = True) -> str:
    """`text` (the code of `module`: the whole module's, or with `whole` false, the head of a
    longer text) with the aliases `unused` taken out of its module-level `from` imports (a
    statement left with none goes, with the line if it was alone on it)."""
    remover = _RemoveImportAliases(unused)
    changed: dict[int, cst.SimpleStatementLine] = {}
    for index, line in enumerate(module.body):
        if isinstance(line, cst.SimpleStatementLine) and any(
            isinstance(statement, cst.ImportFrom) and not isinstance(statement.names, cst.ImportStar)
            and any((alias.evaluated_name, alias.evaluated_alias) in unused for alias in statement.names)
            for statement in line.body
        ):
            changed[index] = line.visit(remover)
    if not changed:
        return text
    if whole and max(changed) == len(module.body) - 1:
        # The module's last line: its code may leave out the newline (has_trailing_newline).
        body = [changed.get(index, line) for index, line in enumerate(module.body)]
        return module.with_changes(body=[line for line in body if line.body]).code
    # The module's code is its header's, then each line's: the text of a line is found by
    # generating only the lines before it.
    pieces = []
    offset = sum(len(module.code_for_node(empty)) for empty in module.header)
    for index, line in enumerate(module.body[: max(changed) + 1]):
        code = module.code_for_node(line)
        if index in changed:
            pieces.append((offset, offset + len(code), module.code_for_node(changed[index]) if changed[index].body else ""))
        offset += len(code)
    for start, end, replacement in reversed(pieces):
        text = text[:start] + replacement + text[end:]
    return text


class _RemoveImportAliases(cst.CSTTransformer):
    def __init__(self, unused: set[ImportedAs]) -> None:
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
