"""Making tensors: the legacy constructors (`torch.Tensor(2, 3)`, `torch.FloatTensor([1])`,
`x.new(...)`), `torch.tensor`, `x.new_*`, `clone`, and the in-place fills (`zero_`, `fill_`,
`copy_`, `resize_`, `set_`).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, events
from ..core import Tensor, _as_array, _shape_arg, record_op
from ..device import _check_device
from ..dtypes import Size
from ..messages import _OPTIONS_NAME, M5A


def _tensor_new(cls, *args, **kwargs):
    return legacy_new(dtypes.get_default_dtype(), args, kwargs, cls=cls)


def new(self, *args, **kwargs):
    return legacy_new(self.dtype, args, kwargs)

def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

def _new_filled(self, size, value, dtype, requires_grad):
    target = dtype or self.dtype
    result = Tensor._wrap(np.full(_shape_arg(size), value, dtype=target.numpy))
    if requires_grad:
        result.requires_grad_()
    return result

def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return self._new_filled(size, 0, dtype, requires_grad)

def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return self._new_filled(size, 1, dtype, requires_grad)

def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return self._new_filled(size, 0, dtype, requires_grad)

def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return self._new_filled((size,), fill_value, dtype, requires_grad)

def clone(self, memory_format=None):
    return record_op("CloneBackward0", self._data.copy(), (self,), lambda g: (g,))

def contiguous(self, memory_format=None):
    if self.is_contiguous():
        return self
    return self.clone()


def zero_(self):
    self._note_reset_if_grad(True)
    return self._inplace(lambda t: record_op("ZeroBackward0", np.zeros_like(t._data), (t,),
                                             lambda g: (None,)))

def fill_(self, value):
    value_array = _as_array(value)
    self._note_reset_if_grad(bool(np.all(value_array == 0)))

    def compute(t, v):
        filled = np.full_like(t._data, value_array)
        return record_op("FillBackward0" if not isinstance(v, Tensor) else "FillBackward1",
                         filled, (t, v), lambda g: (None, g.sum() if isinstance(v, Tensor) else None))

    return self._inplace(compute, value)

def copy_(self, src, non_blocking=False):
    def compute(t, s):
        values = np.broadcast_to(_as_array(s), t._data.shape).astype(t._data.dtype)
        return record_op("CopyBackwards", values.copy(), (t, s), lambda g: (None, g))

    return self._inplace(compute, src)


def resize_(self, *sizes):
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _shape_arg(sizes)
    flat = self._data.reshape(-1)
    count = int(np.prod(shape)) if shape else 1
    new = np.zeros(count, dtype=self._data.dtype)
    new[: min(count, flat.size)] = flat[: min(count, flat.size)]
    self._data = new.reshape(shape)
    return self

def resize_as_(self, other, memory_format=None):
    return self.resize_(other.shape)


def set_(self, source):
    self._data = source._data
    return self


def _options(d):
    return (f"TensorOptions(dtype={_OPTIONS_NAME[d]}, device=cpu, layout=Strided, "
            "requires_grad=false (default), pinned_memory=false (default), memory_format=(nullopt))")


def legacy_new(target, args, kwargs, cls=None):
    """PyTorch's legacy constructor rules: ints are a size, a list/tuple is data, a float
    raises, a same-dtype ndarray or tensor is aliased."""
    device = kwargs.pop("device", None)
    _check_device(device)
    if kwargs:
        got = ", ".join([type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
        raise TypeError(
            f"new() received an invalid combination of arguments - got ({got}), but expected one of:\n"
            " * (*, torch.device device = None)\n"
            f"      didn't match because some of the keywords were incorrect: {', '.join(kwargs)}\n"
            " * (torch.Storage storage)\n"
            " * (Tensor other)\n"
            " * (tuple of ints size, *, torch.device device = None)\n"
            " * (object data, *, torch.device device = None)\n")
    if not args:
        return Tensor._wrap(np.zeros(0, dtype=target.numpy))
    if len(args) == 1:
        data = args[0]
        if isinstance(data, Size):
            return Tensor._wrap(np.zeros(tuple(data), dtype=target.numpy))
        if isinstance(data, Tensor):
            if data.dtype is not target:
                raise TypeError(f"expected {_options(target)} (got {_options(data.dtype)})")
            return data._make_view(data._data, "AliasBackward0", lambda g: (g,))
        if isinstance(data, np.ndarray):
            if data.dtype == target.numpy:
                return Tensor._wrap(data)
            return Tensor._wrap(data.astype(target.numpy))
        if isinstance(data, (list, tuple)):
            return Tensor._wrap(np.array(_plain_data(data)).astype(target.numpy))
        if isinstance(data, float):
            raise TypeError("new(): data must be a sequence (got float)")
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
    for position, arg in enumerate(args):
        if not isinstance(arg, (int, np.integer)) or isinstance(arg, bool):
            raise TypeError(
                f"new(): argument 'size' failed to unpack the object at pos {position} with error "
                f"\"type must be tuple of ints,but got {type(arg).__name__}\"")
    return Tensor._wrap(np.zeros(tuple(int(a) for a in args), dtype=target.numpy))


def _plain_data(data):
    """Nested lists/tuples with tensors or numbers inside -> nested lists of numbers."""
    if isinstance(data, Tensor):
        if data._data.size != 1 and data.dim() == 0:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if data.dim() > 0:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_plain_data(d) for d in data]
    return data


def _finish(result, requires_grad):
    if requires_grad:
        if not result.dtype.is_floating_point:
            raise RuntimeError(M5A)
        result._requires_grad = True
    return result


def _infer_dtype(array: np.ndarray):
    kind = array.dtype.kind
    if kind == "f":
        return dtypes.get_default_dtype()
    if kind in "iu":
        return dtypes.int64
    if kind == "b":
        return dtypes.bool_
    if array.size == 0:
        return dtypes.get_default_dtype()
    raise TypeError(f"Could not infer dtype of {array.dtype}")


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    _check_device(device)
    if isinstance(data, Tensor):
        events.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
            "or sourceTensor.detach().clone().requires_grad_(True), rather than "
            "torch.tensor(sourceTensor).", UserWarning)
        array = data._data.copy()
    elif isinstance(data, np.ndarray):
        array = np.array(data, copy=True)
        dtypes.from_numpy_dtype(array.dtype)  # raises for unsupported dtypes
    elif isinstance(data, (np.generic,)):
        array = np.array(data)
    else:
        plain = _plain_data(data)
        array = np.array(plain)
        if array.dtype.kind in "OUS":
            raise TypeError(f"Could not infer dtype of {type(data).__name__}")
        if dtype is None:
            array = array.astype(_infer_dtype(array).numpy)
    if dtype is not None:
        array = array.astype(dtypes.resolve(dtype).numpy)
    return _finish(Tensor._wrap(array), requires_grad)


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "new": new,
    "new_tensor": new_tensor,
    "_new_filled": _new_filled,
    "new_zeros": new_zeros,
    "new_ones": new_ones,
    "new_empty": new_empty,
    "new_full": new_full,
    "clone": clone,
    "contiguous": contiguous,
    "zero_": zero_,
    "fill_": fill_,
    "copy_": copy_,
    "resize_": resize_,
    "resize_as_": resize_as_,
    "set_": set_,
    "__new__": staticmethod(_tensor_new),
}

FUNCTION_FORMS = ("clone",)
