"""A loop accumulates a tensor that requires grad, keeping every iteration's graph alive.

## What it does
Finds `total += loss`, `total = total + loss` and `history.append(loss)` inside a loop, where
`loss` is known to require grad (for example after `loss.backward()`, or computed from a
trainable leaf) and the accumulator lives across iterations (it is not rebound at every
iteration; a reset under an `if`, as in "print the running loss every 100 batches", still lets
it span many iterations).

## Why is this bad
`total += loss` on a tensor that requires grad builds a new graph node that holds `loss`, and
`loss` holds the whole forward graph of its iteration. The accumulator therefore keeps every
iteration's graph (and, without a `backward()`, every activation) alive: memory grows with
each iteration until the program runs out of it. The legacy idiom was `total += loss.data[0]`;
the modern one is `total += loss.item()`.

## Example
```python
total_loss = 0
for x, y in data:
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    total_loss += loss
```
Use instead:
```python
    total_loss += loss.item()
```

## Fix safety
Unsafe, and offered only when `loss` is known to hold a single value: `loss` becomes
`loss.item()`, so the accumulator holds a Python float instead of a tensor (code that later
calls tensor methods on it, or `torch.stack(history)`, changes or breaks). Otherwise the fix is
a suggestion (`.item()` for a scalar, `.detach()` for a tensor).
"""

from __future__ import annotations

import math

import libcst as cst

from varlint.analysis.gradflow import RequiresGrad
from varlint.analysis.loops import conditional, frames_inside, head, path_of, target_names
from varlint.diagnostic import Applicability, Fix
from varlint.rule import Rule

# Expressions `.item()` can follow without parentheses.
ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)


class LossHistoryKept(Rule):
    code = "VL203"
    name = "loss-history-kept"

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.operator, cst.AddAssign):
            self.check(node, node.target, node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if len(node.targets) != 1 or not isinstance(value, cst.BinaryOperation):
            return
        if not isinstance(value.operator, cst.Add):
            return
        target = path_of(node.targets[0].target)
        if target is None:
            return
        if path_of(value.left) == target:
            self.check(node, node.targets[0].target, value.right)
        elif path_of(value.right) == target:
            self.check(node, node.targets[0].target, value.left)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "append"
            and len(node.args) == 1
            and node.args[0].keyword is None
            and not node.args[0].star
        ):
            self.check(node, func.value, node.args[0].value)

    def check(
        self,
        node: cst.CSTNode,
        accumulator: cst.BaseExpression,
        value: cst.BaseExpression,
    ) -> None:
        path = path_of(accumulator)
        if path is None:
            return
        facts = self.context.loops
        loop = facts.enclosing_loop(node)
        if loop is None or self.reset_every_iteration(loop, path):
            return
        value_facts = self.context.gradflow.facts(value)
        if value_facts.requires_grad is not RequiresGrad.YES:
            return
        value_code = self.context.code(value)
        self.report(
            node,
            f"`{path}` keeps the autograd graph of every iteration alive: `{value_code}` requires "
            f"grad, so each iteration's graph stays reachable from `{path}` and memory grows with "
            f"every iteration; accumulate `{self.item_code(value)}` instead",
            fix=self.item_fix(value, value_facts.shape),
        )

    def reset_every_iteration(self, loop, path: str) -> bool:
        """Whether `path` is rebound in every iteration (then it holds one iteration only):
        the loop's own target, or an assignment in the body that is not under a branch."""
        facts = self.context.loops
        if isinstance(loop.node, cst.For) and head(path) in target_names(loop.node.target):
            return True
        for binding in facts.assignments_in(loop, path):
            if binding.value is not None and self.is_accumulation(binding.value, path):
                continue
            if not conditional(frames_inside(binding.frames, loop.node)):
                return True
        return False

    @staticmethod
    def is_accumulation(value: cst.BaseExpression, path: str) -> bool:
        """`path + x` / `x + path`: the accumulation itself, not a reset."""
        return (
            isinstance(value, cst.BinaryOperation)
            and isinstance(value.operator, cst.Add)
            and path in (path_of(value.left), path_of(value.right))
        )

    def item_code(self, value: cst.BaseExpression) -> str:
        code = self.context.code(value)
        return f"{code}.item()" if isinstance(value, ATOMS) else f"({code}).item()"

    def item_fix(self, value: cst.BaseExpression, shape: tuple[int, ...] | None) -> Fix:
        if shape is not None and math.prod(shape) == 1:
            return self.make_fix(
                Applicability.UNSAFE,
                f"Replace with `{self.item_code(value)}`",
                [self.context.edit(value, self.item_code(value))],
            )
        return self.make_fix(
            Applicability.DISPLAY_ONLY,
            "Accumulate a value without history: `.item()` for a single value, `.detach()` for a tensor",
            [],
        )
