"""`loss.backward(one)` with a one-element 1-D gradient on a 0-dim loss, which raises.

## What it does
Reports a backward whose gradient argument holds one element but has a dimension
(`torch.FloatTensor([1])`, `torch.ones(1)`) while the output is 0-dim (a full reduction, a loss):
the WGAN idiom `one = torch.FloatTensor([1]); mone = one * -1; errD_real.backward(one)`. Also
`torch.autograd.backward` / `torch.autograd.grad` with such gradients.

## Why is this bad
Up to PyTorch 0.3 losses had shape `(1,)`, so a gradient of shape `(1,)` matched. Since 0.4 a
reduced loss is 0-dim and PyTorch raises
`RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).`

## Example
```python
one = torch.FloatTensor([1])
mone = one * -1
errD_real = netD(real).mean()
errD_real.backward(one)
errD_fake = netD(fake).mean()
errD_fake.backward(mone)
```

Use instead:
```python
errD_real.backward()
(-errD_fake).backward()
```

## Fix safety
When the gradient is known to be the literal tensor `1` (`one`), `loss.backward(one)` becomes
`loss.backward()`; when it is `-1` (`mone`), `(-loss).backward()`. Both are safe: the original
raises on every run, and the rewrite computes exactly the gradients the 0.3 code computed
(`backward()` seeds the gradient 1, and `(-loss).backward()` equals `loss.backward(tensor(-1.))`).
Other arguments (`retain_graph=True`) are kept. Any other gradient gets no fix.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import numel, torch_size
from varlint.diagnostic import Applicability
from varlint.rule import Rule
from varlint.rules.backward_without_grad import gradient_accepted
from varlint.rules.variable_wrapper import receiver_code, short_code

ERROR = (
    "RuntimeError: Mismatch in shape: grad_output[{index}] has a shape of {gradient} and "
    "output[{index}] has a shape of torch.Size([])."
)


class BackwardGradientShape(Rule):
    code = "VL106"
    name = "backward-gradient-shape"

    def visit_Call(self, node: cst.Call) -> None:
        flow = self.context.gradflow
        backward = flow.backward_call(node)
        if backward is None or backward.gradients is None:
            return
        # PyTorch checks the outputs in order and raises at the first bad gradient.
        for index, (output, gradient) in enumerate(zip(backward.outputs, backward.gradients)):
            output_facts = flow.facts(output)
            gradient_facts = None if gradient is None else flow.facts(gradient)
            if gradient_facts is not None and self.mismatched(output_facts, gradient_facts):
                message = ERROR.format(index=index, gradient=torch_size(gradient_facts.shape))
                self.report(
                    node,
                    f"`{short_code(self.context.code(node))}` raises `{message}`: "
                    f"`{short_code(self.context.code(output))}` is 0-dim, and the gradient "
                    f"`{short_code(self.context.code(gradient))}` has shape {list(gradient_facts.shape)}",
                    fix=self.fix(node, backward.method, output, gradient, gradient_facts.constant),
                )
                return
            if not gradient_accepted(output_facts, gradient_facts):
                return

    @staticmethod
    def mismatched(output, gradient) -> bool:
        return (
            output.shape == ()
            and gradient.is_tensor
            and gradient.shape is not None
            and len(gradient.shape) >= 1
            and numel(gradient.shape) == 1
        )

    def fix(self, call: cst.Call, method: bool, output, gradient, constant):
        """`t.backward(one)` -> `t.backward()`, `t.backward(mone)` -> `(-t).backward()`."""
        gradient_args = [arg for arg in call.args if arg.value is gradient]
        rest = [arg for arg in call.args if arg.value is not gradient]
        if (
            not method
            or constant not in (1, -1)
            or len(gradient_args) != 1
            or any(arg.keyword is None for arg in rest)  # positional arguments would shift
        ):
            return None
        arguments = ", ".join(self.context.code(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for arg in rest)
        tensor = receiver_code(self.context, output)
        if constant == 1:
            replacement, message = f"{tensor}.backward({arguments})", f"Replace with `{tensor}.backward()`"
        else:
            negated = self.context.code(output)
            negated = f"-{tensor}" if negated == tensor else f"-({negated})"
            replacement, message = f"({negated}).backward({arguments})", f"Replace with `({negated}).backward()`"
        return self.make_fix(Applicability.SAFE, message, [self.context.edit(call, replacement)])
