"""Reductions and scans: `sum`, `mean`, `prod`, `std`/`var`, `max`/`min` (with indices:
torch.return_types), `argmax`, `sort`/`topk`, `cumsum`, `norm`, `softmax`/`log_softmax`, `flip`.

`sum`, `max` and `min` shadow the builtins in this module: its code uses `builtins.max`.
"""

from __future__ import annotations

import builtins


import numpy as np

from ..core import Tensor, _dims_arg, _shape_arg, record_op
from ..grad_mode import is_grad_enabled
from ..messages import _C10_NAME
from .indexing import _scatter
from .pointwise import maximum, minimum


class _ReturnType(tuple):
    """torch.return_types.max / min: a (values, indices) pair with attribute access."""

    _name = "max"

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


class return_types_max(_ReturnType):  # noqa: N801
    _name = "max"


class return_types_min(_ReturnType):  # noqa: N801
    _name = "min"


class return_types_sort(_ReturnType):  # noqa: N801
    _name = "sort"


class return_types_topk(_ReturnType):  # noqa: N801
    _name = "topk"


def softmax(self, dim, dtype=None):
    source = self if dtype is None else self.to(dtype)
    axis = _dims_arg(dim, self.dim())[0] if self.dim() else None
    shifted = source._data - np.max(source._data, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    value = exps / np.sum(exps, axis=axis, keepdims=True)
    holder = []

    def backward(grad):
        y = holder[0]
        return (y * (grad - (grad * y).sum(dim, keepdim=True)),)

    result = record_op("SoftmaxBackward0", value, (source,), backward, save_output=True)
    holder.append(result)
    return result

def log_softmax(self, dim, dtype=None):
    source = self if dtype is None else self.to(dtype)
    axis = _dims_arg(dim, self.dim())[0] if self.dim() else None
    shifted = source._data - np.max(source._data, axis=axis, keepdims=True)
    value = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    holder = []

    def backward(grad):
        y = holder[0]
        return (grad - y.exp() * grad.sum(dim, keepdim=True),)

    result = record_op("LogSoftmaxBackward0", value, (source,), backward, save_output=True)
    holder.append(result)
    return result


def sum(self, dim=None, keepdim=False, dtype=None):
    source = self if dtype is None else self.to(dtype)
    out_dtype = source._data.dtype
    if out_dtype.kind in "bu" or out_dtype in (np.int32, np.int16, np.int8):
        out_dtype = np.int64  # integer sums are int64 in PyTorch
    shape = source._data.shape
    if dim is None:
        value = np.sum(source._data, dtype=out_dtype)
        return record_op("SumBackward0", value, (source,), lambda g: (g.expand(shape),))
    dims = _dims_arg(dim, source.dim())
    value = np.sum(source._data, axis=dims, dtype=out_dtype, keepdims=keepdim)
    return record_op("SumBackward1", value, (source,),
                     lambda g: (_unsqueeze_dims(g, dims, keepdim).expand(shape),))

def mean(self, dim=None, keepdim=False, dtype=None):
    source = self if dtype is None else self.to(dtype)
    if not source.dtype.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {_C10_NAME[source.dtype]}")
    shape = source._data.shape
    if dim is None:
        count = builtins.max(source._data.size, 1)
        value = np.mean(source._data) if source._data.size else np.float32("nan")
        return record_op("MeanBackward0", np.asarray(value, dtype=source._data.dtype), (source,),
                         lambda g: (g.expand(shape) / count,))
    dims = _dims_arg(dim, source.dim())
    count = int(np.prod([shape[d] for d in dims])) if shape else 1
    value = np.mean(source._data, axis=dims, keepdims=keepdim)
    return record_op("MeanBackward1", np.asarray(value, dtype=source._data.dtype), (source,),
                     lambda g: (_unsqueeze_dims(g, dims, keepdim).expand(shape) / count,))

def prod(self, dim=None, keepdim=False):
    source = self
    if dim is None:
        value = np.prod(self._data)
        holder = []
        result = record_op("ProdBackward0", value, (self,),
                           lambda g: (g * holder[0] / source,), saved=(self,), save_output=True)
        holder.append(result)
        return result
    dims = _dims_arg(dim, self.dim())
    value = np.prod(self._data, axis=dims, keepdims=keepdim)
    holder = []
    result = record_op(
        "ProdBackward1", value, (self,),
        lambda g: (_unsqueeze_dims(g * holder[0], dims, keepdim) / source,), saved=(self,),
        save_output=True)
    holder.append(result)
    return result

def std(self, dim=None, unbiased=True, keepdim=False, correction=None):
    return self._variance(dim, unbiased, keepdim, correction, "StdBackward0")

def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
    return self._variance(dim, unbiased, keepdim, correction, "VarBackward0")

def _variance(self, dim, unbiased, keepdim, correction, name):
    if isinstance(dim, bool):  # std(unbiased) called positionally
        dim, unbiased = None, dim
    ddof = (1 if unbiased else 0) if correction is None else correction
    dims = None if dim is None else _dims_arg(dim, self.dim())
    count = self._data.size if dims is None else int(np.prod([self._data.shape[d] for d in dims]))
    with np.errstate(all="ignore"):
        value = np.var(self._data, axis=dims, ddof=ddof, keepdims=keepdim)
        if name == "StdBackward0":
            value = np.sqrt(value)
    source, holder = self, []

    def backward(grad):
        grad_kept = grad if dims is None or keepdim else _unsqueeze_dims(grad, dims, False)
        centered = source - (source.mean() if dims is None else source.mean(dims, keepdim=True))
        if name == "VarBackward0":
            return (grad_kept * 2 * centered / builtins.max(count - ddof, 0),)
        result = holder[0] if dims is None or keepdim else _unsqueeze_dims(holder[0], dims, False)
        return (grad_kept * centered / (builtins.max(count - ddof, 0) * result),)

    result = record_op(name, np.asarray(value, dtype=self._data.dtype), (self,), backward,
                       saved=(self,), save_output=name == "StdBackward0")
    holder.append(result)
    return result

def _extreme(self, dim, keepdim, pick, arg_pick, names, result_type):
    if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
        return maximum(self, dim) if pick is np.max else minimum(self, dim)
    source = self
    if dim is None:
        if self._data.size == 0:
            raise RuntimeError(f"{names[2]}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        value = pick(self._data)
        holder = []

        def backward(grad):
            mask = Tensor._wrap(source._data == holder[0]._data)
            return (mask * (grad / mask.sum()),)

        result = record_op(names[0], value, (self,), backward, saved=(self,), save_output=True)
        holder.append(result)
        return result
    axis = _dims_arg(dim, self.dim())[0] if self.dim() else None
    if axis is None:
        indices = np.asarray(0, dtype=np.int64)
        value = self._data.copy()
    else:
        indices = arg_pick(self._data, axis=axis)
        value = np.take_along_axis(self._data, np.expand_dims(indices, axis), axis).squeeze(axis)
        if keepdim:
            indices = np.expand_dims(indices, axis)
            value = np.expand_dims(value, axis)
    shape = self._data.shape
    index_for_grad = indices if keepdim or axis is None else np.expand_dims(indices, axis)

    def backward(grad):
        grad_kept = grad if keepdim or axis is None else grad.unsqueeze(axis)
        return (_scatter(grad_kept, shape, axis, index_for_grad),)

    values = record_op(names[1], value, (self,), backward)
    return result_type(values, Tensor._wrap(indices.astype(np.int64)))

def max(self, dim=None, keepdim=False):
    return self._extreme(dim, keepdim, np.max, np.argmax,
                         ("MaxBackward1", "MaxBackward0", "max"), return_types_max)

def min(self, dim=None, keepdim=False):
    return self._extreme(dim, keepdim, np.min, np.argmin,
                         ("MinBackward1", "MinBackward0", "min"), return_types_min)

def amax(self, dim=(), keepdim=False):
    return self.max() if dim == () else self.max(dim, keepdim)[0]

def amin(self, dim=(), keepdim=False):
    return self.min() if dim == () else self.min(dim, keepdim)[0]

def argmax(self, dim=None, keepdim=False):
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(self._data), dtype=np.int64))
    axis = _dims_arg(dim, self.dim())[0]
    return Tensor._wrap(np.argmax(self._data, axis=axis, keepdims=keepdim).astype(np.int64))

def argmin(self, dim=None, keepdim=False):
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(self._data), dtype=np.int64))
    axis = _dims_arg(dim, self.dim())[0]
    return Tensor._wrap(np.argmin(self._data, axis=axis, keepdims=keepdim).astype(np.int64))

def maximum(self, other):
    return maximum(self, other)

def minimum(self, other):
    return minimum(self, other)

def sort(self, dim=-1, descending=False):
    axis = _dims_arg(dim, self.dim())[0]
    order = np.argsort(-self._data if descending else self._data, axis=axis, kind="stable")
    return return_types_sort(self.gather(axis, Tensor._wrap(order)), Tensor._wrap(order.astype(np.int64)))

def argsort(self, dim=-1, descending=False):
    return self.sort(dim, descending)[1]

def topk(self, k, dim=-1, largest=True, sorted=True):
    values, indices = self.sort(dim, descending=largest)
    axis = _dims_arg(dim, self.dim())[0]
    index = [slice(None)] * self.dim()
    index[axis] = slice(0, k)
    return return_types_topk(values[tuple(index)], indices[tuple(index)])

def cumsum(self, dim):
    axis = _dims_arg(dim, self.dim())[0]
    return record_op("CumsumBackward0", np.cumsum(self._data, axis=axis), (self,),
                     lambda g: (g.flip(axis).cumsum(axis).flip(axis),))

def flip(self, *dims):
    axes = _dims_arg(_shape_arg(dims), self.dim())
    return record_op("FlipBackward0", np.flip(self._data, axis=axes).copy(), (self,),
                     lambda g: (g.flip(*axes),))

def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    if p in ("fro", 2, 2.0, None):
        squares = (self * self).sum() if dim is None else (self * self).sum(dim, keepdim=keepdim)
        value = np.sqrt(squares._data)
        source = self
        holder = []

        def backward(grad):
            norm = holder[0]
            scale = grad / norm
            scale = Tensor._wrap(np.where(norm._data == 0, 0, scale._data)) if not is_grad_enabled() else scale
            if dim is not None and not keepdim:
                scale = _unsqueeze_dims(scale, _dims_arg(dim, source.dim()), False)
            return (source * scale,)

        result = record_op("LinalgVectorNormBackward0", value, (self,), backward,
                           saved=(self,), save_output=True)
        holder.append(result)
        return result
    if p in (1, 1.0):
        return self.abs().sum() if dim is None else self.abs().sum(dim, keepdim=keepdim)
    if p in (float("inf"), "inf"):
        return self.abs().max() if dim is None else self.abs().max(dim, keepdim)[0]
    total = (self.abs() ** p).sum() if dim is None else (self.abs() ** p).sum(dim, keepdim=keepdim)
    return total ** (1.0 / p)

def dist(self, other, p=2):
    return (self - other).norm(p)


def _unsqueeze_dims(grad, dims, keepdim):
    if keepdim:
        return grad
    for d in sorted(dims):
        grad = grad.unsqueeze(d)
    return grad


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "softmax": softmax,
    "log_softmax": log_softmax,
    "sum": sum,
    "mean": mean,
    "prod": prod,
    "std": std,
    "var": var,
    "_variance": _variance,
    "_extreme": _extreme,
    "max": max,
    "min": min,
    "amax": amax,
    "amin": amin,
    "argmax": argmax,
    "argmin": argmin,
    "maximum": maximum,
    "minimum": minimum,
    "sort": sort,
    "argsort": argsort,
    "topk": topk,
    "cumsum": cumsum,
    "flip": flip,
    "norm": norm,
    "dist": dist,
}

FUNCTION_FORMS = ("sum", "mean", "prod", "std", "var", "max", "min", "amax", "amin", "argmax", "argmin",
                  "norm", "dist", "softmax", "log_softmax", "cumsum", "flip", "sort", "argsort", "topk")
