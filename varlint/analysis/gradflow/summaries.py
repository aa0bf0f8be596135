"""Summaries of the functions of a file, computed once and reused at every call site.

`returns_zero_dim(function)`: every `return` of the function gives a 0-dim tensor, whatever its
arguments are (the analysis of a function body knows nothing of its parameters, so what it
knows holds for every call): `def loss_function(recon_x, x): return F.mse_loss(...) + kld` makes
`loss = loss_function(out, x)` a 0-dim tensor at the call, and `loss.data[0]` raises.

Recursion, generators, decorated functions, functions defined twice and names rebound
anywhere give no summary: precision first.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import SameAsNested
from varlint.analysis.names import path_of
from varlint.analysis.tree import walk


class Summaries:
    def __init__(self, context) -> None:
        self.context = context
        self._zero_dim: dict[cst.FunctionDef, bool] = {}

    def returns_zero_dim(self, function: cst.FunctionDef) -> bool:
        if function not in self._zero_dim:
            self._zero_dim[function] = False  # while computing it: recursion knows nothing
            gradflow = self.context.gradflow
            # Asked by an analysis of the file before any has ended: reading the returns'
            # facts starts another analysis, which sees this summary as False (above).
            starts = gradflow.running > 0 and gradflow._values is None
            self._zero_dim[function] = self._all_returns_zero_dim(function)
            if starts and gradflow._values is not None and not gradflow.last_failed and not self._zero_dim[function]:
                # The summary is False, what the other analysis saw, and every other answer
                # both get is this table's: the asking analysis would walk on exactly as the
                # other did. Stop it; the file's facts are the other's (GradFlow.facts).
                raise SameAsNested
        return self._zero_dim[function]

    def _all_returns_zero_dim(self, function: cst.FunctionDef) -> bool:
        if function.decorators or function.asynchronous is not None:
            return False
        returns: list[cst.Return] = []
        generator = []

        class Returns(cst.CSTVisitor):
            def visit_Return(self, node: cst.Return) -> None:
                returns.append(node)

            def visit_Yield(self, node: cst.Yield) -> None:
                generator.append(node)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return node is function

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False

        walk(function, Returns())
        if generator or not returns or not ends_in_return(function):
            return False
        gradflow = self.context.gradflow
        for node in returns:
            if node.value is None:
                return False
            facts = gradflow.facts(node.value)
            if not facts.is_tensor or facts.shape != ():
                return False
        return True

    def call_returns_zero_dim(self, call: cst.BaseExpression) -> bool:
        """`f(...)` where `f` is the one function of that name of this module, never rebound."""
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name):
            return False
        facts = self.context.loops
        name = call.func.value
        functions = facts.functions.get(name) or []
        if len(functions) != 1 or facts.parent_scope(functions[0]) is not self.context.module:
            return False
        if len(facts.bindings.get((self.context.module, name), [])) or name in facts.declared_global:
            return False
        return self.returns_zero_dim(functions[0])

    def name_returns_zero_dim(self, expression: cst.BaseExpression) -> bool:
        """`loss`, bound once in its scope to `f(...)` with such an `f` (see above)."""
        path = path_of(expression)
        if not isinstance(expression, cst.Name) or path is None:
            return False
        facts = self.context.loops
        scope = facts.scope_of(expression)
        if expression.value in facts.declared_global:
            return False
        bindings = facts.bindings.get((scope, path), [])
        return len(bindings) == 1 and self.call_returns_zero_dim(bindings[0].value)


def ends_in_return(function: cst.FunctionDef) -> bool:
    """Whether the body's last statement is a `return` (no fall-through returning None)."""
    body = function.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return False
    last = body.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return)
