"""Indexing (`x[i]`, `x[i] = v`), gathers and scatters (`gather`, `scatter`, `index_select`,
`masked_select`) and joining (`cat`, `stack`).
"""

from __future__ import annotations


import numpy as np

from .. import dtypes, events
from ..core import Tensor, _as_array, _basic_index, _dims_arg, _is_scalar, record_op
from ..grad_mode import is_grad_enabled
from ..messages import M10, M17
from .conv import first_order


def gather(self, dim, index):
    axis = _dims_arg(dim, self.dim())[0]
    index_array = _as_array(index).astype(np.int64)
    shape = self._data.shape
    data = np.take_along_axis(self._data, index_array, axis)
    return record_op("GatherBackward0", data, (self,),
                     lambda g: (_scatter(g, shape, axis, index_array, accumulate=True),))

def scatter(self, dim, index, src):
    axis = _dims_arg(dim, self.dim())[0]
    data = self._data.copy()
    values = np.broadcast_to(_as_array(src), _as_array(index).shape) if _is_scalar(src) else _as_array(src)
    np.put_along_axis(data, _as_array(index).astype(np.int64), values, axis)
    return Tensor._wrap(data)

def scatter_(self, dim, index, src):
    return self._inplace(lambda t: t.scatter(dim, index, src))

def index_select(self, dim, index):
    axis = _dims_arg(dim, self.dim())[0]
    index_array = _as_array(index).astype(np.int64)
    full = [slice(None)] * self.dim()
    full[axis] = index_array
    shape = self._data.shape
    return record_op("IndexSelectBackward0", self._data[tuple(full)], (self,),
                     lambda g: (_index_put_zeros(g, shape, tuple(full), accumulate=True),))

def masked_select(self, mask):
    mask_array = np.broadcast_to(_as_array(mask).astype(bool), self._data.shape)
    shape = self._data.shape
    return record_op("MaskedSelectBackward0", self._data[mask_array], (self,),
                     lambda g: (_index_put_zeros(g, shape, mask_array),))


def __getitem__(self, index):
    if self.dim() == 0:
        _check_zero_dim_index(index)
    np_index, advanced = _convert_index(index)
    try:
        data = self._data[np_index] if advanced else _basic_index(self._data, np_index)
    except IndexError as error:
        raise IndexError(str(error).replace("axis", "dimension")) from None
    shape = self._data.shape
    name = _index_op_name(index, advanced)
    if advanced:
        return record_op(name, np.array(data, copy=True), (self,),
                         lambda g: (_index_put_zeros(g, shape, np_index, accumulate=True),))
    return self._make_view(data, name, lambda g: (_index_put_zeros(g, shape, np_index),))

def __setitem__(self, index, value):
    if self.dim() == 0:
        _check_zero_dim_index(index, record=False)
    np_index, advanced = _convert_index(index)
    if is_grad_enabled():
        if self._grad_fn is None and self._requires_grad:
            events.record("inplace-on-grad-leaf", M17)
            raise RuntimeError(M17)
        base = self._base
        if base is not None and base._grad_fn is None and base._requires_grad:
            raise RuntimeError(M17)

    def compute(target, new_value):
        data = target._data.copy()
        data[np_index] = _as_array(new_value)
        shape = target._data.shape

        def backward(grad):
            keep = np.ones(shape, dtype=bool)
            keep[np_index] = False
            grad_value = grad[index] if isinstance(new_value, Tensor) else None
            return (grad * Tensor._wrap(keep), grad_value)

        return record_op("CopySlices", data, (target, new_value), backward)

    self._inplace(compute, value, check=False)


def _check_zero_dim_index(index, record=True):
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
            continue
        if isinstance(item, slice):
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        if isinstance(item, Tensor) or isinstance(item, (list, np.ndarray)):
            raise IndexError("too many indices for tensor of dimension 0")
        if record:
            events.record("zero-dim-index", "indexing a 0-dim tensor raises IndexError")
        raise IndexError(M10)


def _convert_index(index):
    """A numpy index for a PyTorch index; `advanced` when it copies (tensor/list indices)."""
    items = index if isinstance(index, tuple) else (index,)
    converted, advanced = [], False
    for item in items:
        if isinstance(item, Tensor):
            if item.dim() == 0 and item.dtype is not dtypes.bool_:
                converted.append(int(item._data))
                continue
            converted.append(item._data)
            advanced = True
        elif isinstance(item, (list, np.ndarray)):
            converted.append(np.asarray(item))
            advanced = True
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            converted.append(int(item))
        else:
            converted.append(item)
    return (tuple(converted) if isinstance(index, tuple) else converted[0]), advanced


def _index_op_name(index, advanced):
    if advanced:
        return "IndexBackward0"
    items = index if isinstance(index, tuple) else (index,)
    name = "AliasBackward0"
    for item in items:
        if item is None or isinstance(item, (bool, np.bool_)):
            name = "UnsqueezeBackward0"
        elif isinstance(item, slice):
            if item != slice(None):
                name = "SliceBackward0"
        elif item is not Ellipsis:
            name = "SelectBackward0"
    return name


def _index_put_zeros(grad, shape, index, accumulate=False):
    """Differentiable 'zeros(shape) with grad placed at index' (backward of indexing)."""
    data = np.zeros(shape, dtype=grad._data.dtype)
    if accumulate:
        np.add.at(data, index, grad._data)
    else:
        data[index] = grad._data
    source_grad = grad
    return record_op("IndexPutBackward0", data, (source_grad,),
                     lambda g: (Tensor._wrap(np.array(g._data[index])),))


def _scatter(grad, shape, axis, indices, accumulate=False):
    """zeros(shape) with grad written along `axis` at `indices` (backward of max/gather)."""
    data = np.zeros(shape, dtype=grad._data.dtype)
    if axis is None:
        data = grad._data.copy().reshape(shape)
    elif accumulate:
        np.add.at(data, _along_axis_index(indices, axis), grad._data)
    else:
        np.put_along_axis(data, indices, grad._data, axis)
    return record_op("ScatterBackward0", data, (grad,),
                     lambda g: (g.gather(axis, Tensor._wrap(indices)) if axis is not None else g,))


def _along_axis_index(indices, axis):
    grids = list(np.indices(indices.shape, sparse=True))
    grids[axis] = indices
    return tuple(grids)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for position, tensor in enumerate(tensors):
        if tensor.dim() == 0:
            message = f"zero-dimensional tensor (at position {position}) cannot be concatenated"
            events.record("cat-zero-dim", message)
            raise RuntimeError(message)
    axis = _dims_arg(dim, tensors[0].dim())[0]
    result_dtype = dtypes.result_type(*tensors) if len(tensors) > 1 else tensors[0].dtype
    value = np.concatenate([_as_array(t, result_dtype) for t in tensors], axis=axis)
    bounds = np.cumsum([0] + [t._data.shape[axis] for t in tensors])

    def backward(grad):
        grads = []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            index = [slice(None)] * grad.dim()
            index[axis] = slice(int(start), int(stop))
            grads.append(grad[tuple(index)])
        return tuple(grads)

    return record_op("CatBackward0", value, tuple(tensors), backward)


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    axis = dim % (tensors[0].dim() + 1)
    result_dtype = dtypes.result_type(*tensors) if len(tensors) > 1 else tensors[0].dtype
    value = np.stack([_as_array(t, result_dtype) for t in tensors], axis=axis)
    return record_op("StackBackward0", value, tuple(tensors),
                     lambda g: tuple(g.select(axis, i) for i in range(len(tensors))))



def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of `weight` picked by the indices in `input`; the row `padding_idx` gets no gradient.
    With max_norm, the picked rows are renormalised in place first (as PyTorch does)."""
    if input.dtype not in (dtypes.int64, dtypes.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {input.type()} instead (while checking arguments for embedding)")
    indices = input._data.astype(np.int64)
    rows = weight._data.shape[0]
    if indices.size and (indices.min() < -rows or indices.max() >= rows or indices.min() < 0):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += rows
    if max_norm is not None:
        picked = np.unique(indices)
        norms = np.linalg.norm(weight._data[picked], ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight._data[picked] *= scale[:, None].astype(weight._data.dtype)
        weight._version_counter.value += 1
    counts = np.bincount(indices.ravel(), minlength=rows) if scale_grad_by_freq else None

    def backward(grad):
        g = grad._data.reshape(-1, weight._data.shape[1])
        flat = indices.ravel()
        if counts is not None:
            g = g / counts[flat][:, None]
        summed = np.zeros_like(weight._data)
        np.add.at(summed, flat, g)
        if padding_idx is not None:
            summed[padding_idx] = 0
        if not is_grad_enabled():
            return (None, Tensor._wrap(summed))

        def adjoint(outer):  # create_graph=True: the gradient is linear in `grad`
            first_order("the gradient of embedding")
            rows = outer._data.copy()
            if padding_idx is not None:
                rows[padding_idx] = 0
            picked = rows[flat] / counts[flat][:, None] if counts is not None else rows[flat]
            return (Tensor._wrap(picked.astype(grad._data.dtype).reshape(grad._data.shape)),)

        return (None, record_op("EmbeddingDenseBackwardBackward0", summed, (grad,), adjoint))

    return record_op("EmbeddingBackward0", weight._data[indices], (input, weight), backward)


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "gather": gather,
    "scatter": scatter,
    "scatter_": scatter_,
    "index_select": index_select,
    "masked_select": masked_select,
    "__getitem__": __getitem__,
    "__setitem__": __setitem__,
}

FUNCTION_FORMS = ("gather", "scatter", "index_select", "masked_select")
FUNCTIONS = {"cat": cat, "stack": stack}  # F.embedding only: torch.embedding takes (weight, indices)
