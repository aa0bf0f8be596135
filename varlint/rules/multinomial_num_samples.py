"""`multinomial()` without `num_samples`: PyTorch 0.3 drew one sample, PyTorch 2.x raises.

## What it does
Reports `p.multinomial()` on a value known to be a tensor, and `torch.multinomial(p)`, when
`num_samples` is not given.

## Why is this bad
PyTorch 0.3 defaulted `num_samples` to 1. On PyTorch 2.13 the argument is required:
`TypeError: multinomial() missing 1 required positional arguments: "num_samples"`.

## Example
```python
probs = F.softmax(logits, dim=1)
action = probs.multinomial()
```

Use instead:
```python
action = probs.multinomial(1)
```

## Fix safety
Safe: `num_samples=1` is added as the first argument after the probabilities (0.3's default;
the original always crashed).
"""

from __future__ import annotations

import libcst as cst

from varlint.diagnostic import Applicability, Edit
from varlint.rule import Rule, call_argument, has_star_arguments, opening_parenthesis_end, to_position
from varlint.rules.zero_dim_index import method_call_name

MISSING_NUM_SAMPLES = 'TypeError: multinomial() missing 1 required positional arguments: "num_samples"'


class MultinomialNumSamples(Rule):
    code = "VL301"
    name = "multinomial-num-samples"

    def visit_Call(self, node: cst.Call) -> None:
        if has_star_arguments(node):
            return
        if self.context.names.is_(node.func, "torch.multinomial"):
            if call_argument(node, 1, "num_samples") is None and call_argument(node, 0, "input"):
                self.report_missing(node, self.function_fix(node))
        elif (
            method_call_name(node) == "multinomial"
            and not self.context.names.callee(node)
            and call_argument(node, 0, "num_samples") is None
            and self.context.gradflow.facts(node.func.value).is_tensor
        ):
            self.report_missing(node, self.method_fix(node))

    def report_missing(self, node: cst.Call, edit: Edit | None) -> None:
        fix = None
        if edit is not None:
            fix = self.make_fix(Applicability.SAFE, "Pass `num_samples=1` (0.3's default)", [edit])
        self.report(
            node,
            f"`multinomial()` needs `num_samples` since PyTorch 0.4 (0.3 drew one sample): "
            f"PyTorch 2.13 raises `{MISSING_NUM_SAMPLES}`",
            fix=fix,
        )

    def method_fix(self, node: cst.Call) -> Edit | None:
        if node.args:
            start = to_position(self.context.range(node.args[0]).start)
            return Edit(start, start, "1, ")
        position = opening_parenthesis_end(self.context, node)
        return None if position is None else Edit(position, position, "1")

    def function_fix(self, node: cst.Call) -> Edit | None:
        first = node.args[0]
        if first.keyword is not None:
            return None  # `torch.multinomial(input=p)`: rare, and keyword order matters
        end = to_position(self.context.range(first.value).end)
        if first.value.rpar:
            return None
        return Edit(end, end, ", 1")
