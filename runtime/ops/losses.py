"""The losses, each with PyTorch 2.13's reduction rules and legacy `size_average`/`reduce`.

Most are single autograd nodes named like PyTorch's (`MseLossBackward0`, `NllLossBackward0`,
...): the value is computed with numpy, and the backward multiplies the incoming gradient by
the loss's partial derivatives, computed at forward time (see `_loss_node`). Those PyTorch
composes of other ops (`l1_loss`, `kl_div`, `multilabel_soft_margin_loss`) are composed here
too, so their grad_fn is the same (`MeanBackward0` over `AbsBackward0`, ...).

Legacy arguments behave as in PyTorch 2.13: `size_average=`/`reduce=` still work and warn
("size_average and reduce args will be deprecated, please use reduction='sum' instead.").
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, events
from ..core import Tensor, record_op
from ..messages import _C10_NAME
from .pointwise import log_sigmoid, xlogy


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
            f"expected target dtype to be Long or Byte, but got {_C10_NAME.get(target.dtype, target.dtype.name)}")
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() <= 2 and target.dim() > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.dim() >= 2 and target.dim() == 0:
        events.record("zero-dim-target", f"input batch {input.shape[0]}, 0-dim target")
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         "batch_size (0).")
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


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0):
    reduction = _resolve_reduction(size_average, reduce, reduction)
    _warn_if_broadcast(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    x, y = _float_arrays(input, target)
    difference = x - y
    small = np.abs(difference) < beta
    loss = np.where(small, 0.5 * difference * difference / beta, np.abs(difference) - 0.5 * beta)
    slope = np.where(small, difference / beta, np.sign(difference))
    return _loss_node("SmoothL1LossBackward0", loss.astype(x.dtype), reduction, (input, target),
                      (slope, -slope))


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False):
    """PyTorch's composition: xlogy(t, t) - t * input (or exp(t) * (t - input)), reduced."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        events.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.")
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    output = target.exp() * (target - input) if log_target else xlogy(target, target) - target * input
    if reduction == "none":
        return output
    if reduction == "mean":
        return output.mean()
    reduced = output.sum()
    if reduction == "batchmean" and input.dim() != 0:
        reduced = reduced / input.size()[0]
    return reduced


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    loss = -(target * log_sigmoid(input) + (1 - target) * log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.size(class_dim)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(reduction + " is not valid")
