"""The stdlib AST the project index parsed, kept for the check of the same file in the same process.

A serial `varlint check` parses every checked file twice with CPython: `project.read_module`
(`ast.parse`) for the index, then `engine.compile_source` before libcst. Between `keep(paths)` and `drop()`,
the index leaves the tree of each of `paths` here, and the check takes it (once) instead of
parsing again, when it is of the same text, parsed under the same recursion limit with no other
thread running (so `parser_guard` reads the limit the tree was built under); until then, `peek`
lends it to the analyses that read other modules. `ast.parse(text, path)` is `compile(text,
path, "exec", PyCF_ONLY_AST)` with no `__future__` flags inherited (ast.py has none), the same
tree `compile_source` builds; the bytecode compile (errors only the compiler finds) still runs
on it. Outside, nothing is kept.
"""

from __future__ import annotations

import ast
import os
import sys
import threading

_wanted: set[str] | None = None  # absolute paths whose trees are kept; None: keep nothing
_kept: dict[str, tuple[str, int, ast.Module]] = {}

# The most text whose trees are kept at once: a tree takes about 30 bytes per character of its
# text (75 MB for the 2.75 million of the speed corpus); past the budget, files are parsed again.
BUDGET = 4_000_000
_size = 0  # characters of the texts kept


def keep(paths) -> None:
    """From now on, keep the index's trees of `paths` for their checks (until `drop`)."""
    global _wanted
    _wanted = {os.path.abspath(path) for path in paths}


def drop() -> None:
    """Keep nothing more, and forget the trees not taken."""
    global _wanted, _size
    _wanted = None
    _kept.clear()
    _size = 0


def offer(path: str, text: str, tree: ast.Module) -> None:
    """The index parsed `text` of `path` into `tree` (just now, by `ast.parse`)."""
    global _size
    if _wanted is not None and _size + len(text) <= BUDGET and threading.active_count() == 1:
        absolute = os.path.abspath(path)
        if absolute in _wanted and absolute not in _kept:
            _kept[absolute] = (text, sys.getrecursionlimit(), tree)
            _size += len(text)


def peek(path: str) -> tuple[str, ast.Module] | None:
    """(text, tree) kept of `path`, left for its check: the tree `ast.parse(text)` gives, for the
    analyses that read another module of the tree (project.module_tree). Nothing changes a
    tree once built, so they can share it with the check."""
    if not _kept:
        return None
    kept = _kept.get(os.path.abspath(path))
    return None if kept is None else (kept[0], kept[2])


def take(path: str, text: str) -> ast.Module | None:
    """The kept tree of `path` if it is of `text` under today's recursion limit, else None."""
    global _size
    if not _kept:
        return None
    kept = _kept.pop(os.path.abspath(path), None)
    if kept is not None:
        _size -= len(kept[0])
    if kept is None or threading.active_count() != 1:
        return None
    kept_text, limit, tree = kept
    if limit != sys.getrecursionlimit() or kept_text != text:
        return None
    return tree
