"""Reading `x.grad_fn` of a tensor that does not require grad: it is always `None` (info).

## What it does
Reports a read of `x.grad_fn` where `x` is known not to require grad, with the reason. This
is informational and off unless selected (`--select VL104`): printing `grad_fn` to show that
it is `None` is a common teaching example.

## Why is this bad
Only results of operations on tensors that require grad have a `grad_fn`. Code that tests
`x.grad_fn is not None` to decide whether it can call `backward()`, or walks
`x.grad_fn.next_functions`, never sees a graph here: the tensor was created without
`requires_grad=True`, computed under `torch.no_grad()`, or cut by `.detach()` / `.data`.

## Example
```python
x = Variable(torch.ones(2))
y = (x + 2).mean()
print(y.grad_fn)  # None
```

## Fix safety
No fix.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import RequiresGrad, is_read
from varlint.rule import Rule, short_code


class GradFnAlwaysNone(Rule):
    code = "VL104"
    name = "grad-fn-always-none"
    default_enabled = False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "grad_fn" or not is_read(node, self.context.parents):
            return
        facts = self.context.gradflow.facts(node.value)
        if facts.requires_grad is not RequiresGrad.NO:
            return
        tensor = short_code(self.context.code(node.value))
        message = f"`{tensor}.grad_fn` is always `None`: `{tensor}` does not require grad"
        if facts.reason is not None:
            message += f" ({facts.reason.describe()})"
        self.report(node, message)
