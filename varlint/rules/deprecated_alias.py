"""Deprecated aliases that work but warn (`clip_grad_norm`, `nn.init.normal`, `F.upsample`, ...).

## What it does
Reports calls of `torch.nn.utils.clip_grad_norm`, the `torch.nn.init` functions without their
trailing `_` (`normal`, `uniform`, `constant`, `xavier_uniform`, `xavier_normal`,
`kaiming_uniform`, `kaiming_normal`, `orthogonal`, `sparse`, `eye`, `dirac`),
`F.upsample`, `F.upsample_bilinear`, `F.upsample_nearest` and `torch.range`.

## Why is this bad
They run, but PyTorch 2.13 warns on every call, for example
`` FutureWarning: `torch.nn.utils.clip_grad_norm` is now deprecated in favor of
`torch.nn.utils.clip_grad_norm_`. ``, `` FutureWarning: `nn.init.xavier_uniform` is now
deprecated in favor of `nn.init.xavier_uniform_`. ``, `` UserWarning: `nn.functional.upsample`
is deprecated. Use `nn.functional.interpolate` instead. `` and `UserWarning: torch.range is
deprecated and will be removed in a future release because its behavior is inconsistent with
Python's range builtin. Instead, use torch.arange, which produces values in [start, end).`

## Example
```python
nn.init.xavier_uniform(layer.weight)
out = F.upsample_bilinear(x, scale_factor=2)
```

Use instead:
```python
nn.init.xavier_uniform_(layer.weight)
out = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)
```

## Fix safety
Safe: the `_` names (the aliases call them), `upsample` -> `interpolate` (same arguments),
`upsample_bilinear` -> `interpolate(..., mode='bilinear', align_corners=True)` and
`upsample_nearest` -> `interpolate(..., mode='nearest')`, which is what the aliases compute.
Unsafe: `torch.range(start, end)` -> `torch.arange(start, end + 1, dtype=torch.float32)`
(`range` includes its end and gives floats; with a float step the end may differ).
Only calls spelled as attributes (`nn.init.normal(...)`) are rewritten; a name imported on its
own would need its import changed too (display-only).
"""

from __future__ import annotations

import libcst as cst

from varlint.diagnostic import Applicability, Edit
from varlint.rule import Rule, argument_separator, call_argument, closing_parenthesis_start, has_star_arguments

INIT_ALIASES = (
    "normal", "uniform", "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "orthogonal", "sparse", "eye", "dirac",
)
RENAMES = {f"torch.nn.init.{name}": f"{name}_" for name in INIT_ALIASES}
RENAMES["torch.nn.utils.clip_grad_norm"] = "clip_grad_norm_"
UPSAMPLES = {
    "torch.nn.functional.upsample": "",
    "torch.nn.functional.upsample_bilinear": "mode='bilinear', align_corners=True",
    "torch.nn.functional.upsample_nearest": "mode='nearest'",
}
DEPRECATED = frozenset(RENAMES) | frozenset(UPSAMPLES) | {"torch.range"}
RANGE_WARNING = (
    "UserWarning: torch.range is deprecated and will be removed in a future release because its "
    "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, which "
    "produces values in [start, end)."
)


def warning_text(qualified: str) -> str:
    short = qualified.rsplit(".", 1)[1]
    if qualified.startswith("torch.nn.init."):
        return f"FutureWarning: `nn.init.{short}` is now deprecated in favor of `nn.init.{short}_`."
    if qualified == "torch.nn.utils.clip_grad_norm":
        return (
            "FutureWarning: `torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
            "`torch.nn.utils.clip_grad_norm_`."
        )
    if qualified in UPSAMPLES:
        return f"UserWarning: `nn.functional.{short}` is deprecated. Use `nn.functional.interpolate` instead."
    return RANGE_WARNING


class DeprecatedAlias(Rule):
    code = "VL311"
    name = "deprecated-alias"

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.context.names.qualified_frozen(node.func) & DEPRECATED
        if not qualified:
            return
        name = min(qualified)
        self.report(
            node,
            f"`{name.removeprefix('torch.')}` is a deprecated alias: PyTorch 2.13 warns "
            f"`{warning_text(name)}`",
            fix=self.fix_for(node, name),
        )

    def fix_for(self, node: cst.Call, name: str):
        attribute = node.func if isinstance(node.func, cst.Attribute) else None
        if name == "torch.range":
            return self.range_fix(node, attribute)
        new_name = RENAMES.get(name, "interpolate")
        if attribute is None or has_star_arguments(node):
            return self.make_fix(Applicability.DISPLAY_ONLY, f"Call `{new_name}`", [])
        edits = [self.context.edit(attribute.attr, new_name)]
        extra = UPSAMPLES.get(name)
        if extra:
            if call_argument(node, 3, "mode") or call_argument(node, 4, "align_corners") or len(node.args) > 3:
                return None
            position = closing_parenthesis_start(self.context, node)
            if position is None:
                return None
            edits.append(Edit(position, position, f"{argument_separator(node)}{extra}"))
        shown = f"{new_name}(..., {extra})" if extra else new_name
        return self.make_fix(Applicability.SAFE, f"Call `{shown}`", edits)

    def range_fix(self, node: cst.Call, attribute: cst.Attribute | None):
        if attribute is None or has_star_arguments(node) or len(node.args) not in (2, 3):
            return None
        if any(argument.keyword is not None for argument in node.args):
            return None
        end = node.args[1].value
        step = self.context.code(node.args[2].value) if len(node.args) == 3 else "1"
        end_code = self.context.code(end)
        torch = self.context.code(attribute.value)
        start = self.context.code(node.args[0].value)
        step_part = f", {step}" if len(node.args) == 3 else ""
        replacement = f"{torch}.arange({start}, {end_code} + {step}{step_part}, dtype={torch}.float32)"
        return self.make_fix(
            Applicability.UNSAFE, f"Replace with `{replacement}`", [self.context.edit(node, replacement)]
        )
