"""Reading calls and literals: backward calls and their arguments, call arguments with their
abstract values, literal data, and the shape arithmetic of broadcasting and matmul."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from varlint.analysis import torch_api as api
from varlint.analysis.torch_api import BACKWARD_PARAMETERS
from varlint.analysis.gradflow.lattice import CONSTANT_KINDS, Kind, Value


@dataclass(frozen=True)
class BackwardCall:
    """A call that differentiates: `t.backward(g)`, `torch.autograd.backward(ts, gs)`,
    `torch.autograd.grad(outputs, inputs, grad_outputs)`."""

    outputs: tuple[cst.BaseExpression, ...]
    # The gradient given for each output (None: implicit); None when not known per output.
    gradients: tuple[cst.BaseExpression | None, ...] | None
    method: bool  # the `t.backward(...)` form
    # `backward(inputs=...)`: the tensors whose `.grad` it fills, leaves or not.
    inputs: cst.BaseExpression | None = None


def backward_call(call: cst.Call, qualified: set[str]) -> BackwardCall | None:
    """Recognise a differentiating call; `qualified` are the qualified names of `call.func`."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "backward" and not qualified:
        if any(arg.keyword is not None and arg.keyword.value not in BACKWARD_PARAMETERS for arg in call.args):
            return None
        gradient = argument(call, 0, "gradient")
        return BackwardCall((func.value,), (none_to_missing(gradient),), True, argument(call, 3, "inputs"))
    name = next((n for n in qualified if n in api.AUTOGRAD_FUNCTIONS), None)
    if name is None:
        return None
    tensors = argument(call, 0, "tensors" if name.endswith("backward") else "outputs")
    if tensors is None:
        return None
    outputs = sequence_elements(tensors) or (tensors,)
    gradient = argument(call, api.AUTOGRAD_FUNCTIONS[name], *api.AUTOGRAD_GRADIENT_KEYWORDS)
    gradient = none_to_missing(gradient)
    if gradient is None:
        gradients: tuple | None = (None,) * len(outputs)
    elif sequence_elements(gradient) is not None:
        gradients = tuple(none_to_missing(g) for g in sequence_elements(gradient))
        gradients = gradients if len(gradients) == len(outputs) else None
    else:
        gradients = (gradient,) if len(outputs) == 1 else None
    inputs = argument(call, 5, "inputs") if name.endswith("backward") else None
    return BackwardCall(outputs, gradients, False, inputs)


def argument(call: cst.Call, index: int, *keywords: str) -> cst.BaseExpression | None:
    """The argument at positional `index` or passed by one of `keywords`."""
    positional = [arg for arg in call.args if arg.keyword is None]
    if any(arg.star for arg in call.args):
        return None
    if index < len(positional):
        return positional[index].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in keywords:
            return arg.value
    return None


def none_to_missing(node: cst.BaseExpression | None) -> cst.BaseExpression | None:
    return None if isinstance(node, cst.Name) and node.value == "None" else node


def sequence_elements(node: cst.BaseExpression) -> tuple[cst.BaseExpression, ...] | None:
    if isinstance(node, (cst.List, cst.Tuple)) and not any(
        isinstance(element, cst.StarredElement) for element in node.elements
    ):
        return tuple(element.value for element in node.elements)
    return None


def is_sizes(node: cst.BaseExpression) -> bool:
    """`x.shape` or `x.size()` (OTHER when `x` is a tensor or unknown: its torch.Size)."""
    if isinstance(node, cst.Attribute):
        return node.attr.value == "shape"
    return (
        isinstance(node, cst.Call) and not node.args
        and isinstance(node.func, cst.Attribute) and node.func.attr.value == "size"
    )


def is_read(attribute: cst.Attribute, parents) -> bool:
    """Whether `x.attr` is read (not assigned or deleted)."""
    return not isinstance(parents.get(attribute), (cst.AssignTarget, cst.Del))


class CallArguments:
    """The evaluated arguments of one call."""

    def __init__(self, node: cst.Call, values: list[Value]) -> None:
        self.node = node
        self.values = values
        self.positional = [v for arg, v in zip(node.args, values) if arg.keyword is None and not arg.star]
        self.keywords = {arg.keyword.value: v for arg, v in zip(node.args, values) if arg.keyword is not None}

    def get(self, index: int | None, keyword: str) -> Value | None:
        if index is not None and index < len(self.positional):
            return self.positional[index]
        return self.keywords.get(keyword)

    def node_for(self, keyword: str) -> cst.BaseExpression | None:
        named = (arg.value for arg in self.node.args if arg.keyword and arg.keyword.value == keyword)
        return next(named, None)

    def flag(self, index: int | None, keyword: str, default: bool) -> bool | None:
        """A boolean argument: its literal value, the default when absent, None if unknown."""
        value = self.get(index, keyword)
        if value is None:
            return default
        if value.kind is Kind.NUMBER and value.constant is not None:
            return bool(value.constant)
        return None


_FLOAT_CHARACTERS = frozenset("0123456789.eE+-")


def integer_value(node: cst.Integer) -> int:
    """`node.evaluated_value` (libcst's `ast.literal_eval` of the text, a compile each time)
    without the compile for plain decimals, which `int()` reads the same."""
    text = node.value
    if text.isascii() and text.isdigit() and (text[0] != "0" or not text.strip("0")):
        return int(text)
    return node.evaluated_value


def float_value(node: cst.Float) -> float:
    """`node.evaluated_value` without the compile for literals of digits, `.`, exponents (no
    `_` separators): `float()` reads them with the same correctly rounded conversion."""
    text = node.value
    if _FLOAT_CHARACTERS.issuperset(text):
        return float(text)
    return node.evaluated_value


def literal_bool(node: cst.BaseExpression | None) -> bool | None:
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    if isinstance(node, cst.Integer):
        return bool(integer_value(node))
    return None


def literal_data(node: cst.BaseExpression, values) -> tuple[tuple[int, ...], float | None] | None:
    """Shape and uniform element value of literal tensor data: `[[1., 2.], [3., 4.]]`, `-1`."""
    elements = sequence_elements(node)
    if elements is None:
        value = values.get(node)
        if value is not None and value.kind is Kind.NUMBER:
            return (), value.constant
        return None
    parts = [literal_data(element, values) for element in elements]
    if any(part is None for part in parts) or len({part[0] for part in parts}) > 1:
        return None
    inner = parts[0][0] if parts else ()
    constants = {part[1] for part in parts}
    constant = constants.pop() if len(constants) == 1 else None
    return (len(parts),) + inner, constant


def arithmetic(operator, left, right):
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return None
    try:
        if isinstance(operator, (cst.Add, cst.AddAssign)):
            return left + right
        if isinstance(operator, (cst.Subtract, cst.SubtractAssign)):
            return left - right
        if isinstance(operator, (cst.Multiply, cst.MultiplyAssign)):
            return left * right
        if isinstance(operator, (cst.Divide, cst.DivideAssign)):
            return left / right
    except (ZeroDivisionError, OverflowError, TypeError):
        return None
    return None


def broadcast(values: list[Value]) -> tuple[int, ...] | None:
    """numpy/torch broadcasting of the tensor operands' shapes (numbers broadcast anywhere)."""
    shapes = [value.shape for value in values if value.kind not in CONSTANT_KINDS]
    if not shapes or any(shape is None for shape in shapes):
        return None
    rank = max(len(shape) for shape in shapes)
    result = []
    for axis in range(rank):
        sizes = {shape[axis - rank + len(shape)] for shape in shapes if axis - rank + len(shape) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def matmul_shape(left: tuple | None, right: tuple | None) -> tuple | None:
    if left is None or right is None:
        return None
    if len(left) == 1 and len(right) == 1:
        return () if left == right else None
    if len(left) == 2 and len(right) == 2:
        return (left[0], right[1]) if left[1] == right[0] else None
    if len(left) == 2 and len(right) == 1:
        return (left[0],) if left[1] == right[0] else None
    if len(left) == 1 and len(right) == 2:
        return (right[1],) if left[0] == right[0] else None
    return None
