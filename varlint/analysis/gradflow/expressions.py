"""The value of each expression: literals, names, operators, attributes, subscripts and calls
(builtins, user code, modules, methods)."""

from __future__ import annotations

from dataclasses import replace
import libcst as cst

from varlint.analysis import torch_api as api
from varlint.analysis.torch_api import (
    MODULE_RETURNING_METHODS,
    PURE_LIBRARIES,
    REFLECTION,
    TENSOR_CONSTRUCTORS,
    is_module_class,
)
from varlint.analysis.gradflow.calls import (
    CallArguments,
    is_sizes,
    arithmetic,
    backward_call,
    broadcast,
    float_value,
    integer_value,
    literal_bool,
    matmul_shape,
)
from varlint.analysis.gradflow.lattice import (
    CONSTANT_KINDS,
    MAYBE,
    NO,
    OTHER,
    TOP,
    UNBOUND,
    YES,
    Kind,
    Leaf,
    NoGradReason,
    State,
    Value,
    is_int,
    join,
    number,
)
from varlint.analysis.gradflow.prepass import changes_flags
from varlint.analysis.loss_classes import (
    ZERO_DIM, is_loss_constructor, local_loss_class, tree_loss_class, tree_loss_object, tree_zero_dim_function,
)
from varlint.analysis.names import VARIABLE, read_paths


class Expressions:
    """Methods of `Analysis` (statements.py)."""

    def expr(self, node: cst.BaseExpression, state: State) -> Value:
        node_type = type(node)
        handler = self.expression_handlers.get(node_type)
        if handler is None:  # the `expr_<Node>` method, else `opaque`: looked up once per type
            handler = self.expression_handlers[node_type] = getattr(self, f"expr_{node_type.__name__}", self.opaque)
        value = handler(node, state)
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
        return number(integer_value(node))


    def expr_Float(self, node: cst.Float, state: State) -> Value:
        return number(float_value(node))


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
        if shape is None and not matmul and all(v.kind is Kind.NUMBER or v.shape_if_tensor() == () for v in (left, right)):
            # Numbers and values that are 0-dim if tensors at all (`loss = 0; loss += ...`, a
            # `sum([...])` of losses): a tensor result is 0-dim too.
            result = replace(result, shape=()) if result.kind is Kind.TENSOR else replace(result, tensor_shape=())
        if isinstance(operator, (cst.Multiply, cst.MultiplyAssign)):
            constants = [left.constant, right.constant]
            if None not in constants:
                result = replace(result, constant=constants[0] * constants[1])
        return result


    def expr_Attribute(self, node: cst.Attribute, state: State) -> Value:
        if self.names.qualified(node):  # a module path such as `torch.float32`
            return TOP
        if self.held_number(node):  # `self.lambda_`, set to `0.25` only
            self.expr(node.value, state)
            return number()
        receiver = self.expr(node.value, state)
        attribute = node.attr.value
        if receiver.kind is Kind.UNBOUND:
            return UNBOUND
        if receiver.kind is Kind.ARGUMENTS and attribute not in self.prepass.assigned_attributes:
            return number()  # a command-line option: a number (or a string, or a list)
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


    def held_number(self, node: cst.Attribute) -> bool:
        """`self.x` in a method, every assignment of `self.x` in its class a number literal
        (`self.lambda_ = 0.25`): a number, never a tensor."""
        values = self.prepass.held_values(node, self.scope.node)
        return bool(values) and all(is_number_literal(value) for value in values)

    def held_loss(self, func: cst.BaseExpression) -> bool:
        """`self.x` (called) in a method, every assignment of `self.x` in its class a loss
        module with its default reduction (`nn.BCELoss()`, `nn.BCELoss().cuda()`, a loss
        class of the tree: see analysis/loss_classes.py)."""
        values = self.prepass.held_values(func, self.scope.node)
        return bool(values) and all(
            value is not None and is_loss_constructor(self.context, value) for value in values
        )


    def expr_Subscript(self, node: cst.Subscript, state: State) -> Value:
        receiver = self.expr(node.value, state)
        indices = self.subscript_parts(node, state)
        if receiver.kind is Kind.UNBOUND:
            return UNBOUND
        if receiver.kind is Kind.OTHER and indices is not None and len(indices) == 1 and is_sizes(node.value):
            return number()  # `imgs.shape[0]`, `x.size()[1]` of a tensor: an int
        if receiver.kind is not Kind.TENSOR:
            return Value(Kind.TENSOR) if self.gradient_of_grad(node, indices) else TOP
        shape = None
        if receiver.shape is not None and indices is not None and len(indices) <= len(receiver.shape):
            shape = receiver.shape[len(indices):]
        return self.view(node, receiver, state, shape=shape)


    def gradient_of_grad(self, node: cst.Subscript, indices: list[int] | None) -> bool:
        """`torch.autograd.grad(...)[0]`: one of the gradient tensors it returns (not None
        unless `allow_unused=True` is passed)."""
        call = node.value
        if not isinstance(call, cst.Call) or indices is None or len(indices) != 1:
            return False
        if self.names.qualified(call.func) != {"torch.autograd.grad"}:
            return False
        return not any(arg.keyword is not None and arg.keyword.value == "allow_unused" for arg in call.args)

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
            if self.held_loss(node.func):  # `self.criterion(out, y)`
                callee = Value(Kind.LOSS)
                self.expr(node.func.value, state)
            elif isinstance(node.func, cst.Attribute):
                receiver = self.expr(node.func.value, state)
            else:
                callee = self.expr(node.func, state)
        arguments = [self.expr(arg.value, state) for arg in node.args]
        if callee is not None and callee.kind is Kind.CODE and isinstance(node.func, cst.Name):
            # A call of a function of this file: what it passes may seed its parameters.
            known = self.call_arguments.get(node)
            self.call_arguments[node] = arguments if known is None else [join(a, b) for a, b in zip(known, arguments)]
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
        if name == "argparse.ArgumentParser":
            for value in call.values:
                self.escape(value, state)
            return Value(Kind.ARG_PARSER)
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
        if tree_loss_class(self.context.project, name):
            self.unknown_call(call, state)  # `DiceLoss()` of another module: its own code runs
            return Value(Kind.LOSS)
        project = self.context.project
        if tree_loss_object(project, name, self.context.path):  # `from model import criterion` (loss_classes.py)
            return self.value_call(Value(Kind.LOSS), call, state)
        result = self.unknown_call(call, state, direct=True)
        if tree_zero_dim_function(project, name, self.context.path):  # `from model import step_loss`, ditto
            return Value(Kind.TENSOR, shape=())
        return result


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
        if name in ("min", "max") and len(call.positional) >= 2 and not call.keywords and all(
            value.kind is Kind.NUMBER for value in call.positional
        ):
            return number()  # `k = min(max(k, 0), 1)`: one of the numbers
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
            func = call.node.func
            if isinstance(func, cst.Name) and local_loss_class(self.context, func.value):
                return Value(Kind.LOSS)  # a loss class of this file (analysis/loss_classes.py)
            return Value(Kind.PASSTHROUGH_MODULE)
        result = self.unknown_call(call, state)
        if callee.kind is Kind.CODE:
            # `log(Z)`, `def log(x): return torch.log(x + 1e-8)`: the shape of its argument.
            index = self.context.summaries.elementwise_parameter(call.node)
            argument = call.positional[index] if index is not None and index < len(call.positional) else None
            if argument is not None and argument.kind is Kind.TENSOR and argument.shape is not None and not call.keywords:
                return self.operation(call.node, [argument], state, shape=argument.shape)
        if callee.kind is Kind.CODE and self.context.summaries.call_returns_zero_dim(call.node):
            # A function of this file whose every return is 0-dim (analysis/gradflow/summaries.py):
            # `lambda_gp * gradient_penalty(D, x)` stays 0-dim in sums with other 0-dim values.
            return Value(Kind.TENSOR, shape=())
        return result


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
        if receiver.kind in (Kind.UNKNOWN, Kind.MODULE, Kind.PASSTHROUGH_MODULE) and method not in api.KNOWN_TENSOR_METHODS:
            found = self.context.summaries.method_zero_dim(node)  # `D.compute_loss(x, y)` (summaries.py)
            if found is not None:
                self.unknown_call(call, state)  # its own code runs
                zero_dim = Value(Kind.TENSOR, shape=())
                return zero_dim if found == ZERO_DIM else join(number(), zero_dim)
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
        if receiver.kind is Kind.LOSS and method in MODULE_RETURNING_METHODS:
            return receiver  # `nn.BCELoss().to(device)` is the same loss module
        if receiver.kind is Kind.ARG_PARSER and method == "parse_args":
            for value in call.values:
                self.escape(value, state)
            return Value(Kind.ARGUMENTS)
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


def is_number_literal(value: cst.BaseExpression | None) -> bool:
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, (cst.Minus, cst.Plus)):
        value = value.expression
    return isinstance(value, (cst.Integer, cst.Float))
