"""`torch.nn.functional`: activations, `linear`, `dropout`, nearest `interpolate`, the losses.

Activations reuse the Tensor's own ops. The losses are single autograd nodes named like
PyTorch's (`MseLossBackward0`, `NllLossBackward0`, ...): the value is computed with numpy,
and the backward multiplies the incoming gradient by the loss's partial derivatives, which
are computed at forward time (see `_loss_node`). `l1_loss` is composed of Tensor ops, because
PyTorch 2.13 composes it too (its grad_fn is `MeanBackward0` over `AbsBackward0`).

Legacy arguments behave as in PyTorch 2.13: `size_average=`/`reduce=` still work and warn
("size_average and reduce args will be deprecated, please use reduction='sum' instead."),
and softmax without `dim` warns and picks dim 0 for 0-, 1- and 3-D input, 1 otherwise.
"""

from __future__ import annotations

import numpy as np

from . import dtypes, events
from . import random
from .tensor import Tensor, record_op

# -- reductions and legacy arguments ---------------------------------------------------------


def legacy_reduction(size_average, reduce, emit_warning: bool = True) -> str:
    """The `reduction` that PyTorch maps legacy `size_average`/`reduce` to (with its warning)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        reduction = "mean"
    elif reduce:
        reduction = "sum"
    else:
        reduction = "none"
    if emit_warning:
        events.warn(
            "size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead."
        )
    return reduction


def _resolve_reduction(size_average, reduce, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction == "elementwise_mean":
        events.warn("reduction='elementwise_mean' is deprecated. "
                    "Please use reduction='mean' instead.")
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(values: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(values.mean(), dtype=values.dtype)
    if reduction == "sum":
        return np.asarray(values.sum(), dtype=values.dtype)
    return values


def _loss_node(name, elementwise, reduction, operands, partials):
    """Record a loss computed elementwise as one graph node.

    elementwise: numpy array of per-element losses; operands: the tensors it depends on;
    partials: for each operand, d(loss element)/d(operand element) as a numpy array (None
    when it has no gradient). The backward is `grad * partial`, averaged for 'mean'; the
    engine sums broadcast gradients back to each operand's shape.
    """
    count = max(elementwise.size, 1)
    derivatives = [None if d is None else Tensor._wrap(np.asarray(d, dtype=elementwise.dtype))
                   for d in partials]

    def backward(grad):
        if reduction == "mean":
            grad = grad / count
        return tuple(None if d is None else grad * d for d in derivatives)

    return record_op(name, _reduce(elementwise, reduction), tuple(operands), backward,
                     saved=tuple(operands))


def _float_arrays(*tensors):
    """The tensors' values broadcast together, in the dtype PyTorch's promotion gives."""
    result_dtype = dtypes.result_type(*tensors)
    if not result_dtype.is_floating_point:
        result_dtype = dtypes.get_default_dtype()
    return np.broadcast_arrays(*(t._data.astype(result_dtype.numpy, copy=False) for t in tensors))


def _no_sample_weights(weight):
    if weight is not None:  # a recent argument (per-element weights) legacy code never passes
        raise NotImplementedError("weight= is not supported by the varlint runtime")


def _warn_if_broadcast(input, target):
    if tuple(target.shape) != tuple(input.shape):
        events.warn(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size."
        )


# -- activations -------------------------------------------------------------------------------


def relu(input, inplace: bool = False):
    return input.relu_() if inplace else input.relu()


def sigmoid(input):
    return input.sigmoid()  # no deprecation warning in 2.13


def tanh(input):
    return input.tanh()


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    if inplace:
        return input._inplace(lambda t: leaky_relu(t, negative_slope))
    x = input._data
    positive = x > 0
    slopes = Tensor._wrap(np.where(positive, 1.0, negative_slope).astype(x.dtype))
    value = np.where(positive, x, x * negative_slope).astype(x.dtype)
    return record_op("LeakyReluBackward0", value, (input,), lambda g: (g * slopes,), saved=(input,))


def _implicit_softmax_dim(name: str, ndim: int) -> int:
    events.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument."
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    if dim is None:
        dim = _implicit_softmax_dim("softmax", input.dim())
    return input.softmax(dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    if dim is None:
        dim = _implicit_softmax_dim("log_softmax", input.dim())
    return input.log_softmax(dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):
    if dim is None:
        dim = _implicit_softmax_dim("softmin", input.dim())
    return (-input).softmax(dim, dtype=dtype)


# -- linear and dropout ------------------------------------------------------------------------


def linear(input, weight, bias=None):
    """input @ weight.t() + bias, recorded with the node PyTorch records for each input rank:
    AddmmBackward0 (2-D with bias), MmBackward0 (2-D), ViewBackward0 (other ranks with bias),
    SqueezeBackward4 / UnsafeViewBackward0 (1-D / N-D without bias)."""
    if input.dim() == 0:
        raise RuntimeError(
            "both arguments to linear need to be at least 1D, but they are "
            f"{input.dim()}D and {weight.dim()}D"
        )
    rows = int(np.prod(input.shape[:-1])) if input.dim() > 1 else 1
    if input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
            f"{weight.shape[-1]}x{weight.shape[0]})"
        )
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            "mat1 and mat2 must have the same dtype, but got "
            f"{_c10_name(input.dtype)} and {_c10_name(weight.dtype)}"
        )
    if bias is None:
        return input.matmul(weight.t())
    if input.dim() == 2:
        return bias.addmm(input, weight.t())
    flat = bias.addmm(input.reshape(rows, input.shape[-1]), weight.t())
    return flat.view(*input.shape[:-1], weight.shape[0])


# c10 scalar-type names, as PyTorch's error messages spell dtypes
_C10_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
              "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _c10_name(dtype) -> str:
    return _C10_NAMES.get(dtype.name, dtype.name)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only).

    The mask is PyTorch's (`bernoulli_(1 - p)` then `div_(1 - p)` on the generator), so the
    same elements drop; in eval mode (or p=0) the input itself is returned, as in PyTorch.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        mask = np.zeros(input.shape, dtype=input._data.dtype)
    else:
        mask = random.dropout_mask(input.shape, input._data.dtype.type, p)
    mask_tensor = Tensor._wrap(mask)
    return input.mul_(mask_tensor) if inplace else input * mask_tensor


# -- resizing ----------------------------------------------------------------------------------


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims (all but batch and channel); only mode='nearest' is supported.

    Output element i reads input element floor(i * scale), scale = in/out for `size`, or
    1/scale_factor, clamped to the last input index: PyTorch's nearest rule."""
    spatial = input.dim() - 2
    if spatial not in (1, 2, 3):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    if mode != "nearest":
        raise NotImplementedError(
            f"interpolate(mode={mode!r}) is not supported by the varlint runtime")
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


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    events.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.")
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- losses ------------------------------------------------------------------------------------


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    _no_sample_weights(weight)
    reduction = _resolve_reduction(size_average, reduce, reduction)
    _warn_if_broadcast(input, target)
    x, y = _float_arrays(input, target)
    difference = x - y
    # 2 * (y - x) rather than -2 * (x - y): a zero gradient must be +0, not -0, as in PyTorch
    return _loss_node("MseLossBackward0", difference * difference, reduction, (input, target),
                      (2 * difference, 2 * (y - x)))


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    _no_sample_weights(weight)
    reduction = _resolve_reduction(size_average, reduce, reduction)
    _warn_if_broadcast(input, target)
    loss = (input - target).abs()  # AbsBackward0 over SubBackward0, as PyTorch 2.13 records
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}) is deprecated. Please ensure they have the same size."
        )
    x, y = _float_arrays(input, target)
    if np.any((x < 0) | (x > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    with np.errstate(divide="ignore"):
        # PyTorch clamps the logs at -100 so that a 0 or 1 prediction gives a finite loss.
        log_x = np.maximum(np.log(x), -100)
        log_one_minus_x = np.maximum(np.log1p(-x), -100)
    scale = np.ones_like(x) if weight is None else np.broadcast_to(weight._data, x.shape)
    loss = -scale * (y * log_x + (1 - y) * log_one_minus_x)
    grad_input = scale * (x - y) / np.maximum((1 - x) * x, 1e-12)
    grad_target = scale * (log_one_minus_x - log_x)
    return _loss_node("BinaryCrossEntropyBackward0", loss, reduction, (input, target),
                      (grad_input, grad_target))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    x, y = _float_arrays(input, target)
    # softplus(-x) = log(1 + exp(-x)), written so that it never overflows
    softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
    sigmoid_x = 1 / (1 + np.exp(-x))
    positive = 1.0 if pos_weight is None else pos_weight._data
    log_weight = 1 + (positive - 1) * y
    scale = 1.0 if weight is None else weight._data
    loss = scale * ((1 - y) * x + log_weight * softplus_neg)
    grad_input = scale * (log_weight * sigmoid_x - positive * y)
    grad_target = scale * (-x + (positive - 1) * softplus_neg)
    loss, grad_input, grad_target = np.broadcast_arrays(loss, grad_input, grad_target)
    return _loss_node("BinaryCrossEntropyWithLogitsBackward0", loss, reduction, (input, target),
                      (grad_input, grad_target))


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean"):
    """Negative log-likelihood of the target class: input (C), (N, C) or (N, C, d1, ...)."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    _check_nll_shapes(input, target)
    # Put the class axis last, so that the target picks along it.
    scores = input._data[None] if input.dim() == 1 else np.moveaxis(input._data, 1, -1)
    classes = scores.shape[-1]
    targets = target._data.astype(np.int64).reshape(scores.shape[:-1])
    valid = targets != ignore_index
    out_of_range = valid & ((targets < 0) | (targets >= classes))
    if out_of_range.any():
        raise IndexError(f"Target {targets[out_of_range][0]} is out of bounds.")
    safe_targets = np.where(valid, targets, 0)[..., None]
    class_weight = np.ones(classes, dtype=scores.dtype) if weight is None else weight._data
    sample_weight = (class_weight[safe_targets[..., 0]] * valid).astype(scores.dtype)
    picked = np.take_along_axis(scores, safe_targets, -1)[..., 0]
    losses = np.where(valid, -picked * sample_weight, 0).astype(scores.dtype)  # ignored: +0

    total_weight = sample_weight.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == "none":
            value = losses.reshape(target.shape)
        elif reduction == "sum":
            value = np.asarray(losses.sum(), dtype=scores.dtype)
        else:  # weighted mean: NaN when every target is ignored, as in PyTorch
            value = np.asarray(losses.sum() / total_weight, dtype=scores.dtype)
        # d(loss)/d(input): -weight at each target position, 0 elsewhere.
        coefficients = np.zeros_like(scores)
        np.put_along_axis(coefficients, safe_targets, 0 - sample_weight[..., None], -1)
        if reduction == "mean" and total_weight != 0:  # all ignored: NaN loss, zero gradient
            coefficients = coefficients / total_weight
    coefficients = coefficients[0] if input.dim() == 1 else np.moveaxis(coefficients, -1, 1)
    coefficient_tensor = Tensor._wrap(coefficients.astype(scores.dtype))
    per_sample_grad = reduction == "none" and input.dim() > 1

    def backward(grad):
        if per_sample_grad:
            grad = grad.unsqueeze(1)  # one gradient per sample, spread over its classes
        return (grad * coefficient_tensor,)

    name = "NllLoss2DBackward0" if input.dim() > 2 else "NllLossBackward0"
    result = record_op(name, value, (input,), backward)
    if reduction == "none" and input.dim() > 2 and input.dim() != 4:
        # PyTorch reshapes 3-D and >4-D inputs to 4-D for nll_loss2d and views the result back
        result = result.view(*target.shape)
    return result


def _check_nll_shapes(input, target):
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_c10_name(target.dtype)}")
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() <= 2 and target.dim() > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.dim() >= 2 and target.dim() >= 1 and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    expected = [input.shape[0], *input.shape[2:]]
    if input.dim() > 2 and list(target.shape) != expected:
        raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """log_softmax over the class dim, then nll_loss (class indices) or, for a floating
    target of the input's shape, the expected negative log-probability (class probabilities)."""
    reduction = _resolve_reduction(size_average, reduce, reduction)
    if label_smoothing:
        raise NotImplementedError("label_smoothing is not supported by the varlint runtime")
    class_dim = 0 if input.dim() == 1 else 1
    log_probabilities = input.log_softmax(class_dim)
    if target.dtype.is_floating_point and tuple(target.shape) == tuple(input.shape):
        if weight is not None:  # weight per class, broadcast along the class dim
            target = target * weight.view(*([-1] + [1] * (input.dim() - class_dim - 1)))
        # One multiplication only: chained add/mul nodes made by one call would look like
        # an accumulator to the history-across-iterations detector (history.py).
        weighted = log_probabilities * target
        if reduction == "none":
            return -weighted.sum(class_dim)
        total = -weighted.sum()
        if reduction == "sum":
            return total
        batch_size = input.shape[0] if input.dim() > 1 else 1
        return record_op("DivBackward1", total._data / batch_size, (total,),
                         lambda g: (g / batch_size,))
    return nll_loss(log_probabilities, target, weight, None, ignore_index, None, reduction)
