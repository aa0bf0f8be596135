"""A 0-dim class target for a batch of one (`nll_loss(out, target[i])`): it raises.

## What it does
Reports `F.nll_loss`, `F.cross_entropy`, `nn.NLLLoss()(...)` and `nn.CrossEntropyLoss()(...)`
(also through a name bound to such a module) called with an input known to have shape `(1, C)`
and a target known to be 0-dim, typically one element of a 1-D target, `target[i]`.

## Why is this bad
In 0.3, indexing a 1-D tensor gave a tensor of shape `(1,)`; since 0.4 it gives a 0-dim tensor,
and PyTorch 2.13 raises `ValueError: Expected input batch_size (1) to match target batch_size
(0).`

## Example
```python
loss = F.nll_loss(output, target[i])
```

Use instead:
```python
loss = F.nll_loss(output, target[i:i + 1])
```

## Fix safety
Safe when the target is `t[i]` of a 1-D tensor, with `i` a name or a number: `t[i:i + 1]` is the
`(1,)` target 0.3 passed (the original always crashed). Otherwise display-only:
`target.unsqueeze(0)`.
"""

from __future__ import annotations

import libcst as cst

from varlint.diagnostic import Applicability
from varlint.rule import Rule, call_argument, has_star_arguments

CLASSIFICATION_FUNCTIONS = frozenset({"torch.nn.functional.nll_loss", "torch.nn.functional.cross_entropy"})
CLASSIFICATION_MODULES = frozenset({"torch.nn.NLLLoss", "torch.nn.CrossEntropyLoss"})
BATCH_ERROR = "ValueError: Expected input batch_size (1) to match target batch_size (0)."


class ZeroDimTarget(Rule):
    code = "VL304"
    name = "zero-dim-target"

    def visit_Call(self, node: cst.Call) -> None:
        if has_star_arguments(node) or not self.is_classification_loss(node):
            return
        input_argument = call_argument(node, 0, "input")
        target_argument = call_argument(node, 1, "target")
        if input_argument is None or target_argument is None:
            return
        input_shape = self.context.gradflow.facts(input_argument.value).shape
        target = target_argument.value
        if not (input_shape is not None and len(input_shape) == 2 and input_shape[0] == 1):
            return
        if not self.is_zero_dim(target):
            return
        self.report(
            target_argument,
            f"A 0-dim target for an input of shape {input_shape} (indexing a 1-D tensor gave "
            f"shape (1,) in 0.3, a 0-dim tensor now): PyTorch 2.13 raises `{BATCH_ERROR}`",
            fix=self.target_fix(target),
        )

    def is_classification_loss(self, call: cst.Call) -> bool:
        if self.context.names.callee(call) & CLASSIFICATION_FUNCTIONS:
            return True
        module = call.func
        if isinstance(module, cst.Call):
            return bool(self.context.names.callee(module) & CLASSIFICATION_MODULES)
        if isinstance(module, cst.Name):
            return self.bound_to_classification_module(module)
        return False

    def bound_to_classification_module(self, name: cst.Name) -> bool:
        """A name whose every assignment in its scope is `nn.NLLLoss(...)` or the like."""
        assignments = self.context.names.bindings(name)
        if not assignments:
            return False
        for assignment in assignments:
            target = self.context.parents.get(getattr(assignment, "node", None))
            statement = self.context.parents.get(target) if isinstance(target, cst.AssignTarget) else None
            if not (
                isinstance(statement, cst.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.value, cst.Call)
                and self.context.names.callee(statement.value) & CLASSIFICATION_MODULES
            ):
                return False
        return True

    def is_zero_dim(self, target: cst.BaseExpression) -> bool:
        facts = self.context.gradflow.facts(target)
        return (facts.is_tensor and facts.shape == ()) or self.integer_index(target) is not None

    def integer_index(self, target: cst.BaseExpression) -> cst.Index | None:
        """`t[i]` of a 1-D tensor `t`, `i` a literal int or the variable of an enclosing
        `for i in range(...)`: the 0-dim element, and its index."""
        if not (isinstance(target, cst.Subscript) and len(target.slice) == 1):
            return None
        index = target.slice[0].slice
        base = self.context.gradflow.facts(target.value)
        if not (isinstance(index, cst.Index) and base.is_tensor and base.shape is not None and len(base.shape) == 1):
            return None
        if isinstance(index.value, cst.Integer) or (
            isinstance(index.value, cst.Name) and self.is_range_variable(index.value, target)
        ):
            return index
        return None

    def is_range_variable(self, name: cst.Name, node: cst.CSTNode) -> bool:
        """`name` is the target of an enclosing `for name in range(...)` (and not rebound)."""
        current = self.context.parents.get(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
            if (
                isinstance(current, cst.For)
                and isinstance(current.target, cst.Name)
                and current.target.value == name.value
            ):
                iterated = current.iter
                return isinstance(iterated, cst.Call) and "builtins.range" in self.context.names.callee(iterated)
            current = self.context.parents.get(current)
        return False

    def target_fix(self, target: cst.BaseExpression):
        index = self.integer_index(target)
        if index is None:
            return self.make_fix(
                Applicability.DISPLAY_ONLY, "Give the target shape (1,): `target.unsqueeze(0)`", []
            )
        code = self.context.code(index.value)
        end = str(int(code) + 1) if isinstance(index.value, cst.Integer) and code.isdigit() else f"{code} + 1"
        return self.make_fix(
            Applicability.SAFE,
            f"Slice the target: `[{code}:{end}]` (shape (1,), as in 0.3)",
            [self.context.edit(index, f"{code}:{end}")],
        )
