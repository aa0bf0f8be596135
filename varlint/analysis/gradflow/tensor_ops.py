"""What torch operations do to requires-grad, leaf and shape: tensor methods and functions,
reductions, views, factories, `Variable`, grad-mode switches and `backward()`."""

from __future__ import annotations

from dataclasses import replace
import libcst as cst

from varlint.analysis import torch_api as api
from varlint.analysis.torch_api import KNOWN_TENSOR_METHODS, TENSOR_CONSTRUCTORS
from varlint.analysis.gradflow.calls import (
    BackwardCall,
    CallArguments,
    broadcast,
    literal_data,
    matmul_shape,
    sequence_elements,
)
from varlint.analysis.gradflow.lattice import (
    CONSTANT_KINDS,
    ENABLED,
    MAYBE,
    NO,
    OTHER,
    TOP,
    UNKNOWN_MODE,
    YES,
    GradMode,
    Kind,
    Leaf,
    NoGradReason,
    RequiresGrad,
    State,
    Value,
    is_int,
    join,
    number,
    numel,
    stronger,
)


class TensorOperations:
    """Methods of `Analysis` (statements.py)."""

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
            # `x.size(0)` / `x.stride(1)` of one dimension is an int (`x.size()` a torch.Size).
            one_dim = name in ("size", "stride") and len(call.positional) == 1 and not call.keywords
            return number() if one_dim or name in ("dim", "ndimension", "numel", "nelement") else OTHER
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
            # A number has no `.backward()`: from here it is a tensor.
            shape = current.shape if current.shape is not None else current.shape_if_tensor()
            new = replace(current, kind=Kind.TENSOR, requires_grad=YES, reason=None, shape=shape, tensor_shape=None)
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
            # A new tensor computed with grad disabled does not require grad whatever its
            # inputs are (function parameters, unknown objects): if the result is a tensor at
            # all, it is NO. (Views, which may still say requires_grad, are `view`'s; calls of
            # unknown functions, which may enable grad inside, never come here.)
            return Value(requires_grad=NO, leaf=Leaf.LEAF, reason=mode.since)
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
