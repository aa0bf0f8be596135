"""Matrix products: `mm`, `matmul` (and `@`), `mv`, `dot`, `bmm`, `addmm`, `outer`.
"""

from __future__ import annotations


import numpy as np

from ..core import _needs, record_op
from ..messages import _OPTIONS_NAME


def mm(self, other):
    if self.dim() != 2:
        raise RuntimeError("self must be a matrix")
    if other.dim() != 2:
        raise RuntimeError("mat2 must be a matrix")
    if self._data.shape[1] != other._data.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({self._data.shape[0]}x{self._data.shape[1]} "
            f"and {other._data.shape[0]}x{other._data.shape[1]})")
    if self.dtype is not other.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_OPTIONS_NAME[self.dtype]} != {_OPTIONS_NAME[other.dtype]}")
    a, b = self, other
    return record_op("MmBackward0", a._data @ b._data, (a, b),
                     lambda g: (g.mm(b.t()) if _needs(a) else None, a.t().mm(g) if _needs(b) else None),
                     saved=(b if _needs(a) else None, a if _needs(b) else None))

def matmul(self, other):
    a, b = self, other
    if a.dim() == 2 and b.dim() == 2:
        return a.mm(b)
    if a.dim() == 1 and b.dim() == 1:
        return a.dot(b)
    if a.dim() == 2 and b.dim() == 1:
        return a.mv(b)
    if a.dim() == 1 and b.dim() == 2:
        result = a.unsqueeze(0).mm(b)
        return result._squeeze_dims((0,), "SqueezeBackward4")
    if a.dim() == 0 or b.dim() == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{a.dim()}D and {b.dim()}D")
    # batched: numpy's broadcasting matmul; gradients are summed back by the engine
    a_view = a.unsqueeze(0) if a.dim() == 1 else a
    b_view = b.unsqueeze(-1) if b.dim() == 1 else b

    def backward(grad):
        g = grad
        if a.dim() == 1:
            g = g.unsqueeze(-2)
        if b.dim() == 1:
            g = g.unsqueeze(-1)
        grad_a = g.matmul(b_view.transpose(-1, -2)) if _needs(a) else None
        grad_b = a_view.transpose(-1, -2).matmul(g) if _needs(b) else None
        if grad_a is not None and a.dim() == 1:
            grad_a = grad_a.squeeze(-2)
        if grad_b is not None and b.dim() == 1:
            grad_b = grad_b.squeeze(-1)
        return (grad_a, grad_b)

    return record_op("UnsafeViewBackward0", np.matmul(a._data, b._data), (a, b), backward,
                     saved=(a, b))

def mv(self, vec):
    a, v = self, vec
    return record_op("MvBackward0", a._data @ v._data, (a, v),
                     lambda g: (g.unsqueeze(1) * v.unsqueeze(0) if _needs(a) else None,
                                a.t().mv(g) if _needs(v) else None),
                     saved=(a, v))

def dot(self, other):
    a, b = self, other
    return record_op("DotBackward0", np.dot(a._data, b._data), (a, b),
                     lambda g: (g * b if _needs(a) else None, g * a if _needs(b) else None),
                     saved=(a, b))

def bmm(self, other):
    a, b = self, other
    return record_op("BmmBackward0", np.matmul(a._data, b._data), (a, b),
                     lambda g: (g.bmm(b.transpose(1, 2)) if _needs(a) else None,
                                a.transpose(1, 2).bmm(g) if _needs(b) else None),
                     saved=(a, b))

def addmm(self, mat1, mat2, beta=1, alpha=1):
    return self * beta + mat1.mm(mat2) * alpha if (beta != 1 or alpha != 1) else _addmm(self, mat1, mat2)

def outer(self, other):
    return self.unsqueeze(1) * other.unsqueeze(0)

ger = outer


def _addmm(bias, mat1, mat2):
    value = bias._data + mat1._data @ mat2._data
    return record_op("AddmmBackward0", value, (bias, mat1, mat2),
                     lambda g: (g, g.mm(mat2.t()) if _needs(mat1) else None,
                                mat1.t().mm(g) if _needs(mat2) else None),
                     saved=(mat1 if _needs(mat2) else None, mat2 if _needs(mat1) else None))


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "mm": mm,
    "matmul": matmul,
    "mv": mv,
    "dot": dot,
    "bmm": bmm,
    "addmm": addmm,
    "outer": outer,
    "ger": outer,
}

FUNCTION_FORMS = ("mm", "matmul", "bmm", "mv", "dot", "outer")


def addmm_function(input, mat1, mat2, beta=1, alpha=1, out=None):
    return input.addmm(mat1, mat2, beta=beta, alpha=alpha)


FUNCTIONS = {"addmm": addmm_function, "ger": outer}
