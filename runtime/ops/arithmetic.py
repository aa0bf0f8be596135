"""Elementwise arithmetic with PyTorch's type promotion and broadcasting: `add`, `sub`, `mul`,
`div`, `pow` (and their operators, reflected and in-place forms), `remainder`, `addcmul`, ...

`pow` shadows the builtin in this module.
"""

from __future__ import annotations


import numpy as np

from .. import dtypes
from ..core import Tensor, _as_array, _if_tensor, _is_scalar, _needs, record_op
from .pointwise import where


def _binary(self, other, name, forward, backward, saved=None, reverse=False, track_site=False):
    """An elementwise op on self and other (Tensor or number), PyTorch's promotion."""
    if not isinstance(other, Tensor) and not _is_scalar(other):
        if isinstance(other, (list, tuple, np.ndarray)):
            other = Tensor._wrap(np.asarray(other))
        else:
            return NotImplemented
    left, right = (other, self) if reverse else (self, other)
    result_dtype = dtypes.result_type(left, right)
    a = _as_array(left, result_dtype)
    b = _as_array(right, result_dtype)
    with np.errstate(all="ignore"):
        value = forward(a, b)
    saved_tensors = saved(left, right) if saved else ()
    return record_op(name, value, (left, right), lambda g: backward(g, left, right),
                     saved=saved_tensors, track_site=track_site)

def add(self, other, alpha=1):
    if alpha != 1:
        other = other * alpha
    return self._binary(other, "AddBackward0", np.add, lambda g, a, b: (g, g), track_site=True)

def sub(self, other, alpha=1):
    if alpha != 1:
        other = other * alpha
    return self._binary(other, "SubBackward0", np.subtract, lambda g, a, b: (g, -g),
                        track_site=True)

def mul(self, other):
    return self._binary(
        other, "MulBackward0", np.multiply,
        lambda g, a, b: (g * b if _needs(a) else None, g * a if _needs(b) else None),
        saved=lambda a, b: (_if_tensor(b) if _needs(a) else None, _if_tensor(a) if _needs(b) else None),
        track_site=True)

def div(self, other, rounding_mode=None):
    if rounding_mode is not None:
        return self._rounded_div(other, rounding_mode)
    promoted = dtypes.result_type(self, other)
    if not promoted.is_floating_point:  # true division of integers gives floats
        return self.to(dtypes.get_default_dtype()).div(
            other.to(dtypes.get_default_dtype()) if isinstance(other, Tensor) else float(other))
    return self._binary(
        other, "DivBackward0", np.divide,
        lambda g, a, b: (g / b if _needs(a) else None, -g * a / (b * b) if _needs(b) else None),
        saved=lambda a, b: (_if_tensor(b), _if_tensor(a) if _needs(b) else None))

def _rounded_div(self, other, mode):
    function = np.floor_divide if mode == "floor" else (lambda x, y: np.trunc(x / y))
    result = self._binary(other, "DivBackward1", function, lambda g, a, b: (g * 0, None))
    return result

true_divide = divide = div
multiply = mul
subtract = sub

def floor_divide(self, other):
    return self._rounded_div(other, "floor")

def remainder(self, other):
    return self._binary(other, "RemainderBackward0", np.mod, lambda g, a, b: (g, None))

fmod = remainder

def pow(self, exponent):
    if isinstance(exponent, Tensor):
        return self._binary(
            exponent, "PowBackward1", np.power,
            lambda g, a, b: (where(b == 0, 0.0, g * b * a ** (b - 1)) if _needs(a) else None,
                             where((a == 0) & (b >= 0), 0.0, g * (a ** b) * a.log())
                             if _needs(b) else None),
            saved=lambda a, b: (a, b))
    base = self

    def backward(grad):
        if exponent == 0:
            return (grad * 0,)
        return (grad * exponent * base ** (exponent - 1),)

    result_dtype = dtypes.result_type(self, exponent)
    with np.errstate(all="ignore"):
        value = np.power(_as_array(self, result_dtype), _as_array(exponent, result_dtype))
    return record_op("PowBackward0", value, (self,), backward, saved=(self,))

def __rpow__(self, base):
    if not _is_scalar(base):
        return NotImplemented
    result_dtype = dtypes.result_type(base, self)
    exponent = self
    with np.errstate(all="ignore"):
        value = np.power(_as_array(base, result_dtype), _as_array(self, result_dtype))

    def backward(grad):
        with np.errstate(all="ignore"):
            log_base = float(np.log(np.float64(base)))
        product = grad * result_holder[0] * log_base
        return (where(exponent >= 0, 0.0, product) if base == 0 else product,)

    result_holder = []
    result = record_op("PowBackward2", value, (exponent,), backward, save_output=True)
    result_holder.append(result)
    return result

def neg(self):
    return record_op("NegBackward0", -self._data, (self,), lambda g: (-g,))

negative = neg

def __neg__(self):
    return self.neg()

def __pos__(self):
    return self

def __abs__(self):
    return self.abs()

__add__ = add
__sub__ = sub
__mul__ = mul
__truediv__ = div
__pow__ = pow
__floordiv__ = floor_divide
__mod__ = remainder

def __radd__(self, other):
    return self._binary(other, "AddBackward0", np.add, lambda g, a, b: (g, g),
                        reverse=True, track_site=True)

def __rmul__(self, other):
    return self._binary(
        other, "MulBackward0", np.multiply,
        lambda g, a, b: (g * b if _needs(a) else None, g * a if _needs(b) else None),
        saved=lambda a, b: (None, _if_tensor(a)), reverse=True, track_site=True)

def __rsub__(self, other):
    if not _is_scalar(other):
        return NotImplemented
    return self._binary(other, "RsubBackward1", np.subtract, lambda g, a, b: (None, -g),
                        reverse=True)

def __rtruediv__(self, other):
    if not _is_scalar(other):
        return NotImplemented
    return self.reciprocal() * other  # what PyTorch records: MulBackward0 over Reciprocal

def __rfloordiv__(self, other):
    return self._binary(other, "DivBackward1", np.floor_divide, lambda g, a, b: (None, g * 0),
                        reverse=True)

def __rmod__(self, other):
    return self._binary(other, "RemainderBackward1", np.mod, lambda g, a, b: (None, g * 0),
                        reverse=True)

def __matmul__(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return self.matmul(other)

def __rmatmul__(self, other):
    return NotImplemented

# in-place arithmetic: the same ops, written into self
def add_(self, other, alpha=1):
    return self._inplace(lambda t, o: t.add(o, alpha=alpha), other)

def sub_(self, other, alpha=1):
    return self._inplace(lambda t, o: t.sub(o, alpha=alpha), other)

def mul_(self, other):
    if not isinstance(other, Tensor) and other == 0:
        self._note_reset_if_grad(True)
    return self._inplace(lambda t, o: t.mul(o), other)

def div_(self, other, rounding_mode=None):
    return self._inplace(lambda t, o: t.div(o, rounding_mode=rounding_mode), other)

def pow_(self, exponent):
    return self._inplace(lambda t, e: t.pow(e), exponent)

def neg_(self):
    return self._inplace(lambda t: t.neg())

def addcmul_(self, tensor1, tensor2, value=1):
    return self._inplace(lambda t, a, b: t + value * a * b, tensor1, tensor2)

def addcdiv_(self, tensor1, tensor2, value=1):
    return self._inplace(lambda t, a, b: t + value * a / b, tensor1, tensor2)

def addcmul(self, tensor1, tensor2, value=1):
    return self + value * tensor1 * tensor2

def addcdiv(self, tensor1, tensor2, value=1):
    return self + value * tensor1 / tensor2

def lerp_(self, end, weight):
    return self._inplace(lambda t, e: t + weight * (e - t), end)

def __iadd__(self, other):
    if not isinstance(other, Tensor) and not _is_scalar(other):
        return NotImplemented
    return self._inplace(lambda t, o: t.add(o), other)

def __isub__(self, other):
    if not isinstance(other, Tensor) and not _is_scalar(other):
        return NotImplemented
    return self._inplace(lambda t, o: t.sub(o), other)

def __imul__(self, other):
    if not isinstance(other, Tensor) and not _is_scalar(other):
        return NotImplemented
    return self.mul_(other)

def __itruediv__(self, other):
    if not isinstance(other, Tensor) and not _is_scalar(other):
        return NotImplemented
    return self.div_(other)


def add_function(input, other, alpha=1, out=None):
    if not isinstance(input, Tensor):
        return other.__radd__(input) if alpha == 1 else (other * alpha).__radd__(input)
    return input.add(other, alpha=alpha)


def sub_function(input, other, alpha=1, out=None):
    if not isinstance(input, Tensor):
        return (other * alpha).__rsub__(input)
    return input.sub(other, alpha=alpha)


def mul_function(input, other, out=None):
    if not isinstance(input, Tensor):
        return other.__rmul__(input)
    return input.mul(other)


def pow_function(input, exponent, out=None):
    if not isinstance(input, Tensor):
        return exponent.__rpow__(input)
    return input.pow(exponent)


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "_binary": _binary,
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "_rounded_div": _rounded_div,
    "true_divide": div,
    "divide": div,
    "multiply": mul,
    "subtract": sub,
    "floor_divide": floor_divide,
    "remainder": remainder,
    "fmod": remainder,
    "pow": pow,
    "__rpow__": __rpow__,
    "neg": neg,
    "negative": neg,
    "__neg__": __neg__,
    "__pos__": __pos__,
    "__abs__": __abs__,
    "__add__": add,
    "__sub__": sub,
    "__mul__": mul,
    "__truediv__": div,
    "__pow__": pow,
    "__floordiv__": floor_divide,
    "__mod__": remainder,
    "__radd__": __radd__,
    "__rmul__": __rmul__,
    "__rsub__": __rsub__,
    "__rtruediv__": __rtruediv__,
    "__rfloordiv__": __rfloordiv__,
    "__rmod__": __rmod__,
    "__matmul__": __matmul__,
    "__rmatmul__": __rmatmul__,
    "add_": add_,
    "sub_": sub_,
    "mul_": mul_,
    "div_": div_,
    "pow_": pow_,
    "neg_": neg_,
    "addcmul_": addcmul_,
    "addcdiv_": addcdiv_,
    "addcmul": addcmul,
    "addcdiv": addcdiv,
    "lerp_": lerp_,
    "__iadd__": __iadd__,
    "__isub__": __isub__,
    "__imul__": __imul__,
    "__itruediv__": __itruediv__,
}

FUNCTION_FORMS = ("neg", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod", "addcmul", "addcdiv")
FUNCTIONS = {"add": add_function, "sub": sub_function, "subtract": sub_function, "mul": mul_function,
             "multiply": mul_function, "pow": pow_function}
