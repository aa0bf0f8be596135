"""Reading `x.grad` of a leaf that does not require grad: it is always `None`.

## What it does
Reports a read of `x.grad` where `x` is a leaf tensor known not to require grad: created
without `requires_grad=True` (the default of factories and of `Variable(...)`), detached with
`.detach()` / `.data`, computed under `torch.no_grad()`, or frozen with
`requires_grad = False`. The message says why `x` does not require grad.

## Why is this bad
Backward fills `.grad` only for leaves that require grad, so `x.grad` stays `None` whatever
the program computes; code that then uses it fails with
`AttributeError: 'NoneType' object has no attribute 'data'` or similar, or silently skips the
update it guards. In PyTorch 0.3 code the cause is usually a `Variable(x)` that was meant to be
`Variable(x, requires_grad=True)` (an input whose gradient is wanted, as in saliency maps or
adversarial examples).

Nothing is reported after `x.grad` was assigned, nor for a tensor frozen after it already got a
gradient (its `.grad` keeps the old value).

## Example
```python
x = Variable(torch.ones(2, 2))
y = (x * 3).sum()
y.backward()
print(x.grad)  # None
```

Use instead:
```python
x = torch.ones(2, 2, requires_grad=True)
y = (x * 3).sum()
y.backward()
print(x.grad)
```

## Fix safety
No fix: making `x` require grad changes what the program computes; that is the author's call.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import Leaf, RequiresGrad, is_read
from varlint.rule import Rule, short_code


class GradNeverPopulated(Rule):
    code = "VL102"
    name = "grad-never-populated"

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "grad" or not is_read(node, self.context.parents):
            return
        facts = self.context.gradflow.facts(node.value)
        never_filled = facts.requires_grad is RequiresGrad.NO and facts.leaf is Leaf.LEAF
        if not never_filled or facts.grad_kept is not False:
            return
        tensor = short_code(self.context.code(node.value))
        message = (
            f"`{tensor}.grad` is always `None`: `{tensor}` is a leaf that does not require grad, "
            f"so backward never fills its `.grad`"
        )
        if facts.reason is not None:
            message += f" ({facts.reason.describe()})"
        self.report(node, message)
