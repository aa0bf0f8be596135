"""dtypes, `torch.Size`, the default dtype and PyTorch's type-promotion rules.

A `dtype` wraps a numpy dtype and prints like PyTorch's (`torch.float32`). Type promotion
follows PyTorch, not numpy: an int64 tensor plus a float32 tensor is float32 (numpy says
float64), a Python float never widens a float32 tensor, and a 0-dim tensor only decides the
result when it belongs to a higher category (bool < integer < floating) than the dimensioned
operands (`result_type`).
"""

from __future__ import annotations

import numpy as np


class dtype:  # noqa: N801 - the public name is torch.dtype
    """A PyTorch dtype: `torch.float32` etc. One object per dtype, compared by identity."""

    def __init__(self, name: str, numpy_dtype, legacy_type: str):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.legacy_type = legacy_type  # what tensor.type() returns: 'torch.FloatTensor'
        self.is_floating_point = self.numpy.kind == "f"
        self.is_complex = self.numpy.kind == "c"
        self.is_signed = self.numpy.kind in "fic"
        self.itemsize = self.numpy.itemsize

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (from_numpy_dtype, (self.numpy,))

    def to_real(self):
        return self


float32 = dtype("float32", np.float32, "torch.FloatTensor")
float64 = dtype("float64", np.float64, "torch.DoubleTensor")
float16 = dtype("float16", np.float16, "torch.HalfTensor")
int64 = dtype("int64", np.int64, "torch.LongTensor")
int32 = dtype("int32", np.int32, "torch.IntTensor")
int16 = dtype("int16", np.int16, "torch.ShortTensor")
int8 = dtype("int8", np.int8, "torch.CharTensor")
uint8 = dtype("uint8", np.uint8, "torch.ByteTensor")
bool_ = dtype("bool", np.bool_, "torch.BoolTensor")

ALL = (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)
_BY_NUMPY = {d.numpy: d for d in ALL}

# Aliases exported by the facade as torch.float, torch.double, ...
ALIASES = {
    "float32": float32, "float": float32,
    "float64": float64, "double": float64,
    "float16": float16, "half": float16,
    "int64": int64, "long": int64,
    "int32": int32, "int": int32,
    "int16": int16, "short": int16,
    "int8": int8,
    "uint8": uint8,
    "bool": bool_,
}

_default = [float32]


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    if d not in (float32, float64, float16):
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def from_numpy_dtype(numpy_dtype) -> dtype:
    numpy_dtype = np.dtype(numpy_dtype)
    try:
        return _BY_NUMPY[numpy_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{numpy_dtype.name}. The only supported types "
            "are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint64, uint32, uint16, uint8, and bool."
        ) from None


def resolve(d) -> dtype:
    """Accept a torch dtype, a Python type (float/int/bool) or a numpy dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    return from_numpy_dtype(d)


# -- type promotion ---------------------------------------------------------------------

def _category(d: dtype) -> int:
    if d is bool_:
        return 0
    return 2 if d.is_floating_point else 1


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both a and b fit in."""
    if a is b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b  # a float beats any integer, whatever its width
    return from_numpy_dtype(np.promote_types(a.numpy, b.numpy))


def _combine_categories(higher, lower):
    """PyTorch's combine_categories: `lower` only matters if it is a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(value) -> dtype:
    """The dtype a Python number takes part in promotion with (a 'wrapped number')."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    return get_default_dtype()


def result_type(*operands) -> dtype:
    """The dtype of an elementwise op on tensors and Python numbers, as PyTorch computes it."""
    dim_result = zero_result = wrapped_result = None
    for operand in operands:
        operand_dtype = getattr(operand, "dtype", None)
        if isinstance(operand_dtype, dtype):
            if operand.dim() > 0:
                dim_result = operand_dtype if dim_result is None else promote_types(dim_result, operand_dtype)
            else:
                zero_result = operand_dtype if zero_result is None else promote_types(zero_result, operand_dtype)
        else:
            d = scalar_dtype(operand)
            wrapped_result = d if wrapped_result is None else promote_types(wrapped_result, d)
    return _combine_categories(dim_result, _combine_categories(zero_result, wrapped_result))


class Size(tuple):
    """torch.Size: a tuple of ints that prints as `torch.Size([2, 3])`."""

    def __new__(cls, sizes=()):
        return super().__new__(cls, (int(s) for s in sizes))

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def numel(self) -> int:
        count = 1
        for s in self:
            count *= s
        return count
