"""The shared requires-grad / leaf / shape dataflow (rules.md, "VL1xx: autograd graph semantics").

`GradFlow.facts(expression)` says what is known about the value of an expression where it is
evaluated: whether it requires grad (YES / NO / UNKNOWN), whether it is a leaf, its shape, and
why it does not require grad. The analysis runs once per file, on first use, and is shared by
VL001, VL004, the VL1xx rules and the loop rules.

How it works. Each scope (the module, every function, every class body) is walked statement by
statement with an abstract state: name -> `Value`, the grad mode, and the objects that escaped
into places the analysis does not follow (containers, attributes, unknown functions). Branches
join; loops iterate to a fixpoint; every expression's value is recorded, joined over all the
times it is evaluated. Sources and transfer rules are the ones of rules.md: factories and
`Variable` take their `requires_grad`, `nn.Parameter` is YES, `.detach()` / `.data` / `.item()`
/ `.numpy()` / integer results are NO, known differentiable ops combine their inputs, anything
computed with grad disabled is NO; function parameters, attributes, globals read in functions,
user calls and module calls are UNKNOWN. After `t.backward()` the program only goes on if `t`
required grad, so from there `t` is YES (its shape stays what it was: without a gradient it held
one element, but a `(1,)` tensor does too, so it need not be 0-dim).

Soundness against aliasing: every tensor value carries the allocation sites of the objects it
may be. A flag change (`requires_grad_()`, `.requires_grad = ...`) or an in-place op through one
name updates that name, and every other name that may hold the same object is joined with the
new value; a flag change through something unknown (`for p in params: p.requires_grad = False`)
or a call that may run such code forgets what is known about every escaped object.

Precision first: UNKNOWN never triggers a diagnostic, and whatever is not modelled is UNKNOWN.
"""

from __future__ import annotations

import collections
import enum
import itertools
import math
import sys
from dataclasses import dataclass, replace

import libcst as cst

from varlint.analysis import torch_api as api
from varlint.analysis.names import VARIABLE, read_paths


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


UNKNOWN = ValueFacts()


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


# Tensor.backward's parameters: any other keyword raises TypeError (`retain_variables=`).
BACKWARD_PARAMETERS = ("gradient", "retain_graph", "create_graph", "inputs")


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


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def torch_size(shape: tuple[int, ...]) -> str:
    """A shape as PyTorch prints it in its messages: `torch.Size([2, 3])`."""
    return f"torch.Size([{', '.join(map(str, shape))}])"


def is_read(attribute: cst.Attribute, parents) -> bool:
    """Whether `x.attr` is read (not assigned or deleted)."""
    return not isinstance(parents.get(attribute), (cst.AssignTarget, cst.Del))


class GradFlow:
    def __init__(self, context) -> None:
        self.context = context
        self._values: dict[cst.CSTNode, Value] | None = None

    def facts(self, expression: cst.BaseExpression) -> ValueFacts:
        """What is known about the value of `expression` where it is evaluated."""
        if self._values is None:
            try:
                self._values = Analysis(self.context).run()
            except RecursionError:  # code nested too deep to analyse: know nothing about it
                self._values = {}
        value = self._values.get(expression)
        return UNKNOWN if value is None else value.public()

    def backward_call(self, call: cst.Call) -> BackwardCall | None:
        return backward_call(call, self.context.names.qualified(call.func))


# --- The abstract values ------------------------------------------------------------------


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
    OTHER = "other"  # some other value known not to be a tensor (None, str, list ...)
    UNBOUND = "unbound"  # a local read before it is assigned: the bottom of the lattice
    UNKNOWN = "unknown"


# Objects whose kind is all the analysis uses: the same whichever instance a name holds.
OBJECT_KINDS = frozenset({
    Kind.MODULE, Kind.PASSTHROUGH_MODULE, Kind.LOSS, Kind.OPTIMIZER, Kind.NO_GRAD, Kind.ENABLE_GRAD,
    Kind.CODE, Kind.MODULE_CLASS,
})
# Tensor methods the analysis models (other methods of an unknown object are unknown calls).
KNOWN_TENSOR_METHODS = (
    api.ELEMENTWISE_OPS | api.MATMUL_OPS | api.VIEW_OPS | api.CONVERSION_OPS | api.DIFFERENTIABLE_OPS
    | api.INTEGER_OPS | api.FULL_REDUCTIONS | api.PAIR_REDUCTIONS | api.PYTHON_VALUE_METHODS
    | api.NEW_METHODS | {"detach", "item", "tolist", "numpy"}
)
# Constructors that build a tensor from data or sizes (the typed ones read ints as sizes).
TENSOR_CONSTRUCTORS = (
    frozenset(api.TYPED_CONSTRUCTORS)
    | frozenset(api.CUDA_TYPED_CONSTRUCTORS)
    | {"torch.Tensor", "torch.as_tensor"}
)
# Module methods that return the module itself.
MODULE_RETURNING_METHODS = frozenset(
    {"cuda", "cpu", "to", "train", "eval", "float", "double", "half", "type", "requires_grad_"}
)
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
        )

    def forgotten(self) -> Value:
        """The same objects after unknown code may have changed them."""
        kind = self.kind if self.kind is Kind.TENSOR else Kind.UNKNOWN
        return Value(kind, objects=self.objects)


def is_module_class(name: str) -> bool:
    """`torch.nn.Linear` and the like: a class whose instances are modules."""
    if not name.startswith("torch.nn."):  # also `model` of `import model`: no dot at all
        return False
    capitalized = name.rsplit(".", 1)[1][:1].isupper()
    return capitalized and name not in api.NN_NON_MODULES


def is_int(constant) -> bool:
    return isinstance(constant, int) and not isinstance(constant, bool)


UNBOUND = Value(Kind.UNBOUND)
TOP = Value()
OTHER = Value(Kind.OTHER, NO)


def number(constant=None) -> Value:
    return Value(Kind.NUMBER, NO, constant=constant)


def stronger(a: NoGradReason | None, b: NoGradReason | None) -> NoGradReason | None:
    """The more telling of two reasons: a cut beats "no trainable leaf"; then the first line."""
    if a is None or b is None:
        return a or b
    return min(a, b, key=lambda r: (r.kind == "no-trainable-leaf", r.line or 0, r.kind, r.detail))


def join(a: Value, b: Value) -> Value:
    if a.kind is Kind.UNBOUND or a == b:
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
    )


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
        for name in result.env.keys() | state.env.keys():
            result.env[name] = join(result.env.get(name, UNBOUND), state.env.get(name, UNBOUND))
        result.mode = join_modes(result.mode, state.mode)
        result.escaped |= state.escaped
    return result


# --- Facts about the whole file, collected before the walk ----------------------------------

FLAG_METHODS = frozenset({"requires_grad_", "detach_", "retain_grad"})
# Builtins that reach objects and names by strings.
REFLECTION = frozenset({"getattr", "setattr", "delattr", "exec", "eval", "vars", "globals", "locals"})
FLAG_ATTRIBUTES = frozenset({"requires_grad", "grad"})
MAX_ITERATIONS = 12
PURE_LIBRARIES = frozenset(sys.stdlib_module_names) | {"numpy", "scipy", "matplotlib", "pandas"}


class FlagChanges(cst.CSTVisitor):
    """Finds code that may change a tensor's requires_grad, or give it a `.grad` to keep."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def counts(self) -> bool:
        return True

    def visit_Call(self, call: cst.Call) -> None:
        func = call.func
        flag_method = isinstance(func, cst.Attribute) and func.attr.value in FLAG_METHODS
        reflection = isinstance(func, cst.Name) and func.value in REFLECTION
        self.found |= (flag_method or reflection) and self.counts()

    def visit_Assign(self, assign: cst.Assign) -> None:
        # `p.grad = None` (a reset) leaves no gradient to read: not a change that matters.
        reset = none_to_missing(assign.value) is None
        attributes = ("requires_grad",) if reset else FLAG_ATTRIBUTES
        changes = any(is_flag_target(target.target, attributes) for target in assign.targets)
        self.found |= changes and self.counts()

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.found |= is_flag_target(node.target) and self.counts()


def changes_flags(node: cst.CSTNode) -> bool:
    finder = FlagChanges()
    node.visit(finder)
    return finder.found


def is_flag_target(target: cst.BaseExpression, attributes=FLAG_ATTRIBUTES) -> bool:
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(is_flag_target(element.value, attributes) for element in target.elements)
    return isinstance(target, cst.Attribute) and target.attr.value in attributes


class FilePrepass(FlagChanges):
    """What the walk must know in advance, in one traversal: names rebound behind its back,
    functions that may run with grad disabled, and whether code the walk does not follow (a
    function or lambda body, reflection) may change requires_grad flags (`found`)."""

    def __init__(self, analysis: Analysis) -> None:
        super().__init__()
        self.analysis = analysis
        self.globals_declared: set[str] = set()
        self.nonlocals_declared: set[str] = set()
        self.declared_in: dict[cst.CSTNode, set[str]] = {}  # function -> its global/nonlocal names
        self.walrus_targets: set[str] = set()
        self.called_without_grad: set[str] = set()  # names called inside no_grad code
        self.switches_in_functions = False  # `torch.set_grad_enabled(False)` run by a function
        self.switches_anywhere = False
        self.functions: list[cst.CSTNode] = []  # the enclosing functions and lambdas
        self.no_grad_depth = 0

    def counts(self) -> bool:
        return bool(self.functions)

    def declare(self, items, declared: set[str]) -> None:
        names = {item.name.value for item in items}
        declared |= names
        if self.functions:
            self.declared_in.setdefault(self.functions[-1], set()).update(names)

    def visit_Global(self, node: cst.Global) -> None:
        self.declare(node.names, self.globals_declared)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declare(node.names, self.nonlocals_declared)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if isinstance(node.target, cst.Name):
            self.walrus_targets.add(node.target.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)
        self.no_grad_depth += self.disables(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.pop()
        self.no_grad_depth -= self.disables(node)

    def disables(self, node: cst.FunctionDef) -> bool:
        mode = self.analysis.decorator_mode(node)
        return mode is not None and mode.enabled is False

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.functions.append(node)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.functions.pop()

    def visit_With(self, node: cst.With) -> None:
        self.no_grad_depth += self.with_disables(node)

    def leave_With(self, node: cst.With) -> None:
        self.no_grad_depth -= self.with_disables(node)

    def with_disables(self, node: cst.With) -> bool:
        return any(self.analysis.grad_context(item.item) is False for item in node.items)

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if isinstance(node.func, cst.Name):
            if self.no_grad_depth:
                self.called_without_grad.add(node.func.value)
            if node.func.value in REFLECTION:  # `getattr(t, "requires_grad_")()` at any level
                self.found = True
        if self.analysis.names.qualified(node.func) & api.SET_GRAD_ENABLED:
            in_with = isinstance(self.analysis.parents.get(node), cst.WithItem)
            if not in_with and literal_bool(argument(node, 0, "mode")) is not True:
                self.switches_anywhere = True
                self.switches_in_functions |= bool(self.functions)


@dataclass
class ScopeInfo:
    node: cst.CSTNode  # Module, FunctionDef or ClassDef
    local_names: set[str]  # names bound in this scope (a read before assignment is unbound)
    untracked: set[str]  # names rebound behind the walk's back (global, nonlocal, walrus)
    exposed: set[str]  # names read from nested scopes: their objects escape


# --- The walk -------------------------------------------------------------------------------


class Analysis:
    def __init__(self, context) -> None:
        self.context = context
        self.names = context.names
        self.parents = context.parents
        self.positions = context.positions
        self.values: dict[cst.CSTNode, Value] = {}
        self.pending: list[tuple[cst.CSTNode, GradMode]] = []  # scopes to walk, in order
        self.scheduled: set[cst.CSTNode] = set()
        self.prepass = FilePrepass(self)
        self.loops: list[tuple[list, list]] = []  # (break states, continue states) per loop
        self.try_states: list[list[State]] = []  # states an exception may leave, per `try`
        self.scope: ScopeInfo | None = None
        # Module-level names bound once to an object whose kind is all that matters (a loss
        # module, a model, an optimizer): functions that read them see that kind.
        self.assigned_once: set[str] = set()
        self.module_objects: dict[str, Value] = {}

    def run(self) -> dict[cst.CSTNode, Value]:
        module = self.context.module
        module.visit(self.prepass)
        module_scope = self.names.scope_created[module]
        self.assigned_once = {name for name, bindings in module_scope.bindings.items() if len(bindings) == 1}
        self.schedule(module, UNKNOWN_MODE if self.prepass.switches_in_functions else ENABLED)
        while self.pending:
            self.walk_scope(*self.pending.pop(0))
        return self.values

    def schedule(self, node: cst.CSTNode, mode: GradMode) -> None:
        if node not in self.scheduled:
            self.scheduled.add(node)
            self.pending.append((node, mode))

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    # Scopes

    def walk_scope(self, node: cst.CSTNode, mode: GradMode) -> None:
        body = list(node.body) if isinstance(node, cst.Module) else list(node.body.body)
        scope = self.names.scope_created.get(node)
        if scope is None or not body:
            return
        untracked = self.prepass.walrus_targets | self.prepass.nonlocals_declared
        if isinstance(node, cst.Module):
            untracked |= self.prepass.globals_declared
        else:
            untracked |= self.prepass.declared_in.get(node, set())
        local_names = scope.local_names
        env: dict[str, Value] = {}
        if isinstance(node, cst.FunctionDef):
            env = {name: TOP for name in self.parameters(node.params)}
        self.scope = ScopeInfo(node, local_names, untracked, scope.exposed)
        self.block(body, State(env, mode, frozenset()))

    @staticmethod
    def parameters(params: cst.Parameters) -> list[str]:
        names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                names.append(star.name.value)
        return names

    def function_entry_mode(self, node: cst.FunctionDef) -> GradMode:
        """Grad mode when the function starts: its decorator's, else enabled for module-level
        functions never called with grad disabled in this file, else unknown."""
        decorated = self.decorator_mode(node)
        if decorated is not None:
            return decorated
        if (
            isinstance(self.scope.node, cst.Module)
            and not self.prepass.switches_anywhere
            and node.name.value not in self.prepass.called_without_grad
        ):
            return ENABLED
        return UNKNOWN_MODE

    def decorator_mode(self, node: cst.FunctionDef) -> GradMode | None:
        for decorator in node.decorators:
            enabled = self.grad_context(decorator.decorator, bare_ok=True)
            if enabled is False:
                written = f"`@{self.context.code(decorator.decorator)}`"
                reason = NoGradReason("no-grad", self.line(decorator), written)
                return GradMode(False, reason)
            if enabled is True:
                return ENABLED
        return None

    def grad_context(self, node: cst.BaseExpression, bare_ok: bool = False) -> bool | None:
        """For `torch.no_grad()` False, `torch.enable_grad()` True, `set_grad_enabled(flag)`
        the flag when literal; None for anything else."""
        if isinstance(node, cst.Call):
            qualified = self.names.qualified(node.func)
            if qualified & api.SET_GRAD_ENABLED:
                return literal_bool(argument(node, 0, "mode"))
            if qualified & api.NO_GRAD_CONTEXTS:
                flag = argument(node, 0, "mode")
                return False if flag is None else (False if literal_bool(flag) else None)
            if qualified & api.ENABLE_GRAD_CONTEXTS:
                return True
            return None
        if bare_ok:
            qualified = self.names.qualified(node)
            if qualified & api.NO_GRAD_CONTEXTS:
                return False
            if qualified & api.ENABLE_GRAD_CONTEXTS:
                return True
        return None

    # Statements

    def block(self, statements, state: State | None) -> State | None:
        for statement in statements:
            if state is None:
                return None
            state = self.statement(statement, state)
            if state is not None:
                for collected in self.try_states:
                    collected.append(state.copy())
        return state

    def statement(self, node: cst.CSTNode, state: State) -> State | None:
        if isinstance(node, cst.BaseSmallStatement):  # in a one-line body: `if c: x = 1`
            return self.small_statement(node, state)
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                state = self.small_statement(small, state)
                if state is None:
                    return None
            return state
        handler = getattr(self, f"stmt_{type(node).__name__}", None)
        if handler is None:  # match statements and anything newer: forget what they may assign
            return self.forget_assigned(node, state)
        return handler(node, state)

    def small_statement(self, node: cst.BaseSmallStatement, state: State) -> State | None:
        if isinstance(node, cst.Expr):
            self.expr(node.value, state)
        elif isinstance(node, cst.Assign):
            value = self.expr(node.value, state)
            for target in node.targets:
                self.assign(target.target, value, state, node.value)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.expr(node.value, state), state, node.value)
        elif isinstance(node, cst.AugAssign):
            self.augmented_assign(node, state)
        elif isinstance(node, (cst.Return, cst.Raise)):
            for part in (getattr(node, "value", None), getattr(node, "exc", None)):
                if part is not None:
                    self.expr(part, state)
            return None
        elif isinstance(node, cst.Break):
            self.loops[-1][0].append(state)
            return None
        elif isinstance(node, cst.Continue):
            self.loops[-1][1].append(state)
            return None
        elif isinstance(node, cst.Assert):
            self.expr(node.test, state)
        elif isinstance(node, cst.Del):
            self.delete(node.target, state)
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            names = node.names if isinstance(node.names, (list, tuple)) else ()
            for alias in names:
                bound = alias.asname.name if alias.asname else alias.name
                while isinstance(bound, cst.Attribute):
                    bound = bound.value
                if isinstance(bound, cst.Name):
                    self.bind(bound.value, TOP, state)
        return state

    def stmt_If(self, node: cst.If, state: State) -> State | None:
        self.expr(node.test, state)
        taken = self.block(node.body.body, state.copy())
        if node.orelse is None:
            return join_states(taken, state)
        if isinstance(node.orelse, cst.If):
            return join_states(taken, self.stmt_If(node.orelse, state.copy()))
        return join_states(taken, self.block(node.orelse.body.body, state.copy()))

    def stmt_While(self, node: cst.While, state: State) -> State | None:
        endless = isinstance(node.test, cst.Name) and node.test.value == "True"

        def iteration(head: State) -> State | None:
            self.expr(node.test, head)
            return self.block(node.body.body, head)

        head, breaks = self.loop(state, iteration)
        exit_state = None if endless else head
        if exit_state is not None and node.orelse is not None:
            exit_state = self.block(node.orelse.body.body, exit_state.copy())
        return join_states(exit_state, *breaks)

    def stmt_For(self, node: cst.For, state: State) -> State | None:
        iterable = self.expr(node.iter, state)
        elements = sequence_elements(node.iter)
        if elements is not None:
            item = UNBOUND
            for element in elements:
                item = join(item, self.values.get(element, TOP))
        elif self.is_range(node.iter):
            item = number()
        else:  # rows of a tensor are views of it: in-place changes through them reach it
            item = Value(objects=iterable.objects)
        self.escape(iterable, state)

        def iteration(head: State) -> State | None:
            self.assign(node.target, item, head)
            return self.block(node.body.body, head)

        head, breaks = self.loop(state, iteration)
        exit_state = head
        if node.orelse is not None:
            exit_state = self.block(node.orelse.body.body, exit_state.copy())
        return join_states(exit_state, *breaks)

    def is_range(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and "builtins.range" in self.names.qualified(node.func)

    def loop(self, state: State, iteration) -> tuple[State, list[State]]:
        """Run `iteration` (head state -> end-of-body state) to a fixpoint; return the loop head
        state (the state whenever the loop test runs) and the states at `break`."""
        head = state.copy()
        for count in itertools.count():
            self.loops.append(([], []))
            end = iteration(head.copy())
            breaks, continues = self.loops.pop()
            following = join_states(head, end, *continues)
            if following == head:
                return head, breaks
            if count >= MAX_ITERATIONS:  # not converging: forget what keeps changing
                for name, value in following.env.items():
                    if head.env.get(name, UNBOUND) != value:
                        following.env[name] = value.forgotten()
            head = following

    def stmt_Try(self, node, state: State) -> State | None:
        self.try_states.append([state.copy()])
        after_body = self.block(node.body.body, state.copy())
        raised = join_states(*self.try_states.pop())
        exits = []
        if node.orelse is not None:
            after_body = self.block(node.orelse.body.body, after_body) if after_body is not None else None
        exits.append(after_body)
        for handler in node.handlers:
            entry = raised.copy()
            if handler.name is not None:
                self.assign(handler.name.name, OTHER, entry)
            exits.append(self.block(handler.body.body, entry))
        if node.finalbody is not None:
            # The finally block runs on every path; its end is where normal paths go on.
            merged = join_states(*exits, raised)
            end = self.block(node.finalbody.body.body, merged)
            return end if any(e is not None for e in exits) else None
        return join_states(*exits)

    stmt_TryStar = stmt_Try

    def stmt_With(self, node: cst.With, state: State) -> State | None:
        before = state.mode
        for item in node.items:
            value = self.expr(item.item, state)
            if value.kind is Kind.NO_GRAD:
                state.mode = GradMode(False, value.reason)
            elif value.kind is Kind.ENABLE_GRAD:
                state.mode = ENABLED
            elif self.mentions_grad_mode(item.item):  # `no_grad() if eval else nullcontext()`
                state.mode = UNKNOWN_MODE
            if item.asname is not None:
                context = value.kind in (Kind.NO_GRAD, Kind.ENABLE_GRAD)
                self.assign(item.asname.name, OTHER if context else TOP, state)
        end = self.block(node.body.body, state)
        if end is not None:
            end.mode = before  # leaving a grad-mode context restores the previous mode
        return end

    def mentions_grad_mode(self, node: cst.CSTNode) -> bool:
        apis = api.NO_GRAD_CONTEXTS | api.ENABLE_GRAD_CONTEXTS | api.SET_GRAD_ENABLED
        found = False
        names = self.names

        class Mentions(cst.CSTVisitor):
            def visit_Attribute(self, attribute: cst.Attribute) -> None:
                nonlocal found
                found = found or bool(names.qualified(attribute) & apis)

            def visit_Name(self, name: cst.Name) -> None:
                nonlocal found
                found = found or bool(names.qualified(name) & apis)

        node.visit(Mentions())
        return found

    def stmt_FunctionDef(self, node: cst.FunctionDef, state: State) -> State:
        self.schedule(node, self.function_entry_mode(node))
        self.escape_free_names(state)
        self.bind(node.name.value, Value(Kind.CODE), state)
        return state

    def stmt_ClassDef(self, node: cst.ClassDef, state: State) -> State:
        self.schedule(node, UNKNOWN_MODE)
        is_module = False
        for base in node.bases:
            qualified = self.names.qualified(base.value)
            local = state.env.get(base.value.value) if isinstance(base.value, cst.Name) else None
            if any(name.startswith("torch.nn.") for name in qualified) or (
                local is not None and local.kind is Kind.MODULE_CLASS
            ):
                is_module = True
        self.escape_free_names(state)
        self.bind(node.name.value, Value(Kind.MODULE_CLASS if is_module else Kind.CODE), state)
        return state

    def forget_assigned(self, node: cst.CSTNode, state: State) -> State:
        for name in self.scope.local_names:
            if name in state.env:
                state.env[name] = state.env[name].forgotten()
        self.havoc(state)
        return state

    # Bindings and effects

    def tracked(self, name: str) -> bool:
        return name not in self.scope.untracked

    def bind(self, name: str, value: Value, state: State) -> None:
        if not self.tracked(name):
            return
        state.env[name] = value
        if name in self.scope.exposed:
            state.escaped |= value.objects
        at_module_level = isinstance(self.scope.node, cst.Module)
        if at_module_level and name in self.assigned_once and value.kind in OBJECT_KINDS:
            self.module_objects[name] = join(self.module_objects.get(name, UNBOUND), value)

    def lookup(self, name: str, state: State) -> Value:
        if not self.tracked(name):
            return TOP
        if name in state.env:
            return state.env[name]
        if name in self.scope.local_names:
            return UNBOUND
        if name in ("True", "False"):
            return number(name == "True")
        if name == "None":
            return OTHER
        return self.module_objects.get(name, TOP)  # a module-level object, or unknown

    def assign(self, target: cst.BaseExpression, value: Value, state: State, source=None) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, value, state)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = sequence_elements(source) if source is not None else None
            for index, element in enumerate(target.elements):
                if elements is not None and len(elements) == len(target.elements):
                    part = self.values.get(elements[index], TOP)
                else:
                    part = TOP
                self.assign(element.value, part, state)
        elif isinstance(target, cst.StarredElement):
            self.assign(target.value, OTHER, state)
        elif isinstance(target, cst.Attribute):
            self.assign_attribute(target, value, state)
        elif isinstance(target, cst.Subscript):
            receiver = self.expr(target.value, state)
            self.subscript_parts(target, state)
            self.escape(value, state)
            if receiver.kind in (Kind.TENSOR, Kind.UNKNOWN):
                self.in_place(target.value, receiver, [value], state)

    def assign_attribute(self, target: cst.Attribute, value: Value, state: State) -> None:
        receiver = self.expr(target.value, state)
        attribute = target.attr.value
        if attribute == "requires_grad":
            flag = value.constant if value.kind is Kind.NUMBER else None
            self.set_requires_grad(target.value, receiver, flag, state, target, attribute=True)
        elif attribute == "grad":
            if value.kind is not Kind.OTHER:  # `x.grad = None` leaves nothing to read
                self.mutate(target.value, receiver, replace(receiver, grad_kept=True), state, flags=True)
        elif attribute == "data":
            if receiver.kind is Kind.TENSOR:
                shape = value.shape if value.kind is Kind.TENSOR else None
                new = replace(receiver, shape=shape, constant=None)
                self.mutate(target.value, receiver, new, state)
        else:
            self.escape(value, state)

    def augmented_assign(self, node: cst.AugAssign, state: State) -> None:
        operand = self.expr(node.value, state)
        target = node.target
        if isinstance(target, cst.Name):
            current = self.expr(target, state)
            if current.kind is Kind.TENSOR:
                self.in_place(target, current, [operand], state)
                return
            rebound = self.binary(node.operator, current, operand, state, node)
            if current.kind is Kind.UNKNOWN:  # a tensor (changed in place) or a number (rebound)
                self.in_place(target, current, [operand], state)
                rebound = join(state.env.get(target.value, current), rebound)
            self.bind(target.value, rebound, state)
        elif isinstance(target, cst.Subscript):
            receiver = self.expr(target.value, state)
            self.subscript_parts(target, state)
            self.escape(operand, state)
            if receiver.kind in (Kind.TENSOR, Kind.UNKNOWN):
                self.in_place(target.value, receiver, [operand], state)
            else:  # an element of a container, maybe an escaped tensor, changed in place
                self.in_place(target, TOP, [operand], state)
        elif isinstance(target, cst.Attribute):
            self.in_place(target, self.expr(target, state), [operand], state)
            self.escape(operand, state)

    def delete(self, target: cst.BaseExpression, state: State) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, TOP, state)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.delete(element.value, state)

    def escape(self, value: Value, state: State) -> None:
        """`value` is now reachable from somewhere the walk does not follow."""
        state.escaped |= value.objects

    def escape_free_names(self, state: State) -> None:
        for name in self.scope.exposed:
            if name in state.env:
                self.escape(state.env[name], state)

    def havoc(self, state: State, objects: frozenset[int] = frozenset()) -> None:
        """Unknown code may have changed the escaped objects (and `objects`)."""
        reachable = state.escaped | objects
        if not reachable:
            return
        for name, value in state.env.items():
            if value.objects & reachable:
                state.env[name] = value.forgotten()

    def mutate(self, receiver_node, receiver: Value, new: Value, state: State, flags: bool = False) -> None:
        """`receiver` (the value of `receiver_node`) was changed in place into `new`."""
        if not receiver.objects:
            if flags:  # a flag changed on something unknown: maybe on an escaped object
                self.havoc(state)
            if isinstance(receiver_node, cst.Name):
                self.bind(receiver_node.value, new, state)
            return
        for name, value in state.env.items():
            if value.objects & receiver.objects:
                state.env[name] = join(value, new)
        if isinstance(receiver_node, cst.Name):
            self.bind(receiver_node.value, new, state)

    def set_requires_grad(
        self, receiver_node, receiver: Value, flag, state: State, node, attribute: bool
    ) -> Value:
        """`x.requires_grad_(flag)` / `x.requires_grad = flag` (flag None: not a literal). Both
        raise on a non-leaf unless it is a no-op, so if the program goes on x is a leaf."""
        line = self.line(node)
        if flag is None:
            new = Value(Kind.TENSOR, leaf=Leaf.LEAF if attribute else receiver.leaf, objects=receiver.objects)
        elif flag:
            leaf = Leaf.LEAF if attribute or receiver.requires_grad is NO else receiver.leaf
            new = replace(receiver, kind=Kind.TENSOR, requires_grad=YES, leaf=leaf, reason=None)
        else:
            detail = "requires_grad = False" if attribute else "requires_grad_(False)"
            was_no = receiver.requires_grad is NO
            new = replace(
                receiver, kind=Kind.TENSOR, requires_grad=NO, leaf=Leaf.LEAF,
                reason=receiver.reason if was_no else NoGradReason("frozen", line, detail),
                grad_kept=receiver.grad_kept if was_no else None,  # an old gradient stays
            )
        self.mutate(receiver_node, receiver, new, state, flags=True)
        return new

    def in_place(
        self, receiver_node, receiver: Value, operands: list[Value], state: State, shape_kept=True
    ) -> Value:
        """An in-place op on `receiver` with `operands`: with grad enabled the receiver joins the
        operands' graph; with grad disabled its flags do not change."""
        carries_grad = any(op.kind not in CONSTANT_KINDS and op.requires_grad is not NO for op in operands)
        if not receiver.objects and carries_grad and state.mode.enabled is not False:
            self.havoc(state)  # the receiver may be any escaped tensor, now part of a graph
        enabled = self.combine([receiver, *operands], ENABLED, tensor_op=True)
        kept = receiver
        if state.mode.enabled is True:
            flags = enabled
        elif state.mode.enabled is False:
            flags = kept
        else:
            flags = join(enabled, kept)
        new = Value(
            receiver.kind,
            flags.requires_grad,
            flags.leaf,
            receiver.shape if shape_kept else None,
            flags.reason,
            receiver.objects,
            receiver.grad_kept,
        )
        self.mutate(receiver_node, receiver, new, state)
        return new

    # Expressions

    def expr(self, node: cst.BaseExpression, state: State) -> Value:
        handler = getattr(self, f"expr_{type(node).__name__}", None)
        value = handler(node, state) if handler is not None else self.opaque(node, state)
        if value.kind is not Kind.UNBOUND:
            self.values[node] = join(self.values.get(node, UNBOUND), value)
        return value

    def opaque(self, node: cst.CSTNode, state: State) -> Value:
        """Lambdas, comprehensions, anything not modelled: the names it reads escape; code that
        changes flags in it may change any escaped object."""
        for name in self.names_read(node):
            if name in state.env:
                self.escape(state.env[name], state)
        if changes_flags(node):
            self.havoc(state)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp)):
            return OTHER
        return Value(Kind.CODE) if isinstance(node, cst.Lambda) else TOP

    @staticmethod
    def names_read(node: cst.CSTNode) -> set[str]:
        return {path for path in read_paths(node) if "." not in path}

    def expr_Name(self, node: cst.Name, state: State) -> Value:
        return self.lookup(node.value, state)

    def expr_Integer(self, node: cst.Integer, state: State) -> Value:
        return number(node.evaluated_value)

    def expr_Float(self, node: cst.Float, state: State) -> Value:
        return number(node.evaluated_value)

    def expr_Imaginary(self, node, state: State) -> Value:
        return number()

    def expr_SimpleString(self, node, state: State) -> Value:
        return OTHER

    expr_ConcatenatedString = expr_SimpleString
    expr_Ellipsis = expr_SimpleString

    def expr_FormattedString(self, node: cst.FormattedString, state: State) -> Value:
        for part in node.parts:
            if isinstance(part, cst.FormattedStringExpression):
                self.expr(part.expression, state)
        return OTHER

    def displayed(self, node, state: State) -> Value:
        for element in node.elements:
            if isinstance(element, (cst.DictElement, cst.StarredDictElement)):
                keyed = isinstance(element, cst.DictElement)
                parts = [element.key, element.value] if keyed else [element.value]
            else:
                parts = [element.value]
            for part in parts:
                self.escape(self.expr(part, state), state)
        return OTHER

    expr_Tuple = expr_List = expr_Set = expr_Dict = displayed

    def expr_NamedExpr(self, node: cst.NamedExpr, state: State) -> Value:
        return self.expr(node.value, state)

    def expr_IfExp(self, node: cst.IfExp, state: State) -> Value:
        self.expr(node.test, state)
        return join(self.expr(node.body, state), self.expr(node.orelse, state))

    def expr_BooleanOperation(self, node: cst.BooleanOperation, state: State) -> Value:
        return join(self.expr(node.left, state), self.expr(node.right, state))

    def expr_Comparison(self, node: cst.Comparison, state: State) -> Value:
        operands = [self.expr(node.left, state)] + [self.expr(c.comparator, state) for c in node.comparisons]
        if any(o.kind is Kind.UNBOUND for o in operands):
            return UNBOUND
        if any(o.kind is Kind.TENSOR for o in operands):
            operator = self.context.code(node.comparisons[0].operator).strip()
            return self.integer_result(node, operator, Kind.TENSOR, operands)
        return number() if all(o.kind in CONSTANT_KINDS for o in operands) else TOP

    def expr_UnaryOperation(self, node: cst.UnaryOperation, state: State) -> Value:
        operand = self.expr(node.expression, state)
        if isinstance(node.operator, cst.Not):
            return number()
        if operand.kind in (Kind.NUMBER, Kind.UNBOUND):
            if isinstance(node.operator, cst.Minus) and operand.constant is not None:
                return number(-operand.constant)
            return operand if operand.kind is Kind.UNBOUND else number()
        if isinstance(node.operator, cst.BitInvert):
            if operand.kind is not Kind.TENSOR:
                return TOP
            return self.integer_result(node, "~", operand.kind, [operand])
        result = self.operation(node, [operand], state, shape=operand.shape)
        if isinstance(node.operator, cst.Minus) and operand.constant is not None:
            result = replace(result, constant=-operand.constant)
        return result

    def expr_BinaryOperation(self, node: cst.BinaryOperation, state: State) -> Value:
        left, right = self.expr(node.left, state), self.expr(node.right, state)
        return self.binary(node.operator, left, right, state, node)

    def binary(self, operator, left: Value, right: Value, state: State, node) -> Value:
        if Kind.UNBOUND in (left.kind, right.kind):
            return UNBOUND
        if left.kind is Kind.NUMBER and right.kind is Kind.NUMBER:
            return number(arithmetic(operator, left.constant, right.constant))
        kinds = {left.kind, right.kind}
        if kinds <= {Kind.ARRAY, Kind.NUMBER}:  # numpy arithmetic keeps the array's origin
            return Value(Kind.ARRAY, NO, reason=self.reason_of([left, right]))
        if Kind.TENSOR not in kinds and not kinds <= {Kind.UNKNOWN, Kind.NUMBER}:
            return TOP  # strings, lists ...: not tensor arithmetic
        matmul = isinstance(operator, (cst.MatrixMultiply, cst.MatrixMultiplyAssign))
        shape = matmul_shape(left.shape, right.shape) if matmul else broadcast([left, right])
        result = self.operation(node, [left, right], state, shape=shape)
        if isinstance(operator, (cst.Multiply, cst.MultiplyAssign)):
            constants = [left.constant, right.constant]
            if None not in constants:
                result = replace(result, constant=constants[0] * constants[1])
        return result

    def expr_Attribute(self, node: cst.Attribute, state: State) -> Value:
        if self.names.qualified(node):  # a module path such as `torch.float32`
            return TOP
        receiver = self.expr(node.value, state)
        attribute = node.attr.value
        if receiver.kind is Kind.UNBOUND:
            return UNBOUND
        if receiver.kind not in (Kind.TENSOR, Kind.UNKNOWN):
            return TOP
        if attribute == "data":
            return self.cut(receiver, "data", node, receiver.kind)
        if attribute == "T":
            return self.view(node, receiver, state, shape=receiver.shape[::-1] if receiver.shape else None)
        if attribute in ("requires_grad", "is_leaf", "is_cuda", "ndim", "retains_grad"):
            return number()
        if attribute in ("shape", "grad_fn", "dtype", "device"):
            return OTHER
        return TOP

    def expr_Subscript(self, node: cst.Subscript, state: State) -> Value:
        receiver = self.expr(node.value, state)
        indices = self.subscript_parts(node, state)
        if receiver.kind is Kind.UNBOUND:
            return UNBOUND
        if receiver.kind is not Kind.TENSOR:
            return TOP
        shape = None
        if receiver.shape is not None and indices is not None and len(indices) <= len(receiver.shape):
            shape = receiver.shape[len(indices):]
        return self.view(node, receiver, state, shape=shape)

    def subscript_parts(self, node: cst.Subscript, state: State) -> list[int] | None:
        """Evaluate the index expressions; the indices when all are integer constants."""
        indices: list[int] = []
        all_integers = True
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                value = self.expr(element.slice.value, state)
                if is_int(value.constant) and value.kind is Kind.NUMBER:
                    indices.append(value.constant)
                    continue
            else:
                for part in (element.slice.lower, element.slice.upper, element.slice.step):
                    if part is not None:
                        self.expr(part, state)
            all_integers = False
        return indices if all_integers else None

    def expr_Await(self, node, state: State) -> Value:
        self.escape(self.expr(node.expression, state), state)
        return TOP

    def expr_Yield(self, node, state: State) -> Value:
        if isinstance(node.value, cst.BaseExpression):
            self.escape(self.expr(node.value, state), state)
        elif node.value is not None:
            self.escape(self.expr(node.value.item, state), state)
        return TOP

    def expr_StarredElement(self, node, state: State) -> Value:
        self.escape(self.expr(node.value, state), state)
        return TOP

    # Calls

    def expr_Call(self, node: cst.Call, state: State) -> Value:
        qualified = self.names.qualified(node.func)
        receiver = callee = None
        if not qualified:
            if isinstance(node.func, cst.Attribute):
                receiver = self.expr(node.func.value, state)
            else:
                callee = self.expr(node.func, state)
        arguments = [self.expr(arg.value, state) for arg in node.args]
        if any(v.kind is Kind.UNBOUND for v in arguments) or Kind.UNBOUND in (
            getattr(receiver, "kind", None), getattr(callee, "kind", None)
        ):
            return UNBOUND
        call = CallArguments(node, arguments)
        if qualified:
            name = min(qualified) if len(qualified) == 1 else None
            return self.named_call(name, call, state)
        if receiver is not None:
            return self.method_call(node.func.attr.value, node.func.value, receiver, call, state)
        return self.value_call(callee, call, state)

    def named_call(self, name: str | None, call: CallArguments, state: State) -> Value:
        node = call.node
        if name is None:
            return self.unknown_call(call, state)
        if name.startswith("builtins."):
            return self.builtin_call(name[len("builtins."):], call, state)
        if name == VARIABLE:
            return self.variable(call)
        if name == "torch.nn.Parameter":
            data = call.get(0, "data")
            flag = call.flag(1, "requires_grad", default=True)
            requires_grad = YES if flag is True else NO if flag is False else MAYBE
            reason = NoGradReason("no-trainable-leaf", self.line(node)) if requires_grad is NO else None
            return self.fresh(node, requires_grad, data.shape if data else None, reason)
        if name in api.FACTORIES or name in TENSOR_CONSTRUCTORS:
            return self.factory(name, call, state)
        if name in api.SET_GRAD_ENABLED or name in api.NO_GRAD_CONTEXTS or name in api.ENABLE_GRAD_CONTEXTS:
            return self.grad_mode_call(name, call, state)
        if name in api.AUTOGRAD_FUNCTIONS:
            self.after_backward(backward_call(node, {name}), state)
            return OTHER
        if name in api.LOSS_MODULES:
            return Value(Kind.LOSS if self.default_reduction(call, 0) else Kind.MODULE)
        if name in api.FUNCTIONAL_LOSSES:
            inputs = api.FUNCTIONAL_LOSS_INPUTS.get(name, 2)
            shape = () if self.default_reduction(call, inputs) else None
            tensors = call.positional[:inputs] + list(call.keywords.values())
            return self.operation(node, tensors, state, shape=shape, kind=Kind.TENSOR)
        if name.startswith("torch.nn.init."):
            return call.get(0, "tensor") or TOP
        if is_module_class(name):
            inplace = call.node_for("inplace")  # an in-place activation returns its input
            in_place = inplace is not None and literal_bool(inplace) is not False
            passthrough = name in api.PASSTHROUGH_MODULES or in_place
            return Value(Kind.PASSTHROUGH_MODULE if passthrough else Kind.MODULE)
        if name.startswith("torch.optim."):
            for value in call.values:
                self.escape(value, state)
            return Value(Kind.OPTIMIZER)
        if name.startswith("torch."):
            operation = name.rsplit(".", 1)[1]
            if call.positional:
                return self.tensor_operation(operation, call.positional[0], call, state, function=True)
            return TOP
        root = name.split(".", 1)[0]
        if root == "numpy":
            return Value(Kind.ARRAY, NO, reason=self.reason_of(call.values))
        if root == "math":
            return number()
        if root in PURE_LIBRARIES:
            return TOP
        return self.unknown_call(call, state, direct=True)

    def unknown_call(self, call: CallArguments, state: State, direct: bool = False) -> Value:
        """A call of code the walk cannot see: its arguments escape; if it may change flags, it
        may change any escaped object."""
        passed = frozenset().union(*(value.objects for value in call.values)) if call.values else frozenset()
        state.escaped |= passed
        if direct or self.prepass.found:
            self.havoc(state, passed)
        return TOP

    def builtin_call(self, name: str, call: CallArguments, state: State) -> Value:
        first = call.positional[0] if call.positional else None
        if name in ("float", "int", "bool", "round", "len") and first is not None:
            if name == "float" and first.kind in (Kind.TENSOR, Kind.UNKNOWN):
                return Value(Kind.NUMBER, NO, reason=self.cut_reason(first, "item", call.node, "float(...)"))
            return number()
        if name == "abs" and first is not None and first.kind is Kind.TENSOR:
            return self.operation(call.node, [first], state, shape=first.shape)
        if name in REFLECTION:  # may rebind or change anything, by name
            for variable, value in state.env.items():
                state.env[variable] = Value(objects=value.objects)
            return self.unknown_call(call, state, direct=True)
        if name in ("print", "isinstance", "issubclass", "hasattr", "id", "type", "repr", "str",
                    "format", "hash", "callable", "range", "divmod"):
            return OTHER if name in ("print", "repr", "str", "format", "range") else TOP
        for value in call.values:
            self.escape(value, state)
        return TOP

    def value_call(self, callee: Value, call: CallArguments, state: State) -> Value:
        if callee.kind is Kind.LOSS:
            return self.operation(call.node, call.positional[:2], state, shape=(), kind=Kind.TENSOR)
        if callee.kind in (Kind.MODULE, Kind.PASSTHROUGH_MODULE):
            return self.module_output(callee, state)
        if callee.kind is Kind.MODULE_CLASS:
            self.unknown_call(call, state)
            return Value(Kind.PASSTHROUGH_MODULE)
        return self.unknown_call(call, state)

    def module_output(self, module: Value, state: State) -> Value:
        """A forward pass: unknown, except that with grad disabled a torch.nn module that computes
        a new tensor returns one that does not require grad."""
        if state.mode.enabled is False and module.kind is Kind.MODULE:
            return Value(Kind.UNKNOWN, NO, Leaf.LEAF, reason=state.mode.since)
        return TOP

    def method_call(
        self, method: str, receiver_node, receiver: Value, call: CallArguments, state: State
    ) -> Value:
        node = call.node
        if receiver.kind in (Kind.MODULE, Kind.PASSTHROUGH_MODULE):
            if method in MODULE_RETURNING_METHODS:
                return receiver
            if method == "forward":
                return self.module_output(receiver, state)
            if method in ("parameters", "named_parameters", "state_dict", "zero_grad", "children", "modules"):
                return OTHER
            return self.unknown_call(call, state)
        if receiver.kind is Kind.OPTIMIZER:
            if any(value.kind is Kind.CODE for value in call.values):  # step(closure)
                return self.unknown_call(call, state)
            return TOP
        if receiver.kind is Kind.LOSS and method == "forward":
            return self.value_call(receiver, call, state)
        if receiver.kind not in (Kind.TENSOR, Kind.UNKNOWN):
            return self.unknown_call(call, state)
        # A tensor, or something unknown that is used like one.
        if method == "backward":
            self.after_backward(backward_call(node, set()), state)
            return OTHER
        if method == "requires_grad_":
            flag = call.flag(0, "requires_grad", default=True)
            return self.set_requires_grad(receiver_node, receiver, flag, state, node, attribute=False)
        if method == "retain_grad":
            self.mutate(receiver_node, receiver, replace(receiver, grad_kept=True), state, flags=True)
            return OTHER
        if method == "detach_":  # detaches in place: a leaf now, and any old `.grad` stays
            cut = self.cut(receiver, "detach", node, Kind.TENSOR)
            grad_kept = receiver.grad_kept if receiver.requires_grad is NO else None
            new = replace(cut, objects=receiver.objects, grad_kept=grad_kept)
            self.mutate(receiver_node, receiver, new, state, flags=True)
            return new
        if method.endswith("_") and not method.endswith("__"):
            shape_kept = method not in api.SHAPE_CHANGING_INPLACE
            return self.in_place(receiver_node, receiver, call.values, state, shape_kept)
        return self.tensor_operation(method, receiver, call, state, function=False)

    def tensor_operation(
        self, name: str, receiver: Value, call: CallArguments, state: State, function: bool
    ) -> Value:
        """`receiver.name(...)` or `torch.name(receiver, ...)`: a torch operation."""
        node = call.node
        arguments = call.values[1:] if function else call.values
        positional = call.positional[1:] if function else call.positional
        tensor_only = function or name in api.TENSOR_ONLY_METHODS
        if not function and receiver.kind is Kind.UNKNOWN and not tensor_only:
            if name not in KNOWN_TENSOR_METHODS:
                return self.unknown_call(call, state)
            for value in arguments:  # `tracker.add(x)` on some object of the user's may keep x
                self.escape(value, state)
        kind = Kind.TENSOR if tensor_only or receiver.kind is Kind.TENSOR else Kind.UNKNOWN
        if name == "detach":
            return self.cut(receiver, "detach", node, Kind.TENSOR)
        if name in ("item", "tolist"):
            constant = receiver.constant if name == "item" else None
            return Value(Kind.NUMBER if name == "item" else Kind.OTHER, NO,
                         reason=self.cut_reason(receiver, "item", node, f".{name}()"), constant=constant)
        if name == "numpy":
            return Value(Kind.ARRAY, NO, reason=NoGradReason("numpy", self.line(node)))
        if name in api.PYTHON_VALUE_METHODS or (name == "type" and not call.values):
            return number() if name in ("dim", "ndimension", "numel", "nelement") else OTHER
        if name in api.NEW_METHODS:
            flag = call.flag(None, "requires_grad", default=False)
            sizes = call.node.args[:-1] if name == "new_full" else call.node.args
            shape = None if name == "new_tensor" else self.literal_shape(sizes)
            return self.fresh(node, YES if flag else NO if flag is False else MAYBE, shape,
                              NoGradReason("no-trainable-leaf", self.line(node)))
        if name in api.INTEGER_OPS:
            shape = receiver.shape if name in ("long", "int", "short", "char", "byte", "bool") else None
            if name in ("argmax", "argmin") and not positional and not call.keywords:
                shape = ()
            return replace(self.integer_result(node, name, kind, [receiver, *arguments]), shape=shape)
        inputs = [receiver, *arguments]
        if name in api.PAIR_REDUCTIONS:
            if name in ("max", "min") and positional and positional[0].kind in (Kind.TENSOR, Kind.UNKNOWN):
                return self.operation(node, inputs, state, shape=broadcast(inputs), kind=kind)  # elementwise
            if positional or "dim" in call.keywords or name not in api.FULL_REDUCTIONS:
                return TOP  # (values, indices)
        if name in api.FULL_REDUCTIONS:
            shape = self.reduced_shape(name, receiver, call, positional)
            return self.operation(node, inputs, state, shape=shape, kind=kind)
        if name in api.ELEMENTWISE_OPS:
            return self.operation(node, inputs, state, shape=broadcast(inputs), kind=kind)
        if name in api.MATMUL_OPS:
            other = positional[0] if positional else None
            shape = matmul_shape(receiver.shape, other.shape) if other is not None else None
            return self.operation(node, inputs, state, shape=shape, kind=kind)
        if name in api.VIEW_OPS:
            shape = self.view_shape(name, receiver, call, positional)
            return self.view(node, receiver, state, shape=shape, kind=kind, extra=arguments)
        if name in api.CONVERSION_OPS and not function:
            return self.conversion(node, receiver, state, kind)
        if name in api.DIFFERENTIABLE_OPS:
            if function and name in ("cat", "concat", "concatenate", "stack", "hstack", "vstack"):
                elements = sequence_elements(node.args[0].value) if node.args else None
                if elements is None:
                    return TOP
                inputs = [self.values.get(element, TOP) for element in elements]
                kind = Kind.TENSOR
            shape = receiver.shape if name == "clone" else None
            result = self.operation(node, inputs, state, shape=shape, kind=kind)
            return replace(result, constant=receiver.constant) if name == "clone" else result
        if function and name == "normal":  # torch.normal(mean, std): differentiable in both
            return self.operation(node, inputs, state, shape=None, kind=Kind.TENSOR)
        if function:
            return TOP
        return self.unknown_call(call, state) if receiver.kind is Kind.UNKNOWN else TOP

    def reduced_shape(self, name: str, receiver: Value, call: CallArguments, positional) -> tuple | None:
        allowed_positional = 1 if name in ("norm", "dist", "dot") else 0
        dim = call.keywords.get("dim", call.keywords.get("axis"))
        if name in ("norm",) and len(positional) >= 2:
            dim = positional[1]
        elif name not in ("norm", "dist", "dot") and positional:
            dim = positional[0]
        if dim is None and len(positional) <= allowed_positional:
            return ()
        if dim is None or receiver.shape is None or not isinstance(dim.constant, int):
            return None
        axis = dim.constant
        rank = len(receiver.shape)
        if not -rank <= axis < rank:
            return None
        axis %= rank
        keepdim = call.keywords.get("keepdim")
        if keepdim is not None and keepdim.constant:
            return receiver.shape[:axis] + (1,) + receiver.shape[axis + 1:]
        if keepdim is not None and keepdim.constant is None:
            return None
        return receiver.shape[:axis] + receiver.shape[axis + 1:]

    def view_shape(self, name: str, receiver: Value, call: CallArguments, positional) -> tuple | None:
        shape = receiver.shape
        if name in ("view", "reshape"):
            sizes = self.literal_shape(call.node.args, allow_negative=True)
            if sizes is None:
                return None
            if -1 in sizes:
                if shape is None or sizes.count(-1) > 1:
                    return None
                known = numel(tuple(s for s in sizes if s != -1))
                if known == 0 or numel(shape) % known:
                    return None
                sizes = tuple(numel(shape) // known if s == -1 else s for s in sizes)
            return sizes if shape is None or numel(sizes) == numel(shape) else None
        if shape is None:
            return None
        if name in ("view_as", "reshape_as", "expand_as"):
            return positional[0].shape if positional else None
        if name == "t" and len(shape) <= 2:
            return shape[::-1]
        if name == "flatten" and not call.values:
            return (numel(shape),)
        if name == "squeeze" and not call.values:
            return tuple(s for s in shape if s != 1)
        if name == "unsqueeze" and positional and isinstance(positional[0].constant, int):
            axis = positional[0].constant
            if -len(shape) - 1 <= axis <= len(shape):
                axis %= len(shape) + 1
                return shape[:axis] + (1,) + shape[axis:]
        return None

    def literal_shape(self, args, allow_negative: bool = False) -> tuple[int, ...] | None:
        """Sizes written as `f(2, 3)`, `f((2, 3))`, `f([2, 3])` or `f(size=(2, 3))`."""
        positional = [arg.value for arg in args if arg.keyword is None and not arg.star]
        keyword = [arg.value for arg in args if arg.keyword is not None and arg.keyword.value == "size"]
        if any(arg.star for arg in args):
            return None
        nodes = positional or keyword
        if len(nodes) == 1 and sequence_elements(nodes[0]) is not None:
            nodes = list(sequence_elements(nodes[0]))
        sizes = []
        for node in nodes:
            value = self.values.get(node)
            constant = value.constant if value is not None and value.kind is Kind.NUMBER else None
            if not is_int(constant) or (constant < 0 and not allow_negative):
                return None
            sizes.append(constant)
        return tuple(sizes)

    def default_reduction(self, call: CallArguments, inputs: int) -> bool:
        """Whether a loss (module constructor, or functional with `inputs` tensor inputs) keeps
        its default reduction to a 0-dim result."""
        if len(call.positional) > inputs or any(arg.star for arg in call.node.args):
            return False
        if "reduce" in call.keywords:
            return call.keywords["reduce"].constant is True
        reduction = call.node_for("reduction")
        reduces = ("mean", "sum", "batchmean")
        literal = isinstance(reduction, cst.SimpleString)
        return reduction is None or (literal and reduction.evaluated_value in reduces)

    # Sources

    def fresh(self, node, requires_grad: RequiresGrad, shape, reason, constant=None) -> Value:
        """A new leaf tensor (requires_grad set explicitly, so grad mode does not matter)."""
        return Value(
            Kind.TENSOR, requires_grad, Leaf.LEAF, shape,
            reason if requires_grad is NO else None, frozenset({id(node)}), False, constant,
        )

    def variable(self, call: CallArguments) -> Value:
        """`Variable(x, requires_grad)` is `x.detach()` with requires_grad set: a new leaf."""
        node = call.node
        data = call.get(0, "data")
        flag = call.flag(1, "requires_grad", default=False)
        if data is not None and data.kind in CONSTANT_KINDS:
            return TOP  # raises TypeError (M1)
        requires_grad = YES if flag is True else NO if flag is False else MAYBE
        reason = None
        if requires_grad is NO:
            already = data is not None and data.requires_grad is NO and data.reason is not None
            reason = data.reason if already else NoGradReason("variable", self.line(node))
        shape = data.shape if data is not None else (0,)
        constant = data.constant if data is not None else None
        return self.fresh(node, requires_grad, shape, reason, constant)

    def factory(self, name: str, call: CallArguments, state: State) -> Value:
        node = call.node
        flag = call.flag(None, "requires_grad", default=False)
        requires_grad = YES if flag is True else NO if flag is False else MAYBE
        short = name.rsplit(".", 1)[1]
        data = call.positional[0] if call.positional else None
        created = NoGradReason("no-trainable-leaf", self.line(node))
        if short == "from_numpy":  # always a new leaf over the array's memory
            return self.fresh(node, NO, None, data.reason if data and data.reason else created)
        if short == "tensor" and data is not None and data.kind in (Kind.TENSOR, Kind.UNKNOWN):
            # torch.tensor(t) copies t's values, not its history.
            copied = data.reason if data.requires_grad is NO and data.reason else None
            reason = copied or NoGradReason("copy", self.line(node), "torch.tensor(...)")
            return self.fresh(node, requires_grad, data.shape, reason)
        if short in ("tensor", "as_tensor") or name in TENSOR_CONSTRUCTORS:
            return self.tensor_from_data(short, call, created)
        constant = {"ones": 1, "zeros": 0, "ones_like": 1, "zeros_like": 0}.get(short)
        if short.endswith("_like"):
            shape = data.shape if data is not None else None
            return self.fresh(node, requires_grad, shape, created, constant)
        if name in api.GRAD_CARRYING_FACTORIES and any(v.kind not in CONSTANT_KINDS for v in call.values):
            return self.operation(node, call.values, state, shape=None, kind=Kind.TENSOR)
        shape = self.factory_shape(short, call)
        if short == "full" and len(call.positional) > 1:
            constant = call.positional[1].constant
        return self.fresh(node, requires_grad, shape, created, constant)

    def tensor_from_data(self, short: str, call: CallArguments, created: NoGradReason) -> Value:
        """`torch.tensor(data)`, `torch.as_tensor(data)`, `torch.FloatTensor(data or sizes)`."""
        node = call.node
        data = call.positional[0] if call.positional else None
        typed = short not in ("tensor", "as_tensor")
        sizes = all(is_int(v.constant) and v.kind is Kind.NUMBER for v in call.positional)
        if typed and (data is None or sizes):  # `torch.FloatTensor(2, 3)`: sizes, not data
            shape = self.literal_shape(node.args) if data is not None else (0,)
            return self.fresh(node, NO, shape, created) if shape is not None and not call.keywords else TOP
        if data is None or data.kind in (Kind.TENSOR, Kind.UNKNOWN) or (typed and data.kind is Kind.NUMBER):
            return TOP  # may return its argument itself (history included), or raises
        flag = call.flag(None, "requires_grad", default=False)
        requires_grad = YES if flag is True else NO if flag is False else MAYBE
        literal = literal_data(node.args[0].value, self.values)
        shape, constant = literal if literal is not None else (None, None)
        return self.fresh(node, requires_grad, shape, data.reason or created, constant)

    def factory_shape(self, short: str, call: CallArguments) -> tuple | None:
        args = call.node.args
        if short in ("ones", "zeros", "empty", "randn", "rand"):
            return self.literal_shape([a for a in args if a.keyword is None or a.keyword.value == "size"])
        if short == "full":
            return self.literal_shape(args[:1])
        ints = [v.constant for v in call.positional]
        if any(not isinstance(i, int) for i in ints):
            return None
        if short == "arange" and 1 <= len(ints) <= 3:
            start, end, step = (0, ints[0], 1) if len(ints) == 1 else (*ints[:2], (ints[2:] or [1])[0])
            return (max(0, -(-(end - start) // step)),) if step else None
        if short == "linspace" and len(ints) == 3:
            return (ints[2],)
        if short == "eye" and 1 <= len(ints) <= 2:
            return (ints[0], ints[-1])
        if short == "randint" and call.node_for("size") is not None:
            return self.literal_shape([a for a in args if a.keyword and a.keyword.value == "size"])
        return None

    def grad_mode_call(self, name: str, call: CallArguments, state: State) -> Value:
        """`torch.no_grad()` / `enable_grad()` make a context; `set_grad_enabled(flag)` also
        switches at once (and, used in `with`, restores the previous mode at the end)."""
        node = call.node
        enabled = self.grad_context(node)
        if name in api.SET_GRAD_ENABLED:
            detail = f"`{self.context.code(node)}`"
        else:
            detail = f"`{self.context.code(node.func)}()`"
        context = OTHER
        if enabled is False:
            context = Value(Kind.NO_GRAD, reason=NoGradReason("no-grad", self.line(node), detail))
        elif enabled is True:
            context = Value(Kind.ENABLE_GRAD)
        if name in api.SET_GRAD_ENABLED:
            state.mode = {False: GradMode(False, context.reason), True: ENABLED, None: UNKNOWN_MODE}[enabled]
        return context

    def after_backward(self, backward: BackwardCall | None, state: State) -> None:
        """The program goes on after a backward only if every output required grad; one
        without a gradient argument held one element, but that says nothing of its shape: a
        `(1,)` tensor backpropagates without a gradient too (and `t.data[0]` then works)."""
        if backward is None:
            return
        for index, output in enumerate(backward.outputs):
            if not isinstance(output, cst.Name) or not self.tracked(output.value):
                continue
            current = state.env.get(output.value, TOP)
            if current.kind is Kind.UNBOUND:
                continue
            new = replace(current, kind=Kind.TENSOR, requires_grad=YES, reason=None)
            state.env[output.value] = new
        if backward.inputs is not None:  # fills the inputs' `.grad`, leaves or not
            elements = sequence_elements(backward.inputs) or (backward.inputs,)
            names = {
                element.value
                for element in elements
                if isinstance(element, cst.Name) and state.env.get(element.value, TOP).kind is Kind.TENSOR
            }
            if len(names) < len(elements):  # an input that is not a named tensor may be anything
                filled = frozenset().union(*(value.objects for value in state.env.values()))
            else:
                filled = frozenset().union(*(state.env[name].objects for name in names))
            for name, value in state.env.items():
                if name in names:
                    state.env[name] = replace(value, grad_kept=True)
                elif value.objects & filled or not value.objects:
                    state.env[name] = replace(value, grad_kept=None)

    # Transfer functions

    def combine(self, inputs: list[Value], mode: GradMode, tensor_op: bool) -> Value:
        """requires_grad / leaf / reason of an operation's result from its inputs."""
        carriers = [value for value in inputs if value.kind not in CONSTANT_KINDS]
        flags = [value.requires_grad for value in carriers]
        reason = None
        for value in carriers:
            reason = stronger(reason, value.reason)
        if mode.enabled is None:
            enabled = self.combine(inputs, ENABLED, tensor_op)
            return join(enabled, self.combine(inputs, GradMode(False), tensor_op))
        if mode.enabled is False:
            if all(flag is NO for flag in flags):
                return Value(requires_grad=NO, leaf=Leaf.LEAF, reason=reason)
            if tensor_op:
                return Value(requires_grad=NO, leaf=Leaf.LEAF, reason=mode.since)
            return Value()
        if YES in flags:
            return Value(requires_grad=YES, leaf=Leaf.NONLEAF)
        if all(flag is NO for flag in flags):
            return Value(requires_grad=NO, leaf=Leaf.LEAF, reason=reason)
        return Value()

    def operation(self, node, inputs: list[Value], state: State, shape, kind: Kind | None = None) -> Value:
        """A new tensor computed from `inputs` by a differentiable operation."""
        if kind is None:
            kind = Kind.TENSOR if any(v.kind is Kind.TENSOR for v in inputs) else Kind.UNKNOWN
        flags = self.combine(inputs, state.mode, tensor_op=kind is Kind.TENSOR)
        return Value(kind, flags.requires_grad, flags.leaf, shape, flags.reason, frozenset({id(node)}), False)

    def view(self, node, receiver: Value, state: State, shape, kind: Kind | None = None, extra=()) -> Value:
        """A view shares the receiver's storage: an in-place change through it reaches the
        receiver, so it keeps the receiver's objects too."""
        kind = kind or (Kind.TENSOR if receiver.kind is Kind.TENSOR else Kind.UNKNOWN)
        result = self.operation(node, [receiver, *extra], state, shape=shape, kind=kind)
        if state.mode.enabled is not True and receiver.requires_grad is not NO:
            # PyTorch quirk: a view taken under no_grad of a tensor that requires grad still
            # says requires_grad=True (and backward through it works): not a NO fact.
            result = replace(result, requires_grad=MAYBE, leaf=Leaf.UNKNOWN, reason=None)
        return replace(result, objects=result.objects | receiver.objects, constant=receiver.constant)

    def conversion(self, node, receiver: Value, state: State, kind: Kind) -> Value:
        """`x.float()`, `x.cuda()`, `x.to(...)`: maybe `x` itself, maybe a differentiable copy."""
        copy = self.operation(node, [receiver], state, shape=receiver.shape, kind=kind)
        same = replace(receiver, kind=kind)
        result = join(same, copy)
        return replace(result, constant=receiver.constant)

    def cut(self, receiver: Value, how: str, node, kind: Kind) -> Value:
        """`.detach()` / `.data`: a new leaf without history, sharing storage."""
        return Value(
            kind, NO, Leaf.LEAF, receiver.shape, self.cut_reason(receiver, how, node, how),
            frozenset({id(node)}), False, receiver.constant,
        )

    def cut_reason(self, receiver: Value, how: str, node, detail: str) -> NoGradReason:
        if receiver.requires_grad is NO and receiver.reason is not None:
            return receiver.reason  # it did not require grad before the cut either
        return NoGradReason(how, self.line(node), detail)

    def integer_result(self, node, detail: str, kind: Kind, inputs: list[Value]) -> Value:
        """An integer or boolean tensor; the reason names the first integer step (`argmax` before
        a comparison of its result)."""
        reason = NoGradReason("integer", self.line(node), detail)
        earlier = self.reason_of(inputs)
        if earlier is not None and earlier.kind == "integer":
            reason = stronger(reason, earlier)
        return Value(kind, NO, Leaf.LEAF, None, reason, frozenset({id(node)}), False)

    @staticmethod
    def reason_of(values: list[Value]) -> NoGradReason | None:
        reason = None
        for value in values:
            if value.requires_grad is NO:
                reason = stronger(reason, value.reason)
        return reason


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


def literal_bool(node: cst.BaseExpression | None) -> bool | None:
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    if isinstance(node, cst.Integer):
        return bool(node.evaluated_value)
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
