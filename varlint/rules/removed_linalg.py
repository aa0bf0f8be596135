"""Linear-algebra functions removed from PyTorch (`torch.gels`, `potrf`, `gesv`, ...).

## What it does
Reports `torch.gels`, `torch.potrf`, `torch.potrs`, `torch.potri`, `torch.trtrs`, `torch.gesv`
and `torch.btrifact`, and the same names called as methods of a value known to be a tensor.

## Why is this bad
They were removed in PyTorch 1.x: PyTorch 2.13 raises `AttributeError: module 'torch' has no
attribute 'gels'` (`'Tensor' object has no attribute 'potrf'` for the methods).

## Example
```python
solution, _ = torch.gesv(b, A)
```

Use instead:
```python
solution = torch.linalg.solve(A, b)
```

## Fix safety
Display-only: the `torch.linalg` replacement takes its arguments in another order and returns
other results.
"""

from __future__ import annotations

import libcst as cst

from varlint.diagnostic import Applicability
from varlint.rule import Rule
from varlint.rules.zero_dim_index import method_call_name

REPLACEMENTS = {
    "gels": "torch.linalg.lstsq(A, B) (arguments swapped; the solution is `.solution`)",
    "potrf": "torch.linalg.cholesky(A) (lower triangular by default; potrf was upper)",
    "potrs": "torch.cholesky_solve(B, L)",
    "potri": "torch.cholesky_inverse(L)",
    "trtrs": "torch.linalg.solve_triangular(A, B, upper=...) (arguments swapped)",
    "gesv": "torch.linalg.solve(A, B) (arguments swapped; no LU result)",
    "btrifact": "torch.linalg.lu_factor(A)",
}


class RemovedLinalg(Rule):
    code = "VL309"
    name = "removed-linalg"

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        if name not in REPLACEMENTS:
            return
        if self.context.expression_context(node) != "load":
            return
        if self.context.names.is_(node, f"torch.{name}"):
            error = f"AttributeError: module 'torch' has no attribute '{name}'"
        elif (
            not self.context.names.qualified(node)
            and method_call_name(self.context.parents.get(node)) == name
            and self.context.gradflow.facts(node.value).is_tensor
        ):
            error = f"AttributeError: 'Tensor' object has no attribute '{name}'"
        else:
            return
        self.report(
            node,
            f"`{name}` was removed from PyTorch: PyTorch 2.13 raises `{error}`",
            fix=self.make_fix(Applicability.DISPLAY_ONLY, f"Use {REPLACEMENTS[name]}", []),
        )
