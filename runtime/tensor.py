"""`Tensor` with all its ops: the class (core.py) with every op family (ops/) bound onto it.

Import `Tensor` from here, not from core.py, unless you are an op family yourself. The names
re-exported below are those the other runtime modules use.
"""

from __future__ import annotations

from . import engine, ops, random_ops
from .core import (  # noqa: F401 - re-exported
    AccumulateGrad,
    Node,
    Tensor,
    _type_name,
    record_op,
)
from .device import CPU, _check_device, _Device  # noqa: F401 - re-exported
from .gradbook import note_optimizer_step, zero_dim_conversion_sites  # noqa: F401 - re-exported
from .messages import _REINFORCE_REMOVED, M5A  # noqa: F401 - re-exported
from .ops.creation import legacy_new  # noqa: F401 - re-exported
from .ops.indexing import cat, stack  # noqa: F401 - re-exported
from .ops.pointwise import maximum, minimum, where  # noqa: F401 - re-exported


def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    engine.run_backward((self,), None if gradient is None else (gradient,), retain_graph,
                        create_graph, inputs=inputs, from_method=True)


def reinforce(self, reward):
    raise RuntimeError(_REINFORCE_REMOVED)


ops.bind_methods(Tensor, {**ops.methods(), "backward": backward, "reinforce": reinforce})
random_ops.bind(Tensor)  # the random fills and samplers (PyTorch's generator, random.py)
