"""`torch.nn.utils`: gradient clipping, as in PyTorch 2.13.

`clip_grad_norm_` scales every gradient in place by min(max_norm / (total_norm + 1e-6), 1)
and returns the total norm (a 0-dim tensor; `tensor(0.)` when no parameter has a gradient).
The pre-0.4 name `clip_grad_norm` still works and warns with PyTorch's FutureWarning.
"""

from __future__ import annotations

import types

import numpy as np

from .. import events, grad_mode
from . import rnn  # noqa: F401 - torch.nn.utils.rnn
from ..tensor import Tensor


def _parameter_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = list(parameters)
    if is_generator and not parameters:
        events.warn("`parameters` is an empty generator, no gradient clipping will occur.")
    return parameters


def _vector_norm(array: np.ndarray, norm_type: float) -> np.ndarray:
    if norm_type == float("inf"):
        return np.max(np.abs(array)) if array.size else np.zeros((), array.dtype)
    if norm_type == 0:
        return np.asarray(np.count_nonzero(array), dtype=array.dtype)
    return np.sum(np.abs(array) ** norm_type) ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None):
    grads = [p.grad for p in _parameter_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor._wrap(np.zeros((), dtype=np.float32))
    # the norm of the per-gradient norms = the norm of all gradients as one vector
    norms = np.stack([np.asarray(_vector_norm(g._data, norm_type), dtype=g._data.dtype)
                      for g in grads])
    total_norm = np.asarray(_vector_norm(norms, norm_type), dtype=norms.dtype)
    if error_if_nonfinite and not np.isfinite(total_norm):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped. To disable "
            "this error and scale the gradients by the non-finite norm anyway, "
            "set `error_if_nonfinite=False`"
        )
    clip_coefficient = np.minimum(float(max_norm) / (total_norm + 1e-6), 1.0)
    clip_coefficient = clip_coefficient.astype(total_norm.dtype)
    with grad_mode.no_grad():
        for grad in grads:
            # always multiplied, even by 1.0, as PyTorch does (it bumps the grad's version)
            grad.mul_(Tensor._wrap(clip_coefficient))
    return Tensor._wrap(total_norm)


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None):
    events.record("deprecated-alias", "clip_grad_norm")
    events.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    clip_value = float(clip_value)
    with grad_mode.no_grad():
        for param in _parameter_list(parameters):
            if param.grad is not None:
                param.grad.clamp_(min=-clip_value, max=clip_value)
