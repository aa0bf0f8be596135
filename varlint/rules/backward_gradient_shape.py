"""A backward gradient of another shape than the output (`loss.backward(one)` on a 0-dim loss): it raises.

## What it does
Reports a backward whose gradient argument has a known shape different from the output's
known shape. The case that matters in legacy code is a one-element gradient with a dimension
(`torch.FloatTensor([1])`, `torch.ones(1)`) for a 0-dim output (a full reduction, a loss): the
WGAN idiom `one = torch.FloatTensor([1]); mone = one * -1; errD_real.backward(one)`. Also
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
from varlint.rule import receiver_code, replace_message, short_code

ERROR = (
    "RuntimeError: Mismatch in shape: grad_output[{index}] has a shape of {gradient} and "
    "output[{index}] has a shape of {output}."
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
                self.report_mismatch(node, backward.method, index, output, gradient, output_facts, gradient_facts)
                return
            if not gradient_accepted(output_facts, gradient_facts):
                return

    def report_mismatch(self, call, method: bool, index: int, output, gradient, output_facts, gradient_facts):
        error = ERROR.format(
            index=index, gradient=torch_size(gradient_facts.shape), output=torch_size(output_facts.shape)
        )
        fix = None
        if output_facts.shape == () and numel(gradient_facts.shape) == 1:  # the `one` / `mone` idiom
            fix = self.fix(call, method, output, gradient, gradient_facts.constant)
        self.report(
            call,
            f"`{short_code(self.context.code(call))}` raises `{error}`: the gradient "
            f"`{short_code(self.context.code(gradient))}` has shape {list(gradient_facts.shape)} and "
            f"`{short_code(self.context.code(output))}` has shape {list(output_facts.shape)}; a "
            f"gradient needs the output's exact shape",
            fix=fix,
        )

    @staticmethod
    def mismatched(output, gradient) -> bool:
        known = output.shape is not None and gradient.is_tensor and gradient.shape is not None
        return known and gradient.shape != output.shape

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
        without_commas = [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in rest]
        arguments = ", ".join(self.context.code(arg) for arg in without_commas)
        tensor = receiver_code(self.context, output)
        if constant == 1:
            seeded = tensor
        else:
            code = self.context.code(output)
            seeded = f"(-{tensor})" if code == tensor else f"(-({code}))"
        replacement = f"{seeded}.backward({arguments})"
        message = replace_message(f"{seeded}.backward()")
        return self.make_fix(Applicability.SAFE, message, [self.context.edit(call, replacement)])
