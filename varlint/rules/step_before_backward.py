"""An optimizer step between two backward calls through the same parameters: the second one raises.

## What it does
Reports a `.backward()` (or `torch.autograd.backward(...)`) whose graph goes through a module
call made before an `opt.step()` that changed that module's parameters in place, when the
module's graph saved a parameter (a weighted layer applied to something that requires grad),
the step had gradients for it (a `.backward()` through the module since the last reset) and
the graph was kept (`retain_graph=True`, or a separate graph not yet differentiated). The
common shape is GAN code: `d_loss.backward(retain_graph=True); opt_d.step()` and then
`g_loss.backward()` through `D`'s outputs computed before the step.

It stays silent when the graph is recomputed after the step (`output = netD(fake)` after
`optimizerD.step()`), when the step comes after both backward calls, when the second graph does
not go through the stepped module (`netD(fake.detach())`, a step of the other network), when
the module's graph holds no parameter (one `nn.Linear` applied to data that does not require
grad), and when what happens is not known (a branch that may not run, a helper call, a graph
a backward without `retain_graph` may have freed).

## Why is this bad
Since PyTorch 1.5 optimizer steps are in-place operations on the parameters and bump their
version counters. A graph that saved a parameter before the step can no longer be
differentiated: PyTorch 2.13 raises `RuntimeError: one of the variables needed for gradient
computation has been modified by an inplace operation: [torch.FloatTensor [2, 1]], which is
output 0 of AsStrided, is at version 1; expected version 0 instead. Hint: ...` (the tensor, its
shape and the versions depend on the model). In 0.3 the step wrote through `.data` and the
second backward ran, with gradients computed from the old parameter values.

## Example
```python
d_real, d_fake = netD(real), netD(fake)
d_loss = criterion(d_real, ones) + criterion(d_fake, zeros)
d_loss.backward(retain_graph=True)
optimizerD.step()
g_loss = criterion(d_fake, ones)
g_loss.backward()
```

Use instead:
```python
d_loss = criterion(netD(real), ones) + criterion(netD(fake.detach()), zeros)
d_loss.backward()
optimizerD.step()
g_loss = criterion(netD(fake), ones)  # recomputed with the updated discriminator
g_loss.backward()
```

## Fix safety
No fix: do both backward calls before the step, or recompute the graph after it. The two
differ (the 0.3 program used the old parameters for the second gradient), so the choice is the
author's.
"""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from varlint.analysis.stale_graphs import StaleBackward, StaleGraphs
from varlint.rule import Rule, short_code

ERROR = ("RuntimeError: one of the variables needed for gradient computation has been modified by "
         "an inplace operation: ...")


class StepBeforeBackward(Rule):
    code = "VL307"
    name = "step-before-backward"

    @cached_property
    def findings(self) -> dict[cst.Call, StaleBackward]:
        return {finding.backward: finding for finding in StaleGraphs(self.context).findings}

    @cached_property
    def steps(self) -> bool:
        return "step" in self.context.text  # no optimizer step: nothing to find

    def visit_Call(self, node: cst.Call) -> None:
        if not self.steps:
            return
        finding = self.findings.get(node)
        if finding is None:
            return
        step, forward = finding.step, finding.forward
        self.report(
            node,
            f"`{self.snippet(node)}` goes back through `{self.snippet(forward.call)}` "
            f"(line {self.line(forward.call)}), whose parameters `{self.snippet(step.call)}` "
            f"(line {self.line(step.call)}) changed in place after `{self.snippet(step.first.call)}` "
            f"(line {self.line(step.first.call)}): optimizer steps are in-place, and PyTorch 2.13 "
            f"raises `{ERROR}`",
        )

    def snippet(self, node: cst.CSTNode) -> str:
        return short_code(self.context.code(node), 50)

    def line(self, node: cst.CSTNode) -> int:
        return self.context.range(node).start.line
