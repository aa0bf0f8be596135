"""Our own name resolution (varlint/analysis/names.py): scopes, bindings, imports."""

from __future__ import annotations

import textwrap

import libcst as cst

from varlint import engine
from varlint.analysis.names import NameResolver


def resolver(source: str) -> NameResolver:
    return NameResolver(cst.parse_module(textwrap.dedent(source)))


def names_of(resolver: NameResolver, text: str) -> list[set[str]]:
    """Qualified names of every Name node spelled `text`, in source order."""
    return [resolver.qualified(n) for n in resolver.order if isinstance(n, cst.Name) and n.value == text]


def test_imports_aliases_and_shadowing():
    r = resolver("""
        import torch.nn
        from torch.autograd import Variable as V
        import torch.autograd as ag
        def f(V):
            return V
        def g():
            return V, ag.Variable, torch.ones
        class C:
            V = 1
            def m(self):
                return V
    """)
    vs = names_of(r, "V")
    # the alias in the import statement (not a read), f's parameter and its read, g's read,
    # C's own V, m's read (class bodies are not visible from methods)
    assert vs == [set(), set(), set(), {"torch.autograd.Variable"}, set(), {"torch.autograd.Variable"}]
    attributes = [n for n in r.order if isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name)]
    assert {"torch.autograd.Variable"} in [r.qualified(a) for a in attributes]
    assert {"torch.ones"} in [r.qualified(a) for a in attributes]


def test_global_nonlocal_comprehension_and_builtins():
    r = resolver("""
        from torch import tensor
        def f():
            global tensor
            tensor = None
        def g():
            tensor = 1
            def h():
                nonlocal tensor
                return tensor
            return [tensor for tensor in range(3)]
        print(len([tensor for _ in range(2)]))
    """)
    scope = r.module_scope
    assert [b.kind for b in scope.bindings["tensor"]] == ["import", "local"]  # f's global assignment
    assert r.qualified(next(n for n in r.order if isinstance(n, cst.Name) and n.value == "len")) == {"builtins.len"}
    g = next(s for node, s in r.scope_created.items() if isinstance(node, cst.FunctionDef) and node.name.value == "g")
    assert "tensor" in g.exposed  # read by h through nonlocal
    assert "tensor" in scope.exposed  # read inside the last comprehension


def test_module_name_at_and_expression_context():
    r = resolver("""
        import torch as th
        def f(torch):
            x.creator = 1
            del y.creator
            return x.creator
    """)
    attributes = [n for n in r.order if isinstance(n, cst.Attribute)]
    assert [r.expression_context(a) for a in attributes] == ["store", "del", "load"]
    assert r.module_name_at(attributes[0]) == "th"


def test_a_long_elif_chain_is_analysed():
    # 600 `elif` branches nest 600 deep in the tree: valid Python, analysed like any file.
    branches = "".join(f"elif x == {i}:\n    y = Variable(x)\n" for i in range(1, 600))
    source = f"from torch.autograd import Variable\nx = 1\nif x == 0:\n    y = 0\n{branches}print(y)\n"
    diagnostics = engine.lint_text("chain.py", source, frozenset({"VL001", "VL900"}))
    assert [d.code for d in diagnostics] == ["VL001"] * 599
    assert diagnostics[-1].start.row == 4 + 2 * 599
