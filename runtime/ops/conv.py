"""Convolutions (`conv1d`, `conv2d`, `conv_transpose2d`), vectorised with im2col.

`_im2col` views the padded input as windows (N, C, kh, kw, oh, ow) with numpy strides, and a
convolution is one matrix product per group; `_col2im` adds columns back onto a canvas (the
backward of im2col, and the forward of a transposed convolution). 1-d convolutions run as
2-d ones of height 1. The graph node is PyTorch's `ConvolutionBackward0`. Its backward is
numpy; under create_graph=True (a WGAN-GP gradient penalty) a 2-d batched convolution with
groups=1 computes its gradients with the runtime's own ops instead (they are convolutions
themselves: `_conv2d_gradients`, `_conv_transpose2d_gradients`), so that they have a graph;
other cases raise a RuntimeError naming the op.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core import Tensor, named_gradients, record_op
from ..grad_mode import is_grad_enabled

FIRST_ORDER_ONLY = ("create_graph=True through {name} is not supported by the varlint runtime "
                    "(its backward is first-order)")


def first_order(name):
    """Raise when a numpy-written backward runs to build a graph (create_graph=True)."""
    if is_grad_enabled():
        raise RuntimeError(FIRST_ORDER_ONLY.format(name=name))


def pair(value, name="value"):
    """PyTorch's _pair: an int for both dims, or a 2-sequence."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return (int(value[0]), int(value[0]))
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def _im2col(padded, kernel, stride, dilation, out_size):
    """(N, C, H, W) -> columns (N, C * kh * kw, oh * ow) (a copy)."""
    n, c = padded.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    s_n, s_c, s_h, s_w = padded.strides
    windows = as_strided(padded, (n, c, kh, kw, oh, ow),
                         (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw), writeable=False)
    return windows.reshape(n, c * kh * kw, oh * ow)


def _col2im(columns, canvas_shape, kernel, stride, dilation, out_size):
    """Sum columns (N, C * kh * kw, oh * ow) onto a zero canvas (N, C, H, W): im2col's adjoint."""
    n, c = canvas_shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    canvas = np.zeros(canvas_shape, dtype=columns.dtype)
    blocks = columns.reshape(n, c, kh, kw, oh, ow)
    for i in range(kh):
        for j in range(kw):
            canvas[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                   j * dw:j * dw + sw * (ow - 1) + 1:sw] += blocks[:, :, i, j]
    return canvas


def _grouped(array, groups):
    """(N, C, L) -> (groups, N, C/groups, L)."""
    n, c, length = array.shape
    return array.reshape(n, groups, c // groups, length).transpose(1, 0, 2, 3)


def _ungrouped(array):
    """(groups, N, C/groups, L) -> (N, C, L)."""
    g, n, c, length = array.shape
    return array.transpose(1, 0, 2, 3).reshape(n, g * c, length)


def _batch_outer(a, b):
    """For each group g: sum over samples n of a[g, n] @ b[g, n].T (one BLAS product each)."""
    return np.stack([np.tensordot(a[g], b[g], axes=([0, 2], [0, 2])) for g in range(a.shape[0])])


def _check_conv_input(input, weight, groups, transposed, dims):
    expected = dims + 2
    if input.dim() not in (expected - 1, expected):
        raise RuntimeError(
            f"Expected {expected - 1}D (unbatched) or {expected}D (batched) input to conv{dims}d, "
            f"but got input of size: {list(input.shape)}")
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"Input type ({input.type()}) and weight type ({weight.type()}) should be the same")
    channels = input.shape[-dims - 1]
    needed = weight.shape[0] if transposed else weight.shape[1] * groups
    if channels != needed:
        if transposed:
            raise RuntimeError(
                f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                f"{list(input.shape)} to have {weight.shape[0]} channels, but got {channels} "
                "channels instead")
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {needed} channels, but got {channels} channels instead")


def _as_2d(input, weight, dims):
    """Arrays of a conv{dims}d as 2-d ones (a height-1 image for dims == 1), batched."""
    x, w = input._data, weight._data
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x[None]
    if dims == 1:
        x, w = x[:, :, None, :], w[:, :, None, :]
    return x, w, unbatched


def _from_2d(array, dims, unbatched):
    if dims == 1:
        array = array[:, :, 0, :]
    return array[0] if unbatched else array


def _grad_of_weight(signal, grad, stride, padding, dilation, kernel):
    """sum over the batch of signal windows times grad, as a convolution (differentiable):
    the batch becomes the channel summed over, stride and dilation swap roles."""
    out = conv2d(signal.transpose(0, 1), grad.transpose(0, 1), None, dilation, padding, stride)
    return out[:, :, :kernel[0], :kernel[1]].transpose(0, 1)


def _conv2d_gradients(grad, input, weight, bias, stride, padding, dilation):
    """conv2d's gradients with the runtime's ops (create_graph=True)."""
    (h, w), (oh, ow), (kh, kw) = input.shape[2:], grad.shape[2:], weight.shape[2:]
    grad_input = grad_weight = grad_bias = None
    if input._requires_grad:
        output_padding = tuple(size - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
                               for size, o, s, p, d, k in zip((h, w), (oh, ow), stride, padding, dilation, (kh, kw)))
        grad_input = conv_transpose2d(grad, weight, None, stride, padding, output_padding, 1, dilation)
    if weight._requires_grad:
        grad_weight = _grad_of_weight(input, grad, stride, padding, dilation, (kh, kw))
    if bias is not None and bias._requires_grad:
        grad_bias = grad.sum((0, 2, 3))
    return (grad_input, grad_weight, grad_bias)


def _conv_transpose2d_gradients(grad, input, weight, bias, stride, padding, dilation):
    """conv_transpose2d's gradients with the runtime's ops (create_graph=True)."""
    kh, kw = weight.shape[2:]
    grad_input = grad_weight = grad_bias = None
    if input._requires_grad:
        grad_input = conv2d(grad, weight, None, stride, padding, dilation)
        grad_input = grad_input[:, :, :input.shape[2], :input.shape[3]]
    if weight._requires_grad:
        grad_weight = _grad_of_weight(grad, input, stride, padding, dilation, (kh, kw))
    if bias is not None and bias._requires_grad:
        grad_bias = grad.sum((0, 2, 3))
    return (grad_input, grad_weight, grad_bias)


def _convolution(input, weight, bias, stride, padding, dilation, groups, dims):
    _check_conv_input(input, weight, groups, False, dims)
    if input.dim() == dims + 1:  # unbatched: PyTorch unsqueezes, then squeezes the result
        return _convolution(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups,
                            dims).squeeze(0)
    x, w, unbatched = _as_2d(input, weight, dims)
    if dims == 1:
        stride, padding, dilation = (1, stride), (0, padding), (1, dilation)
    (ph, pw), (kh, kw) = padding, w.shape[2:]
    n, c, h, wd = x.shape
    out_channels = w.shape[0]
    oh = (h + 2 * ph - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pw - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if oh <= 0 or ow <= 0:
        size = [c, h, wd] if dims == 2 else [c, wd]
        kernel = [kh, kw] if dims == 2 else [kw]
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(str(s + 2 * p) for s, p in zip(size[1:], (ph, pw)[-dims:]))}). "
            f"Kernel size: ({' x '.join(map(str, kernel))}). Kernel size can't be greater than "
            "actual input size")
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    columns = _im2col(padded, (kh, kw), stride, dilation, (oh, ow))
    matrices = w.reshape(groups, out_channels // groups, -1)
    grouped = _grouped(columns, groups)
    out = _ungrouped(np.matmul(matrices[:, None], grouped))
    if bias is not None:
        out = out + bias._data[None, :, None]
    value = _from_2d(out.reshape(n, out_channels, oh, ow).astype(x.dtype, copy=False), dims, unbatched)

    def backward(grad):
        if is_grad_enabled() and dims == 2 and groups == 1:
            return named_gradients("ConvolutionBackwardBackward0",
                                   _conv2d_gradients(grad, input, weight, bias, stride, padding, dilation))
        first_order("a convolution" + (" with groups > 1" if groups > 1 else "" if dims == 2 else " (1-d)"))
        g = grad._data
        g = g[None] if unbatched else g
        g = (g[:, :, None, :] if dims == 1 else g).reshape(n, out_channels, oh * ow)
        g_grouped = _grouped(g, groups)
        grad_weight = grad_input = grad_bias = None
        if weight._requires_grad:
            grad_weight = Tensor._wrap(_batch_outer(g_grouped, grouped)
                                       .reshape(weight._data.shape).astype(x.dtype, copy=False))
        if input._requires_grad:
            columns_grad = _ungrouped(np.matmul(matrices.transpose(0, 2, 1)[:, None], g_grouped))
            canvas = _col2im(columns_grad, padded.shape, (kh, kw), stride, dilation, (oh, ow))
            canvas = canvas[:, :, ph:ph + h, pw:pw + wd]
            grad_input = Tensor._wrap(_from_2d(canvas.astype(x.dtype, copy=False), dims, unbatched))
        if bias is not None and bias._requires_grad:
            grad_bias = Tensor._wrap(g.sum(axis=(0, 2)).astype(x.dtype, copy=False))
        return (grad_input, grad_weight, grad_bias)

    return record_op("ConvolutionBackward0", value, (input, weight, bias), backward,
                     saved=(input, weight))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if isinstance(padding, str):
        raise NotImplementedError("padding='same'/'valid' is not supported by the varlint runtime")
    return _convolution(input, weight, bias, pair(stride), pair(padding), pair(dilation), groups, 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if isinstance(padding, str):
        raise NotImplementedError("padding='same'/'valid' is not supported by the varlint runtime")
    return _convolution(input, weight, bias, pair(stride)[1], pair(padding)[1], pair(dilation)[1],
                        groups, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d: columns W^T x summed onto the output canvas (col2im)."""
    _check_conv_input(input, weight, groups, True, 2)
    if input.dim() == 3:  # unbatched: PyTorch unsqueezes, then squeezes the result
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding,
                                groups, dilation).squeeze(0)
    stride, padding, output_padding, dilation = (pair(v) for v in (stride, padding, output_padding,
                                                                   dilation))
    x, w, unbatched = _as_2d(input, weight, 2)
    n, c, h, wd = x.shape
    kh, kw = w.shape[2:]
    out_per_group = w.shape[1]
    out_channels = out_per_group * groups
    oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    ow = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    canvas_shape = (n, out_channels, max((h - 1) * stride[0] + dilation[0] * (kh - 1) + 1, padding[0] + oh),
                    max((wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1, padding[1] + ow))
    # weight (C_in, C_out/g, kh, kw): per group a (C_in/g, C_out/g * kh * kw) matrix
    matrices = w.reshape(groups, c // groups, -1)
    x_grouped = _grouped(x.reshape(n, c, h * wd), groups)
    columns = _ungrouped(np.matmul(matrices.transpose(0, 2, 1)[:, None], x_grouped))
    canvas = _col2im(columns, canvas_shape, (kh, kw), stride, dilation, (h, wd))
    out = canvas[:, :, padding[0]:padding[0] + oh, padding[1]:padding[1] + ow]
    if bias is not None:
        out = out + bias._data[None, :, None, None]
    value = out.astype(x.dtype, copy=False)
    value = value[0] if unbatched else np.ascontiguousarray(value)

    def backward(grad):
        if is_grad_enabled() and groups == 1 and not unbatched:
            return named_gradients("ConvolutionBackwardBackward0",
                                   _conv_transpose2d_gradients(grad, input, weight, bias, stride, padding, dilation))
        first_order("a transposed convolution" + (" with groups > 1" if groups > 1 else ""))
        g = grad._data[None] if unbatched else grad._data
        g_canvas = np.zeros(canvas_shape, dtype=g.dtype)
        g_canvas[:, :, padding[0]:padding[0] + oh, padding[1]:padding[1] + ow] = g
        g_columns = _grouped(_im2col(g_canvas, (kh, kw), stride, dilation, (h, wd)), groups)
        grad_input = grad_weight = grad_bias = None
        if input._requires_grad:
            gx = _ungrouped(np.matmul(matrices[:, None], g_columns)).reshape(n, c, h, wd)
            grad_input = Tensor._wrap((gx[0] if unbatched else gx).astype(x.dtype, copy=False))
        if weight._requires_grad:
            gw = _batch_outer(x_grouped, g_columns)
            grad_weight = Tensor._wrap(gw.reshape(w.shape).astype(x.dtype, copy=False))
        if bias is not None and bias._requires_grad:
            grad_bias = Tensor._wrap(g.sum(axis=(0, 2, 3)).astype(x.dtype, copy=False))
        return (grad_input, grad_weight, grad_bias)

    return record_op("ConvolutionBackward0", value, (input, weight, bias), backward,
                     saved=(input, weight))


FUNCTIONS = {"conv1d": conv1d, "conv2d": conv2d, "conv_transpose2d": conv_transpose2d}
