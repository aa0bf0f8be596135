"""`torch.nn.functional`: activations, `linear`, dropout, and the layers' functions gathered
from their op families (runtime/ops/: conv, pooling, normalization, resampling, losses,
indexing for `embedding`).

Activations reuse the Tensor's own ops. Legacy behaviour is PyTorch 2.13's: softmax without
`dim` warns and picks dim 0 for 0-, 1- and 3-D input, 1 otherwise; the losses take
`size_average=`/`reduce=` (ops/losses.py).
"""

from __future__ import annotations

import numpy as np

from . import events, random
from .ops.activations import elu, hardtanh, relu6, selu, softplus  # noqa: F401 - F.*
from .ops.conv import conv1d, conv2d, conv_transpose2d  # noqa: F401 - F.*
from .ops.indexing import embedding  # noqa: F401 - F.*
from .ops.losses import (  # noqa: F401 - F.*
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    kl_div,
    l1_loss,
    legacy_reduction,
    mse_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    smooth_l1_loss,
)
from .ops.normalization import batch_norm, layer_norm  # noqa: F401 - F.*
from .ops.pointwise import log_sigmoid as logsigmoid  # noqa: F401 - F.*
from .ops.pooling import (  # noqa: F401 - F.*
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from .ops.resampling import interpolate, pad, pixel_shuffle, pixel_unshuffle  # noqa: F401 - F.*
from .tensor import Tensor, record_op

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


def _implicit_softmax_dim(name: str, ndim: int, related=()) -> int:
    events.record("implicit-softmax-dim", name, related)
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


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels: one mask value per (sample, channel), PyTorch's feature dropout."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.dim() not in (3, 4):
        events.warn(
            f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).")
    if input.dim() == 3:
        events.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.")
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        mask = np.zeros((), dtype=input._data.dtype)
    else:
        shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
        mask = random.dropout_mask(shape, input._data.dtype.type, p)
    mask_tensor = Tensor._wrap(mask)
    return input.mul_(mask_tensor) if inplace else input * mask_tensor


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    events.record("deprecated-alias", "upsample")
    events.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_bilinear(input, size=None, scale_factor=None):
    events.record("deprecated-alias", "upsample_bilinear")
    events.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` "
                "instead.")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def upsample_nearest(input, size=None, scale_factor=None):
    events.record("deprecated-alias", "upsample_nearest")
    events.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` "
                "instead.")
    return interpolate(input, size, scale_factor, mode="nearest")


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(norm_p(input along dim), eps), PyTorch's composition (DivBackward0)."""
    denominator = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denominator
