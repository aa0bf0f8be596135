"""A legacy `torch.autograd.Function` (non-static `forward`), or an instance of one called.

## What it does
Reports a subclass of `torch.autograd.Function` whose `forward` is not a `@staticmethod`, and
each call of an instance of a Function class of this file, `F()(x)`.

## Why is this bad
Since PyTorch 0.4 custom Functions are used through the class: static `forward(ctx, ...)` /
`backward(ctx, ...)`, called as `F.apply(x)`. On PyTorch 2.13 `F()` warns `DeprecationWarning:
<class '__main__.F'> should not be instantiated. Methods on autograd functions are all static,
so you should invoke them on the class itself. Instantiating an autograd function will raise
an error in a future version of PyTorch.`, and calling the instance raises `RuntimeError:
Legacy autograd function with non-static forward method is deprecated. Please use new-style
autograd function with static forward method. (Example:
https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)`.

## Example
```python
class Square(torch.autograd.Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, grad):
        x, = self.saved_tensors
        return 2 * x * grad

y = Square()(w)
```

Use instead:
```python
class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return 2 * x * grad

y = Square.apply(w)
```

## Fix safety
Unsafe, where the rewrite is mechanical: `@staticmethod` on `forward` / `backward`, `self` ->
`ctx` in them, and `F()(x)` -> `F.apply(x)` (a crash becomes a run). A class that keeps state
on `self` (an `__init__`, or other attributes of `self` than the context's) is display-only.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.tree import descendants
from varlint.diagnostic import Applicability, Edit
from varlint.rule import Rule, to_position

FUNCTION = "torch.autograd.Function"
LEGACY_ERROR = (
    "RuntimeError: Legacy autograd function with non-static forward method is deprecated. Please "
    "use new-style autograd function with static forward method. (Example: "
    "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
)
# What a context offers: uses of `self` limited to these make `self` -> `ctx` mechanical.
CONTEXT_ATTRIBUTES = frozenset({
    "save_for_backward", "saved_tensors", "saved_variables", "needs_input_grad", "mark_dirty",
    "mark_non_differentiable", "set_materialize_grads",
})
STATIC_METHODS = ("forward", "backward")


def is_static(function: cst.FunctionDef) -> bool:
    return any(
        isinstance(decorator.decorator, cst.Name) and decorator.decorator.value == "staticmethod"
        for decorator in function.decorators
    )


class LegacyAutogradFunction(Rule):
    code = "VL308"
    name = "legacy-autograd-function"

    def __init__(self, context) -> None:
        super().__init__(context)
        self._function_classes: dict[str, bool] | None = None

    def function_classes(self) -> dict[str, bool]:
        """Module-level Function subclasses of this file: name -> is it legacy."""
        if self._function_classes is None:
            self._function_classes = {}
            for statement in self.context.module.body:
                if isinstance(statement, cst.ClassDef) and self.is_function_class(statement):
                    self._function_classes[statement.name.value] = self.legacy_forward(statement) is not None
        return self._function_classes

    def is_function_class(self, node: cst.ClassDef) -> bool:
        return any(self.context.names.is_(base.value, FUNCTION) for base in node.bases)

    def legacy_forward(self, node: cst.ClassDef) -> cst.FunctionDef | None:
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == "forward":
                return None if is_static(statement) else statement
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self.is_function_class(node):
            return
        forward = self.legacy_forward(node)
        if forward is None:
            return
        edits = self.class_edits(node)
        fix = (
            self.make_fix(Applicability.UNSAFE, "Make `forward`/`backward` static methods of `ctx`", edits)
            if edits
            else self.make_fix(
                Applicability.DISPLAY_ONLY,
                "Rewrite with `@staticmethod forward(ctx, ...)` / `backward(ctx, ...)`; keep state "
                "on `ctx`, not in `__init__`",
                [],
            )
        )
        self.report(
            forward.name,
            f"Legacy autograd Function `{node.name.value}`: its `forward` is not a static method; "
            f"calling an instance raises `{LEGACY_ERROR}`",
            fix=fix,
        )

    def class_edits(self, node: cst.ClassDef) -> list[Edit] | None:
        methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        if any(method.name.value not in STATIC_METHODS for method in methods):
            return None  # `__init__` or helpers keep state on `self`
        edits: list[Edit] = []
        for method in methods:
            if is_static(method) or method.decorators:
                if not is_static(method):
                    return None
                continue
            parameters = method.params.params
            if not parameters or parameters[0].name.value != "self":
                return None
            inside = list(descendants(method.body))
            uses = [n for n in inside if isinstance(n, cst.Name) and n.value == "self"]
            attributes = [a for a in inside if isinstance(a, cst.Attribute) and is_self(a.value)]
            if len(uses) != len(attributes) or any(a.attr.value not in CONTEXT_ATTRIBUTES for a in attributes):
                return None
            start = to_position(self.context.range(method).start)
            indent = " " * (start.column - 1)
            edits.append(Edit(start, start, f"@staticmethod{self.context.module.default_newline}{indent}"))
            edits.append(self.context.edit(parameters[0].name, "ctx"))
            edits.extend(self.context.edit(attribute.value, "ctx") for attribute in attributes)
        return edits

    def visit_Call(self, node: cst.Call) -> None:
        instance = node.func
        if not (
            isinstance(instance, cst.Call)
            and isinstance(instance.func, cst.Name)
            and not instance.args
            and instance.func.value in self.function_classes()
            and self.defined_at_module_level(instance.func)
        ):
            return
        name = instance.func.value
        # Even with a static `forward`, calling an instance raises the legacy error.
        happens = f"raises `{LEGACY_ERROR}`"
        self.report(
            node,
            f"`{name}()(...)` calls an instance of an autograd Function: PyTorch 2.13 {happens}; "
            f"call `{name}.apply(...)`",
            fix=self.make_fix(
                Applicability.UNSAFE, f"Call `{name}.apply(...)`", [self.context.edit(instance, f"{name}.apply")]
            ),
        )

    def defined_at_module_level(self, name: cst.Name) -> bool:
        return not any(
            isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
            and name.value in self.local_names(parent)
            for parent in self.ancestors(name)
        )

    def ancestors(self, node: cst.CSTNode):
        current = self.context.parents.get(node)
        while current is not None:
            yield current
            current = self.context.parents.get(current)

    @staticmethod
    def local_names(scope_node: cst.CSTNode) -> set[str]:
        return {
            found.target.value
            for found in descendants(scope_node)
            if isinstance(found, cst.AssignTarget) and isinstance(found.target, cst.Name)
        }


def is_self(expression: cst.CSTNode) -> bool:
    return isinstance(expression, cst.Name) and expression.value == "self"
