"""A loop accumulates a tensor that requires grad, keeping every iteration's graph alive.

## What it does
Finds `total += loss`, `total = total + loss` and `history.append(loss)` inside a loop, where
`loss` is known to require grad (for example after `loss.backward()`, or computed from a
trainable leaf) and the accumulator lives across iterations (it is not rebound at every
iteration; a reset under an `if`, as in "print the running loss every 100 batches", still lets
it span many iterations). It stays silent when the accumulated graph is wanted: something
computed from the accumulator is backpropagated later (summing the losses of the time steps of
a sequence, then one `loss.backward()`), or it is returned to the caller.

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
from varlint.analysis.loops import Site, SiteKind, conditional, frames_inside, head, target_names
from varlint.analysis.names import path_of, read_paths
from varlint.diagnostic import Applicability, Fix
from varlint.rule import Rule, receiver_code, replace_message

def mentions(node: cst.CSTNode, paths: set[str]) -> bool:
    """Whether `node` reads one of `paths`."""
    return not read_paths(node).isdisjoint(paths)


class LossHistoryKept(Rule):
    code = "VL203"
    name = "loss-history-kept"

    def __init__(self, context) -> None:
        super().__init__(context)
        self.reads_cache: dict[cst.CSTNode, set[str]] = {}

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
        if loop is None or self.reset_every_iteration(loop, path) or self.graph_is_used(loop.scope, path):
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

    def reads_of(self, value: cst.CSTNode) -> set[str]:
        """`read_paths`, computed once per expression per file (loops ask again and again)."""
        if value not in self.reads_cache:
            self.reads_cache[value] = read_paths(value)
        return self.reads_cache[value]

    def graph_is_used(self, scope: cst.CSTNode, path: str) -> bool:
        """Whether the accumulated graph is wanted: something computed from the accumulator is
        backpropagated (`loss += step_loss` over time steps, then `loss.backward()`) or
        returned to a caller that may do so. An attribute of `self` may be used by any method."""
        facts = self.context.loops
        scopes = {scope}
        owner = facts.scope_parent.get(scope)
        if path.startswith("self.") and isinstance(owner, cst.ClassDef):
            scopes |= {method for method, parent in facts.scope_parent.items() if parent is owner}
        candidates = [
            (name, self.reads_of(binding.value))
            for (_, name), bindings in facts.bindings.items()
            for binding in bindings
            if binding.scope in scopes and binding.value is not None
        ]
        derived = {path}
        changed = True
        while changed:  # names computed from the accumulator (`stacked = torch.stack(losses)`)
            changed = False
            for name, reads in candidates:
                if name not in derived and not reads.isdisjoint(derived):
                    derived.add(name)
                    changed = True
        return any(
            self.uses_graph(site, derived) for scope in scopes for site in facts.sites_by_scope.get(scope, ())
        )

    def uses_graph(self, site: Site, derived: set[str]) -> bool:
        """A backward of, `torch.autograd.grad` of, or `return` of something in `derived`."""
        if site.kind is SiteKind.BACKWARD:
            return site.receiver is not None and mentions(site.receiver, derived)
        if isinstance(site.node, cst.Return):
            return site.node.value is not None and mentions(site.node.value, derived)
        return (
            site.kind is SiteKind.CALL
            and self.context.names.is_(site.node.func, "torch.autograd.grad")
            and mentions(site.node, derived)
        )

    @staticmethod
    def is_accumulation(value: cst.BaseExpression, path: str) -> bool:
        """`path + x` / `x + path`: the accumulation itself, not a reset."""
        return (
            isinstance(value, cst.BinaryOperation)
            and isinstance(value.operator, cst.Add)
            and path in (path_of(value.left), path_of(value.right))
        )

    def item_code(self, value: cst.BaseExpression) -> str:
        return f"{receiver_code(self.context, value)}.item()"

    def item_fix(self, value: cst.BaseExpression, shape: tuple[int, ...] | None) -> Fix:
        if shape is not None and math.prod(shape) == 1:
            return self.make_fix(
                Applicability.UNSAFE,
                replace_message(self.item_code(value)),
                [self.context.edit(value, self.item_code(value))],
            )
        return self.make_fix(
            Applicability.DISPLAY_ONLY,
            "Accumulate a value without history: `.item()` for a single value, `.detach()` for a tensor",
            [],
        )
