"""Resampling and padding: `interpolate` (nearest, linear, bilinear), `pixel_shuffle` and
`pad` (constant, reflect, replicate)."""

from __future__ import annotations

import numpy as np

from ..core import Tensor, record_op
from .conv import first_order


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims (all but batch and channel): mode 'nearest', 'linear' (3-D input)
    or 'bilinear' (4-D input).

    Nearest: output element i reads input element floor(i * scale), scale = in/out for `size`,
    or 1/scale_factor, clamped to the last input index (PyTorch's rule). (Bi)linear: see
    `_linear_weights`."""
    spatial = input.dim() - 2
    if spatial not in (1, 2, 3):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if (mode not in ("nearest", "linear", "bilinear") or (mode == "linear" and spatial != 1)
            or (mode == "bilinear" and spatial != 2)):
        raise NotImplementedError(
            f"interpolate(mode={mode!r}) of a {input.dim()}D input is not supported by the varlint "
            "runtime")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = input.shape[2:]
    if size is not None:
        sizes = size if isinstance(size, (list, tuple)) else [size] * spatial
        out_sizes = [int(s) for s in sizes]
        scales = [in_size / out_size for in_size, out_size in zip(in_sizes, out_sizes)]
    elif scale_factor is not None:
        factors = (scale_factor if isinstance(scale_factor, (list, tuple))
                   else [scale_factor] * spatial)
        out_sizes = [int(in_size * factor) for in_size, factor in zip(in_sizes, factors)]
        scales = ([in_size / out_size for in_size, out_size in zip(in_sizes, out_sizes)]
                  if recompute_scale_factor else [1.0 / factor for factor in factors])
    else:
        raise ValueError("either size or scale_factor should be defined")
    if mode != "nearest":
        return _linear(input, out_sizes, scales, align_corners, scale_factor is not None
                       and not recompute_scale_factor)
    index = (slice(None), slice(None))
    for axis, (in_size, out_size, scale) in enumerate(zip(in_sizes, out_sizes, scales)):
        positions = np.arange(out_size, dtype=np.float32) * np.float32(scale)  # float32 as in ATen
        source = np.floor(positions).astype(np.int64)
        shape = [1] * spatial
        shape[axis] = out_size
        index += (np.minimum(source, in_size - 1).reshape(shape),)
    shape = input.shape

    def backward(grad):  # each input element receives the sum of the outputs that copied it
        summed = np.zeros(shape, dtype=grad._data.dtype)
        np.add.at(summed, index, grad._data)
        return (Tensor._wrap(summed),)

    return record_op(f"UpsampleNearest{spatial}DBackward0", input._data[index], (input,), backward)


def _linear_weights(in_size, out_size, scale, align_corners, given_scale, dtype):
    """The (out, in) matrix of linear interpolation along one axis, as ATen computes it:
    source = scale * dst (align_corners, scale = (in-1)/(out-1)) or scale * (dst + 0.5) - 0.5
    clamped at 0 (scale = in/out, or 1/scale_factor when one was given), in the input's
    precision; neighbours floor(source) and the next one (if any), weights 1 - l and l."""
    if align_corners:
        step = dtype((in_size - 1) / (out_size - 1)) if out_size > 1 else dtype(0)
        source = np.arange(out_size, dtype=dtype) * step
    else:
        step = dtype(scale) if given_scale else dtype(in_size / out_size)
        source = np.maximum((np.arange(out_size, dtype=dtype) + dtype(0.5)) * step - dtype(0.5),
                            dtype(0))
    low = np.floor(source).astype(np.int64)
    low = np.minimum(low, in_size - 1)
    high = low + (low < in_size - 1)
    weight_high = (source - low).astype(dtype)
    weight_low = (dtype(1) - weight_high).astype(dtype)
    matrix = np.zeros((out_size, in_size), dtype=dtype)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, low), weight_low)
    np.add.at(matrix, (rows, high), weight_high)
    return matrix


def _linear(input, out_sizes, scales, align_corners, given_scale):
    dtype = input._data.dtype.type
    matrices = [_linear_weights(in_size, out_size, scale, align_corners, given_scale, dtype)
                for in_size, out_size, scale in zip(input.shape[2:], out_sizes, scales)]
    if len(matrices) == 1:
        value = input._data @ matrices[0].T
        name = "UpsampleLinear1DBackward0"
    else:
        value = matrices[0] @ input._data @ matrices[1].T
        name = "UpsampleBilinear2DBackward0"

    def backward(grad):
        first_order("interpolate")
        g = grad._data
        back = g @ matrices[0] if len(matrices) == 1 else matrices[0].T @ g @ matrices[1]
        return (Tensor._wrap(back.astype(g.dtype, copy=False)),)

    return record_op(name, value.astype(dtype, copy=False), (input,), backward)


def pixel_shuffle(input, upscale_factor):
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r); its backward is pixel_unshuffle."""
    r = int(upscale_factor)
    *lead, channels, h, w = input.shape
    if channels % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}")
    value = input._data.reshape(*lead, channels // (r * r), r, r, h, w)
    order = tuple(range(len(lead))) + tuple(len(lead) + i for i in (0, 3, 1, 4, 2))
    value = value.transpose(order).reshape(*lead, channels // (r * r), h * r, w * r)
    return record_op("PixelShuffleBackward0", np.ascontiguousarray(value), (input,),
                     lambda g: (pixel_unshuffle(g, r),))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W); its backward is pixel_shuffle."""
    r = int(downscale_factor)
    *lead, channels, h, w = input.shape
    value = input._data.reshape(*lead, channels, h // r, r, w // r, r)
    order = tuple(range(len(lead))) + tuple(len(lead) + i for i in (0, 2, 4, 1, 3))
    value = value.transpose(order).reshape(*lead, channels * r * r, h // r, w // r)
    return record_op("PixelUnshuffleBackward0", np.ascontiguousarray(value), (input,),
                     lambda g: (pixel_shuffle(g, r),))



_PAD_MODES = {"constant": ("constant", "ConstantPadNdBackward0"), "reflect": ("reflect", "ReflectionPad{}DBackward0"),
              "replicate": ("edge", "ReplicationPad{}DBackward0"), "circular": ("wrap", "ReplicationPad{}DBackward0")}


def pad(input, pad, mode="constant", value=None):
    """F.pad: `pad` lists (before, after) amounts from the last dim backwards. The backward
    adds each output element's gradient to the input element it copies (found by padding an
    index array the same way)."""
    if len(pad) % 2 or len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length must be divisible by 2")  # PyTorch's assertion text
    if mode not in _PAD_MODES or any(p < 0 for p in pad):
        raise NotImplementedError(f"F.pad(mode={mode!r}) with these amounts is not supported by "
                                  "the varlint runtime")
    widths = [(0, 0)] * input.dim()
    for i in range(len(pad) // 2):
        widths[input.dim() - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    numpy_mode, name = _PAD_MODES[mode]
    x = input._data
    if numpy_mode == "constant":
        value_array = np.pad(x, widths, constant_values=0 if value is None else value)
        positions = np.pad(np.arange(x.size).reshape(x.shape), widths, constant_values=-1)
    else:
        value_array = np.pad(x, widths, mode=numpy_mode)
        positions = np.pad(np.arange(x.size).reshape(x.shape), widths, mode=numpy_mode)
        name = name.format(len(pad) // 2)
    kept = positions.ravel() >= 0

    def backward(grad):
        g = grad._data.ravel()[kept]
        summed = np.bincount(positions.ravel()[kept], weights=g, minlength=x.size)
        return (Tensor._wrap(summed.astype(grad._data.dtype).reshape(x.shape)),)

    return record_op(name, value_array, (input,), backward)


FUNCTIONS = {"pixel_shuffle": pixel_shuffle, "pixel_unshuffle": pixel_unshuffle}
