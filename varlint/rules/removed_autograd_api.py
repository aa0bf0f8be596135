"""Autograd API removed or renamed since PyTorch 0.3 (`retain_variables=`, `.creator`, ...).

## What it does
Reports the spellings of the 0.1-0.3 autograd API that PyTorch 2.13 no longer accepts or warns
about:
- `y.backward(retain_variables=True)` and `torch.autograd.backward(..., retain_variables=...)`;
- `torch.autograd.backward(variables=...)` (now `tensors=`);
- `torch.autograd.backward(..., grad_variables=...)`, and `y.backward(grad_variables=...)`;
- `y.creator` (now `y.grad_fn`), read on a value known to be a tensor;
- `action.reinforce(reward)` on a value known to be a tensor;
- `size_average=` / `reduce=` keywords of a loss module (`nn.MSELoss(size_average=False)`) or a
  functional loss (`F.nll_loss(out, y, size_average=False)`); not when both are `None` (their
  defaults, which PyTorch ignores), nor when passed positionally.

`x.cuda(async=True)` belongs here too, but since Python 3.7 `async` is a keyword, so the file
does not even parse: it is reported as VL900 (`syntax-error`); write `x.cuda(non_blocking=True)`.

## Why is this bad
On PyTorch 2.13:
- `retain_variables=` raises `TypeError: Tensor.backward() got an unexpected keyword argument
  'retain_variables'`;
- `variables=` raises `TypeError: backward() got an unexpected keyword argument 'variables'`;
- `grad_variables=` warns `FutureWarning: `grad_variables` is deprecated. Use `grad_tensors`
  instead.` in `torch.autograd.backward`, and `Tensor.backward()` rejects it with a `TypeError`;
- `y.creator` raises `AttributeError: 'Tensor' object has no attribute 'creator'`;
- `x.reinforce(r)` raises `RuntimeError: reinforce() was removed. Use torch.distributions
  instead. ...`;
- `size_average=` / `reduce=` warn `UserWarning: size_average and reduce args will be
  deprecated, please use reduction='sum' instead.` (with the matching value).

## Example
```python
loss = nn.MSELoss(size_average=False)(out, y)
loss.backward(retain_variables=True)
print(loss.creator)
```

Use instead:
```python
loss = nn.MSELoss(reduction='sum')(out, y)
loss.backward(retain_graph=True)
print(loss.grad_fn)
```

## Fix safety
Safe: `retain_variables=` -> `retain_graph=`; `variables=` -> `tensors=` (the original
raised); `grad_variables=` -> `grad_tensors=` in
`torch.autograd.backward` (identical, minus the warning) and -> `gradient=` in `Tensor.backward`;
`.creator` -> `.grad_fn` (the original raised); literal `size_average=` / `reduce=` values ->
the `reduction=` PyTorch itself derives from them (`torch/nn/_reduction.py`: both true or
unset -> `'mean'`, only `reduce` true -> `'sum'`, `reduce=False` -> `'none'`, overriding any
`reduction=` given too), which computes the same values without the warning.
Display-only: `size_average=` / `reduce=` with values that are not literals, and `reinforce`
(the replacement is a `torch.distributions` rewrite of the policy code).
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.torch_api import LEGACY_REDUCTION_LOSSES
from varlint.diagnostic import Applicability, Edit, Position
from varlint.rule import Rule, to_position
from varlint.rules.zero_dim_index import method_call_name

# The first line of the message; the rest shows the `torch.distributions` rewrite.
REINFORCE_REMOVED = "RuntimeError: reinforce() was removed."
GRAD_VARIABLES_WARNING = "FutureWarning: `grad_variables` is deprecated. Use `grad_tensors` instead."
REDUCTION_WARNING = (
    "UserWarning: size_average and reduce args will be deprecated, please use "
    "reduction='{}' instead."
)
LEGACY_REDUCTION_KEYWORDS = ("size_average", "reduce")
LITERALS = {"True": True, "False": False, "None": None}


def keyword_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == keyword), None)


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """torch.nn._reduction.legacy_get_string, as PyTorch 2.13 computes it."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


class RemovedAutogradApi(Rule):
    code = "VL007"
    name = "removed-autograd-api"

    def visit_Call(self, node: cst.Call) -> None:
        callee = self.context.names.callee(node)
        autograd_backward = "torch.autograd.backward" in callee
        if autograd_backward or (method_call_name(node) == "backward" and not callee):
            self.check_backward_keywords(node, autograd_backward)
        elif method_call_name(node) == "reinforce" and self.is_known_tensor(node.func.value):
            self.report(
                node,
                f"`reinforce()` was removed: PyTorch 2.13 raises `{REINFORCE_REMOVED}` (\"Use "
                "torch.distributions instead.\", with an example)",
                fix=self.make_fix(
                    Applicability.DISPLAY_ONLY,
                    "Sample with `m = torch.distributions.Categorical(probs)` and backpropagate "
                    "`-m.log_prob(action) * reward`",
                    [],
                ),
            )
        elif not LEGACY_REDUCTION_LOSSES.isdisjoint(callee):
            self.check_legacy_reduction(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "creator":
            return
        if self.context.expression_context(node) != "load":
            return  # `obj.creator = ...` defines the attribute: not a tensor's
        if not self.is_known_tensor(node.value):
            return
        self.report(
            node,
            "`.creator` was renamed `.grad_fn` in PyTorch 0.2: PyTorch 2.13 raises "
            "`AttributeError: 'Tensor' object has no attribute 'creator'`",
            fix=self.make_fix(
                Applicability.SAFE,
                "Replace `.creator` with `.grad_fn`",
                [self.context.edit(node.attr, "grad_fn")],
            ),
        )

    # --- backward(retain_variables=..., grad_variables=...) --------------------------------

    def check_backward_keywords(self, call: cst.Call, autograd_backward: bool) -> None:
        function = "backward()" if autograd_backward else "Tensor.backward()"
        retain = keyword_arg(call, "retain_variables")
        if retain is not None:
            self.rename_keyword(
                call,
                retain,
                "retain_graph",
                f"`retain_variables=` was renamed `retain_graph=`: PyTorch 2.13 raises `TypeError: "
                f"{function} got an unexpected keyword argument 'retain_variables'`",
            )
        variables = keyword_arg(call, "variables") if autograd_backward else None
        if variables is not None:
            self.rename_keyword(
                call,
                variables,
                "tensors",
                "`variables=` was renamed `tensors=`: PyTorch 2.13 raises `TypeError: backward() "
                "got an unexpected keyword argument 'variables'`",
            )
        grad_variables = keyword_arg(call, "grad_variables")
        if grad_variables is not None:
            if autograd_backward:
                new_keyword = "grad_tensors"
                happens = f"warns `{GRAD_VARIABLES_WARNING}`"
            else:
                new_keyword = "gradient"
                happens = (
                    f"raises `TypeError: {function} got an unexpected keyword argument "
                    "'grad_variables'`"
                )
            self.rename_keyword(
                call,
                grad_variables,
                new_keyword,
                f"`grad_variables=` is `{new_keyword}=` now: PyTorch 2.13 {happens}",
            )

    def rename_keyword(self, call: cst.Call, arg: cst.Arg, new_keyword: str, message: str) -> None:
        # With the new keyword given as well, renaming would pass it twice.
        fix = None
        if keyword_arg(call, new_keyword) is None:
            fix = self.make_fix(
                Applicability.SAFE,
                f"Rename to `{new_keyword}=`",
                [self.context.edit(arg.keyword, new_keyword)],
            )
        self.report(arg, message, fix=fix)

    # --- size_average= / reduce= -----------------------------------------------------------

    def check_legacy_reduction(self, call: cst.Call) -> None:
        legacy = [
            arg
            for arg in call.args
            if arg.keyword is not None and arg.keyword.value in LEGACY_REDUCTION_KEYWORDS
        ]
        if not legacy:
            return
        values = {arg.keyword.value: literal_value(arg.value) for arg in legacy}
        if all(value is None for value in values.values()):
            return  # `size_average=None` is the default: PyTorch ignores it and does not warn
        if any(value is ... for value in values.values()):
            self.report(
                legacy[0],
                "`size_average=` / `reduce=` are deprecated: PyTorch 2.13 warns and maps them to "
                "`reduction=` ('mean' when both are true, 'sum' when only `reduce` is, 'none' "
                "when `reduce` is false)",
                fix=self.make_fix(
                    Applicability.DISPLAY_ONLY, "Pass `reduction='mean'`, `'sum'` or `'none'`", []
                ),
            )
            return
        reduction = legacy_reduction(values.get("size_average"), values.get("reduce"))
        self.report(
            legacy[0],
            f"`size_average=` / `reduce=` are deprecated: PyTorch 2.13 warns "
            f"`{REDUCTION_WARNING.format(reduction)}`",
            fix=self.make_fix(
                Applicability.SAFE,
                f"Replace with `reduction='{reduction}'`",
                self.reduction_edits(call, legacy, reduction),
            ),
        )

    def reduction_edits(self, call: cst.Call, legacy: list[cst.Arg], reduction: str) -> list[Edit]:
        """The first of the legacy keywords (and any `reduction=`, which they override) becomes
        `reduction='...'`; the others are removed."""
        replaced = [*legacy, *filter(None, [keyword_arg(call, "reduction")])]
        replaced.sort(key=call.args.index)
        edits = [self.context.edit(replaced[0], f"reduction='{reduction}'")]
        edits.extend(self.removal(call, arg) for arg in replaced[1:])
        return edits

    def removal(self, call: cst.Call, arg: cst.Arg) -> Edit:
        """Remove a (never first) argument: its whole lines when it stands on lines of its own,
        so comments on the neighbouring lines stay; else with the separator before it."""
        index = call.args.index(arg)
        previous = call.args[index - 1]
        if starts_line(previous.comma) and starts_line(arg.comma):
            if index + 1 < len(call.args):
                next_line = self.context.range(call.args[index + 1]).start.line
            else:
                next_line = self.context.range(call).end.line  # the closing parenthesis
            first_line = self.context.range(arg).start.line
            return Edit(Position(first_line, 1), Position(next_line, 1), "")
        start, end = self.context.range(previous).end, self.context.range(arg).end
        return Edit(to_position(start), to_position(end), "")

    def is_known_tensor(self, expression: cst.BaseExpression) -> bool:
        return self.context.gradflow.facts(expression).is_tensor


def literal_value(expression: cst.BaseExpression):
    """True / False / None for those literals, `...` for anything else."""
    if isinstance(expression, cst.Name) and expression.value in LITERALS:
        return LITERALS[expression.value]
    return ...


def starts_line(comma) -> bool:
    """Is what follows this comma on a new line?"""
    return isinstance(comma, cst.Comma) and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)

