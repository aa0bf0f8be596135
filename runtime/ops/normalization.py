"""Normalisation: `batch_norm` (training statistics and running averages, or eval with the
running ones) and `layer_norm`, each one graph node named like PyTorch's
(`NativeBatchNormBackward0`, `NativeLayerNormBackward0`).

Statistics are computed in float64 and cast back, close to PyTorch's accumulation; the
backward uses the usual closed forms, in numpy, or under create_graph=True (a gradient
penalty) the same forms written with the runtime's ops (`_gradients_as_ops`), so that the
gradients have a graph.
"""

from __future__ import annotations

import numpy as np

from ..core import Tensor, named_gradients, record_op
from ..grad_mode import is_grad_enabled, no_grad


def _normalize_backward(g, xhat, invstd, axes, count):
    """d(loss)/dx for xhat = (x - mean(x)) * invstd over `axes`, given d(loss)/dxhat = g."""
    return invstd * (g - g.mean(axis=axes, keepdims=True)
                     - xhat * (g * xhat).mean(axis=axes, keepdims=True)) if count else g * 0


def _gradients_as_ops(grad, input, weight, bias, axes, param_axes, param_shape, eps, running=None):
    """The gradients of (x - mean) * invstd * weight + bias as runtime ops (create_graph=True):
    the statistics over `axes` of the input, or the fixed `running` (mean, var) arrays."""
    if running is None:
        mean = input.mean(axes, keepdim=True)
        invstd = 1.0 / (((input - mean) ** 2).mean(axes, keepdim=True) + eps).sqrt()
    else:
        mean, invstd = (Tensor._wrap(a.reshape(param_shape).astype(input._data.dtype))
                        for a in (running[0], 1.0 / np.sqrt(running[1] + eps)))
    xhat = (input - mean) * invstd
    grad_input = grad_weight = grad_bias = None
    if input._requires_grad:
        g_xhat = grad if weight is None else grad * weight.view(param_shape)
        if running is None:
            grad_input = invstd * (g_xhat - g_xhat.mean(axes, keepdim=True)
                                   - xhat * (g_xhat * xhat).mean(axes, keepdim=True))
        else:
            grad_input = g_xhat * invstd
    if weight is not None and weight._requires_grad:
        grad_weight = (grad * xhat).sum(param_axes)
    if bias is not None and bias._requires_grad:
        grad_bias = grad.sum(param_axes)
    return (grad_input, grad_weight, grad_bias)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    count = x.size // x.shape[1]
    if training and count == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{input.size()}")
    wide = x.astype(np.float64)
    if training:
        mean = wide.mean(axis=axes)
        var = wide.var(axis=axes)
        if running_mean is not None:
            with no_grad():
                running_mean._data[...] = ((1 - momentum) * running_mean._data + momentum * mean)
                running_var._data[...] = ((1 - momentum) * running_var._data
                                          + momentum * var * count / max(count - 1, 1))
                running_mean._version_counter.value += 1
                running_var._version_counter.value += 1
    else:
        mean = running_mean._data.astype(np.float64)
        var = running_var._data.astype(np.float64)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (wide - mean.reshape(shape)) * invstd.reshape(shape)
    scale = np.ones(x.shape[1]) if weight is None else weight._data.astype(np.float64)
    shift = np.zeros(x.shape[1]) if bias is None else bias._data.astype(np.float64)
    value = (xhat * scale.reshape(shape) + shift.reshape(shape)).astype(x.dtype)

    def backward(grad):
        if is_grad_enabled():
            running = None if training else (running_mean._data.astype(np.float64), running_var._data.astype(np.float64))
            return named_gradients("NativeBatchNormBackwardBackward0",
                                   _gradients_as_ops(grad, input, weight, bias, axes, axes, shape, eps, running))
        g = grad._data.astype(np.float64)
        grad_input = grad_weight = grad_bias = None
        if input._requires_grad:
            g_xhat = g * scale.reshape(shape)
            if training:
                gx = _normalize_backward(g_xhat, xhat, invstd.reshape(shape), axes, count)
            else:
                gx = g_xhat * invstd.reshape(shape)
            grad_input = Tensor._wrap(gx.astype(x.dtype))
        if weight is not None and weight._requires_grad:
            grad_weight = Tensor._wrap((g * xhat).sum(axis=axes).astype(x.dtype))
        if bias is not None and bias._requires_grad:
            grad_bias = Tensor._wrap(g.sum(axis=axes).astype(x.dtype))
        return (grad_input, grad_weight, grad_bias)

    return record_op("NativeBatchNormBackward0", value, (input, weight, bias), backward,
                     saved=(input,))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    normalized = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    x = input._data
    if tuple(x.shape[x.ndim - len(normalized):]) != normalized:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized))}], but got input of size{list(x.shape)}")
    axes = tuple(range(x.ndim - len(normalized), x.ndim))
    wide = x.astype(np.float64)
    mean = wide.mean(axis=axes, keepdims=True)
    invstd = 1.0 / np.sqrt(wide.var(axis=axes, keepdims=True) + eps)
    xhat = (wide - mean) * invstd
    scale = 1.0 if weight is None else weight._data.astype(np.float64)
    shift = 0.0 if bias is None else bias._data.astype(np.float64)
    value = (xhat * scale + shift).astype(x.dtype)
    lead = tuple(range(x.ndim - len(normalized)))

    def backward(grad):
        if is_grad_enabled():
            return named_gradients("NativeLayerNormBackwardBackward0",
                                   _gradients_as_ops(grad, input, weight, bias, axes, lead, normalized, eps))
        g = grad._data.astype(np.float64)
        grad_input = grad_weight = grad_bias = None
        if input._requires_grad:
            gx = _normalize_backward(g * scale, xhat, invstd, axes, 1)
            grad_input = Tensor._wrap(gx.astype(x.dtype))
        if weight is not None and weight._requires_grad:
            grad_weight = Tensor._wrap((g * xhat).sum(axis=lead).astype(x.dtype))
        if bias is not None and bias._requires_grad:
            grad_bias = Tensor._wrap(g.sum(axis=lead).astype(x.dtype))
        return (grad_input, grad_weight, grad_bias)

    return record_op("NativeLayerNormBackward0", value, (input, weight, bias), backward,
                     saved=(input,))


# torch.layer_norm (torch.batch_norm takes other arguments: F.batch_norm only)
FUNCTIONS = {"layer_norm": layer_norm}
