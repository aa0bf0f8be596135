"""The file prepass: where `requires_grad` / `.grad` flags change, where grad mode switches, and
which names each scope binds behind the walk's back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from varlint.analysis.tree import walk
from varlint.analysis import torch_api as api
from varlint.analysis.torch_api import FLAG_ATTRIBUTES, FLAG_METHODS, REFLECTION
from varlint.analysis.gradflow.calls import argument, literal_bool, none_to_missing

if TYPE_CHECKING:  # only for annotations: statements.py imports this module
    from varlint.analysis.gradflow.statements import Analysis


class FlagChanges(cst.CSTVisitor):
    """Finds code that may change a tensor's requires_grad, or give it a `.grad` to keep."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def counts(self) -> bool:
        return True

    def visit_Call(self, call: cst.Call) -> None:
        func = call.func
        flag_method = isinstance(func, cst.Attribute) and func.attr.value in FLAG_METHODS
        reflection = isinstance(func, cst.Name) and func.value in REFLECTION
        self.found |= (flag_method or reflection) and self.counts()

    def visit_Assign(self, assign: cst.Assign) -> None:
        # `p.grad = None` (a reset) leaves no gradient to read: not a change that matters.
        reset = none_to_missing(assign.value) is None
        attributes = ("requires_grad",) if reset else FLAG_ATTRIBUTES
        changes = any(is_flag_target(target.target, attributes) for target in assign.targets)
        self.found |= changes and self.counts()

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.found |= is_flag_target(node.target) and self.counts()


def changes_flags(node: cst.CSTNode) -> bool:
    finder = FlagChanges()
    walk(node, finder)
    return finder.found


def is_flag_target(target: cst.BaseExpression, attributes=FLAG_ATTRIBUTES) -> bool:
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(is_flag_target(element.value, attributes) for element in target.elements)
    return isinstance(target, cst.Attribute) and target.attr.value in attributes


class FilePrepass(FlagChanges):
    """What the walk must know in advance, in one traversal: names rebound behind its back,
    functions that may run with grad disabled, and whether code the walk does not follow (a
    function or lambda body, reflection) may change requires_grad flags (`found`)."""

    def __init__(self, analysis: Analysis) -> None:
        super().__init__()
        self.analysis = analysis
        self.globals_declared: set[str] = set()
        self.nonlocals_declared: set[str] = set()
        self.declared_in: dict[cst.CSTNode, set[str]] = {}  # function -> its global/nonlocal names
        self.walrus_targets: set[str] = set()
        self.called_without_grad: set[str] = set()  # names called inside no_grad code
        self.switches_in_functions = False  # `torch.set_grad_enabled(False)` run by a function
        self.switches_anywhere = False
        self.functions: list[cst.CSTNode] = []  # the enclosing functions and lambdas
        self.no_grad_depth = 0

    def counts(self) -> bool:
        return bool(self.functions)

    def declare(self, items, declared: set[str]) -> None:
        names = {item.name.value for item in items}
        declared |= names
        if self.functions:
            self.declared_in.setdefault(self.functions[-1], set()).update(names)

    def visit_Global(self, node: cst.Global) -> None:
        self.declare(node.names, self.globals_declared)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declare(node.names, self.nonlocals_declared)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if isinstance(node.target, cst.Name):
            self.walrus_targets.add(node.target.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)
        self.no_grad_depth += self.disables(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.pop()
        self.no_grad_depth -= self.disables(node)

    def disables(self, node: cst.FunctionDef) -> bool:
        mode = self.analysis.decorator_mode(node)
        return mode is not None and mode.enabled is False

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.functions.append(node)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.functions.pop()

    def visit_With(self, node: cst.With) -> None:
        self.no_grad_depth += self.with_disables(node)

    def leave_With(self, node: cst.With) -> None:
        self.no_grad_depth -= self.with_disables(node)

    def with_disables(self, node: cst.With) -> bool:
        return any(self.analysis.grad_context(item.item) is False for item in node.items)

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if isinstance(node.func, cst.Name):
            if self.no_grad_depth:
                self.called_without_grad.add(node.func.value)
            if node.func.value in REFLECTION:  # `getattr(t, "requires_grad_")()` at any level
                self.found = True
        if self.analysis.names.qualified(node.func) & api.SET_GRAD_ENABLED:
            in_with = isinstance(self.analysis.parents.get(node), cst.WithItem)
            if not in_with and literal_bool(argument(node, 0, "mode")) is not True:
                self.switches_anywhere = True
                self.switches_in_functions |= bool(self.functions)


@dataclass
class ScopeInfo:
    node: cst.CSTNode  # Module, FunctionDef or ClassDef
    local_names: set[str]  # names bound in this scope (a read before assignment is unbound)
    untracked: set[str]  # names rebound behind the walk's back (global, nonlocal, walrus)
    exposed: set[str]  # names read from nested scopes: their objects escape
