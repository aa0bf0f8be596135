"""Recurrent layers: RNN, LSTM, GRU (num_layers, bias, batch_first, dropout, bidirectional,
initial states, PackedSequence input) and RNNCell, LSTMCell, GRUCell.

Written with Tensor ops, so the gradients come from the ops' own backward. Gates follow
PyTorch's layout (LSTM: i, f, g, o; GRU: r, z, n with n = tanh(W_in x + b_in + r * (W_hn h +
b_hn))), parameters are named and ordered as PyTorch's (`weight_ih_l0`, `weight_hh_l0`,
`bias_ih_l0`, `bias_hh_l0`, then `..._reverse`), and all are initialised
uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) in that order. A packed input runs padded,
with each sequence's state frozen after its last step.
"""

from __future__ import annotations

import math

import numpy as np

from .. import events
from .. import functional as F
from ..ops.indexing import cat, stack
from ..tensor import Tensor
from . import init
from .layers import _empty
from .module import Module
from .parameter import Parameter
from .rnn import PackedSequence, pack_padded_sequence, packed_lengths, pad_packed_sequence

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(x_proj, h, w_hh, b_hh, nonlinearity):
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _lstm_step(x_proj, state, w_hh, b_hh):
    h, c = state
    gates = x_proj + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(x_proj, h, w_hh, b_hh):
    x_r, x_z, x_n = x_proj.chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, nonlinearity="tanh", device=None, dtype=None):
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            events.warn("dropout option adds dropout after all but last recurrent layer, so "
                        "non-zero dropout expects num_layers greater than 1, but got "
                        f"dropout={dropout} and num_layers={num_layers}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        self.mode, self.nonlinearity = mode, nonlinearity
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else hidden_size * directions
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(_empty(shape, device, dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        pass

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in self._flat_weights_names]]

    def _layer_weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda name: getattr(self, name + suffix, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _run_direction(self, inputs, state, weights, reverse, lengths):
        """One layer in one direction over time-major `inputs` (T, N, H_in)."""
        w_ih, w_hh, b_ih, b_hh = weights
        projected = F.linear(inputs, w_ih, b_ih)
        steps = inputs.shape[0]
        outputs = [None] * steps
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            if self.mode == "LSTM":
                new = _lstm_step(projected[t], state, w_hh, b_hh)
            elif self.mode == "GRU":
                new = _gru_step(projected[t], state, w_hh, b_hh)
            else:
                new = _rnn_step(projected[t], state, w_hh, b_hh, self.nonlinearity)
            if lengths is not None:  # a sequence's state stops changing after its last step
                alive = Tensor._wrap((lengths > t).astype(inputs._data.dtype)[:, None])
                if self.mode == "LSTM":
                    new = tuple(alive * n + (1 - alive) * s for n, s in zip(new, state))
                else:
                    new = alive * new + (1 - alive) * state
            state = new
            outputs[t] = state[0] if self.mode == "LSTM" else state
        return stack(outputs), state

    def _check_input(self, input, batched):
        expected = 3 if batched else 2
        if input.dim() != expected:
            raise ValueError(f"{self.mode if self.mode in ('LSTM', 'GRU') else 'RNN'}: Expected "
                             f"input to be 2D or 3D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def forward(self, input, hx=None):
        packed = isinstance(input, PackedSequence)
        lengths = None
        if packed:
            lengths = packed_lengths(input)
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            input, _ = pad_packed_sequence(PackedSequence(input.data, input.batch_sizes))
            batched = True
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{self._get_name()}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}D instead")
            batched = input.dim() == 3
            self._check_input(input, batched)
            if not batched:
                input = input.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            sorted_indices = unsorted_indices = None
        directions = 2 if self.bidirectional else 1
        batch = input.shape[1]
        shape = (self.num_layers * directions, batch, self.hidden_size)
        if hx is None:
            zeros = Tensor._wrap(np.zeros(shape, dtype=input._data.dtype))
            hx = (zeros, zeros) if self.mode == "LSTM" else zeros
        else:
            if not batched:
                hx = tuple(h.unsqueeze(1) for h in hx) if self.mode == "LSTM" else hx.unsqueeze(1)
            if sorted_indices is not None:
                hx = (tuple(h.index_select(1, sorted_indices) for h in hx) if self.mode == "LSTM"
                      else hx.index_select(1, sorted_indices))
            self._check_hidden(hx, shape)
        finals, layer_input = [], input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                state = (hx[0][index], hx[1][index]) if self.mode == "LSTM" else hx[index]
                output, state = self._run_direction(layer_input, state,
                                                    self._layer_weights(layer, direction),
                                                    direction == 1, lengths)
                outputs.append(output)
                finals.append(state)
            layer_input = outputs[0] if directions == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        if self.mode == "LSTM":
            hidden = (stack([s[0] for s in finals]), stack([s[1] for s in finals]))
        else:
            hidden = stack(finals)
        output = layer_input
        if packed:
            output = pack_padded_sequence(output, lengths)
            output = PackedSequence(output.data, output.batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                hidden = (tuple(h.index_select(1, unsorted_indices) for h in hidden)
                          if self.mode == "LSTM" else hidden.index_select(1, unsorted_indices))
        elif not batched:
            output = output.squeeze(1)
            hidden = tuple(h.squeeze(1) for h in hidden) if self.mode == "LSTM" else hidden.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, hidden

    def _check_hidden(self, hx, shape):
        for h, name in ((hx[0], "hidden"), (hx[1], "cell")) if self.mode == "LSTM" else ((hx, "hidden"),):
            if tuple(h.shape) != shape:
                raise RuntimeError(f"Expected {name} size {tuple(shape)}, got {list(h.shape)}")

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    def __init__(self, *args, **kwargs):
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:  # RNN(input_size, hidden_size, num_layers, nonlinearity, ...)
            nonlinearity, args = args[3], args[:3] + args[4:]
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, *args, nonlinearity=nonlinearity, **kwargs)


class LSTM(RNNBase):
    def __init__(self, *args, **kwargs):
        kwargs.pop("proj_size", None)
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, gates, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(_empty((gates * hidden_size, input_size), device, dtype))
        self.weight_hh = Parameter(_empty((gates * hidden_size, hidden_size), device, dtype))
        if bias:
            self.bias_ih = Parameter(_empty((gates * hidden_size,), device, dtype))
            self.bias_hh = Parameter(_empty((gates * hidden_size,), device, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def _prepare(self, input, hx, cell=False):
        if input.dim() not in (1, 2):
            raise ValueError(f"{self._get_name()}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = Tensor._wrap(np.zeros((input.shape[0], self.hidden_size), dtype=input._data.dtype))
            hx = (zeros, zeros) if cell else zeros
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if cell else hx.unsqueeze(0)
        return input, hx, batched

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx)
        h = _rnn_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh,
                      self.bias_hh, self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx, cell=True)
        h, c = _lstm_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh,
                          self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx)
        h = _gru_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh,
                      self.bias_hh)
        return h if batched else h.squeeze(0)
