"""`backward()` without a gradient on a tensor with more than one element, which raises.

## What it does
Reports `y.backward()` and `torch.autograd.backward(y)` without a gradient argument, where `y`
requires grad and its shape is known to hold more than one element (`y = w * 2` for a vector
`w`, a reduction over one dimension only, a matrix product).

## Why is this bad
Backward without a gradient starts from an implicit gradient of 1, which exists only for a
one-element output. PyTorch raises
`RuntimeError: grad can be implicitly created only for scalar outputs`.

## Example
```python
w = torch.ones(3, requires_grad=True)
y = w * 2
y.backward()
```

Use instead:
```python
y.sum().backward()  # or y.backward(torch.ones_like(y))
```

## Fix safety
Display-only: `y.sum().backward()` and `y.backward(torch.ones_like(y))` give the same
gradients, but whether the sum is the intended objective is the author's decision.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import RequiresGrad, numel
from varlint.diagnostic import Applicability
from varlint.rule import Rule, receiver_code, short_code

ERROR = "RuntimeError: grad can be implicitly created only for scalar outputs"


class BackwardNonScalar(Rule):
    code = "VL105"
    name = "backward-non-scalar"

    def visit_Call(self, node: cst.Call) -> None:
        flow = self.context.gradflow
        backward = flow.backward_call(node)
        if backward is None or len(backward.outputs) != 1 or backward.gradients != (None,):
            return
        output = backward.outputs[0]
        facts = flow.facts(output)
        if facts.requires_grad is not RequiresGrad.YES or facts.shape is None or numel(facts.shape) <= 1:
            return
        shown = short_code(self.context.code(output))
        message = (
            f"`{short_code(self.context.code(node))}` raises `{ERROR}`: `{shown}` has shape "
            f"{list(facts.shape)} ({numel(facts.shape)} elements), and backward without a "
            f"gradient needs a one-element tensor"
        )
        edits = []
        if backward.method and not node.args:
            edits = [self.context.edit(node, f"{receiver_code(self.context, output)}.sum().backward()")]
        fix = self.make_fix(
            Applicability.DISPLAY_ONLY,
            f"Backpropagate a scalar: `{shown}.sum().backward()`, or pass the gradient "
            f"`{shown}.backward(torch.ones_like({shown}))`",
            edits,
        )
        self.report(node, message, fix=fix)
