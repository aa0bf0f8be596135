"""The parser guard's shortcut (a tree is let through from its text, without the walk) is
sound: a tree CPython compiles is no deeper than the recursion limit plus AST_MARGIN, whatever
its shape, and a long boolean chain always gets the walk (and is refused)."""

from __future__ import annotations

import ast
import sys

import pytest

from varlint import engine, parser_guard

# Shapes that nest deepest per character or per level (lambda defaults and keyword arguments
# put two AST nodes in each level).
SHAPES = {
    "lambda default": lambda n: "lambda a=" * n + "0" + ": 0" * n,
    "lambda body": lambda n: "lambda: " * n + "0",
    "keyword call": lambda n: "f(x=" * n + "0" + ")" * n,
    "negation": lambda n: "-" * n + "a",
    "not": lambda n: "not " * n + "a",
    "attribute calls": lambda n: "a" + ".b(c=d)" * n,
    "conditional": lambda n: "a" + " if a else a" * n,
    "power": lambda n: "a" + "**a" * n,
    "nested ifs": lambda n: "".join(" " * i + "if a:\n" for i in range(min(n, 99))) + " " * min(n, 99) + "pass\n",
}


def deepest_compiled(make) -> int:
    """The largest libcst depth of `make(n)` that CPython compiles."""
    low, high, deepest = 1, 4000, 0
    while low <= high:
        middle = (low + high) // 2
        try:
            tree = compile(make(middle), "x.py", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            compile(tree, "x.py", "exec", dont_inherit=True)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            high = middle - 1
        else:
            deepest = max(deepest, parser_guard.libcst_depth(tree))
            low = middle + 1
    return deepest


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_compiled_tree_is_no_deeper_than_the_recursion_limit(shape):
    limit = sys.getrecursionlimit()
    deepest = deepest_compiled(SHAPES[shape])
    assert 0 < deepest <= limit + parser_guard.AST_MARGIN


def test_a_raised_recursion_limit_allows_deeper_trees_and_the_bound_follows_it():
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(2000)
    try:
        deepest = deepest_compiled(SHAPES["negation"])
    finally:
        sys.setrecursionlimit(before)
    assert before < deepest <= 2000 + parser_guard.AST_MARGIN


def test_the_shortcut_needs_few_boolean_words():
    limit = 3000
    assert parser_guard.surely_shallow("x = a and b or c\n" * 10, 1000, limit)
    chain = "x = a" + " and a" * 2000 + "\n"
    assert not parser_guard.surely_shallow(chain, 1000, limit)
    # words inside identifiers ("torch", "random") are not boolean operators
    assert parser_guard.surely_shallow("torch.random.normal(forward)\n" * 1000, 1000, limit)
    assert not parser_guard.surely_shallow("x = 1\n", 3000, limit)  # no budget left


def test_a_long_chain_is_still_refused_through_parse_source():
    chain = "x = a" + " and a" * 12_000 + "\n"
    refused = engine.parse_source("chain.py", chain)
    assert isinstance(refused, engine.Diagnostic) and refused.code == "VL900"
    assert "boolean chains" in refused.message


def test_the_shortcut_and_the_walk_agree_on_ordinary_code():
    text = "def f(a, b):\n    return a and (b or not a) and f(a, b=lambda: a or b)\n" * 50
    tree = compile(text, "x.py", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    limit = parser_guard.depth_limit()
    assert parser_guard.surely_shallow(text, sys.getrecursionlimit(), limit)
    assert parser_guard.too_deep(tree, text, sys.getrecursionlimit()) is None
    assert parser_guard.too_deep(tree) is None
