"""Iterating over a 0-dim tensor, or taking its `len()`: it raises since PyTorch 0.4.

## What it does
Reports `for v in t`, comprehensions over `t`, `len(t)`, `list(t)`, `tuple(t)`, `set(t)`,
`sorted(t)`, `iter(t)`, `enumerate(t)`, `sum(t)` and unpacking `a, b = t`, where `t` is known to
be 0-dim (a loss with the default reduction, a full reduction, an element of a 1-D tensor).

## Why is this bad
0.3 losses and reductions had shape `(1,)`; since 0.4 they are 0-dim, and PyTorch 2.13 raises
`TypeError: iteration over a 0-d tensor` (and `TypeError: len() of a 0-d tensor` for `len`).

## Example
```python
for value in loss:
    print(value)
```

Use instead:
```python
print(loss.item())
```

## Fix safety
No fix: what the loop meant depends on the program.
"""

from __future__ import annotations

import libcst as cst

from varlint.rule import Rule

ITERATION_ERROR = "TypeError: iteration over a 0-d tensor"
LEN_ERROR = "TypeError: len() of a 0-d tensor"
# Builtins that iterate over their (first) argument at once.
ITERATING_BUILTINS = frozenset(
    f"builtins.{name}" for name in ("list", "tuple", "set", "sorted", "iter", "enumerate", "sum", "frozenset")
)


class ZeroDimIteration(Rule):
    code = "VL303"
    name = "zero-dim-iteration"

    def visit_For(self, node: cst.For) -> None:
        self.check_iterated(node.iter, "`for` over")

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.check_iterated(node.iter, "a comprehension over")

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args or node.args[0].star or node.args[0].keyword is not None:
            return
        callee = self.context.names.callee(node)
        if "builtins.len" in callee and len(node.args) == 1:
            if self.is_zero_dim(node.args[0].value):
                self.report(
                    node,
                    f"`len()` of a 0-dim tensor (0.3 losses and reductions had shape (1,)): "
                    f"PyTorch 2.13 raises `{LEN_ERROR}`; use `.numel()` or `.item()`",
                )
        elif callee & ITERATING_BUILTINS:
            name = min(callee & ITERATING_BUILTINS).split(".", 1)[1]
            self.check_iterated(node.args[0].value, f"`{name}()` of", node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(isinstance(target.target, (cst.Tuple, cst.List)) for target in node.targets):
            self.check_iterated(node.value, "unpacking")

    def check_iterated(self, expression: cst.BaseExpression, how: str, node: cst.CSTNode | None = None) -> None:
        if self.is_zero_dim(expression):
            self.report(
                node or expression,
                f"{how} a 0-dim tensor (0.3 losses and reductions had shape (1,)): PyTorch 2.13 "
                f"raises `{ITERATION_ERROR}`; use `.item()` for its value",
            )

    def is_zero_dim(self, expression: cst.BaseExpression) -> bool:
        flow = self.context.gradflow
        if not flow.may_be_tensor(expression):
            return False
        facts = flow.facts(expression)
        return facts.is_tensor and facts.shape == ()
