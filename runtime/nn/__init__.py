"""`torch.nn` of the reference runtime: Module, Parameter, layers, losses, init, utils.

Served to programs as `torch.nn` (and `torch.nn.functional` is runtime/functional.py,
`torch.nn.init` is runtime/nn/init.py, `torch.nn.utils` is runtime/nn/utils.py,
`torch.nn.parameter` is runtime/nn/parameter.py). Semantics are PyTorch 2.13's.
"""

from .. import functional
from . import init, parameter, utils
from .conv import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    MaxPool1d,
    MaxPool2d,
    PixelShuffle,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from .layers import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Dropout2d,
    ELU,
    Flatten,
    Hardtanh,
    Identity,
    KLDivLoss,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    MSELoss,
    MultiLabelSoftMarginLoss,
    NLLLoss,
    ReLU,
    ReLU6,
    SELU,
    Sigmoid,
    SmoothL1Loss,
    Softmax,
    Softplus,
    Tanh,
)
from .module import Module, ModuleDict, ModuleList, Sequential
from .normalization import BatchNorm1d, BatchNorm2d, Embedding, LayerNorm
from .parameter import Parameter
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool2d", "BCELoss",
    "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose2d",
    "CrossEntropyLoss", "Dropout", "Dropout2d", "ELU", "Embedding", "Hardtanh", "LogSigmoid",
    "ReLU6", "SELU", "Softplus", "Flatten", "GRU", "GRUCell",
    "Identity", "KLDivLoss", "L1Loss", "LSTM", "LSTMCell", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d", "Module", "ModuleDict", "ModuleList",
    "MultiLabelSoftMarginLoss", "NLLLoss", "Parameter", "PixelShuffle", "RNN", "RNNBase",
    "RNNCell", "RNNCellBase", "ReLU", "Sequential", "Sigmoid", "SmoothL1Loss", "Softmax", "Tanh",
    "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d", "functional", "init", "parameter",
    "utils",
]
