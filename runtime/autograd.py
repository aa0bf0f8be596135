"""`torch.autograd`: Variable with its modern semantics, backward, grad, Function.

`Variable(data, requires_grad=False, volatile=False, _grad_fn=None, name=None)` returns
`data.detach()` with requires_grad set: a new tensor that shares storage and the version
counter with `data`, never `data` itself. `volatile` only warns (M2). `isinstance(x, Variable)`
is true for every tensor. Every call is recorded in the event log (`variable-call`, and
`volatile` when the volatile argument is passed).

`torch.autograd.variable` is a function that raises, as in PyTorch; the module of that name
(`variable_module`) is what `from torch.autograd.variable import Variable` imports
(runtime/loader.py registers it in sys.modules).
"""

from __future__ import annotations

import operator
import os
import types

import numpy as np

from . import dtypes, events
from .grad_mode import enable_grad, no_grad, set_grad_enabled  # noqa: F401 - re-exported
from .engine import grad as _grad
from .engine import run_backward
from .messages import M5A
from .tensor import Tensor, _type_name, record_op

M2 = "volatile was removed and now has no effect. Use `with torch.no_grad():` instead."


class VariableMeta(type):
    def __instancecheck__(cls, other):
        return isinstance(other, Tensor)


_VARIABLE_ARGS = ("data", "requires_grad", "volatile", "_grad_fn", "name")


class Variable(metaclass=VariableMeta):
    """The legacy wrapper: calling it returns `data.detach()` (a plain Tensor)."""

    def __new__(cls, *args, **kwargs):
        events.record("variable-call", "Variable(...) returns data.detach(): a new tensor")
        if len(args) > len(_VARIABLE_ARGS):
            raise TypeError(f"function takes at most {len(_VARIABLE_ARGS)} arguments ({len(args)} given)")
        params = dict(zip(_VARIABLE_ARGS, args))
        for key, value in kwargs.items():
            if key not in _VARIABLE_ARGS:
                raise TypeError(f"'{key}' is an invalid keyword argument for this function")
            params[key] = value
        requires_grad = bool(operator.index(params.get("requires_grad", False)))
        volatile = False
        if "volatile" in params:
            events.record("volatile", "volatile was removed and has no effect")
            volatile = bool(operator.index(params["volatile"]))
        if volatile:
            events.warn(M2, UserWarning)
            if requires_grad:
                raise ValueError("Variable can't be volatile and require_grad at the same time!")
        grad_fn = params.get("_grad_fn")
        if grad_fn is not None:
            raise TypeError("_grad_fn has to be a Function object or None, but got "
                            f"{type(grad_fn).__name__}")
        data = params.get("data")
        if data is None:
            result = Tensor._wrap(np.zeros(0, dtype=dtypes.get_default_dtype().numpy))
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {_type_name(data)}")
        else:
            result = data.detach()
        if requires_grad:
            if not result.dtype.is_floating_point:
                raise RuntimeError(M5A)
            result._requires_grad = True
        result.name = params.get("name")
        return result


Variable.__module__ = "torch.autograd.variable"

variable_module = types.ModuleType("torch.autograd.variable")
variable_module.Variable = Variable
variable_module.VariableMeta = VariableMeta


def variable(*args, **kwargs):
    raise RuntimeError("torch.autograd.variable(...) is deprecated, use torch.tensor(...) instead")


variable.Variable = Variable  # PyTorch patches this on for torch.fx: the attribute resolves


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    if grad_variables is not None:
        events.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning)
        if grad_tensors is None:
            grad_tensors = grad_variables
        else:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both "
                               "passed to `backward()`. Please only use `grad_tensors`.")
    run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    return _grad(outputs, inputs, grad_outputs, retain_graph, create_graph, only_inputs,
                 allow_unused, is_grads_batched, materialize_grads)


class set_detect_anomaly:  # noqa: N801 - torch's name; anomaly detection is not modelled
    def __init__(self, mode=True, check_nan=True):
        pass

    def __enter__(self):
        return None

    def __exit__(self, *exc_info):
        return False


detect_anomaly = set_detect_anomaly


# -- custom autograd functions ----------------------------------------------------------------


class FunctionCtx:
    """The `ctx` of a custom Function (and `self` of a legacy one called through apply)."""

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    @property
    def saved_tensors(self):
        return getattr(self, "_to_save", ())

    def mark_dirty(self, *tensors):
        pass

    def mark_non_differentiable(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        pass


class Function(FunctionCtx):
    """torch.autograd.Function: `MyFn.apply(*args)` with static forward(ctx, ...) and
    backward(ctx, *grads). Instantiating warns (M28a); calling an instance raises (M28b)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if callable(forward) and not isinstance(forward, staticmethod):
            # A legacy Function: what the linter reports at its `def forward`.
            code = forward.__code__
            if events.is_program_file(code.co_filename):
                events.record_at("legacy-autograd-function", os.path.abspath(code.co_filename),
                                 code.co_firstlineno, f"{cls.__name__}.forward is not static")

    def __init__(self, *args, **kwargs):
        cls = type(self)
        events.warn(
            f"{cls} should not be instantiated. Methods on autograd functions are all static, so "
            "you should invoke them on the class itself. Instantiating an autograd function will "
            "raise an error in a future version of PyTorch.", DeprecationWarning)

    def __call__(self, *args, **kwargs):
        events.record("legacy-autograd-function", type(self).__name__)
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = isinstance(outputs, Tensor)
        output_list = [outputs] if single else list(outputs)
        count = len(output_list)

        def backward_for(position):
            def backward(grad):
                grads = [grad if i == position else _zeros_like(o) for i, o in enumerate(output_list)]
                with no_grad():
                    result = cls.backward(ctx, *grads)
                result = result if isinstance(result, tuple) else (result,)
                return tuple(result[: len(args)]) + (None,) * max(0, len(args) - len(result))
            return backward

        wrapped = []
        for position, output in enumerate(output_list):
            if not isinstance(output, Tensor):
                wrapped.append(output)
                continue
            result = record_op(f"{cls.__name__}Backward", output._data, args, backward_for(position),
                               saved=tuple(t for t in ctx.saved_tensors if isinstance(t, Tensor)))
            wrapped.append(result)
        return wrapped[0] if single else tuple(wrapped) if count else outputs

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError


def _zeros_like(output):
    return Tensor._wrap(np.zeros_like(output._data)) if isinstance(output, Tensor) else None
