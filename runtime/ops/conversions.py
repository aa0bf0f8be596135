"""Conversions: dtype and device (`type`, `to`, `float()`/`long()`/..., `cpu`, `cuda`), and to
Python and numpy (`item`, `tolist`, `numpy`, `float(x)`, `len(x)`, iteration, ...).

This module defines `float`, `int`, `bool` ... as Tensor methods, so its code uses `builtins.X`
for the Python types.
"""

from __future__ import annotations

import builtins

from .. import dtypes, events
from ..core import Tensor, record_op
from ..gradbook import note_zero_dim_conversion
from ..device import _Device, _check_device
from ..dtypes import dtype as _DType
from ..messages import _M35, M14, M15


_LEGACY_TYPE_NAMES = {d.legacy_type: d for d in dtypes.ALL}
_m14_warned = [False]


def type(self, dtype=None, non_blocking=False, **kwargs):
    if dtype is None:
        return self.dtype.legacy_type
    if isinstance(dtype, str):
        if dtype.startswith("torch.cuda."):
            raise RuntimeError(_M35)
        target = _LEGACY_TYPE_NAMES.get(dtype)
        if target is None:
            raise ValueError(f"invalid type: '{dtype}'")
    elif isinstance(dtype, _DType):
        target = dtype
    else:
        if getattr(dtype, "is_cuda", False):
            raise RuntimeError(_M35)
        target = getattr(dtype, "dtype", None)
        if target is None:
            raise ValueError(f"invalid type: '{dtype}'")
    return self.to(target)

def to(self, *args, **kwargs):
    target_dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    for arg in args:
        if isinstance(arg, _DType):
            target_dtype = arg
        elif isinstance(arg, Tensor):
            target_dtype = arg.dtype
        elif isinstance(arg, (str, _Device)):
            device = arg
    _check_device(device)
    if target_dtype is None or target_dtype is self.dtype:
        return self.clone() if copy else self
    return self._to_dtype(target_dtype)

def _to_dtype(self, target):
    source = self

    def backward(grad):
        return (grad.to(source.dtype),)

    return record_op("ToCopyBackward0", self._data.astype(target.numpy), (self,), backward)

def float(self):
    return self.to(dtypes.float32)

def double(self):
    return self.to(dtypes.float64)

def half(self):
    return self.to(dtypes.float16)

def long(self):
    return self.to(dtypes.int64)

def int(self):
    return self.to(dtypes.int32)

def short(self):
    return self.to(dtypes.int16)

def char(self):
    return self.to(dtypes.int8)

def byte(self):
    return self.to(dtypes.uint8)

def bool(self):
    return self.to(dtypes.bool_)

def type_as(self, other):
    return self.to(other.dtype)

def cpu(self, *args, **kwargs):
    return self

def cuda(self, device=None, non_blocking=False, **kwargs):
    """CUDA runs on the CPU here (device.py): the tensor itself, as `.cpu()` returns it."""
    _check_device(device)
    return self

def pin_memory(self):
    return self

def share_memory_(self):
    return self


def item(self):
    if self._data.size != 1:
        raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
    return self._data.reshape(-1)[0].item()

def tolist(self):
    if self._data.ndim == 0:
        note_zero_dim_conversion()
    return self._data.tolist()

def numpy(self, force=False):
    if self._requires_grad and not force:
        raise RuntimeError(M15)
    if self._data.ndim == 0:
        note_zero_dim_conversion()
    return self._data

def __array__(self, dtype=None):  # same signature as PyTorch's (numpy 2 then warns M50)
    if self._requires_grad:
        raise RuntimeError(M15)
    return self._data if dtype is None else self._data.astype(dtype, copy=False)

def __array_wrap__(self, array):  # PyTorch's signature (numpy 2 warns about it, as there)
    if array.dtype == bool:
        array = array.astype("uint8")
    return Tensor._wrap(array)

def _scalar_check(self, what="Python scalars"):
    if self._data.size != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")

def __float__(self):
    self._scalar_check()
    if self._requires_grad and not _m14_warned[0]:
        _m14_warned[0] = True
        events.warn(M14, UserWarning)
    return builtins.float(self._data.reshape(-1)[0])

def __int__(self):
    self._scalar_check()
    return builtins.int(self._data.reshape(-1)[0])

def __bool__(self):
    if self._data.size != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(self._data.reshape(-1)[0])

def __index__(self):
    if self._data.size != 1 or self.dtype.is_floating_point:
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return builtins.int(self._data.reshape(-1)[0])

def __complex__(self):
    self._scalar_check()
    return complex(self._data.reshape(-1)[0])

def __format__(self, spec):
    if self.dim() == 0 and builtins.type(self) is Tensor:
        return self.item().__format__(spec)
    if spec:
        raise TypeError("unsupported format string passed to Tensor.__format__")
    return str(self)

def __len__(self):
    if self.dim() == 0:
        events.record("zero-dim-iteration", "len() of a 0-d tensor")
        raise TypeError("len() of a 0-d tensor")
    return self._data.shape[0]

def __iter__(self):
    if self.dim() == 0:
        events.record("zero-dim-iteration", "iteration over a 0-d tensor")
        raise TypeError("iteration over a 0-d tensor")
    return iter(self.unbind(0))


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "type": type,
    "to": to,
    "_to_dtype": _to_dtype,
    "float": float,
    "double": double,
    "half": half,
    "long": long,
    "int": int,
    "short": short,
    "char": char,
    "byte": byte,
    "bool": bool,
    "type_as": type_as,
    "cpu": cpu,
    "cuda": cuda,
    "pin_memory": pin_memory,
    "share_memory_": share_memory_,
    "item": item,
    "tolist": tolist,
    "numpy": numpy,
    "__array__": __array__,
    "__array_wrap__": __array_wrap__,
    "_scalar_check": _scalar_check,
    "__float__": __float__,
    "__int__": __int__,
    "__bool__": __bool__,
    "__index__": __index__,
    "__complex__": __complex__,
    "__format__": __format__,
    "__len__": __len__,
    "__iter__": __iter__,
}
