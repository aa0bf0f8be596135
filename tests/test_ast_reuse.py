"""The check takes the project index's stdlib AST of its file (varlint/ast_stash.py) only when
it is the tree a fresh parse would give; ast_walk.nodes reads the nodes ast.walk reads."""

from __future__ import annotations

import ast
import sys

from varlint import ast_stash, ast_walk, engine
from varlint.config import Settings

SOURCE = '''
import torch as t
from a.b import c as d
class K(t.nn.Module):
    def forward(self, x, *args, y=1, **kw):
        global g
        for i, (j, k) in enumerate(x[1:2, ...]):
            with t.no_grad() as n, open(f"{i!r:>3}") as m:
                yield [z async for z in w if z] if i else {q: r for q, r in kw.items()}
        try:
            pass
        except (ValueError, KeyError) as e:
            raise RuntimeError from e
        match x:
            case [1, *rest] | {"k": _} if rest:
                return lambda a, /, b=2: (a, b)
'''


def test_nodes_are_the_nodes_ast_walk_gives():
    tree = ast.parse(SOURCE)
    assert sorted(map(id, ast_walk.nodes(tree))) == sorted(map(id, ast.walk(tree)))
    expression = ast.parse("a.b[c](d, *e)", mode="eval")
    assert sorted(map(id, ast_walk.nodes(expression))) == sorted(map(id, ast.walk(expression)))


def _checked(tmp_path, sources: dict[str, str], taken: list):
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    original = ast_stash.take

    def take(path, text):
        tree = original(path, text)
        taken.append((path, tree is not None))
        return tree

    ast_stash.take = take
    try:
        paths = [str(tmp_path / name) for name in sources]
        return engine.check_paths(paths, Settings(select=frozenset({"ALL"})), jobs=1)
    finally:
        ast_stash.take = original


def test_a_serial_check_takes_the_index_tree_and_keeps_nothing_after(tmp_path):
    taken: list = []
    results = _checked(tmp_path, {"a.py": "import torch\nx = torch.autograd.Variable(torch.ones(1))\n",
                                  "b.py": "from a import x\n"}, taken)
    assert sorted(hit for _, hit in taken) == [True, True]
    assert [d.code for d in results[0].diagnostics] == ["VL001"]
    assert ast_stash._wanted is None and not ast_stash._kept


def test_errors_only_the_compiler_finds_are_still_found_with_the_index_tree(tmp_path):
    taken: list = []
    results = _checked(tmp_path, {"a.py": "def f():\n    pass\nreturn 1\n", "b.py": "x = 1\n"}, taken)
    assert (str(tmp_path / "a.py"), True) in taken  # ast.parse took it: only the compiler refuses it
    (diagnostic,) = results[0].diagnostics
    assert diagnostic.code == "VL900" and "'return' outside function" in diagnostic.message


def test_a_tree_is_taken_only_for_the_same_text_and_recursion_limit(tmp_path):
    path = str(tmp_path / "a.py")
    tree = ast.parse("x = 1\n")
    ast_stash.offer(path, "x = 1\n", tree)  # not kept: no keep() in force
    assert ast_stash.take(path, "x = 1\n") is None
    ast_stash.keep([path])
    try:
        ast_stash.offer(path, "x = 1\n", tree)
        assert ast_stash.take(path, "x = 2\n") is None  # another text: parsed again
        ast_stash.offer(path, "x = 1\n", tree)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + 100)
        try:
            assert ast_stash.take(path, "x = 1\n") is None  # another limit (parser_guard reads it)
        finally:
            sys.setrecursionlimit(limit)
        ast_stash.offer(path, "x = 1\n", tree)
        assert ast_stash.take(path, "x = 1\n") is tree
        assert ast_stash.take(path, "x = 1\n") is None  # taken once
        ast_stash.offer(str(tmp_path / "other.py"), "x = 1\n", tree)
        assert not ast_stash._kept  # not one of the paths kept
    finally:
        ast_stash.drop()


def test_past_the_budget_trees_are_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(ast_stash, "BUDGET", 10)
    first, second = str(tmp_path / "a.py"), str(tmp_path / "b.py")
    ast_stash.keep([first, second])
    try:
        ast_stash.offer(first, "x = 1\n", ast.parse("x = 1\n"))
        ast_stash.offer(second, "y = 22\n", ast.parse("y = 22\n"))  # 6 + 7 > 10: parsed again
        assert list(ast_stash._kept) == [first]
        assert ast_stash.take(first, "x = 1\n") is not None
        ast_stash.offer(second, "y = 22\n", ast.parse("y = 22\n"))  # room again once taken
        assert list(ast_stash._kept) == [second]
    finally:
        ast_stash.drop()


def test_module_tree_borrows_the_kept_tree_of_the_same_text(tmp_path):
    from varlint import project

    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    tree = ast.parse("x = 1\n")
    ast_stash.keep([str(path)])
    try:
        ast_stash.offer(str(path), "x = 1\n", tree)
        assert project.module_tree(str(path), project.source_digest("x = 1\n")) is tree
        assert ast_stash.take(str(path), "x = 1\n") is tree  # still there for the check
        path.write_text("x = 2\n")
        ast_stash.offer(str(path), "x = 1\n", tree)
        other = project.module_tree(str(path), project.source_digest("x = 2\n"))  # another text
        assert other is not tree and ast.dump(other) == ast.dump(ast.parse("x = 2\n"))
    finally:
        ast_stash.drop()
        project.module_tree.cache_clear()
