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
"""

from __future__ import annotations

import ast
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


def too_deep(tree: ast.AST) -> str | None:
    """Why libcst must not be given this tree (None: it may)."""
    depth, limit = libcst_depth(tree), depth_limit()
    if depth <= limit:
        return None
    return f"an expression nested {depth} levels deep (boolean chains count one level per operand; the limit is {limit})"
