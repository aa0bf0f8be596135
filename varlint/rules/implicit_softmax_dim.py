"""`softmax` / `log_softmax` / `softmin` without `dim`: it warns and guesses the dimension.

## What it does
Reports `F.softmax(x)`, `F.log_softmax(x)`, `F.softmin(x)`, `nn.Softmax()`, `nn.LogSoftmax()`
and `nn.Softmin()` without a `dim` argument.

## Why is this bad
PyTorch 2.13 warns `UserWarning: Implicit dimension choice for softmax has been deprecated.
Change the call to include dim=X as an argument.` (`log_softmax` / `softmin` for the others),
and picks the dimension from the input's number of dimensions: 0 for 0-, 1- and 3-dim inputs,
1 otherwise. For a 3-dim batch that is the batch dimension, rarely what was meant.

## Example
```python
probs = F.softmax(logits)  # logits: (batch, classes)
```

Use instead:
```python
probs = F.softmax(logits, dim=1)
```

## Fix safety
Safe where the input's number of dimensions is known: `dim=` as PyTorch picks it (same values,
no warning). Display-only otherwise (the module forms, an input of unknown shape).
"""

from __future__ import annotations

import libcst as cst

from varlint.diagnostic import Applicability, Edit
from varlint.rule import Rule, call_argument, has_star_arguments, opening_parenthesis_end, to_position

FUNCTIONS = {
    "torch.nn.functional.softmax": "softmax",
    "torch.nn.functional.log_softmax": "log_softmax",
    "torch.nn.functional.softmin": "softmin",
}
MODULES = {"torch.nn.Softmax": "softmax", "torch.nn.LogSoftmax": "log_softmax", "torch.nn.Softmin": "softmin"}


def implicit_dim(ndim: int) -> int:
    """torch.nn.functional._get_softmax_dim."""
    return 0 if ndim in (0, 1, 3) else 1


def warning(function: str) -> str:
    return (
        f"UserWarning: Implicit dimension choice for {function} has been deprecated. Change the "
        "call to include dim=X as an argument."
    )


class ImplicitSoftmaxDim(Rule):
    code = "VL312"
    name = "implicit-softmax-dim"

    def visit_Call(self, node: cst.Call) -> None:
        if has_star_arguments(node):
            return
        callee = self.context.names.callee(node)
        function = next((FUNCTIONS[name] for name in callee if name in FUNCTIONS), None)
        if function is not None:
            first = call_argument(node, 0, "input")
            if first is None or call_argument(node, 1, "dim") is not None:
                return
            self.report_implicit(node, function, self.function_fix(node, first))
            return
        module = next((MODULES[name] for name in callee if name in MODULES), None)
        if module is not None and call_argument(node, 0, "dim") is None:
            self.report_implicit(node, module, self.module_fix(node))

    def report_implicit(self, node: cst.Call, function: str, fix) -> None:
        self.report(
            node,
            f"`{function}` without `dim`: PyTorch 2.13 warns `{warning(function)}` and picks the "
            "dimension from the input's number of dimensions (0 for 0-, 1- and 3-dim inputs, else 1)",
            fix=fix,
        )

    def known_ndim_fix(self, ndim: int | None, edit_for):
        if ndim is None:
            return self.make_fix(Applicability.DISPLAY_ONLY, "Pass `dim=` (the class dimension)", [])
        dim = implicit_dim(ndim)
        edit = edit_for(dim)
        if edit is None:
            return None
        return self.make_fix(Applicability.SAFE, f"Pass `dim={dim}` (what PyTorch picks for {ndim} dims)", [edit])

    def function_fix(self, node: cst.Call, first: cst.Arg):
        shape = self.context.gradflow.facts(first.value).shape

        def edit_for(dim: int) -> Edit | None:
            if first.keyword is not None or first.value.rpar:
                return None
            end = to_position(self.context.range(first.value).end)
            return Edit(end, end, f", dim={dim}")

        return self.known_ndim_fix(None if shape is None else len(shape), edit_for)

    def module_fix(self, node: cst.Call):
        # Known only for a module called on the spot: `nn.Softmax()(x)`.
        parent = self.context.parents.get(node)
        shape = None
        if isinstance(parent, cst.Call) and parent.func is node and parent.args and not parent.args[0].keyword:
            shape = self.context.gradflow.facts(parent.args[0].value).shape

        def edit_for(dim: int) -> Edit | None:
            if node.args:
                return None
            position = opening_parenthesis_end(self.context, node)
            return None if position is None else Edit(position, position, f"dim={dim}")

        return self.known_ndim_fix(None if shape is None else len(shape), edit_for)
