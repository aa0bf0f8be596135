"""`torch.utils.data`, the part small training scripts use: Dataset, TensorDataset, DataLoader.

A DataLoader here is a plain single-process iterator: batches of `batch_size` samples
(shuffled with the runtime's generator when `shuffle=True`), merged by `default_collate`
as PyTorch does (tensors are stacked, Python ints become int64 tensors, floats float64).
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .tensor import Tensor, random_generator, stack


class Dataset:
    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")


class TensorDataset(Dataset):
    def __init__(self, *tensors):
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


def default_collate(batch):
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(first, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(first, float):
        return Tensor._wrap(np.array(batch, dtype=dtypes.float64.numpy))
    if isinstance(first, np.ndarray):
        return Tensor._wrap(np.stack(batch))
    if isinstance(first, dict):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        return [default_collate(list(group)) for group in zip(*batch)]
    return batch


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, **kwargs):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn or default_collate

    def _batches(self):
        order = np.arange(len(self.dataset))
        if self.shuffle:
            order = random_generator().permutation(len(self.dataset))
        if self.batch_size is None:
            for index in order:
                yield [int(index)]
            return
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            if self.drop_last and len(chunk) < self.batch_size:
                return
            yield [int(index) for index in chunk]

    def __iter__(self):
        for indices in self._batches():
            samples = [self.dataset[index] for index in indices]
            yield samples[0] if self.batch_size is None else self.collate_fn(samples)

    def __len__(self):
        count = len(self.dataset)
        if self.batch_size is None:
            return count
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)
