"""Pooling: `max_pool1d/2d`, `avg_pool1d/2d`, `adaptive_avg_pool2d`, `adaptive_max_pool2d`.

Windows are numpy stride views of the padded input (as in conv.py); max pooling keeps the flat
index of each maximum (PyTorch's `indices`, into the unpadded H * W plane) and its backward
adds the gradient back at those indices. 1-d pooling is 2-d pooling of height 1, unsqueezed
and squeezed as PyTorch does. Under create_graph=True the gradients of max and average pooling
are graph nodes themselves (linear in the incoming gradient: `MaxPool2DWithIndicesBackward
Backward0` gathers at the indices, `AvgPool2DBackwardBackward0` pools again), so a gradient
penalty differentiates through them; the adaptive poolings' backward is first-order.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core import Tensor, record_op
from ..grad_mode import is_grad_enabled
from .conv import first_order, pair


def _linear_gradient(name, value, grad, adjoint):
    """The gradient `value`, computed from `grad` by a linear map: plain, or under
    create_graph=True a node whose backward is the map's `adjoint` (numpy, first-order)."""
    if not is_grad_enabled():
        return Tensor._wrap(value)

    def backward(outer):
        first_order(f"the gradient of {name}")
        return (Tensor._wrap(adjoint(outer._data).astype(grad._data.dtype).reshape(grad._data.shape)),)

    return record_op(f"{name}Backward0", value, (grad,), backward)


def _output_size(size, kernel, pad, stride, dilation, ceil_mode):
    """PyTorch's pooling_output_shape."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _check_pool(input, kernel, stride, padding, dilation, name):
    if input.dim() not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should be greater than zero, but got "
                           f"dH: {stride[0]} dW: {stride[1]}")


def _windows(input, kernel, stride, padding, dilation, ceil_mode, fill):
    """(N*C, kh*kw, oh, ow) windows of the padded input, and (oh, ow)."""
    x = input._data.reshape((-1,) + input._data.shape[-2:])
    h, w = x.shape[-2:]
    oh = _output_size(h, kernel[0], padding[0], stride[0], dilation[0], ceil_mode)
    ow = _output_size(w, kernel[1], padding[1], stride[1], dilation[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, input.shape[-3:]))}). Calculated output size: "
            f"({input.shape[-3]}x{oh}x{ow}). Output size is too small")
    canvas_h = max(h + 2 * padding[0], (oh - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1)
    canvas_w = max(w + 2 * padding[1], (ow - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1)
    padded = np.full((x.shape[0], canvas_h, canvas_w), fill, dtype=x.dtype)
    padded[:, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
    s_b, s_h, s_w = padded.strides
    windows = as_strided(padded, (x.shape[0], kernel[0], kernel[1], oh, ow),
                         (s_b, s_h * dilation[0], s_w * dilation[1], s_h * stride[0], s_w * stride[1]),
                         writeable=False)
    return windows.reshape(x.shape[0], kernel[0] * kernel[1], oh, ow), (oh, ow)


def _max_pool(input, kernel, stride, padding, dilation, ceil_mode, name):
    _check_pool(input, kernel, stride, padding, dilation, name)
    windows, (oh, ow) = _windows(input, kernel, stride, padding, dilation, ceil_mode, -np.inf)
    best = np.argmax(windows, axis=1)  # the first maximum, as PyTorch's `val > maxval`
    value = np.take_along_axis(windows, best[:, None], axis=1)[:, 0]
    h, w = input._data.shape[-2:]
    rows = np.arange(oh)[:, None] * stride[0] - padding[0] + (best // kernel[1]) * dilation[0]
    cols = np.arange(ow)[None, :] * stride[1] - padding[1] + (best % kernel[1]) * dilation[1]
    indices = (rows * w + cols).astype(np.int64)
    lead = input._data.shape[:-2]
    planes = windows.shape[0]

    def backward(grad):
        flat = (np.arange(planes)[:, None, None] * (h * w) + indices).ravel()
        summed = np.bincount(flat, weights=grad._data.reshape(-1), minlength=planes * h * w)
        return (_linear_gradient(f"{name[:-len('Backward0')]}Backward", summed.astype(grad._data.dtype).reshape(input._data.shape),
                                 grad, lambda outer: outer.reshape(-1)[flat]),)

    result = record_op(name, value.reshape(lead + (oh, ow)), (input,), backward, saved=(input,))
    return result, Tensor._wrap(indices.reshape(lead + (oh, ow)))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    kernel = pair(kernel_size)
    stride = kernel if stride is None or stride == [] else pair(stride)
    output, indices = _max_pool(input, kernel, stride, pair(padding), pair(dilation), ceil_mode,
                                "MaxPool2DWithIndicesBackward0")
    return (output, indices) if return_indices else output


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    kernel = pair(kernel_size)[1]
    stride = kernel if stride is None or stride == [] else pair(stride)[1]
    output, indices = _max_pool(input.unsqueeze(-2), (1, kernel), (1, stride), (0, pair(padding)[1]),
                                (1, pair(dilation)[1]), ceil_mode, "MaxPool2DWithIndicesBackward0")
    output, indices = output.squeeze(-2), indices.squeeze(-2)
    return (output, indices) if return_indices else output


def _avg_pool(input, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, name):
    _check_pool(input, kernel, stride, padding, (1, 1), name)
    windows, (oh, ow) = _windows(input, kernel, stride, padding, (1, 1), ceil_mode, 0)
    h, w = input._data.shape[-2:]
    divisor = np.ones((oh, ow))
    if divisor_override:
        divisor[:] = divisor_override
    else:
        # PyTorch: the window clipped to the padded input (count_include_pad) or to the input
        starts_h = np.arange(oh) * stride[0] - padding[0]
        starts_w = np.arange(ow) * stride[1] - padding[1]
        ends_h = np.minimum(starts_h + kernel[0], h + padding[0])
        ends_w = np.minimum(starts_w + kernel[1], w + padding[1])
        if count_include_pad:
            divisor = np.outer(ends_h - starts_h, ends_w - starts_w)
        else:
            divisor = np.outer(np.minimum(ends_h, h) - np.maximum(starts_h, 0),
                               np.minimum(ends_w, w) - np.maximum(starts_w, 0))
    value = (windows.sum(axis=1) / divisor).astype(input._data.dtype)
    lead = input._data.shape[:-2]
    planes = windows.shape[0]

    def backward(grad):
        g = grad._data.reshape(planes, oh, ow) / divisor
        canvas_h = max(h + 2 * padding[0], (oh - 1) * stride[0] + kernel[0])
        canvas_w = max(w + 2 * padding[1], (ow - 1) * stride[1] + kernel[1])
        canvas = np.zeros((planes, canvas_h, canvas_w))
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                canvas[:, i:i + stride[0] * (oh - 1) + 1:stride[0],
                       j:j + stride[1] * (ow - 1) + 1:stride[1]] += g
        cropped = canvas[:, padding[0]:padding[0] + h, padding[1]:padding[1] + w]
        return (_linear_gradient(f"{name[:-len('Backward0')]}Backward", cropped.astype(grad._data.dtype).reshape(input._data.shape),
                                 grad, lambda outer: _avg_pool(Tensor._wrap(outer.reshape(input._data.shape)), kernel, stride,
                                                               padding, ceil_mode, count_include_pad, divisor_override, name)._data),)

    return record_op(name, value.reshape(lead + (oh, ow)), (input,), backward)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    kernel = pair(kernel_size)
    stride = kernel if stride is None or stride == [] else pair(stride)
    return _avg_pool(input, kernel, stride, pair(padding), ceil_mode, count_include_pad,
                     divisor_override, "AvgPool2DBackward0")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    kernel = pair(kernel_size)[1]
    stride = kernel if stride is None or stride == [] else pair(stride)[1]
    return _avg_pool(input.unsqueeze(-2), (1, kernel), (1, stride), (0, pair(padding)[1]),
                     ceil_mode, count_include_pad, None, "AvgPool2DBackward0").squeeze(-2)


def _adaptive_bins(size, out):
    """PyTorch's adaptive pooling bins: [floor(i * size / out), ceil((i + 1) * size / out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _adaptive_size(input, output_size):
    oh, ow = pair(output_size) if not isinstance(output_size, (tuple, list)) else (
        output_size[0], output_size[-1])
    h, w = input._data.shape[-2:]
    return (h if oh is None else oh), (w if ow is None else ow)


def adaptive_avg_pool2d(input, output_size):
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    oh, ow = _adaptive_size(input, output_size)
    if (oh, ow) == (1, 1):  # PyTorch's CPU kernel takes the mean over H and W
        return input.mean((-1, -2), keepdim=True)
    h, w = input._data.shape[-2:]
    bins_h, bins_w = _adaptive_bins(h, oh), _adaptive_bins(w, ow)
    x = input._data
    value = np.empty(x.shape[:-2] + (oh, ow), dtype=x.dtype)
    for i, (h0, h1) in enumerate(bins_h):
        for j, (w0, w1) in enumerate(bins_w):
            value[..., i, j] = x[..., h0:h1, w0:w1].mean(axis=(-1, -2))

    def backward(grad):
        first_order("adaptive average pooling")
        out = np.zeros(x.shape, dtype=grad._data.dtype)
        for i, (h0, h1) in enumerate(bins_h):
            for j, (w0, w1) in enumerate(bins_w):
                out[..., h0:h1, w0:w1] += grad._data[..., i, j, None, None] / ((h1 - h0) * (w1 - w0))
        return (Tensor._wrap(out),)

    return record_op("AdaptiveAvgPool2DBackward0", value, (input,), backward)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    oh, ow = _adaptive_size(input, output_size)
    h, w = input._data.shape[-2:]
    bins_h, bins_w = _adaptive_bins(h, oh), _adaptive_bins(w, ow)
    x = input._data
    value = np.empty(x.shape[:-2] + (oh, ow), dtype=x.dtype)
    indices = np.empty(x.shape[:-2] + (oh, ow), dtype=np.int64)
    for i, (h0, h1) in enumerate(bins_h):
        for j, (w0, w1) in enumerate(bins_w):
            block = x[..., h0:h1, w0:w1].reshape(x.shape[:-2] + (-1,))
            best = np.argmax(block, axis=-1)
            value[..., i, j] = np.take_along_axis(block, best[..., None], -1)[..., 0]
            indices[..., i, j] = (h0 + best // (w1 - w0)) * w + w0 + best % (w1 - w0)

    def backward(grad):
        first_order("adaptive max pooling")
        planes = int(np.prod(x.shape[:-2]))
        flat = (np.arange(planes)[:, None] * (h * w) + indices.reshape(planes, -1)).ravel()
        summed = np.bincount(flat, weights=grad._data.reshape(-1), minlength=planes * h * w)
        return (Tensor._wrap(summed.astype(grad._data.dtype).reshape(x.shape)),)

    output = record_op("AdaptiveMaxPool2DBackward0", value, (input,), backward)
    return (output, Tensor._wrap(indices)) if return_indices else output


# torch.NAME (avg_pool2d and the adaptive pools are torch.nn.functional's only)
FUNCTIONS = {"max_pool1d": max_pool1d, "max_pool2d": max_pool2d, "avg_pool1d": avg_pool1d}
