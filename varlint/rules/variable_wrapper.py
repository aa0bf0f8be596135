"""A call of the legacy `torch.autograd.Variable` wrapper.

## What it does
Flags every call of `torch.autograd.Variable(...)`, however it is imported
(`from torch.autograd import Variable as V`, `import torch.autograd as ag; ag.Variable`,
`torch.autograd.variable.Variable`). A class of your own that is called `Variable` is not
flagged.

## Why is this bad
Since PyTorch 0.4 tensors carry autograd state themselves and `Variable` is a leftover. It is
not a no-op: `Variable(x)` returns `x.detach()`, a *new* tensor that shares `x`'s storage and
does not require grad. Wrapping a tensor that requires grad (a parameter, an intermediate
result) silently cuts the graph there: no gradient flows back through the wrapped value.
`Variable(x, requires_grad=True)` is a new leaf, and `x` itself stays unchanged.
`Variable([1.0, 2.0])`, `Variable(np.zeros(3))` and `Variable(3.0)` raise
`TypeError: Variable data has to be a tensor, but got list` (or `numpy.ndarray`, `float`), and
`Variable(x, volatile=True, requires_grad=True)` raises
`ValueError: Variable can't be volatile and require_grad at the same time!`.

## Example
```python
from torch.autograd import Variable

w = Variable(torch.zeros(2, 2), requires_grad=True)
x = Variable(batch)
h = Variable(hidden.data)
```

Use instead:
```python
w = torch.zeros(2, 2, requires_grad=True)
x = batch.detach()
h = hidden.detach()
```

## Fix safety
Every fix keeps the program's behaviour: no tensor starts or stops carrying gradients.
- `Variable(<fresh factory>(...))` becomes the factory call, with `requires_grad=True` moved
  into it when given (`torch.ones(2, 2, requires_grad=True)`): safe. Fresh factories are
  `torch.ones/zeros/randn/rand/empty/full/arange/eye/linspace/tensor/from_numpy`, `*_like`
  and `x.new_*`.
- `Variable(x.data)` becomes `x.detach()`: safe.
- `Variable(x)` becomes `x.detach()`, the exact rewrite: safe. It becomes plain `x` only when
  the analysis knows that `x` does not require grad and that neither name is later used as a
  separate object (flags, hooks, `is`); inside `nn.Parameter(Variable(x))` plain `x` is exact,
  since `nn.Parameter` detaches its argument itself.
- `Variable(x, requires_grad=True)` becomes `x.detach().requires_grad_()`: safe. Never
  `x.requires_grad_()`, which would change `x` itself and send gradients into it.
- `volatile=` is dropped (it has no effect, see VL003).
- `Variable()` becomes `torch.empty(0)`: safe.
- Unsafe: a `requires_grad=` value that is not a literal or a comparison (`Variable` accepts an
  int, `requires_grad_()` only a bool), a `volatile=` value that may raise today together with
  `requires_grad`, and `name=` (the rewrite drops the name).
- Display-only: `Variable(list / ndarray / number)` raises today; `torch.tensor(...)` is shown
  as the likely intent, never applied, since it turns a crash into a running program.
- No fix when the call raises `ValueError` (`volatile=True, requires_grad=True`) or has
  arguments the rewrite cannot carry (`*args`, `**kwargs`, `_grad_fn=`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from varlint.analysis.tree import walk
from varlint.analysis.gradflow import RequiresGrad
from varlint.analysis.names import VARIABLE
from varlint.analysis.torch_api import (
    FACTORIES,
    FACTORIES_WITHOUT_REQUIRES_GRAD,
    GRAD_CARRYING_FACTORIES,
    NEW_METHODS,
    NUMPY_NDARRAY_CONSTRUCTORS,
    NUMPY_SCALAR_TYPES,
    TYPED_CONSTRUCTORS,
)
from varlint.diagnostic import Applicability
from varlint.rule import (
    Rule,
    comments_outside,
    hoisted_comments_edit,
    receiver_code,
    replace_message,
    self_assignment_removal,
    shift_continuation_lines,
    short_code,
)

# `Variable(data=None, requires_grad=False, volatile=False, _grad_fn=None, name=None)`
PARAMETERS = ("data", "requires_grad", "volatile", "_grad_fn", "name")
PARAMETER = "torch.nn.Parameter"


# --- Reading a `Variable(...)` call (shared with VL003) ----------------------------------


@dataclass(frozen=True)
class VariableCall:
    """The arguments of one `Variable(...)` call, by parameter name."""

    call: cst.Call
    arguments: dict[str, cst.Arg]
    # `*args`, `**kwargs`, unknown keywords or too many positionals: nothing to rewrite from.
    unreadable: bool

    def value(self, parameter: str) -> cst.BaseExpression | None:
        argument = self.arguments.get(parameter)
        return argument.value if argument is not None else None


def read_variable_call(call: cst.Call) -> VariableCall:
    arguments: dict[str, cst.Arg] = {}
    unreadable = False
    for index, argument in enumerate(call.args):
        if argument.star:
            unreadable = True
        elif argument.keyword is not None:
            name = argument.keyword.value
            if name in PARAMETERS and name not in arguments:
                arguments[name] = argument
            else:
                unreadable = True
        elif index < len(PARAMETERS):
            arguments[PARAMETERS[index]] = argument
        else:
            unreadable = True
    return VariableCall(call, arguments, unreadable)


def literal_int(expression: cst.BaseExpression | None) -> int | None:
    """The value of a literal `True` / `False` / integer, else None."""
    if isinstance(expression, cst.Name) and expression.value in ("True", "False"):
        return int(expression.value == "True")
    if isinstance(expression, cst.Integer):
        return int(expression.evaluated_value)
    return None


def is_bool_expression(expression: cst.BaseExpression) -> bool:
    """A value that is a bool whatever it evaluates to (comparisons, `not ...`)."""
    return isinstance(expression, cst.Comparison) or (
        isinstance(expression, cst.UnaryOperation) and isinstance(expression.operator, cst.Not)
    )


def volatile_drop_applicability(variable: VariableCall) -> Applicability | None:
    """How safe dropping the `volatile` argument is; None when the call surely raises M4.

    `volatile` has no effect, except that a truthy one together with a truthy `requires_grad`
    raises `ValueError` (M4), and a literal that is not an integer (`None`, a string) raises
    `TypeError`: dropping it there would turn a crash into a running program.
    """
    volatile = variable.value("volatile")
    if volatile is None:
        return Applicability.SAFE
    volatile_value = literal_int(volatile)
    if volatile_value is None and is_non_integer_literal(volatile):
        return Applicability.UNSAFE
    requires_grad = variable.value("requires_grad")
    requires_grad_value = 0 if requires_grad is None else literal_int(requires_grad)
    if requires_grad_value == 0 or volatile_value == 0:
        return Applicability.SAFE
    if requires_grad_value and volatile_value:
        return None
    return Applicability.UNSAFE


def is_non_integer_literal(expression: cst.BaseExpression) -> bool:
    return is_none(expression) or isinstance(
        expression, (cst.Float, cst.Imaginary, cst.BaseString, cst.List, cst.Tuple, cst.Dict)
    )


M4_MESSAGE = "ValueError: Variable can't be volatile and require_grad at the same time!"


# --- The rule ----------------------------------------------------------------------------


class VariableWrapper(Rule):
    code = "VL001"
    name = "variable-wrapper"

    def visit_Call(self, node: cst.Call) -> None:
        if not self.context.names.is_(node.func, VARIABLE):
            return
        variable = read_variable_call(node)
        data = variable.value("data")
        raised = raised_type_error(data, self.context.names)
        if raised is not None:
            self._report_type_error(variable, raised)
            return
        volatile_applicability = volatile_drop_applicability(variable)
        if volatile_applicability is None:
            self.report(
                node,
                f"`Variable(...)` with `volatile=True` and `requires_grad=True` raises "
                f"`{M4_MESSAGE}`; drop `volatile` (it has no effect) if the program should run",
            )
            return
        self.report(node, self._message(variable), fix=self._fix(variable, volatile_applicability))

    # Messages

    def _message(self, variable: VariableCall) -> str:
        data = variable.value("data")
        if data is None or is_none(data):
            return "`Variable()` is a legacy wrapper: it returns an empty tensor, `torch.empty(0)`"
        detached = f"{receiver_code(self.context, data)}.detach()"
        shown = short_code(self.context.code(data))
        requires_grad = variable.value("requires_grad")
        sets_requires_grad = requires_grad is not None and literal_int(requires_grad) != 0
        if self._is_fresh_factory(data):
            effect = "only sets `requires_grad`" if sets_requires_grad else "changes nothing"
            return f"`Variable` is a legacy wrapper: around a freshly created tensor it {effect}"
        if sets_requires_grad:
            return (
                f"`Variable` is a legacy wrapper: here it returns a new leaf, "
                f"`{short_code(detached)}.requires_grad_()`, and `{shown}` itself is unchanged"
            )
        message = (
            f"`Variable` is a legacy wrapper: here it returns `{short_code(detached)}`, a new "
            f"tensor that shares storage and does not require grad"
        )
        requires_grad_state = self.context.gradflow.facts(data).requires_grad
        if requires_grad_state is RequiresGrad.YES:
            message += f"; `{shown}` requires grad, so no gradient flows back into it from here"
        elif requires_grad_state is RequiresGrad.UNKNOWN:
            message += f" (plain `{shown}` is the same only if it never requires grad)"
        return message

    def _report_type_error(self, variable: VariableCall, type_name: str) -> None:
        data = self.context.code(variable.value("data"))
        torch = self.context.names.module_name_at(variable.call) or "torch"
        requires_grad = variable.value("requires_grad")
        keyword = ", requires_grad=True" if requires_grad is not None and literal_int(requires_grad) != 0 else ""
        self.report(
            variable.call,
            f"`Variable(...)` of a `{type_name}` raises `TypeError: Variable data has to be a "
            f"tensor, but got {type_name}` on PyTorch >= 0.4; build the tensor with "
            f"`{torch}.tensor(...)`",
            fix=self.make_fix(
                Applicability.DISPLAY_ONLY,
                f"Build the tensor with `{torch}.tensor(...)` (the call raises today)",
                [self.context.edit(variable.call, f"{torch}.tensor({data}{keyword})")],
            ),
        )

    # Fixes

    def _fix(self, variable: VariableCall, volatile_applicability: Applicability):
        if variable.unreadable:
            return None
        applicability = volatile_applicability
        if "_grad_fn" in variable.arguments:
            return None  # raises TypeError for anything but None: nothing to carry over
        if "name" in variable.arguments:
            applicability = Applicability.UNSAFE  # the rewrite drops the tensor's `name`
        flag, flag_applicability = self._requires_grad_flag(variable.value("requires_grad"))
        if flag_applicability is Applicability.UNSAFE:
            applicability = Applicability.UNSAFE
        replacement = self._replacement(variable, flag)
        if replacement is None:
            return None
        removal = self_assignment_removal(self.context, variable.call, replacement)
        if removal is not None:
            return self.make_fix(applicability, f"Remove the statement (it would be `{replacement} = {replacement}`)", [removal])
        data = variable.value("data")
        edits = []
        if data is not None:
            # Keep the layout of a multi-line argument and the comments around it.
            kept = data.value if isinstance(data, cst.Attribute) and data.attr.value == "data" else data
            delta = self.context.range(variable.call).start.column - self.context.range(kept).start.column
            replacement = shift_continuation_lines(replacement, delta + replacement.startswith("(") - self.context.code(kept).startswith("("))
            hoisted = hoisted_comments_edit(self.context, variable.call, comments_outside(variable.call, kept))
            if hoisted is not None:
                edits.append(hoisted)
        edits.append(self.context.edit(variable.call, replacement))
        return self.make_fix(applicability, replace_message(replacement), edits)

    def _requires_grad_flag(self, value: cst.BaseExpression | None) -> tuple[str | None, Applicability]:
        """The `requires_grad` argument as source text for the rewrite (None: False)."""
        if value is None:
            return None, Applicability.SAFE
        literal = literal_int(value)
        if literal is not None:
            return ("True" if literal else None), Applicability.SAFE
        # `Variable` takes any integer; `requires_grad_()` and factories take only a bool.
        safe = is_bool_expression(value)
        return self.context.code(value), Applicability.SAFE if safe else Applicability.UNSAFE

    def _replacement(self, variable: VariableCall, flag: str | None) -> str | None:
        data = variable.value("data")
        if data is None or is_none(data):
            torch = self.context.names.module_name_at(variable.call)
            if torch is None:
                return None
            return f"{torch}.empty(0{'' if flag is None else f', requires_grad={flag}'})"
        if is_fresh_typed_construction(self.context, data):
            # `torch.FloatTensor([1, 2])` takes no `requires_grad=`; nothing else holds it.
            code = self.context.code(data)
            return code if flag is None else f"{code}.requires_grad_({'' if flag == 'True' else flag})"
        if self._is_fresh_factory(data) and (
            flag is None or not self.context.names.callee(data) & FACTORIES_WITHOUT_REQUIRES_GRAD
        ):
            return self.context.code(with_requires_grad(data, flag))
        if flag is None and self._plain_data_is_exact(variable):
            if isinstance(self.context.parents.get(variable.call), cst.Arg):
                return self.context.code(data)  # any expression is fine as an argument
            return receiver_code(self.context, data)
        if isinstance(data, cst.Attribute) and data.attr.value == "data":
            data = data.value  # `Variable(x.data)` is `x.detach()`
        detached = f"{receiver_code(self.context, data)}.detach()"
        if flag is None:
            return detached
        return f"{detached}.requires_grad_()" if flag == "True" else f"{detached}.requires_grad_({flag})"

    def _is_fresh_factory(self, data: cst.BaseExpression) -> bool:
        """A factory call whose result is a new tensor that nothing else references and that
        does not require grad: wrapping it in `Variable` changes nothing."""
        if not isinstance(data, cst.Call):
            return False
        if any(argument.star for argument in data.args):
            return False  # `**kwargs` may hold `requires_grad` or `out`
        if any(argument.keyword is not None and argument.keyword.value in ("requires_grad", "out") for argument in data.args):
            return False  # `out=` returns an existing tensor; `requires_grad=True` would be detached
        if is_fresh_typed_construction(self.context, data):
            return True
        callee = self.context.names.callee(data)
        if callee & FACTORIES:
            return not callee & GRAD_CARRYING_FACTORIES
        return isinstance(data.func, cst.Attribute) and data.func.attr.value in NEW_METHODS

    def _plain_data_is_exact(self, variable: VariableCall) -> bool:
        """Whether `Variable(x)` may become plain `x` without any observable change."""
        call = variable.call
        if set(variable.arguments) - {"data", "volatile"}:
            return False
        if self._is_parameter_data(call):
            return True  # nn.Parameter detaches its argument itself
        data = variable.value("data")
        if self.context.gradflow.facts(data).requires_grad is not RequiresGrad.NO:
            return False
        if not isinstance(data, cst.Name) or data.value in self._identity_sensitive_names:
            return False
        parent = self.context.parents.get(call)
        if isinstance(parent, cst.Assign):
            # `v = Variable(x)`: v and x become one object; fine unless either is used as one.
            targets = parent.targets
            return (
                len(targets) == 1
                and isinstance(targets[0].target, cst.Name)
                and targets[0].target.value not in self._identity_sensitive_names
            )
        if isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation)):
            return True
        if isinstance(parent, cst.Attribute):
            return parent.attr.value not in IDENTITY_METHODS
        return False

    def _is_parameter_data(self, call: cst.Call) -> bool:
        argument = self.context.parents.get(call)
        if not isinstance(argument, cst.Arg) or argument.star:
            return False
        parameter_call = self.context.parents.get(argument)
        if not isinstance(parameter_call, cst.Call) or not self.context.names.is_(parameter_call.func, PARAMETER):
            return False
        first = parameter_call.args[0]
        return (argument is first and argument.keyword is None) or (
            argument.keyword is not None and argument.keyword.value == "data"
        )

    @cached_property
    def _identity_sensitive_names(self) -> frozenset[str]:
        finder = IdentityUses()
        walk(self.context.module, finder)
        return frozenset(finder.names)


# --- Helpers ------------------------------------------------------------------------------


def is_fresh_typed_construction(context, call: cst.BaseExpression) -> bool:
    """`torch.FloatTensor(2, 3)` / `torch.LongTensor([1, 2])`: a CPU typed constructor of
    literal sizes or literal data, which makes a new tensor that nothing else references
    (with an ndarray or a tensor argument it would alias that instead)."""
    if not isinstance(call, cst.Call) or not context.names.callee(call) & set(TYPED_CONSTRUCTORS):
        return False
    return all(
        argument.keyword is None
        and not argument.star
        and isinstance(argument.value, (cst.Integer, cst.List, cst.Tuple))
        for argument in call.args
    )

# Methods that change a tensor's autograd metadata or shape (not just its values): after
# `v = x`, these act on x too, while on `x.detach()` they do not.
IDENTITY_METHODS = frozenset(
    {"requires_grad_", "resize_", "resize_as_", "set_", "register_hook", "retain_grad", "share_memory_"}
)


class IdentityUses(cst.CSTVisitor):
    """Names used as objects with an identity: attributes set on them, metadata-changing
    methods, `is` comparisons, `id(...)`. Conservative: names are matched by spelling."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._attribute_owner(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._attribute_owner(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._attribute_owner(node.target)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in IDENTITY_METHODS and isinstance(node.value, cst.Name):
            self.names.add(node.value.value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if any(isinstance(target.operator, (cst.Is, cst.IsNot)) for target in node.comparisons):
            for operand in [node.left, *(target.comparator for target in node.comparisons)]:
                if isinstance(operand, cst.Name):
                    self.names.add(operand.value)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "id":
            self.names.update(arg.value.value for arg in node.args if isinstance(arg.value, cst.Name))

    def _attribute_owner(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            self.names.add(target.value.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._attribute_owner(element.value)


LITERAL_TYPE_NAMES = {
    cst.List: "list",
    cst.ListComp: "list",
    cst.Tuple: "tuple",
    cst.Dict: "dict",
    cst.DictComp: "dict",
    cst.Set: "set",
    cst.SetComp: "set",
    cst.Integer: "int",
    cst.Float: "float",
    cst.Imaginary: "complex",
    cst.SimpleString: "str",
    cst.ConcatenatedString: "str",
    cst.FormattedString: "str",
    cst.GeneratorExp: "generator",
}


def raised_type_error(data: cst.BaseExpression | None, names) -> str | None:
    """The type named in M1 when `data` is surely not a tensor (a literal, an ndarray)."""
    if data is None:
        return None
    if isinstance(data, cst.UnaryOperation) and isinstance(data.operator, (cst.Minus, cst.Plus)):
        data = data.expression
    if isinstance(data, cst.Name) and data.value in ("True", "False"):
        return "bool"
    for node_type, type_name in LITERAL_TYPE_NAMES.items():
        if isinstance(data, node_type):
            return type_name
    if isinstance(data, cst.Call):
        callee = names.callee(data)
        if callee & NUMPY_NDARRAY_CONSTRUCTORS:
            return "numpy.ndarray"
        if callee & NUMPY_SCALAR_TYPES:
            return min(callee & NUMPY_SCALAR_TYPES)
    return None


def is_none(expression: cst.BaseExpression) -> bool:
    return isinstance(expression, cst.Name) and expression.value == "None"


def with_requires_grad(factory: cst.Call, flag: str | None) -> cst.Call:
    """`factory` with `requires_grad=<flag>` appended (unchanged when flag is None)."""
    if flag is None:
        return factory
    keyword = cst.Arg(
        value=cst.parse_expression(flag),
        keyword=cst.Name("requires_grad"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    arguments = list(factory.args)
    if arguments:
        last = arguments[-1]
        if isinstance(last.comma, cst.Comma):
            if isinstance(last.comma.whitespace_after, cst.SimpleWhitespace):
                arguments[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            arguments[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return factory.with_changes(args=[*arguments, keyword])


# Expressions that can be followed by `.attr` as they are.
