"""`.data` used to change or export a tensor behind autograd's back.

## What it does
Reports the uses of `.data` that bypass autograd:
- in-place updates through `.data`: `w.data -= lr * w.grad.data`, `w.data[0] = 5`,
  `p.data.copy_(q)`, `m.weight.data.normal_(0, 0.02)`, `p.data.clamp_(-c, c)`,
  `x.grad.data.zero_()`;
- `x.data.numpy()` (also `x.data.cpu().numpy()` and `x.cpu().data.numpy()`).

Other reads of `.data` (`print(loss.data)`, `x.data[0]` on a batch, `Variable(h.data)`) are
not reported. An augmented assignment or item assignment through `.data` is reported only where
the target is known to be a tensor (the shared analysis knows it, or a file that imports torch
assigns something computed from a `.grad`), since `self.data -= mean` is also how numpy datasets
are normalised, and `W.data -= lr * W.grad` how chainer updates its parameters.
`loss.data.numpy()[0]` on a 0-dim `loss` is left to VL004 (`zero-dim-index`), whose fix
replaces the whole expression with `loss.item()`.

## Why is this bad
`.data` still works on PyTorch 2.13, but it gives a tensor that autograd does not track and
that does not share the version counter: an in-place change through it is invisible to
autograd. If a graph that has not been backwarded yet saved `w`, the backward silently
computes a wrong gradient (observed: `w.grad = [0., 2.]` where the true value is `[2., 4.]`),
where the `torch.no_grad()` spelling raises an error instead. `.detach()` is the supported way
to get a tensor without history; `torch.no_grad()` the supported way to update parameters.

## Example
```python
for p in model.parameters():
    p.data -= lr * p.grad.data
    p.grad.data.zero_()
array = x.data.numpy()
```

Use instead:
```python
for p in model.parameters():
    with torch.no_grad():
        p -= lr * p.grad
    p.grad.zero_()
array = x.detach().numpy()
```

## Fix safety
- `x.data.numpy()` -> `x.detach().numpy()` is safe: the same array, sharing memory with `x`.
- `x.grad.data.zero_()` -> `x.grad.zero_()` is safe: the same values in the same gradient
  object (only the gradient's own version counter is bumped).
- `w.data -= e` -> `with torch.no_grad(): w -= e` is unsafe: same values, but it bumps `w`'s
  version counter, so code that relied on `.data` to modify a tensor saved in a pending graph
  now raises instead. The `.data` of `.grad.data` reads in `e` is dropped too (exact under
  `no_grad`). When `w -= e` would rebind a name that is not local (a global updated inside a
  function) or assign to an attribute or item, the fix calls the in-place method instead
  (`w.sub_(e)`); there is no fix inside a one-line `for p in ps: p.data -= e`.
- Other in-place uses, `x.data.op_(...)` -> `x.detach().op_(...)` and `x.data[i] = v` ->
  `x.detach()[i] = v`, are unsafe for the same reason; on a gradient,
  `x.grad.data.op_(...)` -> `x.grad.op_(...)` (unsafe: recorded in a graph under
  `create_graph=True`).
"""

from __future__ import annotations


import libcst as cst
from libcst.helpers import get_full_name_for_node

from varlint.analysis.tree import children
from varlint.analysis.gradflow import RequiresGrad
from varlint.analysis.torch_api import FACTORIES
from varlint.diagnostic import Applicability, Edit, Position
from varlint.rule import Rule, to_position
from varlint.rules.variable_wrapper import is_fresh_typed_construction
from varlint.rules.zero_dim_index import find_zero_dim_index, method_call_name

# `w -= e` is `w.sub_(e)`: the in-place method of each augmented operator, used when rebinding
# the target is not an option.
IN_PLACE_METHODS = {
    cst.AddAssign: "add_",
    cst.SubtractAssign: "sub_",
    cst.MultiplyAssign: "mul_",
    cst.DivideAssign: "div_",
}
# In-place methods that are not value updates.
NOT_UPDATES = frozenset({"requires_grad_", "share_memory_"})


def is_in_place_method(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_") and name not in NOT_UPDATES


def is_grad(expression: cst.BaseExpression) -> bool:
    return isinstance(expression, cst.Attribute) and expression.attr.value == "grad"


def reads_grad(node: cst.CSTNode) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if is_grad(current):
            return True
        stack.extend(children(current))
    return False


class DropGradData(cst.CSTTransformer):
    """`x.grad.data` -> `x.grad` (exact under `torch.no_grad()`)."""

    def leave_Attribute(self, original_node, updated_node):
        if updated_node.attr.value == "data" and is_grad(updated_node.value):
            return updated_node.value.with_changes(
                lpar=updated_node.lpar or updated_node.value.lpar,
                rpar=updated_node.rpar or updated_node.value.rpar,
            )
        return updated_node


class DataAttribute(Rule):
    code = "VL005"
    name = "data-attribute"

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "data":
            return
        parent = self.context.parents[node]
        if isinstance(parent, cst.AugAssign) and parent.target is node:
            self.check_augmented_update(node, parent)
        elif isinstance(parent, cst.Subscript) and parent.value is node:
            self.check_item_assignment(node, parent)
        elif isinstance(parent, cst.Attribute) and parent.value is node:
            call = self.context.parents[parent]
            if isinstance(call, cst.Call) and call.func is parent:
                self.check_method_call(node, call)

    # --- in-place updates ------------------------------------------------------------------

    def check_augmented_update(self, data: cst.Attribute, statement: cst.AugAssign) -> None:
        if not self.updates_a_tensor(data, statement.value):
            return
        self.report(
            data,
            "In-place update through `.data`: autograd does not see it (the version counter is "
            "not bumped), so a pending graph that saved this tensor would silently compute "
            "wrong gradients; update under `with torch.no_grad():` instead",
            fix=self.no_grad_update_fix(data, statement),
        )

    def no_grad_update_fix(self, data: cst.Attribute, statement: cst.AugAssign):
        line = self.context.parents[statement]
        if not (
            isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
            and isinstance(self.context.parents[line], (cst.IndentedBlock, cst.Module))
        ):
            return None  # `for p in ps: p.data -= e` has no room for a `with` block
        torch = self.context.names.module_name_at(statement)
        if torch is None:
            return None
        target = data.value
        value = statement.value.visit(DropGradData())
        if self.can_rebind(target, statement):
            update = statement.with_changes(target=target, value=value, semicolon=cst.MaybeSentinel.DEFAULT)
            update_code = self.context.code(update)
        elif type(statement.operator) in IN_PLACE_METHODS:
            method = IN_PLACE_METHODS[type(statement.operator)]
            update_code = f"{self.context.code(target)}.{method}({self.context.code(value)})"
        else:
            return None
        if self.inside_no_grad(statement):
            content = update_code
            message = f"Replace with `{update_code}` (already under `no_grad`)"
        else:
            module = self.context.module
            body_indent = self.indentation(statement) + module.default_indent
            content = f"with {torch}.no_grad():{module.default_newline}{body_indent}{update_code}"
            message = f"Replace with `with {torch}.no_grad(): {update_code}`"
        return self.make_fix(Applicability.UNSAFE, message, [self.context.edit(statement, content)])

    def can_rebind(self, target: cst.BaseExpression, statement: cst.AugAssign) -> bool:
        """`w -= e` rebinds `w`: fine for a name already assigned in this scope; an attribute
        or item assignment could hit a property or a tuple, a global would become local."""
        if not isinstance(target, cst.Name):
            return False
        scope = self.context.names.scope_at(statement)
        return scope is not None and bool(scope.bindings.get(target.value))

    def inside_no_grad(self, node: cst.CSTNode) -> bool:
        while not isinstance(node, (cst.Module, cst.FunctionDef, cst.ClassDef)):
            node = self.context.parents[node]
            if isinstance(node, cst.With) and any(
                isinstance(item.item, cst.Call)
                and self.context.names.is_(item.item.func, "torch.no_grad")
                for item in node.items
            ):
                return True
        return False

    def indentation(self, statement: cst.CSTNode) -> str:
        """The indentation of the line holding `statement`, as libcst renders it."""
        levels = []
        node = statement
        while not isinstance(node, cst.Module):
            node = self.context.parents[node]
            # a `match` statement holds its cases' indentation itself, not in an IndentedBlock
            if isinstance(node, (cst.IndentedBlock, cst.Match)):
                levels.append(node.indent if node.indent is not None else self.context.module.default_indent)
        return "".join(reversed(levels))

    def check_item_assignment(self, data: cst.Attribute, subscript: cst.Subscript) -> None:
        statement = self.context.parents[subscript]
        if isinstance(statement, cst.AssignTarget):
            assignment = self.context.parents[statement]
        elif isinstance(statement, cst.AugAssign) and statement.target is subscript:
            assignment = statement
        else:
            return  # a read such as `x.data[0]`: not reported
        if not self.updates_a_tensor(data, assignment.value):
            return
        self.report(
            data,
            "Item assignment through `.data`: autograd does not see the change (the version "
            "counter is not bumped); assign under `with torch.no_grad():` or through `.detach()`",
            fix=self.replace_data(data, ".detach()", Applicability.UNSAFE),
        )

    # --- method calls on `.data` -----------------------------------------------------------

    def check_method_call(self, data: cst.Attribute, call: cst.Call) -> None:
        method = method_call_name(call)
        if method in ("resize_", "resize_as_"):
            return  # VL305 (data-resize): `.data` there does not even resize the tensor
        if is_in_place_method(method):
            self.report_in_place_method(data, method)
            return
        numpy_call = self.numpy_conversion(call)
        if numpy_call is None or self.left_to_zero_dim_index(numpy_call):
            return
        self.report(
            data,
            "`.data.numpy()` bypasses autograd's check that the tensor does not require grad; "
            "`.detach().numpy()` gives the same array (sharing memory)",
            fix=self.replace_data(data, "" if self.is_fresh(data.value) else ".detach()", Applicability.SAFE),
        )

    def is_fresh(self, expression: cst.BaseExpression) -> bool:
        """A fresh tensor that does not require grad: `.data` of it is the tensor itself."""
        return is_fresh_typed_construction(self.context, expression) or (
            isinstance(expression, cst.Call)
            and bool(self.context.names.callee(expression) & FACTORIES)
            and self.context.gradflow.facts(expression).requires_grad is RequiresGrad.NO
        )

    def report_in_place_method(self, data: cst.Attribute, method: str) -> None:
        if not self.imports_torch:
            return  # `_`-suffixed in-place methods are torch's, but only in a torch program
        if is_grad(data.value):
            applicability = Applicability.SAFE if method == "zero_" else Applicability.UNSAFE
            fix = self.replace_data(data, "", applicability)
        else:
            fix = self.replace_data(data, ".detach()", Applicability.UNSAFE)
        self.report(
            data,
            f"In-place `.{method}()` through `.data`: autograd does not see the change (the "
            "version counter is not bumped); use `.detach()` or `torch.no_grad()`",
            fix=fix,
        )

    def numpy_conversion(self, call: cst.Call) -> cst.Call | None:
        """`x.data.numpy()` / `x.data.cpu().numpy()`: the `.numpy()` call, else None."""
        while method_call_name(call) == "cpu":
            attribute = self.context.parents[call]
            outer = self.context.parents[attribute]
            if not (isinstance(outer, cst.Call) and outer.func is attribute):
                return None
            call = outer
        return call if method_call_name(call) == "numpy" else None

    def left_to_zero_dim_index(self, numpy_call: cst.Call) -> bool:
        subscript = self.context.parents[numpy_call]
        return (
            isinstance(subscript, cst.Subscript)
            and subscript.value is numpy_call
            and find_zero_dim_index(self.context, subscript) is not None
        )

    # --- helpers ---------------------------------------------------------------------------

    def updates_a_tensor(self, data: cst.Attribute, value: cst.BaseExpression) -> bool:
        """Is `data.value` a tensor? Known by the shared analysis, or a torch program assigns
        something computed from a `.grad` (numpy datasets and chainer also have `.data`)."""
        if self.context.gradflow.facts(data.value).is_tensor:
            return True
        return self.imports_torch and reads_grad(value)

    # Whether an import of torch came before the node being visited: the traversal follows
    # the source, and imports come first (a later one only makes the rule quieter).
    imports_torch = False

    def visit_Import(self, node: cst.Import) -> None:
        self.note_imports(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.note_imports(node)

    def note_imports(self, node: cst.Import | cst.ImportFrom) -> None:
        if any(name == "torch" or name.startswith("torch.") for name in imported_modules(node)):
            self.imports_torch = True

    def replace_data(self, data: cst.Attribute, replacement: str, applicability: Applicability):
        """Replace `.data` (from the end of its receiver to the end of `data`) by `replacement`."""
        # From the dot: the range of a parenthesized receiver leaves out its `)`.
        if isinstance(data.dot.whitespace_after, cst.SimpleWhitespace):
            attribute_start = to_position(self.context.range(data.attr).start)
            dot_width = 1 + len(data.dot.whitespace_after.value)
            start = Position(attribute_start.row, attribute_start.column - dot_width)
        else:
            start = to_position(self.context.range(data.value).end)
        end = to_position(self.context.range(data.attr).end)
        receiver = describe_receiver(self.context.code(data.value))
        message = (
            f"Replace `{receiver}.data` with `{receiver}{replacement}`"
            if replacement
            else f"Remove `.data` (use `{receiver}` itself)"
        )
        return self.make_fix(applicability, message, [Edit(start, end, replacement)])


def imported_modules(node: cst.Import | cst.ImportFrom) -> list[str]:
    if isinstance(node, cst.ImportFrom):
        return [get_full_name_for_node(node.module) or ""] if node.module else []
    return [get_full_name_for_node(alias.name) or "" for alias in node.names]


def describe_receiver(code: str) -> str:
    return code if len(code) <= 40 and "\n" not in code else "x"
