"""Check one file: read it once, parse it once, run every selected rule in one traversal.

Per-file work is free of global state, so a tree is a map over files (see `check_paths`).
libcst, the rules and the analyses are imported when a file is first checked: a run answered
from the result cache never loads them.
"""

from __future__ import annotations

import ast
import functools
import io
import os
import re
import sys
import threading
import tokenize
import traceback
import warnings
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from varlint import ast_stash, atomic_write, collection, noqa, parser_guard
from varlint.config import Settings
from varlint.diagnostic import Applicability, Diagnostic, Position
from varlint.rules import rule_table

if TYPE_CHECKING:
    import libcst as cst

    from varlint.rule import FileContext


@dataclass(frozen=True)
class SourceText:
    """A file's text, with what is needed to write it back byte for byte."""

    text: str
    encoding: str  # "utf-8-sig" when the file starts with a BOM


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fixed: int = 0  # diagnostics fixed by --fix
    original: str | None = None  # set when fixes changed the text
    fixed_text: str | None = None
    encoding: str = "utf-8"
    written: bool = False
    internal_error: str | None = None  # a bug in varlint, reported without stopping the run
    fix_failures: list[str] = field(default_factory=list)  # fixes left out (varlint bugs), described
    warnings: list[str] = field(default_factory=list)  # invalid noqa directives, ...
    fixed_codes: dict[str, int] = field(default_factory=dict)  # fixes applied, per rule code
    cell_changes: list[tuple[int, str, str]] | None = None  # a fixed notebook: (cell, before, after)


class UnreadableFile(Exception):
    pass


def read_source(path: str) -> SourceText:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        raise UnreadableFile("is a directory") from None
    except OSError as error:
        raise UnreadableFile(error.strerror or str(error)) from None
    if b"\x00" in data:
        raise UnreadableFile("binary content (NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # CPython refuses a file whose coding cookie names no codec (or contradicts its BOM)
        if str(error).startswith(("unknown encoding", "encoding problem")):
            raise UnreadableFile(f"{_cookie_problem(data, str(error))}; Python refuses to run it") from None
        encoding = "utf-8"  # no valid cookie and not UTF-8: the decode below says where
    try:
        text = data.decode(encoding)
    except LookupError:
        raise UnreadableFile(f"unknown encoding `{encoding}` in its coding comment") from None
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"cannot decode as {error.encoding} (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}); save it as UTF-8 or declare its encoding with a coding comment"
        ) from None
    if encoding == "utf-8-sig":
        text = text.removeprefix("\ufeff")
    return SourceText(text, encoding)


CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _cookie_problem(data: bytes, reason: str) -> str:
    """What is wrong with the coding cookie, naming it (`# -*- coding: klingon -*-`)."""
    for line in data.removeprefix(b"\xef\xbb\xbf").splitlines()[:2]:
        match = CODING_COOKIE.match(line)
        if match:
            name = match.group(1).decode("ascii", "replace")
            if reason.startswith("encoding problem"):
                return f"its coding comment declares `{name}`, but it starts with a UTF-8 byte order mark"
            return f"unknown encoding `{name}` in its coding comment"
    return reason


def write_source(path: str, text: str, encoding: str) -> None:
    """Replace the file atomically, leaving no temporary file (varlint/atomic_write.py)."""
    atomic_write.replace(path, text.encode(encoding))


# --- Parsing ----------------------------------------------------------------------------

PYTHON2_PATTERNS = [
    (re.compile(r"^\s*print\s+(?![\s(=.,)\[]|$)", re.M), "`print` statement"),
    (re.compile(r"^\s*except\s+[\w.]+\s*,\s*\w+\s*:", re.M), "`except E, e:` clause"),
    (re.compile(r"^\s*exec\s+['\"]", re.M), "`exec` statement"),
    (re.compile(r"^\s*raise\s+[\w.]+\s*,", re.M), "`raise E, message` statement"),
    (re.compile(r"`[^`\n]+`"), "backtick repr"),
    (re.compile(r"\s<>\s"), "`<>` operator"),
]


def python2_construct(text: str) -> str | None:
    """Name a Python-2-only construct in `text`, if there is one."""
    for pattern, description in PYTHON2_PATTERNS:
        if pattern.search(text):
            return description
    return None


def parse(path: str, text: str) -> cst.Module | Diagnostic:
    """The libcst module of `text`, or VL900 saying why there is none (see `parse_source`)."""
    parsed = parse_source(path, text)
    return parsed if isinstance(parsed, Diagnostic) else parsed[0]


def parse_source(path: str, text: str) -> tuple[cst.Module, ast.Module] | Diagnostic:
    """Parse with libcst; CPython is asked first, since libcst accepts a few Python 2 forms
    (`except E, e:`) and code CPython's compiler refuses (a repeated keyword argument), and
    CPython's messages are clearer ("Missing parentheses ..."). Valid Python that libcst cannot
    take (see parser_guard: some would crash the process) is VL900 saying so. Returns the libcst
    module with the stdlib AST of the same text (positions use its line numbers)."""
    compiled_under = _recursion_limit_now()
    tree = compile_source(path, text)
    if isinstance(tree, Diagnostic):
        return tree
    module = parse_cst(path, text, tree, compiled_under)
    return module if isinstance(module, Diagnostic) else (module, tree)


def compile_source(path: str, text: str) -> ast.Module | Diagnostic:
    """The stdlib AST of `text` once CPython has compiled it, or VL900 (a syntax error)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are the program's, not ours
            tree = ast_stash.take(path, text)
            if tree is None:
                tree = compile(text, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        reason, row, column = error.msg, error.lineno or 1, error.offset or 1
    except (RecursionError, MemoryError, ValueError) as error:  # pathological input
        reason, row, column = f"{type(error).__name__}: {error}", 1, 1
    else:
        return tree
    message = f"cannot parse the file: {reason.strip().rstrip('.')} (line {row}, column {column})"
    construct = python2_construct(text)
    if construct is not None:
        message += f"; it looks like Python 2 source ({construct}): port it to Python 3 first"
    return tool_diagnostic("VL900", path, message, row, column)


def parse_cst(path: str, text: str, tree: ast.Module, compiled_under: int | None = None) -> cst.Module | Diagnostic:
    """libcst's module of a text CPython compiled (`tree`, under the recursion limit
    `compiled_under` if known), or VL900 "too large"."""
    import libcst as cst

    too_deep = parser_guard.too_deep(tree, text, compiled_under)
    if too_deep is not None:
        return too_large(path, too_deep)
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return too_large(path, f"libcst's parser refuses it ({error.message.strip().splitlines()[0]})")
    except (RecursionError, MemoryError) as error:
        return too_large(path, type(error).__name__)


def _guarded(path: str, text: str, parsed: tuple[cst.Module, ast.Module]) -> tuple[cst.Module, ast.Module] | Diagnostic:
    """`parsed`, or VL900 "too large" when parser_guard says so (as `parse_cst` would)."""
    too_deep = parser_guard.too_deep(parsed[1], text, _recursion_limit_now())
    return parsed if too_deep is None else too_large(path, too_deep)


def _recursion_limit_now() -> int | None:
    """The recursion limit a tree compiled just now was compiled under: it bounds the tree's
    depth (parser_guard). With no other thread, nothing can change it before the guard reads
    it; with others, it is not known."""
    return sys.getrecursionlimit() if threading.active_count() == 1 else None


def too_large(path: str, detail: str) -> Diagnostic:
    """VL900 for valid Python that varlint cannot analyse (not a syntax error)."""
    message = (f"cannot analyse the file: it is valid Python, but too large or too deeply nested "
               f"for varlint's parser: {detail}")
    return tool_diagnostic("VL900", path, message)


def tool_diagnostic(code: str, path: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    name = next(rule.name for rule in rule_table() if rule.code == code)
    position = Position(row, column)
    return Diagnostic(code, name, message, path, position, position)


# --- Linting ----------------------------------------------------------------------------

def lint_module(
    path: str, module: cst.Module, text: str, codes: frozenset[str], project=None, module_name=None,
    syntax_tree: ast.Module | None = None,
) -> list[Diagnostic]:
    from varlint.rule import FileContext
    from varlint.rules import all_rules

    context = FileContext(path, module, project=project, module_name=module_name, text=text,
                          syntax_tree=syntax_tree)
    rules = [rule(context) for rule in all_rules() if rule.code in codes and _is_visitor(rule)]
    if rules:
        run_rules(context, rules)
    found = [d for rule in rules for d in rule.diagnostics]
    diagnostics = noqa.apply(path, text, found, codes, known_codes())
    return sorted(diagnostics, key=lambda d: d.sort_key)


def known_codes() -> frozenset[str]:
    return frozenset(rule.code for rule in rule_table())


def run_rules(context: FileContext, rules: list) -> None:
    """Call each rule's `visit_<Node>` methods over the nodes in source order (the order the
    name pass recorded): one traversal for all rules, no libcst visitor machinery. A rule
    with `leave_` methods or per-attribute visitors is run by libcst's batched visitor."""
    plain = [rule for rule in rules if not _needs_libcst(type(rule))]
    special = [rule for rule in rules if _needs_libcst(type(rule))]
    dispatch: dict[type, list] = {}
    for rule in plain:
        for node_type, name in _visit_methods(type(rule)):
            dispatch.setdefault(node_type, []).append(getattr(rule, name))
    if dispatch:
        for node in context.names.order:
            methods = dispatch.get(type(node))
            if methods is not None:
                for method in methods:
                    method(node)
    if special:
        context.wrapper.visit_batched(special)


_VISIT_METHODS: dict[type, tuple] = {}


def _visit_methods(rule_class: type) -> tuple:
    found = _VISIT_METHODS.get(rule_class)
    if found is None:
        import libcst as cst

        from varlint.analysis.tree import own_methods

        # libcst's visitor bases define a do-nothing `visit_<Node>` for every node type: only
        # the rule's own are dispatched to.
        found = tuple(
            (getattr(cst, name[len("visit_"):]), name)
            for name in sorted(own_methods(rule_class))
            if name.startswith("visit_") and isinstance(getattr(cst, name[len("visit_"):], None), type)
            and callable(getattr(rule_class, name))
        )
        _VISIT_METHODS[rule_class] = found
    return found


_NEEDS_LIBCST: dict[type, bool] = {}


def _needs_libcst(rule_class: type) -> bool:
    found = _NEEDS_LIBCST.get(rule_class)
    if found is None:
        found = _NEEDS_LIBCST[rule_class] = _has_libcst_hooks(rule_class)
    return found


def _has_libcst_hooks(rule_class: type) -> bool:
    own = {
        name
        for klass in rule_class.__mro__
        if klass.__module__.startswith("varlint")
        for name in vars(klass)
    }
    return any(
        name.startswith("leave_") or (name.startswith("visit_") and "_" in name[len("visit_"):])
        for name in own
    )


def _is_visitor(rule) -> bool:
    return rule.code not in ("VL900", "VL901", "VL902")


def lint_text(
    path: str, text: str, codes: frozenset[str], project=None, parsed: tuple[cst.Module, ast.Module] | None = None
) -> list[Diagnostic]:
    """Diagnostics of `text`; `project` (a ProjectIndex) resolves imports from the tree.
    `parsed`: the libcst module and stdlib AST of `text` (a fixed text, see fixes.parse_fixed),
    when already built."""
    if parsed is None:
        parsed = parse_source(path, text)
    else:
        parsed = _guarded(path, text, parsed)
    if isinstance(parsed, Diagnostic):
        return [parsed] if "VL900" in codes else []
    module, tree = parsed
    try:
        return lint_module(path, module, text, codes, project, syntax_tree=tree)
    except RecursionError:
        # libcst's metadata providers recurse over the tree: a pathologically nested
        # expression (hundreds of terms) exhausts the stack.
        message = "cannot analyse the file: it nests expressions too deeply for the parser"
        return [tool_diagnostic("VL900", path, message)] if "VL900" in codes else []


def check_file(path: str, settings: Settings, fix: Applicability | None = None, project=None) -> FileResult:
    """Lint one file; with `fix`, apply fixes up to that applicability (nothing is written)."""
    try:
        return _check_file(path, settings, fix, project)
    except Exception as error:  # noqa: BLE001 - one file's failure must not stop the run
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return FileResult(path, internal_error=detail)


def _check_file(path: str, settings: Settings, fix: Applicability | None, project=None) -> FileResult:
    codes = settings.selected_codes() - settings.ignored_for(path)
    try:
        source = read_source(path)
    except UnreadableFile as error:
        result = FileResult(path)
        if "VL901" in codes:
            result.diagnostics.append(tool_diagnostic("VL901", path, f"cannot read the file: {error}"))
        return result
    return check_text(path, source, codes, fix, project)


def check_text(
    path: str, source: SourceText, codes: frozenset[str], fix: Applicability | None = None, project=None
) -> FileResult:
    """Lint a text already read (a file, or standard input named `path`)."""
    from varlint import notebook

    result = FileResult(path, encoding=source.encoding)
    if notebook.is_notebook(path):
        return _check_notebook(result, source, codes, fix)
    result.warnings = noqa.parse(source.text, path, known_codes()).warnings
    if fix is None:
        result.diagnostics = lint_text(path, source.text, codes, project)
        return result
    from varlint import fixes

    lint = lint_text if project is None else functools.partial(lint_text, project=project)
    outcome = fixes.fix_until_stable(path, source.text, codes, fix, lint, project)
    result.diagnostics = outcome.remaining
    result.fixed = outcome.fixed
    result.fixed_codes = outcome.fixed_codes
    result.fix_failures = [failure.describe() for failure in outcome.failures]
    if outcome.text != source.text:
        result.original, result.fixed_text = source.text, outcome.text
    return result


def _check_notebook(result: FileResult, source: SourceText, codes: frozenset[str], fix) -> FileResult:
    from varlint import notebook

    try:
        book = notebook.parse_notebook(result.path, source.text)
    except notebook.NotebookError as error:
        if "VL901" in codes:
            result.diagnostics.append(tool_diagnostic("VL901", result.path, f"cannot read the notebook: {error}"))
        return result
    checked = notebook.check(book, codes, fix, lint_text)
    result.diagnostics, result.fixed, result.fixed_codes = checked.diagnostics, checked.fixed, checked.fixed_codes
    result.fix_failures = checked.failures
    if checked.fixed_raw is not None:
        result.original, result.fixed_text, result.encoding = source.text, checked.fixed_raw, source.encoding
        result.cell_changes = checked.changes
    return result


def write_fixes(result: FileResult) -> None:
    if result.fixed_text is None:
        return
    write_source(result.path, result.fixed_text, result.encoding)
    result.written = True


def check_paths(
    paths: list[str],
    settings: Settings,
    fix: Applicability | None = None,
    jobs: int | None = None,
    cache=None,
    on_result=None,
    settings_by_path: dict[str, Settings] | None = None,
) -> list[FileResult]:
    """Check files independently, after indexing them all once (varlint/project.py), with
    the other modules of their trees; results from `cache` (a varlint.cache.ResultCache)
    when it knows them, the others checked in `jobs` worker processes (default: one per
    core) when there are enough of them. `on_result(result)` is called as each result
    arrives; the list returned is in `paths` order. A worker that dies (a crash in the
    parser) costs only its file an internal error. `settings_by_path` gives files their own
    settings (each file's closest config file). See varlint/batch.py."""
    from varlint import batch

    with collection.fewer_collections():  # and between_files() around each file
        return batch.check_paths(paths, settings, fix, jobs, cache, on_result, settings_by_path)
