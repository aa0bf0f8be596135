"""An in-place operation on a leaf that requires grad, with gradients enabled: it raises.

## What it does
Reports `w.add_(...)`, `w.zero_()`, `w.normal_()` and the other in-place methods, `w -= e` and
the other augmented assignments, and `w[i] = v`, where `w` is known to be a leaf tensor that
requires grad (`nn.Parameter(...)`, a factory with `requires_grad=True`), outside
`torch.no_grad()`.

## Why is this bad
In 0.3 such updates were written on `w.data` or on a Variable that did not yet require grad.
On PyTorch 2.13 an in-place change of a leaf that requires grad raises `RuntimeError: a leaf
Variable that requires grad is being used in an in-place operation.` (`a view of a leaf
Variable ...` for item assignment).

## Example
```python
w = torch.zeros(3, requires_grad=True)
w.normal_()
```

Use instead:
```python
with torch.no_grad():
    w.normal_()
```

## Fix safety
Display-only: do it under `with torch.no_grad():` (or create the tensor first and call
`requires_grad_()` after initialising it).
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import Leaf, RequiresGrad
from varlint.diagnostic import Applicability
from varlint.rule import Rule, maybe_grad_disabled, short_code
from varlint.rules.data_attribute import is_in_place_method
from varlint.rules.zero_dim_index import method_call_name

LEAF_ERROR = "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation."
VIEW_ERROR = "RuntimeError: a view of a leaf Variable that requires grad is being used in an in-place operation."
# In-place methods that are not value updates of the tensor (they do not raise).
NOT_VALUE_UPDATES = frozenset({"retain_grad", "register_hook", "grad_zero_"})


class InplaceOnGradLeaf(Rule):
    code = "VL306"
    name = "inplace-on-grad-leaf"

    def visit_Call(self, node: cst.Call) -> None:
        method = method_call_name(node)
        if method is None or not is_in_place_method(method) or method in NOT_VALUE_UPDATES:
            return
        if self.context.names.callee(node):
            return  # `torch.nn.init.normal_` and the like: a function, not a tensor method
        receiver = node.func.value
        if self.is_grad_leaf(receiver, node):
            self.report_update(node, receiver, f"`.{method}()`", LEAF_ERROR)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self.is_grad_leaf(node.target, node):
            self.report_update(node, node.target, f"`{self.context.code(node.operator).strip()}`", LEAF_ERROR)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            subscript = target.target
            if isinstance(subscript, cst.Subscript) and self.is_grad_leaf(subscript.value, node):
                self.report_update(node, subscript.value, "item assignment", VIEW_ERROR)

    def is_grad_leaf(self, expression: cst.BaseExpression, node: cst.CSTNode) -> bool:
        facts = self.context.gradflow.facts(expression)
        return (
            facts.is_tensor
            and facts.requires_grad is RequiresGrad.YES
            and facts.leaf is Leaf.LEAF
            and not maybe_grad_disabled(self.context, node)
        )

    def report_update(self, node: cst.CSTNode, tensor: cst.BaseExpression, what: str, error: str) -> None:
        name = short_code(self.context.code(tensor))
        self.report(
            node,
            f"In-place {what} on `{name}`, a leaf that requires grad, with gradients enabled: "
            f"PyTorch 2.13 raises `{error}`",
            fix=self.make_fix(Applicability.DISPLAY_ONLY, "Do it under `with torch.no_grad():`", []),
        )
