"""`nn.Parameter`: a Tensor subclass that a Module registers when assigned as an attribute.

As in PyTorch 2.x, `Parameter(t)` detaches `t`: the parameter is a new leaf that shares
`t`'s storage and requires grad (by default), whatever `t` was (a plain tensor, a leaf that
requires grad, a non-leaf). Results of ops on a parameter are plain Tensors.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor


class Parameter(Tensor):
    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = Tensor._wrap(np.zeros(0, dtype=dtypes.get_default_dtype().numpy))
        # data.detach() first: a list or an ndarray fails here with PyTorch's AttributeError
        # ("'list' object has no attribute 'detach'"); an int tensor fails with M5a.
        return Tensor._make_subclass(cls, data.detach(), bool(requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__
