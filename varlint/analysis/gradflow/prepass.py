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
        # What the methods of each class assign to `self.x` (None: not a plain assignment,
        # such as `self.k += 1` or an unpacking), and every attribute name assigned anywhere.
        self.classes: list[tuple[cst.ClassDef, int]] = []  # open classes, functions depth
        self.method_class: dict[cst.FunctionDef, cst.ClassDef] = {}
        self.class_methods: dict[cst.ClassDef, set[str]] = {}
        self.self_assignments: dict[tuple[cst.ClassDef, str], list[cst.BaseExpression | None]] = {}
        self.assigned_attributes: set[str] = set()

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

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append((node, len(self.functions)))
        self.class_methods[node] = set()

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.classes and self.classes[-1][1] == len(self.functions):
            self.method_class[node] = self.classes[-1][0]
            self.class_methods[self.classes[-1][0]].add(node.name.value)
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

    def visit_Assign(self, assign: cst.Assign) -> None:
        super().visit_Assign(assign)
        for target in assign.targets:
            self.record_attribute(target.target, assign.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        super().visit_AugAssign(node)
        self.record_attribute(node.target, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.record_attribute(node.target, node.value)

    def record_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.record_attribute(element.value, None)
            return
        if not isinstance(target, cst.Attribute):
            return
        self.assigned_attributes.add(target.attr.value)
        klass = self.method_class.get(self.functions[-1]) if self.functions else None
        if klass is not None and isinstance(target.value, cst.Name) and target.value.value == "self":
            self.self_assignments.setdefault((klass, target.attr.value), []).append(value)

    def held_values(self, node: cst.CSTNode, function: cst.CSTNode) -> list[cst.BaseExpression | None]:
        """What the class of the method `function` assigns to `self.x`, for `node` = `self.x`
        read in it ([] when unknown: not a method, no assignment, or `x` is a method)."""
        klass = self.method_class.get(function)
        if klass is None or not isinstance(node, cst.Attribute):
            return []
        if not (isinstance(node.value, cst.Name) and node.value.value == "self"):
            return []
        if node.attr.value in self.class_methods.get(klass, ()):
            return []
        return self.self_assignments.get((klass, node.attr.value), [])

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
