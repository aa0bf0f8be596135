"""`torch.nn` of the reference runtime: Module, Parameter, layers, losses, init, utils.

Served to programs as `torch.nn` (and `torch.nn.functional` is runtime/functional.py,
`torch.nn.init` is runtime/nn/init.py, `torch.nn.utils` is runtime/nn/utils.py,
`torch.nn.parameter` is runtime/nn/parameter.py). Semantics are PyTorch 2.13's.
"""

from .. import functional
from . import init, parameter, utils
from .layers import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MSELoss,
    NLLLoss,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .module import Module, ModuleList, Sequential
from .parameter import Parameter

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten", "Identity",
    "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList",
    "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "functional", "init", "parameter", "utils",
]
