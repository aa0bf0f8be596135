"""Shape ops. Views share storage and the version counter with their base (`view`, `t`,
`transpose`, `permute`, `unsqueeze`, `squeeze`, `expand`, `split`/`chunk`/`unbind`, `narrow`,
`select`); `reshape` views when it can; `repeat` copies.
"""

from __future__ import annotations


import numpy as np

from ..core import _basic_index, _dims_arg, _shape_arg, _sum_to, record_op
from ..dtypes import dtype as _DType
from .indexing import _index_put_zeros


def view(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], _DType):
        raise RuntimeError("view(dtype) is not supported by the varlint runtime")
    target = _infer_shape(_shape_arg(shape), self._data.size)
    if not self.is_contiguous() and self._data.size > 1 and target != self._data.shape:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    original = self._data.shape
    return self._make_view(self._data.reshape(target), "ViewBackward0",
                           lambda g: (g.reshape(original),))

def view_as(self, other):
    return self.view(other.shape)

def reshape(self, *shape):
    target = _infer_shape(_shape_arg(shape), self._data.size)
    if self.is_contiguous():
        return self.view(target)
    original = self._data.shape
    return record_op("UnsafeViewBackward0", self._data.reshape(target).copy(), (self,),
                     lambda g: (g.reshape(original),))

def reshape_as(self, other):
    return self.reshape(other.shape)

def flatten(self, start_dim=0, end_dim=-1):
    if self.dim() == 0:
        return self.reshape(1)
    start, end = (d % self.dim() for d in (start_dim, end_dim))
    shape = self._data.shape
    middle = int(np.prod(shape[start:end + 1]))
    return self.reshape(shape[:start] + (middle,) + shape[end + 1:])

def ravel(self):
    return self.reshape(-1)

def t(self):
    if self.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
    return self._make_view(self._data.T, "TBackward0", lambda g: (g.t(),))


def _T(self):  # noqa: N802 - torch's name
    return self._make_view(self._data.T, "PermuteBackward0",
                           lambda g: (g.permute(*reversed(range(g.dim()))),))


def transpose(self, dim0, dim1):
    d0, d1 = (_dims_arg(d, self.dim())[0] for d in (dim0, dim1))
    return self._make_view(np.swapaxes(self._data, d0, d1), "TransposeBackward0",
                           lambda g: (g.transpose(d0, d1),))

def permute(self, *dims):
    order = tuple(d % self.dim() for d in _shape_arg(dims))
    inverse = tuple(np.argsort(order))
    return self._make_view(np.transpose(self._data, order), "PermuteBackward0",
                           lambda g: (g.permute(*inverse),))

def unsqueeze(self, dim):
    axis = dim % (self.dim() + 1)
    return self._make_view(np.expand_dims(self._data, axis), "UnsqueezeBackward0",
                           lambda g: (g.squeeze(axis),))

def squeeze(self, dim=None):
    if dim is None:
        dims = tuple(i for i, s in enumerate(self._data.shape) if s == 1)
        return self._squeeze_dims(dims, "SqueezeBackward0")
    dims = tuple(d for d in _dims_arg(dim, self.dim()) if self.dim() and self._data.shape[d] == 1)
    return self._squeeze_dims(dims, "SqueezeBackward1")

def _squeeze_dims(self, dims, name):
    original = self._data.shape
    return self._make_view(np.squeeze(self._data, axis=dims) if dims else self._data.view(),
                           name, lambda g: (g.reshape(original),))

def expand(self, *sizes):
    sizes = _shape_arg(sizes)
    lead = len(sizes) - self.dim()
    if lead < 0:
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(self._data.shape)}}}, size={list(sizes)}): the number "
            "of sizes provided must be greater or equal to the number of dimensions in the tensor")
    target = tuple(self._data.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    try:
        data = np.broadcast_to(self._data, target)
    except ValueError:
        raise RuntimeError(
            f"The expanded size of the tensor ({target[-1]}) must match the existing size "
            f"({self._data.shape[-1]}) at non-singleton dimension {len(target) - 1}.  Target "
            f"sizes: {list(sizes)}.  Tensor sizes: {list(self._data.shape)}") from None
    original = self._data.shape
    return self._make_view(data, "ExpandBackward0", lambda g: (_sum_to(g, original),))

def _reshape_inplace(self, result):
    """squeeze_/unsqueeze_/t_/transpose_: self takes the view's shape (and grad_fn)."""
    self._data = result._data
    if result._grad_fn is not None:
        self._grad_fn = result._grad_fn
    self._version_counter.value += 1
    return self

def squeeze_(self, dim=None):
    return self._reshape_inplace(self.squeeze(dim))

def unsqueeze_(self, dim):
    return self._reshape_inplace(self.unsqueeze(dim))

def t_(self):
    return self._reshape_inplace(self.t())

def transpose_(self, dim0, dim1):
    return self._reshape_inplace(self.transpose(dim0, dim1))

def expand_as(self, other):
    return self.expand(other.shape)

def repeat(self, *sizes):
    sizes = _shape_arg(sizes)
    data = np.tile(self._data, sizes)
    original = self._data.shape

    def backward(grad):
        lead = len(sizes) - len(original)
        shape = (1,) * lead + original
        split = []
        for reps, size in zip(sizes, shape):
            split.extend((reps, size))
        return (grad.reshape(split).sum(dim=tuple(range(0, len(split), 2))).reshape(original),)

    return record_op("RepeatBackward0", data, (self,), backward)

def chunk(self, chunks, dim=0):
    axis = _dims_arg(dim, self.dim())[0]
    size = self._data.shape[axis]
    step = -(-size // chunks)
    return self.split(step, dim)

def split(self, split_size, dim=0):
    axis = _dims_arg(dim, self.dim())[0]
    size = self._data.shape[axis]
    sizes = [split_size] * (size // split_size) + ([size % split_size] if size % split_size else []) \
        if isinstance(split_size, int) else list(split_size)
    pieces, start = [], 0
    for length in sizes:
        index = [slice(None)] * self.dim()
        index[axis] = slice(start, start + length)
        pieces.append(self._slice_view(tuple(index), "SplitBackward0"))
        start += length
    return tuple(pieces)

def unbind(self, dim=0):
    axis = _dims_arg(dim, self.dim())[0]
    pieces = []
    for i in range(self._data.shape[axis]):
        index = [slice(None)] * self.dim()
        index[axis] = i
        pieces.append(self._slice_view(tuple(index), "UnbindBackward0"))
    return tuple(pieces)

def narrow(self, dim, start, length):
    axis = _dims_arg(dim, self.dim())[0]
    index = [slice(None)] * self.dim()
    index[axis] = slice(start, start + length)
    return self._slice_view(tuple(index), "SliceBackward0")

def select(self, dim, index):
    axis = _dims_arg(dim, self.dim())[0]
    full = [slice(None)] * self.dim()
    full[axis] = index
    return self._slice_view(tuple(full), "SelectBackward0")

def _slice_view(self, index, name):
    shape = self._data.shape
    return self._make_view(_basic_index(self._data, index), name,
                           lambda g: (_index_put_zeros(g, shape, index),))


def _infer_shape(shape, size):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1])) if len(shape) > 1 else 1
        if known == 0 or size % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
        shape[shape.index(-1)] = size // known
    if int(np.prod(shape)) != size:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return tuple(shape)


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "view": view,
    "view_as": view_as,
    "reshape": reshape,
    "reshape_as": reshape_as,
    "flatten": flatten,
    "ravel": ravel,
    "t": t,
    "_T": _T,
    "transpose": transpose,
    "permute": permute,
    "unsqueeze": unsqueeze,
    "squeeze": squeeze,
    "_squeeze_dims": _squeeze_dims,
    "expand": expand,
    "_reshape_inplace": _reshape_inplace,
    "squeeze_": squeeze_,
    "unsqueeze_": unsqueeze_,
    "t_": t_,
    "transpose_": transpose_,
    "expand_as": expand_as,
    "repeat": repeat,
    "chunk": chunk,
    "split": split,
    "unbind": unbind,
    "narrow": narrow,
    "select": select,
    "_slice_view": _slice_view,
    "T": property(_T),
}

FUNCTION_FORMS = ("t", "transpose", "permute", "unsqueeze", "squeeze", "reshape", "flatten", "chunk", "split",
                  "unbind", "narrow")
