"""Activations beyond the Tensor methods: `elu`, `selu`, `softplus`, `hardtanh`, `relu6`
(torch.nn.functional's, with PyTorch's grad_fn names; `inplace=True` rewrites the input's
history as the other in-place ops do)."""

from __future__ import annotations

import numpy as np

from ..core import Tensor, record_op

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _elu(input, alpha, scale, name):
    x = input._data
    negative = x <= 0
    with np.errstate(over="ignore"):
        value = np.where(negative, scale * alpha * np.expm1(np.minimum(x, 0)), scale * x).astype(x.dtype)
    slope = np.where(negative, scale * alpha * np.exp(np.minimum(x, 0)), scale).astype(x.dtype)
    slope_tensor = Tensor._wrap(slope)
    return record_op(name, value, (input,), lambda g: (g * slope_tensor,), saved=(input,))


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return input._inplace(lambda t: _elu(t, alpha, 1.0, "EluBackward1"))
    return _elu(input, alpha, 1.0, "EluBackward0")


def selu(input, inplace=False):
    if inplace:
        return input._inplace(lambda t: _elu(t, SELU_ALPHA, SELU_SCALE, "EluBackward1"))
    return _elu(input, SELU_ALPHA, SELU_SCALE, "EluBackward0")


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    x = input._data
    scaled = x * beta
    linear = scaled > threshold
    with np.errstate(over="ignore"):
        value = np.where(linear, x, np.log1p(np.exp(np.minimum(scaled, threshold))) / beta).astype(x.dtype)
    return record_op("SoftplusBackward0", value, (input,),
                     lambda g: (g * (input * beta).sigmoid().masked_fill(linear, 1.0),), saved=(input,))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")

    def compute(t):
        x = t._data
        inside = (x > min_val) & (x < max_val)
        mask = Tensor._wrap(inside.astype(x.dtype))
        return record_op("HardtanhBackward0", np.clip(x, min_val, max_val).astype(x.dtype), (t,),
                         lambda g: (g * mask,), saved=(t,))

    return input._inplace(compute) if inplace else compute(input)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)
