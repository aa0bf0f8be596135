"""varlint's own traversal (analysis/tree.py) gives what libcst's gives: `walk` calls a visitor's
methods in the order `node.visit(visitor)` calls them, `children` are the node fields that hold
nodes, in source order, and the rule dispatch calls only the rules' own `visit_` methods (not
libcst's do-nothing ones)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import libcst as cst
import pytest
from fixture_support import FIXTURES_DIR

from varlint import engine
from varlint.analysis import tree
from varlint.rules import all_rules

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*FIXTURES_DIR.rglob("*.py"), *(PROJECT / "examples").rglob("*.py")])
SAMPLE = SOURCES[:: max(1, len(SOURCES) // 40)]

ODD = """\
@decorator(x)
async def f(a: int = 1, *args, b=lambda y=2: y, **kw) -> "T":
    async with a as (b, c), d:
        pass
    async for i in a:
        yield [j async for j in i if j]
    try:
        del a[0], b.c
    except (E, F) as e:
        raise X from e
    else:
        x = {k: v for k, v in kw.items()}
    finally:
        global g
    while (n := 3) > 2:
        break
    return f"{a!r:>{b}}" + 'x' 'y'

class C(Base, metaclass=M):
    skip: int = 0
    def skip_me(self):
        hidden()
from . import (a as b, c)
from ..m import *
print(*a, **{'k': 1}, sep='')
x = a if b else c[1:2, ::3, ...]
"""


class Recorder(cst.CSTVisitor):
    """Records its calls; skips the children of `def skip_me`."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.calls.append(("visit_Name", id(node)))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(("visit_Call", id(node)))

    def leave_Call(self, node: cst.Call) -> None:
        self.calls.append(("leave_Call", id(node)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.calls.append(("visit_FunctionDef", id(node)))
        return node.name.value != "skip_me"

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.calls.append(("leave_FunctionDef", id(node)))

    def leave_Attribute(self, node: cst.Attribute) -> None:
        self.calls.append(("leave_Attribute", id(node)))


class FieldRecorder(Recorder):
    """Per-field hooks too (the slower walk)."""

    def visit_For_body(self, node: cst.For) -> None:
        self.calls.append(("visit_For_body", id(node)))

    def leave_For_body(self, node: cst.For) -> None:
        self.calls.append(("leave_For_body", id(node)))

    def visit_If_orelse(self, node: cst.If) -> None:
        self.calls.append(("visit_If_orelse", id(node)))


def modules():
    yield "odd", cst.parse_module(ODD)
    for path in SAMPLE:
        try:
            yield path.name, cst.parse_module(path.read_text(encoding="utf-8"))
        except (cst.ParserSyntaxError, UnicodeDecodeError):
            continue  # fixtures of unparsable or undecodable files


@pytest.mark.parametrize("visitor_class", [Recorder, FieldRecorder])
def test_walk_calls_what_libcsts_visit_calls(visitor_class):
    checked = 0
    for name, module in modules():
        ours, libcsts = visitor_class(), visitor_class()
        tree.walk(module, ours)
        module.visit(libcsts)
        assert ours.calls == libcsts.calls, name
        checked += len(ours.calls)
    assert checked > 1000


def reference_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children as the first version of tree.children read them: every field but the
    formatting ones, values that are nodes and not formatting."""
    found = []
    for name in tree.fields_of(type(node)):
        value = getattr(node, name, None)
        for item in value if isinstance(value, (tuple, list)) else [value]:
            if isinstance(item, cst.CSTNode) and not isinstance(item, tree.SKIPPED_TYPES):
                found.append(item)
    return found


def test_children_are_the_fields_that_hold_nodes():
    seen_types = set()
    for name, module in modules():
        stack = [module]
        while stack:
            node = stack.pop()
            kids = tree.children(node)
            assert [id(k) for k in kids] == [id(k) for k in reference_children(node)], (name, node)
            seen_types.add(type(node))
            stack.extend(kids)
    assert {cst.Name, cst.Call, cst.Lambda, cst.ImportFrom, cst.FormattedString, cst.Subscript} <= seen_types


def test_children_is_a_fresh_list():
    module = cst.parse_module("f(a, b)\n")
    call = module.body[0].body[0].value
    first = tree.children(call)
    first.reverse()
    assert tree.children(call) == [call.func, *call.args]
    assert tree.children(call.func) == [] and tree.children(call.func) is not tree.children(call.func)


def test_descendants_are_the_preorder():
    module = cst.parse_module("def f(self):\n    return self.x + g(self)\n")
    names = [node.value for node in tree.descendants(module) if isinstance(node, cst.Name)]
    assert names == ["f", "self", "self", "x", "g", "self"]


def test_rules_are_dispatched_only_their_own_visit_methods():
    for rule in all_rules():
        dispatched = {name for _, name in engine._visit_methods(rule)}
        own = {name for klass in rule.__mro__ if klass.__module__.startswith("varlint") for name in vars(klass)
               if name.startswith("visit_")}
        assert dispatched == own, rule.code
    by_code = {rule.code: rule for rule in all_rules()}
    assert {name for _, name in engine._visit_methods(by_code["VL002"])} == {"visit_Name", "visit_Attribute"}


def test_own_methods_leave_out_libcsts_do_nothing_methods():
    assert "visit_Name" in dir(cst.CSTVisitor)
    assert tree.own_methods(Recorder) >= {"visit_Name", "leave_Call", "visit_FunctionDef"}
    assert "visit_Module" not in tree.own_methods(Recorder)
    assert tree.own_methods(cst.CSTVisitor) == frozenset()


def test_dataclass_fields_cover_the_generated_children():
    """Every field the generated functions leave unread is annotated as text."""
    for node_type in {type(node) for _, module in modules() for node in tree.descendants(module)}:
        for field in dataclasses.fields(node_type):
            if field.name in tree.fields_of(node_type):
                annotation = repr(field.type)
                if "libcst" not in annotation and "ForwardRef" not in annotation:
                    assert "str" in annotation or "Literal" in annotation, (node_type, field)
