"""`x.data.resize_(...)`: since PyTorch 0.4 it resizes a new tensor object, not `x`.

## What it does
Reports `x.data.resize_(...)` and `x.data.resize_as_(...)` where `x` is known to be a tensor
(detection code: `im_data.data.resize_(im_blob.size()).copy_(im_blob)`).

## Why is this bad
In 0.3, `x.data` was the tensor inside the Variable `x`, so resizing it resized `x`. Since 0.4
`.data` returns a new tensor object on every access (sharing storage): on PyTorch 2.13 the call
runs, but `x` keeps its old shape, and the values copied after it do not land in `x` the way
the program expects.

## Example
```python
im_data.data.resize_(blob.size()).copy_(blob)
```

Use instead:
```python
with torch.no_grad():
    im_data.resize_(blob.size()).copy_(blob)
```

## Fix safety
Display-only: resize `x` itself under `torch.no_grad()`, or bind a new tensor
(`im_data = blob.clone()`); which one fits depends on who else holds `x`.
"""

from __future__ import annotations

import libcst as cst

from varlint.diagnostic import Applicability
from varlint.rule import Rule, short_code
from varlint.rules.zero_dim_index import method_call_name

RESIZES = ("resize_", "resize_as_")


class DataResize(Rule):
    code = "VL305"
    name = "data-resize"

    def visit_Call(self, node: cst.Call) -> None:
        method = method_call_name(node)
        if method not in RESIZES:
            return
        data = node.func.value
        if not (isinstance(data, cst.Attribute) and data.attr.value == "data"):
            return
        if not self.context.gradflow.facts(data.value).is_tensor:
            return
        tensor = short_code(self.context.code(data.value))
        self.report(
            node,
            f"`{tensor}.data.{method}(...)` resizes a new tensor object: since PyTorch 0.4 `.data` "
            f"is not `{tensor}` itself, so on PyTorch 2.13 `{tensor}` keeps its old shape",
            fix=self.make_fix(
                Applicability.DISPLAY_ONLY,
                f"Resize `{tensor}` itself under `with torch.no_grad():`, or bind a new tensor",
                [],
            ),
        )
