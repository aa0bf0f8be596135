"""Elementwise math: `exp`, `log`, `sqrt`, `sigmoid`, `tanh`, `relu`, `abs`, rounding, `clamp`,
`masked_fill`, `where`, `maximum`/`minimum`, `lerp` (and the in-place forms).

`abs` and `round` shadow the builtins in this module.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..core import Tensor, _as_array, _needs, record_op
from ..grad_mode import is_grad_enabled


def sign(self):
    return record_op("SignBackward0", np.sign(self._data), (self,), lambda g: (g * 0,))


def _unary(self, name, forward, backward, save_input=False, save_output=False):
    data = self._data if self.dtype.is_floating_point else self._data.astype(
        dtypes.get_default_dtype().numpy)
    with np.errstate(all="ignore"):
        value = forward(data)
    holder = []
    result = record_op(name, value, (self,), lambda g: (backward(g, self, holder[0]),),
                       saved=(self,) if save_input else (), save_output=save_output)
    holder.append(result)
    return result

def exp(self):
    return self._unary("ExpBackward0", np.exp, lambda g, x, y: g * y, save_output=True)

def log(self):
    return self._unary("LogBackward0", np.log, lambda g, x, y: g / x, save_input=True)

def log1p(self):
    return self._unary("Log1PBackward0", np.log1p, lambda g, x, y: g / (x + 1), save_input=True)

def log2(self):
    return self._unary("Log2Backward0", np.log2, lambda g, x, y: g / (x * math.log(2)), save_input=True)

def log10(self):
    return self._unary("Log10Backward0", np.log10, lambda g, x, y: g / (x * math.log(10)), save_input=True)

def sqrt(self):
    return self._unary("SqrtBackward0", np.sqrt, lambda g, x, y: g / (2 * y), save_output=True)

def rsqrt(self):
    return self._unary("RsqrtBackward0", lambda a: 1 / np.sqrt(a),
                       lambda g, x, y: -0.5 * g * y ** 3, save_output=True)

def reciprocal(self):
    return self._unary("ReciprocalBackward0", lambda a: 1 / a, lambda g, x, y: -g * y * y,
                       save_output=True)

def abs(self):
    if not self.dtype.is_floating_point:
        return Tensor._wrap(np.abs(self._data))
    return self._unary("AbsBackward0", np.abs, lambda g, x, y: g * x.sign(), save_input=True)

absolute = abs

def sin(self):
    return self._unary("SinBackward0", np.sin, lambda g, x, y: g * x.cos(), save_input=True)

def cos(self):
    return self._unary("CosBackward0", np.cos, lambda g, x, y: -g * x.sin(), save_input=True)

def relu(self):
    if not self.dtype.is_floating_point:
        return Tensor._wrap(np.maximum(self._data, 0))
    return self._unary("ReluBackward0", lambda a: np.maximum(a, 0).astype(a.dtype),
                       lambda g, x, y: g * (y > 0), save_output=True)

def sigmoid(self):
    return self._unary("SigmoidBackward0", lambda a: (1 / (1 + np.exp(-a))).astype(a.dtype),
                       lambda g, x, y: g * y * (1 - y), save_output=True)

def tanh(self):
    return self._unary("TanhBackward0", np.tanh, lambda g, x, y: g * _one_minus_square(y),
                       save_output=True)

def square(self):
    return self.pow(2)

def floor(self):
    return self._rounding(np.floor, "FloorBackward0")

def ceil(self):
    return self._rounding(np.ceil, "CeilBackward0")

def round(self, decimals=0):
    return self._rounding(lambda a: np.round(a, decimals), "RoundBackward0")

def trunc(self):
    return self._rounding(np.trunc, "TruncBackward0")

def _rounding(self, function, name):
    if not self.dtype.is_floating_point:
        return Tensor._wrap(self._data.copy())
    return record_op(name, function(self._data), (self,), lambda g: (g * 0,))

def clamp(self, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    low = -np.inf if min is None else _as_array(min)
    high = np.inf if max is None else _as_array(max)
    source = self
    value = np.clip(self._data, low, high).astype(self._data.dtype)

    def backward(grad):
        inside = (source._data >= low) & (source._data <= high)
        return (grad * Tensor._wrap(inside),)

    if isinstance(min, Tensor) or isinstance(max, Tensor):
        name = "ClampBackward0"
    else:
        name = "ClampBackward1"
    return record_op(name, value, (self,), backward, saved=(self,))

clip = clamp

def clamp_min(self, min):
    return self.clamp(min=min)

def clamp_max(self, max):
    return self.clamp(max=max)

def clamp_(self, min=None, max=None):
    return self._inplace(lambda t: t.clamp(min, max))

clip_ = clamp_

def exp_(self):
    return self._inplace(lambda t: t.exp())

def log_(self):
    return self._inplace(lambda t: t.log())

def sqrt_(self):
    return self._inplace(lambda t: t.sqrt())

def abs_(self):
    return self._inplace(lambda t: t.abs())

def relu_(self):
    return self._inplace(lambda t: t.relu())

def sigmoid_(self):
    return self._inplace(lambda t: t.sigmoid())

def tanh_(self):
    return self._inplace(lambda t: t.tanh())

def sign_(self):
    return self._inplace(lambda t: t.sign())

def masked_fill(self, mask, value):
    mask_array = _as_array(mask).astype(bool)
    fill = _as_array(value)
    data = np.where(mask_array, fill, self._data).astype(self._data.dtype)
    keep = Tensor._wrap(~mask_array)
    return record_op("MaskedFillBackward0", data, (self,), lambda g: (g * keep,))

def masked_fill_(self, mask, value):
    return self._inplace(lambda t: t.masked_fill(mask, value))


def _where_method(self, condition, other):
    return where(condition, self, other)


def lerp(self, end, weight):
    return self + weight * (end - self)


def _one_minus_square(y):
    """1 - y*y as PyTorch's kernels compute it (fused, so rounded once) unless differentiated."""
    if is_grad_enabled() and y._requires_grad:
        return 1 - y * y
    wide = y._data.astype(np.float64)
    return Tensor._wrap((1 - wide * wide).astype(y._data.dtype))


def maximum(a, b):
    source_a, source_b = a, b
    result_dtype = dtypes.result_type(a, b)
    value = np.maximum(_as_array(a, result_dtype), _as_array(b, result_dtype))

    def backward(grad):
        mask = Tensor._wrap((source_a._data > source_b._data) + 0.5 * (source_a._data == source_b._data))
        return (grad * mask, grad * (1 - mask))

    return record_op("MaximumBackward0", value, (a, b), backward, saved=(a, b))


def minimum(a, b):
    source_a, source_b = a, b
    result_dtype = dtypes.result_type(a, b)
    value = np.minimum(_as_array(a, result_dtype), _as_array(b, result_dtype))

    def backward(grad):
        mask = Tensor._wrap((source_a._data < source_b._data) + 0.5 * (source_a._data == source_b._data))
        return (grad * mask, grad * (1 - mask))

    return record_op("MinimumBackward0", value, (a, b), backward, saved=(a, b))


def where(condition, a, b):
    condition_array = _as_array(condition).astype(bool)
    result_dtype = dtypes.result_type(a, b)
    value = np.where(condition_array, _as_array(a, result_dtype), _as_array(b, result_dtype))
    keep = Tensor._wrap(condition_array)
    return record_op("WhereBackward0", value, (a, b),
                     lambda g: (g * keep if _needs(a) else None, g * keep.logical_not() if _needs(b) else None))



def log_sigmoid(input):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stable for large |x|."""
    x = input._data
    value = (np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)
    return record_op("LogSigmoidBackward0", value, (input,), lambda g: (g * (-input).sigmoid(),),
                     saved=(input,))


def xlogy(input, other):
    """x * log(y), 0 where x == 0 (torch.xlogy)."""
    x, y = _as_array(input), _as_array(other)
    with np.errstate(all="ignore"):
        value = np.where(x == 0, 0, x * np.log(y))
    result_dtype = dtypes.result_type(input, other)
    if not result_dtype.is_floating_point:
        result_dtype = dtypes.get_default_dtype()

    def backward(grad):
        grad_input = grad * xlogy(Tensor._wrap((x != 0).astype(value.dtype)), other) if _needs(input) else None
        grad_other = grad * input / other if _needs(other) else None
        return (grad_input, grad_other)

    return record_op("XlogyBackward0", value.astype(result_dtype.numpy), (input, other), backward,
                     saved=(input, other))


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "sign": sign,
    "_unary": _unary,
    "exp": exp,
    "log": log,
    "log1p": log1p,
    "log2": log2,
    "log10": log10,
    "sqrt": sqrt,
    "rsqrt": rsqrt,
    "reciprocal": reciprocal,
    "abs": abs,
    "absolute": abs,
    "sin": sin,
    "cos": cos,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "square": square,
    "floor": floor,
    "ceil": ceil,
    "round": round,
    "trunc": trunc,
    "_rounding": _rounding,
    "clamp": clamp,
    "clip": clamp,
    "clamp_min": clamp_min,
    "clamp_max": clamp_max,
    "clamp_": clamp_,
    "clip_": clamp_,
    "exp_": exp_,
    "log_": log_,
    "sqrt_": sqrt_,
    "abs_": abs_,
    "relu_": relu_,
    "sigmoid_": sigmoid_,
    "tanh_": tanh_,
    "sign_": sign_,
    "masked_fill": masked_fill,
    "masked_fill_": masked_fill_,
    "lerp": lerp,
    "xlogy": xlogy,
    "where": _where_method,
}

FUNCTION_FORMS = ("abs", "exp", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal", "sin", "cos",
                  "sigmoid", "tanh", "relu", "sign", "floor", "ceil", "round", "trunc", "square", "clamp",
                  "clip", "masked_fill", "lerp")
FUNCTIONS = {"where": where, "maximum": maximum, "minimum": minimum, "xlogy": xlogy}
