"""Reading `h.grad` of a non-leaf tensor: it is always `None`, and PyTorch warns.

## What it does
Reports a read of `h.grad` where `h` is computed from tensors that require grad (so it is not
a leaf: `h = w * 2`, `h = x.mm(w)`, a loss), unless `h.retain_grad()` was called before.

## Why is this bad
Backward fills `.grad` only for leaves. Reading `.grad` of a non-leaf gives `None` and, on every
read, PyTorch warns:
`UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead.`
Legacy code hits this when it inspects an intermediate result, or with
`w = Variable(t, requires_grad=True).cuda()`: the `.cuda()` copy is not a leaf (the leaf is the
CPU tensor, which nothing else references).

## Example
```python
w = torch.ones(2, requires_grad=True)
h = w * 2
h.sum().backward()
print(h.grad)  # None, with a warning
```

Use instead:
```python
w = torch.ones(2, requires_grad=True)
h = w * 2
h.retain_grad()
h.sum().backward()
print(h.grad)
```

## Fix safety
Display-only: call `h.retain_grad()` before the backward, or read the `.grad` of the leaf that
`h` is computed from; which one is meant is for the author to say.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import Leaf, RequiresGrad, is_read
from varlint.diagnostic import Applicability
from varlint.rule import Rule, short_code

WARNING = "UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"


class GradOfNonLeaf(Rule):
    code = "VL103"
    name = "grad-of-non-leaf"

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "grad" or not is_read(node, self.context.parents):
            return
        facts = self.context.gradflow.facts(node.value)
        non_leaf = facts.requires_grad is RequiresGrad.YES and facts.leaf is Leaf.NONLEAF
        if not non_leaf or facts.grad_kept is not False:
            return
        tensor = short_code(self.context.code(node.value))
        self.report(
            node,
            f"`{tensor}.grad` is always `None` and warns `{WARNING}...`: `{tensor}` is computed from "
            f"tensors that require grad, so it is not a leaf, and backward fills `.grad` only for leaves",
            fix=self.make_fix(
                Applicability.DISPLAY_ONLY,
                f"Call `{tensor}.retain_grad()` before `backward()`, "
                "or read the `.grad` of the leaf it is computed from",
                [],
            ),
        )
