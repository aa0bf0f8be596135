"""A use of the legacy `Variable` class other than a call: `isinstance`, `type(x) is`, annotations.

## What it does
Flags references to `torch.autograd.Variable` that are not calls (calls are VL001):
`isinstance(x, Variable)` (also inside a tuple of classes), `type(x) is Variable` /
`type(x) == Variable`, annotations such as `x: Variable` or `-> Variable`, and any other use of
the class (a subclass, an alias `V = Variable`). A class of your own called `Variable` is not
flagged.

## Why is this bad
Since PyTorch 0.4 there are no Variables, only tensors. `isinstance(x, Variable)` is true for
every tensor (the class only forwards the check to `torch.Tensor`), so it no longer tells a
"wrapped" value from a raw one. `type(x) is Variable` and `type(x) == Variable` are always
false: the type of any tensor, even one made by `Variable(...)`, is `torch.Tensor`. Branches
written on that test never run.

## Example
```python
def to_numpy(x: Variable) -> np.ndarray:
    if isinstance(x, Variable):
        x = x.data
    return x.numpy()
```

Use instead:
```python
def to_numpy(x: torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.data
    return x.numpy()
```

## Fix safety
- `isinstance(x, Variable)` becomes `isinstance(x, torch.Tensor)`: safe, the two are the same
  check.
- An annotation `Variable` becomes `torch.Tensor`: safe.
- `type(x) is Variable` is always false; `isinstance(x, torch.Tensor)` is shown as the likely
  intent (display-only: it changes which branch runs).
- The fixes write `torch` the way the module imports it (`import torch as th` gives
  `th.Tensor`); when no import binds the `torch` module there is no fix.
- Other references have no fix.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.names import VARIABLE
from varlint.diagnostic import Applicability
from varlint.rule import Rule

NO_TORCH_IMPORT = " (no fix: no `import torch` binds the `torch` module here)"


class VariableReference(Rule):
    code = "VL002"
    name = "variable-reference"

    # Called for every name and attribute: the test that rules out nearly all of them first.
    def visit_Name(self, node: cst.Name) -> None:
        if VARIABLE in self.context.names.qualified_frozen(node):
            self._check(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if VARIABLE in self.context.names.qualified_frozen(node):
            self._check(node)

    def _check(self, node: cst.Name | cst.Attribute) -> None:
        """`node` refers to torch's Variable."""
        if self._is_call_or_import(node):
            return
        comparison = self._type_comparison(node)
        if comparison is not None:
            self._report_type_comparison(comparison)
        elif self._is_isinstance_class(node):
            self._report_replaceable(
                node,
                "`isinstance(..., Variable)` is true for every tensor since PyTorch 0.4; it is "
                "the same check as `isinstance(..., torch.Tensor)`",
            )
        elif self._in_annotation(node):
            self._report_replaceable(
                node, "`Variable` in an annotation: since PyTorch 0.4 every such value is a `torch.Tensor`"
            )
        else:
            self.report(
                node,
                "reference to the legacy `Variable` class: since PyTorch 0.4 values are plain "
                "`torch.Tensor`s (`isinstance(x, Variable)` is true for every tensor, calling "
                "it detaches)",
            )

    def _report_replaceable(self, node: cst.CSTNode, message: str) -> None:
        torch = self.context.names.module_name_at(node)
        if torch is None:
            self.report(node, message + NO_TORCH_IMPORT)
            return
        self.report(
            node,
            message,
            fix=self.make_fix(
                Applicability.SAFE,
                f"Replace with `{torch}.Tensor`",
                [self.context.edit(node, f"{torch}.Tensor")],
            ),
        )

    def _report_type_comparison(self, comparison: cst.Comparison) -> None:
        """`type(x) is Variable` (or `==`, `is not`, `!=`, either side)."""
        target = comparison.comparisons[0]
        negated = isinstance(target.operator, (cst.IsNot, cst.NotEqual))
        type_call = comparison.left if isinstance(comparison.left, cst.Call) else target.comparator
        checked = self.context.code(type_call.args[0].value)
        torch = self.context.names.module_name_at(comparison)
        operator = self.context.code(target.operator).strip()
        message = (
            f"`type(...) {operator} Variable` is always "
            f"{'true' if negated else 'false'}: the type of every tensor is `torch.Tensor`, "
            f"even of one made by `Variable(...)`"
        )
        if torch is None:
            self.report(comparison, message + NO_TORCH_IMPORT)
            return
        suggestion = f"{'not ' if negated else ''}isinstance({checked}, {torch}.Tensor)"
        self.report(
            comparison,
            message,
            fix=self.make_fix(
                Applicability.DISPLAY_ONLY,
                f"Test `{suggestion}` instead (it changes which branch runs)",
                [self.context.edit(comparison, suggestion)],
            ),
        )

    # Where the reference is

    def _is_call_or_import(self, node: cst.CSTNode) -> bool:
        parent = self.context.parents.get(node)
        if isinstance(parent, cst.Call) and parent.func is node:
            return True  # VL001
        while parent is not None and not isinstance(parent, cst.BaseStatement):
            if isinstance(parent, (cst.Import, cst.ImportFrom)):
                return True
            parent = self.context.parents.get(parent)
        return False

    def _type_comparison(self, node: cst.CSTNode) -> cst.Comparison | None:
        """The comparison `type(x) <is|==|is not|!=> node` (or reversed) that `node` is in."""
        comparison = self.context.parents.get(node)
        if isinstance(comparison, cst.ComparisonTarget):
            comparison = self.context.parents.get(comparison)
        if not isinstance(comparison, cst.Comparison) or len(comparison.comparisons) != 1:
            return None
        target = comparison.comparisons[0]
        if not isinstance(target.operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)):
            return None
        other = target.comparator if comparison.left is node else comparison.left
        if other is node or not (isinstance(other, cst.Call) and len(other.args) == 1):
            return None
        if other.args[0].star or not self.context.names.is_(other.func, "builtins.type"):
            return None
        return comparison

    def _is_isinstance_class(self, node: cst.CSTNode) -> bool:
        """`node` is the class argument of `isinstance`, or an element of a tuple of classes."""
        argument = self.context.parents.get(node)
        while isinstance(argument, cst.Element):
            tuple_node = self.context.parents.get(argument)
            if not isinstance(tuple_node, cst.Tuple):
                return False
            argument = self.context.parents.get(tuple_node)
        if not isinstance(argument, cst.Arg) or argument.keyword is not None or argument.star:
            return False
        call = self.context.parents.get(argument)
        return (
            isinstance(call, cst.Call)
            and len(call.args) == 2
            and call.args[1] is argument
            and self.context.names.is_(call.func, "builtins.isinstance")
        )

    def _in_annotation(self, node: cst.CSTNode) -> bool:
        parent = self.context.parents.get(node)
        while parent is not None and not isinstance(parent, (cst.BaseStatement, cst.Param)):
            if isinstance(parent, cst.Annotation):
                return True
            parent = self.context.parents.get(parent)
        return False
