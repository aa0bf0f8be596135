"""The abstract values of the grad-state dataflow and their joins: requires-grad, leaf, shape,
why a value does not require grad, the grad mode, and the flow state of one program point."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass




class RequiresGrad(enum.Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Leaf(enum.Enum):
    LEAF = "leaf"
    NONLEAF = "nonleaf"
    UNKNOWN = "unknown"


YES, NO, MAYBE = RequiresGrad.YES, RequiresGrad.NO, RequiresGrad.UNKNOWN


# Why a value does not require grad; the weakest explanation first (see `stronger`).
REASON_TEXT = {
    "no-trainable-leaf": "no tensor in its history requires grad: the one created at line {line} has "
    "`requires_grad=False`, the default",
    "no-grad": "it is computed with gradients disabled by {detail} (line {line})",
    "detach": "the graph is cut by `.detach()` at line {line}",
    "data": "the graph is cut by `.data` at line {line}",
    "variable": "`Variable(...)` at line {line} returns a tensor that does not require grad: without "
    "`requires_grad=True` it is `x.detach()` on modern PyTorch",
    "item": "it is rebuilt from a Python number (`{detail}` at line {line}), which has no autograd "
    "history",
    "numpy": "it is rebuilt from a numpy array (`.numpy()` at line {line}), which has no autograd "
    "history",
    "copy": "`{detail}` at line {line} copies the data without its autograd history",
    "integer": "it holds integer or boolean values (`{detail}` at line {line}), and such tensors "
    "never require grad",
    "frozen": "it comes from a tensor frozen with `{detail}` at line {line}",
}


@dataclass(frozen=True)
class NoGradReason:
    """Why a value does not require grad, so a message can point at the cause."""

    kind: str  # a key of REASON_TEXT
    line: int | None = None  # where the graph was cut / the tensor created / grad disabled
    detail: str = ""  # the API that did it, when the kind alone does not say

    def describe(self) -> str:
        return REASON_TEXT[self.kind].format(line=self.line, detail=self.detail)


@dataclass(frozen=True)
class ValueFacts:
    """What rules may rely on. requires_grad / leaf / reason are known only for tensors."""

    requires_grad: RequiresGrad = RequiresGrad.UNKNOWN
    leaf: Leaf = Leaf.UNKNOWN
    # None: unknown shape; (): 0-dim; (2, 3): known shape.
    shape: tuple[int, ...] | None = None
    reason: NoGradReason | None = None
    is_tensor: bool = False  # known to be a torch.Tensor
    # `.grad` may be set without a backward into it: True after `retain_grad()` or an
    # assignment to `.grad`, False when known not to be, None when unknown.
    grad_kept: bool | None = None
    # Every element equals this number (the WGAN `one` / `mone` tensors are 1 / -1).
    constant: float | None = None
    # The shape it has if it is a tensor at all: `loss = 0` then `loss += criterion(out, y)`
    # in a loop is the number 0 or a 0-dim tensor, so `loss.data[0]` raises whenever it runs.
    shape_if_tensor: tuple[int, ...] | None = None
    # Computed by a torch operation with grad disabled (`with torch.no_grad():`), from inputs
    # that may be anything (a function's parameters): if it is a tensor at all, it does not
    # require grad, whatever the inputs were. Why (the no_grad line), else None.
    no_grad_if_tensor: NoGradReason | None = None


UNKNOWN = ValueFacts()


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def torch_size(shape: tuple[int, ...]) -> str:
    """A shape as PyTorch prints it in its messages: `torch.Size([2, 3])`."""
    return f"torch.Size([{', '.join(map(str, shape))}])"


class Kind(enum.Enum):
    TENSOR = "tensor"
    NUMBER = "number"  # a Python number or bool (`constant`: its value, when known)
    ARRAY = "array"  # a numpy array or scalar
    MODULE = "module"  # a torch.nn module computing a new tensor from its input
    # A module that may return its input or a parameter as it is (nn.Identity, dropout, in-place
    # activations, a module class of the user's): with grad disabled its output may still
    # require grad.
    PASSTHROUGH_MODULE = "passthrough module"
    LOSS = "loss"  # a loss module whose default reduction gives a 0-dim result
    OPTIMIZER = "optimizer"
    NO_GRAD = "no-grad context"  # `torch.no_grad()`, usable in `with`
    ENABLE_GRAD = "enable-grad context"
    CODE = "code"  # a function or class defined in this file
    MODULE_CLASS = "module class"  # a class defined in this file that derives from nn.Module
    ARG_PARSER = "argument parser"  # `argparse.ArgumentParser()`
    # `parser.parse_args()`: its attributes are numbers, strings or lists, never tensors
    # (unless the file assigns one: see `Expressions.expr_Attribute`).
    ARGUMENTS = "parsed arguments"
    OTHER = "other"  # some other value known not to be a tensor (None, str, list ...)
    UNBOUND = "unbound"  # a local read before it is assigned: the bottom of the lattice
    UNKNOWN = "unknown"


# Objects whose kind is all the analysis uses: the same whichever instance a name holds.
OBJECT_KINDS = frozenset({
    Kind.MODULE, Kind.PASSTHROUGH_MODULE, Kind.LOSS, Kind.OPTIMIZER, Kind.NO_GRAD, Kind.ENABLE_GRAD,
    Kind.CODE, Kind.MODULE_CLASS, Kind.ARG_PARSER, Kind.ARGUMENTS,
})


# Kinds that never carry gradients into an operation.
CONSTANT_KINDS = frozenset({Kind.NUMBER, Kind.ARRAY, Kind.OTHER})


@dataclass(frozen=True)
class Value:
    kind: Kind = Kind.UNKNOWN
    requires_grad: RequiresGrad = MAYBE
    leaf: Leaf = Leaf.UNKNOWN
    shape: tuple[int, ...] | None = None
    reason: NoGradReason | None = None
    objects: frozenset[int] = frozenset()  # allocation sites of the objects it may be
    grad_kept: bool | None = None
    constant: float | None = None
    tensor_shape: tuple[int, ...] | None = None  # UNKNOWN kind: the shape if it is a tensor

    def public(self) -> ValueFacts:
        tensor = self.kind is Kind.TENSOR
        return ValueFacts(
            requires_grad=self.requires_grad if tensor else MAYBE,
            leaf=self.leaf if tensor else Leaf.UNKNOWN,
            shape=self.shape if self.kind in (Kind.TENSOR, Kind.UNKNOWN) else None,
            reason=self.reason if tensor and self.requires_grad is NO else None,
            is_tensor=tensor,
            grad_kept=self.grad_kept if tensor else None,
            constant=self.constant if tensor else None,
            shape_if_tensor=self.shape_if_tensor(),
            no_grad_if_tensor=self.reason if (
                self.kind in (Kind.TENSOR, Kind.UNKNOWN) and self.requires_grad is NO
                and self.reason is not None and self.reason.kind == "no-grad"
            ) else None,
        )

    def shape_if_tensor(self) -> tuple[int, ...] | None:
        if self.kind is Kind.TENSOR:
            return self.shape
        return self.tensor_shape if self.kind is Kind.UNKNOWN else None

    def forgotten(self) -> Value:
        """The same objects after unknown code may have changed them."""
        kind = self.kind if self.kind is Kind.TENSOR else Kind.UNKNOWN
        return Value(kind, objects=self.objects)


def is_int(constant) -> bool:
    return isinstance(constant, int) and not isinstance(constant, bool)


UNBOUND = Value(Kind.UNBOUND)


TOP = Value()


OTHER = Value(Kind.OTHER, NO)


def number(constant=None) -> Value:
    return Value(Kind.NUMBER, NO, constant=constant)


def stronger(a: NoGradReason | None, b: NoGradReason | None) -> NoGradReason | None:
    """The more telling of two reasons: a cut beats "no trainable leaf"; then the first line,
    then the kind and the detail (the first of two equal ones).

    The order is `min` by (weak, line, kind, detail); a line is read only when the kinds'
    strength does not decide and the two lines are not one object (the walk's lines are
    statements.LazyLine, one per node, looked up in the positions when read)."""
    if a is None or b is None:
        return a or b
    if a is b:
        return a
    a_weak, b_weak = a.kind == "no-trainable-leaf", b.kind == "no-trainable-leaf"
    if a_weak is not b_weak:
        return b if a_weak else a
    if a.line is not b.line:
        a_line = 0 if a.line is None else int(a.line)
        b_line = 0 if b.line is None else int(b.line)
        if a_line != b_line:
            return a if a_line < b_line else b
    return b if (b.kind, b.detail) < (a.kind, a.detail) else a


def join(a: Value, b: Value) -> Value:
    if a is b or a.kind is Kind.UNBOUND or a == b:
        return b
    if b.kind is Kind.UNBOUND:
        return a
    requires_grad = a.requires_grad if a.requires_grad is b.requires_grad else MAYBE
    return Value(
        a.kind if a.kind is b.kind else Kind.UNKNOWN,
        requires_grad,
        a.leaf if a.leaf is b.leaf else Leaf.UNKNOWN,
        a.shape if a.shape == b.shape else None,
        stronger(a.reason, b.reason) if requires_grad is NO else None,
        a.objects | b.objects,
        a.grad_kept if a.grad_kept == b.grad_kept else None,
        a.constant if a.constant == b.constant else None,
        joined_tensor_shape(a, b) if a.kind is not b.kind or a.kind is Kind.UNKNOWN else None,
    )


def joined_tensor_shape(a: Value, b: Value) -> tuple[int, ...] | None:
    """The shape of the join if it is a tensor: a number is no tensor, so it adds no shape."""
    if a.kind is Kind.NUMBER:
        return b.shape_if_tensor()
    if b.kind is Kind.NUMBER:
        return a.shape_if_tensor()
    shape = a.shape_if_tensor()
    return shape if shape is not None and shape == b.shape_if_tensor() else None


@dataclass(frozen=True)
class GradMode:
    enabled: bool | None  # None: unknown
    since: NoGradReason | None = None  # where gradients were disabled


ENABLED, UNKNOWN_MODE = GradMode(True), GradMode(None)


def join_modes(a: GradMode, b: GradMode) -> GradMode:
    if a == b:
        return a
    if a.enabled is False and b.enabled is False:
        return GradMode(False, stronger(a.since, b.since))
    return UNKNOWN_MODE


class State:
    """The flow state at one program point."""

    def __init__(self, env: dict[str, Value], mode: GradMode, escaped: frozenset[int]) -> None:
        self.env = env
        self.mode = mode
        self.escaped = escaped

    def copy(self) -> State:
        return State(dict(self.env), self.mode, self.escaped)

    def __eq__(self, other) -> bool:
        return (self.env, self.mode, self.escaped) == (other.env, other.mode, other.escaped)


def join_states(*states: State | None) -> State | None:
    reached = [state for state in states if state is not None]
    if not reached:
        return None
    result = reached[0].copy()
    for state in reached[1:]:
        env = result.env
        for name in env.keys() | state.env.keys():
            value = env.get(name, UNBOUND)
            other = state.env.get(name, UNBOUND)
            if value is not other or name not in env:  # join(v, v) is v, already there
                env[name] = join(value, other)
        result.mode = join_modes(result.mode, state.mode)
        result.escaped |= state.escaped
    return result
