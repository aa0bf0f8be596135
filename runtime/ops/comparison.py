"""Comparisons and logic (no gradients): `eq`/`lt`/... and their operators, `equal`, `allclose`,
`isnan`, `&`/`|`/`^`/`~`, `logical_*`, `any`, `all`, `nonzero`.

`any` and `all` shadow the builtins in this module.
"""

from __future__ import annotations


import numpy as np

from .. import dtypes
from ..core import Tensor, _as_array, _is_scalar


def _compare(self, other, function):
    if other is None:
        return NotImplemented if function in (np.equal, np.not_equal) else _raise_compare(other)
    if not isinstance(other, Tensor) and not _is_scalar(other):
        if isinstance(other, (list, tuple, np.ndarray)):
            other = Tensor._wrap(np.asarray(other))
        else:
            return NotImplemented
    result_dtype = dtypes.result_type(self, other)
    return Tensor._wrap(function(_as_array(self, result_dtype), _as_array(other, result_dtype)))

def eq(self, other):
    return self._compare(other, np.equal)

def ne(self, other):
    return self._compare(other, np.not_equal)

def lt(self, other):
    return self._compare(other, np.less)

def le(self, other):
    return self._compare(other, np.less_equal)

def gt(self, other):
    return self._compare(other, np.greater)

def ge(self, other):
    return self._compare(other, np.greater_equal)

__eq__ = eq
__ne__ = ne
__lt__ = lt
__le__ = le
__gt__ = gt
__ge__ = ge
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne

def equal(self, other) -> bool:
    return self._data.shape == other._data.shape and bool(np.array_equal(self._data, other._data))

def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(self._data, _as_array(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

def isnan(self):
    return Tensor._wrap(np.isnan(self._data))

def isinf(self):
    return Tensor._wrap(np.isinf(self._data))

def isfinite(self):
    return Tensor._wrap(np.isfinite(self._data))

def _logical(self, other, function):
    other_array = _as_array(other)
    if self.dtype is dtypes.bool_ and other_array.dtype == np.bool_:
        return Tensor._wrap(function(self._data, other_array))
    return Tensor._wrap(function(self._data, other_array.astype(self._data.dtype)))

def __and__(self, other):
    return self._logical(other, np.bitwise_and)

def __or__(self, other):
    return self._logical(other, np.bitwise_or)

def __xor__(self, other):
    return self._logical(other, np.bitwise_xor)

__rand__, __ror__, __rxor__ = __and__, __or__, __xor__

def __invert__(self):
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return Tensor._wrap(np.invert(self._data))

def logical_not(self):
    return Tensor._wrap(np.logical_not(self._data))

def logical_and(self, other):
    return Tensor._wrap(np.logical_and(self._data, _as_array(other)))

def logical_or(self, other):
    return Tensor._wrap(np.logical_or(self._data, _as_array(other)))

def any(self, dim=None, keepdim=False):
    return Tensor._wrap(np.any(self._data, axis=dim, keepdims=keepdim))

def all(self, dim=None, keepdim=False):
    return Tensor._wrap(np.all(self._data, axis=dim, keepdims=keepdim))

def nonzero(self, as_tuple=False):
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(self._data))
    return Tensor._wrap(np.argwhere(self._data).astype(np.int64))


def _raise_compare(other):
    raise TypeError(f"'<' not supported between instances of 'Tensor' and '{type(other).__name__}'")


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "_compare": _compare,
    "eq": eq,
    "ne": ne,
    "lt": lt,
    "le": le,
    "gt": gt,
    "ge": ge,
    "__eq__": eq,
    "__ne__": ne,
    "__lt__": lt,
    "__le__": le,
    "__gt__": gt,
    "__ge__": ge,
    "greater": gt,
    "less": lt,
    "greater_equal": ge,
    "less_equal": le,
    "not_equal": ne,
    "equal": equal,
    "allclose": allclose,
    "isnan": isnan,
    "isinf": isinf,
    "isfinite": isfinite,
    "_logical": _logical,
    "__and__": __and__,
    "__or__": __or__,
    "__xor__": __xor__,
    "__rand__": __and__,
    "__ror__": __or__,
    "__rxor__": __xor__,
    "__invert__": __invert__,
    "logical_not": logical_not,
    "logical_and": logical_and,
    "logical_or": logical_or,
    "any": any,
    "all": all,
    "nonzero": nonzero,
}

FUNCTION_FORMS = ("eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isnan", "isinf", "isfinite",
                  "nonzero", "logical_not", "logical_and", "logical_or", "any", "all")
