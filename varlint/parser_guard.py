"""Shapes of valid Python that libcst's native parser cannot take, found before it is called.

libcst 1.9 parses left-nested chains recursively on the C stack, and a chain too long for the
stack kills the whole process (SIGSEGV): a 48 kB line `a = a and a and ... and a` (7,100
operands) does so, though CPython compiles it, since CPython's AST keeps a boolean chain flat.
Other deep shapes (`a + a + ...`, nested calls, brackets) are refused by CPython's own parser
well before libcst's limit (about 3,000 levels), so they never get here.

Measured (tests/test_reliability.py holds the guard to it): the crash comes at about 0.86 chain
operands per kB of thread stack (7,100 for 8 MB, 1,760 for 2 MB, 860 for 1 MB), whatever the
operands' length or surrounding nesting. `too_deep` estimates libcst's nesting depth from the
stdlib AST (a boolean operation with n operands is n nested libcst nodes) and refuses a tree
deeper than half the measured limit for the stack we run on.

Walking the AST for that costs a tenth of a libcst parse, so most files are let through from
their text: a tree CPython compiled is at most about `sys.getrecursionlimit()` nodes deep
(measured: deeper trees raise RecursionError while CPython builds them), and boolean chains
add at most one level per `and` / `or` word of the text. When that sum stays under the limit,
so does the depth, and the walk is not needed.
"""

from __future__ import annotations

import ast
import re
import resource
import threading

OPERANDS_PER_KB = 0.86  # measured crash point of libcst 1.9 (see above)
SAFETY = 0.5
DEFAULT_STACK = 8 * 1024 * 1024  # an unlimited stack limit: Linux threads then get 8 MB


def stack_bytes() -> int:
    """The stack size of the threads that parse: threading.stack_size() if set, else the
    process's stack limit (the main thread's and, on Linux, new threads' default)."""
    size = threading.stack_size()
    if size:
        return size
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    return DEFAULT_STACK if soft == resource.RLIM_INFINITY or soft <= 0 else soft


def depth_limit() -> int:
    return int(stack_bytes() / 1024 * OPERANDS_PER_KB * SAFETY)


def libcst_depth(tree: ast.AST) -> int:
    """An upper bound of the nesting depth libcst builds for `tree` (iterative: the tree may
    be deeper than Python's recursion limit)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        step = len(node.values) if isinstance(node, ast.BoolOp) else 1
        stack.extend((child, depth + step) for child in ast.iter_child_nodes(node))
    return deepest


BOOLEAN_WORD = re.compile(r"\b(?:and|or)\b")
# Levels over the recursion limit a compiled tree can have (measured: none; a Name's context
# node, the module and statement levels are within it).
AST_MARGIN = 50


def surely_shallow(text: str, recursion_limit: int, limit: int) -> bool:
    """Whether the tree CPython compiled from `text` under `recursion_limit` is surely no deeper
    than `limit` for libcst: its plain depth is bounded by the recursion limit, and each
    operand a boolean chain adds beyond the first is an `and` / `or` word of the text."""
    budget = limit - recursion_limit - AST_MARGIN
    if budget <= 0:
        return False
    if text.count("and") + text.count("or") <= budget:  # a quick upper bound of the words
        return True
    return sum(1 for _ in BOOLEAN_WORD.finditer(text)) <= budget


def too_deep(tree: ast.AST, text: str | None = None, compiled_under: int | None = None) -> str | None:
    """Why libcst must not be given this tree (None: it may). With the `text` it was compiled
    from and the recursion limit it was compiled under, a surely shallow tree is not walked."""
    limit = depth_limit()
    if text is not None and compiled_under is not None and surely_shallow(text, compiled_under, limit):
        return None
    depth = libcst_depth(tree)
    if depth <= limit:
        return None
    return f"an expression nested {depth} levels deep (boolean chains count one level per operand; the limit is {limit})"
