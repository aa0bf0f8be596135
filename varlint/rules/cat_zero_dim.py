"""`torch.cat` of 0-dim tensors (losses, full reductions): it raises since PyTorch 0.4.

## What it does
Reports `torch.cat([...])` / `torch.cat((...))` (also `torch.concat`, `torch.concatenate`) of a
literal list or tuple with an element known to be 0-dim: a loss with the default reduction, a
full reduction (`x.sum()`, `x.mean()`), an element of a 1-D tensor.

## Why is this bad
In PyTorch 0.3 a loss had shape `(1,)` and `torch.cat([loss_a, loss_b])` gave shape `(2,)`.
Since 0.4 such values are 0-dim, and PyTorch 2.13 raises `RuntimeError: zero-dimensional
tensor (at position 0) cannot be concatenated`.

## Example
```python
losses = torch.cat([loss_a, loss_b])
```

Use instead:
```python
losses = torch.stack([loss_a, loss_b])
```

## Fix safety
Safe when every element is known to be 0-dim (and `dim` is absent, 0 or -1):
`torch.stack([...])` gives the values and the shape `(n,)` that 0.3 gave (the original always
crashed). With elements of other or unknown shapes there is no fix.
"""

from __future__ import annotations

import libcst as cst

from varlint.diagnostic import Applicability
from varlint.rule import Rule, call_argument, has_star_arguments

CONCATENATIONS = frozenset({"torch.cat", "torch.concat", "torch.concatenate"})
STACK_DIMS = ("0", "-1")


def zero_dim_error(position: int | str) -> str:
    return f"RuntimeError: zero-dimensional tensor (at position {position}) cannot be concatenated"


class CatZeroDim(Rule):
    code = "VL302"
    name = "cat-zero-dim"

    def visit_Call(self, node: cst.Call) -> None:
        if has_star_arguments(node) or not self.context.names.callee(node) & CONCATENATIONS:
            return
        tensors = call_argument(node, 0, "tensors")
        if tensors is None or not isinstance(tensors.value, (cst.List, cst.Tuple)):
            return
        elements = tensors.value.elements
        if not elements or any(isinstance(element, cst.StarredElement) for element in elements):
            return
        shapes = [self.context.gradflow.facts(element.value).shape for element in elements]
        first_zero_dim = next((index for index, shape in enumerate(shapes) if shape == ()), None)
        if first_zero_dim is None:
            return
        if all(shape is not None for shape in shapes[:first_zero_dim]):
            raised = f"raises `{zero_dim_error(first_zero_dim)}`"
        else:  # an earlier element of unknown shape may be 0-dim too
            raised = "raises a RuntimeError (`zero-dimensional tensor ... cannot be concatenated`)"
        self.report(
            node,
            f"`torch.cat` of a 0-dim tensor (element {first_zero_dim}; 0.3 losses and reductions "
            f"had shape (1,), now they are 0-dim): PyTorch 2.13 {raised}",
            fix=self.stack_fix(node, shapes),
        )

    def stack_fix(self, node: cst.Call, shapes):
        if any(shape != () for shape in shapes) or not isinstance(node.func, cst.Attribute):
            return None
        dim = call_argument(node, 1, "dim")
        if dim is not None and self.context.code(dim.value).replace(" ", "") not in STACK_DIMS:
            return None
        return self.make_fix(
            Applicability.SAFE,
            "Use `torch.stack` (shape (n,), as 0.3 gave)",
            [self.context.edit(node.func.attr, "stack")],
        )
