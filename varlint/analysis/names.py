"""Qualified-name resolution: what a name or attribute chain refers to, through imports.

`from torch.autograd import Variable as V; V(x)`, `import torch.autograd as ag; ag.Variable(x)`
and `torch.autograd.variable.Variable(x)` all resolve to `torch.autograd.Variable`; a user's own
class named `Variable` resolves to its local name and is never mistaken for torch's.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import (
    ImportAssignment,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

# Spellings of one object under another module path, mapped to the canonical one.
ALIASES = {
    "torch.autograd.variable.Variable": "torch.autograd.Variable",
    "torch.autograd.variable": "torch.autograd.variable",
    "torch.nn.parameter.Parameter": "torch.nn.Parameter",
    "torch.nn.modules.module.Module": "torch.nn.Module",
    "torch.optim.optimizer.Optimizer": "torch.optim.Optimizer",
    "torch.functional": "torch",
}

VARIABLE = "torch.autograd.Variable"


def canonical(name: str) -> str:
    if name in ALIASES:
        return ALIASES[name]
    for prefix, target in ALIASES.items():
        if name.startswith(prefix + "."):
            return target + name[len(prefix):]
    return name


def is_dotted_name(node: cst.CSTNode) -> bool:
    """`name` or `a.b.c`: an expression that names something."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


class NameResolver:
    def __init__(self, wrapper: cst.MetadataWrapper) -> None:
        self._qualified = wrapper.resolve(QualifiedNameProvider)
        self._scopes = wrapper.resolve(ScopeProvider)

    def qualified(self, node: cst.CSTNode) -> set[str]:
        """Canonical qualified names of `node` from imports or builtins (empty if local)."""
        if not is_dotted_name(node):
            # libcst names attributes of computed values too (`torch.ones(2).sum` as
            # "torch.ones.sum", `(a + b).mean` as "builtins.None"): those are not names.
            return set()
        names = self._qualified.get(node, ())
        if callable(names):  # libcst resolves qualified names lazily
            names = names()
        return {
            canonical(qn.name)
            for qn in names
            if qn.source in (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)
        }

    def is_(self, node: cst.CSTNode, *qualified_names: str) -> bool:
        return not self.qualified(node).isdisjoint(qualified_names)

    def callee(self, call: cst.Call) -> set[str]:
        return self.qualified(call.func)

    def module_name_at(self, node: cst.CSTNode, module: str = "torch") -> str | None:
        """The name that surely refers to the imported `module` where `node` is evaluated:
        `torch` (also bound by `import torch.nn`), or an alias (`import torch as th` -> `th`).
        None when no name does, e.g. only `from torch import nn` or a local `torch` variable;
        a fix that needs `torch.Tensor` then has nothing to write."""
        scope = self._scopes.get(node)
        if scope is None:
            return None
        imported = {QualifiedName(module, QualifiedNameSource.IMPORT)}
        aliases = sorted(
            {
                assignment.name
                for assignment in scope.globals.assignments
                if isinstance(assignment, ImportAssignment)
                and "." not in assignment.name
                and set(scope.globals.get_qualified_names_for(assignment.name)) == imported
            }
        )
        for name in [module] + [alias for alias in aliases if alias != module]:
            if set(scope.get_qualified_names_for(name)) == imported:
                return name
        return None


def path_of(expression: cst.CSTNode | None) -> str | None:
    """`model.fc.weight` for an attribute chain over a name; None for anything else."""
    if isinstance(expression, cst.Name):
        return expression.value
    if isinstance(expression, cst.Attribute):
        base = path_of(expression.value)
        return None if base is None else f"{base}.{expression.attr.value}"
    return None


def read_paths(node: cst.CSTNode) -> set[str]:
    """The names and attribute chains (such as `self.x`) that `node` mentions."""
    paths: set[str] = set()

    class Reads(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            paths.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            path = path_of(attribute)
            if path is not None:
                paths.add(path)

    node.visit(Reads())
    return paths
