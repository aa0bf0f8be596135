"""`backward()` on a value that does not require grad, which raises `RuntimeError`.

## What it does
Reports `y.backward()`, `torch.autograd.backward(y)` and `torch.autograd.grad(y, ...)` where
`y` is known not to require grad, and names the cause with its line: nothing `y` is computed
from requires grad (every tensor was created with the default `requires_grad=False`, as
`Variable(x)` does); `y` was computed under `torch.no_grad()`, `torch.set_grad_enabled(False)`
or in a function decorated `@torch.no_grad()` (whatever its inputs are: the parameters of a
function too, `with torch.no_grad(): loss = criterion(model(x), y)` then `loss.backward()`); the graph was cut by `.detach()`, `.data`,
`Variable(...)` around a tensor that required grad, or `torch.tensor(loss.item())` / a numpy
round trip; the parameters were frozen with `requires_grad = False`; or `y` holds integers
(`argmax`, comparisons, `.long()`).

## Why is this bad
PyTorch raises
`RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn`,
usually far from the line that made the graph disappear. In PyTorch 0.3 code the cause is
often a `Variable(x)` without `requires_grad=True`, or `volatile=True` replaced by
`torch.no_grad()` around too much code.

Nothing is reported when the analysis does not know: an output of a model or of a function
of your own, a function parameter, an attribute, or a value that requires grad on one branch
only.

## Example
```python
x = Variable(torch.ones(2, 2))
y = (x + 2).mean()
y.backward()
```

Use instead:
```python
x = torch.ones(2, 2, requires_grad=True)
y = (x + 2).mean()
y.backward()
```

## Fix safety
No fix: which tensor should require grad (or whether the backward should go) is the author's
decision. The message points at the line where the graph was lost.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from varlint.analysis.gradflow import RequiresGrad, ValueFacts, numel
from varlint.rule import Rule, short_code

ERROR = "RuntimeError: element {index} of tensors does not require grad and does not have a grad_fn"


def gradient_accepted(output: ValueFacts, gradient: ValueFacts | None) -> bool:
    """Whether PyTorch's gradient checks (run for every output before the engine starts) surely
    pass for this output: an explicit gradient of the output's shape, or an implicit one where
    the output does not require grad or holds one element."""
    if gradient is not None:
        return output.shape is not None and gradient.shape == output.shape
    if output.requires_grad is RequiresGrad.NO:
        return True
    return output.shape is not None and numel(output.shape) == 1


def computed_without_grad(facts: ValueFacts) -> ValueFacts:
    """A value computed with grad disabled is NO whatever its inputs were (a function's
    parameters under `with torch.no_grad():`): the backward of it raises if it is a tensor,
    and something whose `.backward()` is called is one."""
    if facts.requires_grad is RequiresGrad.UNKNOWN and facts.no_grad_if_tensor is not None:
        return replace(facts, requires_grad=RequiresGrad.NO, reason=facts.no_grad_if_tensor)
    return facts


class BackwardWithoutGrad(Rule):
    code = "VL101"
    name = "backward-without-grad"

    def visit_Call(self, node: cst.Call) -> None:
        flow = self.context.gradflow
        backward = flow.backward_call(node)
        if backward is None or backward.gradients is None:
            return
        outputs = [computed_without_grad(flow.facts(output)) for output in backward.outputs]
        gradients = [None if g is None else flow.facts(g) for g in backward.gradients]
        if not all(gradient_accepted(o, g) for o, g in zip(outputs, gradients)):
            return
        # The engine then raises for the first output that does not require grad.
        for index, facts in enumerate(outputs):
            if facts.requires_grad is RequiresGrad.YES:
                continue
            if facts.requires_grad is RequiresGrad.NO:
                self.report(node, self.message(node, backward.outputs[index], index, facts))
            return

    def message(self, call: cst.Call, output: cst.BaseExpression, index: int, facts: ValueFacts) -> str:
        shown = short_code(self.context.code(output))
        error = ERROR.format(index=index)
        message = f"`{short_code(self.context.code(call))}` raises `{error}`: `{shown}` does not require grad"
        if facts.reason is not None:
            message += f" ({facts.reason.describe()})"
        return message
