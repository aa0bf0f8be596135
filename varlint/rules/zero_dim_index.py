"""Indexing a 0-dim tensor (`loss.data[0]`), which raises `IndexError` on modern PyTorch.

## What it does
Reports `t.data[0]` and `t[0]`, and the variants `t.cpu().data[0]`, `t.data.numpy()[0]`,
`t.data.cpu().numpy()[0]` and `t.data.tolist()[0]`, where `t` is known to be a 0-dim tensor:
the result of a full reduction (`x.sum()`, `x.mean()`, `x.norm()` ... without `dim`), of a loss
module (`criterion = nn.MSELoss(); loss = criterion(out, y)`) or a functional loss
(`F.mse_loss(out, y)`) with the default reduction, also when a class holds the loss module
(`self.criterion = nn.BCELoss().cuda()` in any method) or the module is the user's own, in this
file or another module of the tree, whose `forward` returns a full reduction (see
analysis/loss_classes.py); sums of these with numbers (`self.lambda_ = 0.5`, a command-line
option of `parser.parse_args()`, `n = x.size(0)`, `n = imgs.shape[0]`, `k = min(max(k, 0), 1)`)
stay 0-dim, and so does the value of a function of this file whose every `return` is 0-dim,
inside such sums (`d_loss = -torch.mean(d_real) + lambda_gp * gradient_penalty(D, x)`), or of an
element-wise function of this file applied to a 0-dim value (`log(Z)`).

Across modules of the tree (analysis/loss_classes.py, analysis/gradflow/summaries.py): a loss
object bound at the top of another module (`from model import criterion`), a function of
another module whose every `return` is a full reduction (`from model import step_loss`), and a
method whose every `return` is one (`D.compute_loss(x, gt)` with `D = MultiDiscriminator(...)`
of `from models import *`, or `self.pullaway_loss(...)` of the class itself). A value that is
the number 0 or a 0-dim tensor (`loss = 0; loss += criterion(out, y)`, a `sum([...])` of
losses) is reported behind `.data` or a method only: a number has no `.data`, so where `[0]`
runs the value is the tensor. A `.backward()` without a gradient argument says nothing of the
shape: it works on any one-element tensor, `(1,)` included.

## Why is this bad
Up to PyTorch 0.3 a loss had shape `(1,)`, and `loss.data[0]` was how a training loop read it as
a Python number. Since 0.4 losses and full reductions are 0-dim tensors, and on PyTorch 2.13
indexing one raises
`IndexError: invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number`.
The numpy variant raises `IndexError: too many indices for array: array is 0-dimensional, but 1
were indexed` (`.numpy()` of a 0-dim tensor is a 0-d array), and `.tolist()` of a 0-dim tensor
is a Python number, so `[0]` raises `TypeError: 'float' object is not subscriptable`.

Nothing is reported where the shape is not known: on a batch, `x.data[0]` is the first row,
a legitimate index.

## Example
```python
criterion = nn.MSELoss()
loss = criterion(output, target)
loss.backward()
print(loss.data[0])
```

Use instead:
```python
print(loss.item())
```

## Fix safety
The fix replaces the whole expression with `t.item()` and is safe: the original raises on every
run, and `t.item()` returns the Python number the 0.3 code read (a `float`, or an `int` for an
integer tensor), without warning even when `t` requires grad.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from varlint.analysis.gradflow import RequiresGrad
from varlint.analysis.torch_api import SAME_SHAPE_METHODS
from varlint.diagnostic import Applicability
from varlint.rule import FileContext, Rule, replace_message

NUMPY_INDEX_ERROR = (
    "IndexError: too many indices for array: array is 0-dimensional, but 1 were indexed"
)
NUMPY_REQUIRES_GRAD_ERROR = (
    "RuntimeError: Can't call numpy() on Tensor that requires grad. "
    "Use tensor.detach().numpy() instead."
)
TOLIST_TYPE_ERROR = "TypeError: 'float' object is not subscriptable"


@dataclass(frozen=True)
class ZeroDimIndexing:
    """`tensor...[0]` where `tensor` is 0-dim."""

    tensor: cst.BaseExpression  # the 0-dim tensor, with `.data`, `.cpu()` ... peeled off
    conversion: str | None  # "numpy" / "tolist" when `[0]` indexes the converted value
    detached: bool  # the chain goes through `.data` or `.detach()` before the conversion
    requires_grad: bool  # known to require grad (then a bare `.numpy()` raises first)


def method_call_name(node: cst.CSTNode) -> str | None:
    """`x.name(...)` -> "name"."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value
    return None


def is_index_zero(subscript: cst.Subscript) -> bool:
    if len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    return (
        isinstance(index, cst.Index)
        and index.star is None
        and isinstance(index.value, cst.Integer)
        and index.value.evaluated_value == 0
    )


def peel_same_shape(expression: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
    """Strip `.data`, `.cpu()`, `.detach()` ... (same shape as their receiver); also say
    whether `.data` or `.detach()` was among them."""
    detached = False
    while True:
        if isinstance(expression, cst.Attribute) and expression.attr.value == "data":
            detached = True
            expression = expression.value
        elif method_call_name(expression) in SAME_SHAPE_METHODS:
            detached = detached or method_call_name(expression) == "detach"
            expression = expression.func.value
        else:
            return expression, detached


def find_zero_dim_index(context: FileContext, subscript: cst.Subscript) -> ZeroDimIndexing | None:
    """The 0-dim tensor that `subscript` indexes with `[0]`, if the shared analysis knows it is
    0-dim (shared with VL005, which leaves these expressions to this rule)."""
    if not is_index_zero(subscript):
        return None
    indexed = subscript.value
    conversion = method_call_name(indexed)
    if conversion in ("numpy", "tolist"):
        indexed = indexed.func.value
    else:
        conversion = None
    tensor, detached = peel_same_shape(indexed)
    facts = context.gradflow.facts(tensor)
    # A value that is a number or a 0-dim tensor (`loss = 0; loss += criterion(...)`): behind
    # `.data` or a method, `[0]` runs only if it is the tensor (a number has no `.data`).
    summaries = context.summaries
    if (
        facts.shape != ()
        and not (facts.shape_if_tensor == () and tensor is not subscript.value)
        and not summaries.call_returns_zero_dim(tensor)
        and not summaries.name_returns_zero_dim(tensor)
    ):
        return None
    return ZeroDimIndexing(tensor, conversion, detached, facts.requires_grad is RequiresGrad.YES)


class ZeroDimIndex(Rule):
    code = "VL004"
    name = "zero-dim-index"

    def visit_Subscript(self, node: cst.Subscript) -> None:
        # `loss.data[0] = v` fails too, but `.item()` cannot be a target: not this rule's fix.
        if self.context.expression_context(node) != "load":
            return
        found = find_zero_dim_index(self.context, node)
        if found is None:
            return
        tensor = self.context.code(found.tensor)
        replacement = f"{tensor}.item()"
        self.report(
            node,
            f"`{describe(tensor)}` is a 0-dim tensor: {what_happens(found)} on PyTorch 2.13; "
            "read its value with `.item()`",
            fix=self.make_fix(
                Applicability.SAFE,
                replace_message(replacement),
                [self.context.edit(node, replacement)],
            ),
        )


def what_happens(found: ZeroDimIndexing) -> str:
    if found.conversion == "tolist":
        return (
            f"`.tolist()` returns a Python number, so `[0]` raises `{TOLIST_TYPE_ERROR}` "
            "(`'int'` for an integer tensor)"
        )
    if found.conversion == "numpy":
        if found.requires_grad and not found.detached:
            return f"`.numpy()` raises `{NUMPY_REQUIRES_GRAD_ERROR}`"
        return f"`.numpy()` returns a 0-d array, so `[0]` raises `{NUMPY_INDEX_ERROR}`"
    # PyTorch's whole text (with its C++ hint) is in the documentation above.
    return "indexing it raises `IndexError` (invalid index of a 0-dim tensor)"


def describe(code: str) -> str:
    """Source text short enough to quote in a message."""
    return code if len(code) <= 60 and "\n" not in code else code.split("\n", 1)[0][:57] + "..."
