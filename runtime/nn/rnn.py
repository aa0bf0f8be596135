"""`torch.nn.utils.rnn`: PackedSequence, pack_padded_sequence, pad_packed_sequence,
pad_sequence, pack_sequence.

A PackedSequence holds the time-major concatenation of the valid steps: for each t, the
elements of the `batch_sizes[t]` longest sequences (sorted by decreasing length, the order
`sorted_indices` gives). Packing and padding are single graph nodes that move gradients back
(`PackPaddedSequenceBackward0`, ...).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..core import Tensor, record_op
from ..ops.indexing import cat, stack

_M_SORTED = ("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
             "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
             "sidestep this requirement if you do not need ONNX exportability.")


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                   "unsorted_indices"])):
    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return type(self)(self.data.to(*args, **kwargs), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    def cuda(self, *args, **kwargs):
        return type(self)(self.data.cuda(*args, **kwargs), self.batch_sizes,
                          self.sorted_indices, self.unsorted_indices)

    def cpu(self):
        return self

    @property
    def is_cuda(self):
        return False


def _positions(lengths):
    """(time, batch) indices of the packed elements, time-major, batch sorted by length."""
    steps = int(lengths.max()) if lengths.size else 0
    times, batches = [], []
    for t in range(steps):
        count = int((lengths > t).sum())
        times.append(np.full(count, t))
        batches.append(np.arange(count))
    return np.concatenate(times), np.concatenate(batches), steps


def _batch_sizes(lengths):
    steps = int(lengths.max())
    return np.array([(lengths > t).sum() for t in range(steps)], dtype=np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    lengths = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths, dtype=np.int64)
    if enforce_sorted:
        if np.any(lengths[:-1] < lengths[1:]):
            raise RuntimeError(_M_SORTED)
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = Tensor._wrap(order.astype(np.int64))
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    padded = input.transpose(0, 1) if batch_first else input
    times, batches, _ = _positions(lengths)
    shape = padded._data.shape

    def backward(grad):
        data = np.zeros(shape, dtype=grad._data.dtype)
        data[times, batches] = grad._data
        return (Tensor._wrap(data),)

    data = record_op("PackPaddedSequenceBackward0", padded._data[times, batches], (padded,), backward)
    unsorted = None if sorted_indices is None else Tensor._wrap(
        np.argsort(sorted_indices._data).astype(np.int64))
    return PackedSequence(data, Tensor._wrap(_batch_sizes(lengths)), sorted_indices, unsorted)


def packed_lengths(sequence) -> np.ndarray:
    """The (sorted) length of each sequence of a PackedSequence."""
    sizes = sequence.batch_sizes._data
    return np.array([(sizes > b).sum() for b in range(int(sizes[0]))], dtype=np.int64)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    lengths = packed_lengths(sequence)
    times, batches, steps = _positions(lengths)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, "
                f"but got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    data = sequence.data
    value = np.full((steps, len(lengths)) + data._data.shape[1:], padding_value, dtype=data._data.dtype)
    value[times, batches] = data._data
    padded = record_op("PadPackedSequenceBackward0", value, (data,),
                       lambda g: (Tensor._wrap(np.ascontiguousarray(g._data[times, batches])),))
    if batch_first:
        padded = padded.transpose(0, 1)
    lengths_tensor = Tensor._wrap(lengths)
    if sequence.unsorted_indices is not None:
        batch_dim = 0 if batch_first else 1
        padded = padded.index_select(batch_dim, sequence.unsorted_indices)
        lengths_tensor = Tensor._wrap(lengths[sequence.unsorted_indices._data])
    return padded, lengths_tensor


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        if extra:
            filler = Tensor._wrap(np.full((extra,) + tuple(s.shape[1:]), padding_value,
                                          dtype=s._data.dtype))
            s = cat([s, filler] if padding_side == "right" else [filler, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
