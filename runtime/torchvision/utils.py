"""`torchvision.utils`: `make_grid` as torchvision computes it, `save_image` writing nothing."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor

__all__ = ["make_grid", "save_image"]


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0, **kwargs):
    """Tile a batch (B, C, H, W) into one image (3, H', W'), nrow images per row."""
    data = np.stack([t._data for t in tensor]) if isinstance(tensor, list) else tensor.detach()._data
    data = data.astype(np.float32 if data.dtype.kind != "f" else data.dtype, copy=True)
    if data.ndim == 2:
        data = data[None]
    if data.ndim == 3:
        data = np.concatenate([data] * 3, 0) if data.shape[0] == 1 else data
        data = data[None]
    if data.ndim == 4 and data.shape[1] == 1:
        data = np.concatenate([data] * 3, 1)
    if normalize:
        def norm(block, low, high):
            np.clip(block, low, high, out=block)
            block -= low
            block /= max(high - low, 1e-5)

        if scale_each:
            for block in data:
                low, high = value_range if value_range is not None else (block.min(), block.max())
                norm(block, low, high)
        else:
            low, high = value_range if value_range is not None else (data.min(), data.max())
            norm(data, low, high)
    if data.shape[0] == 1:
        return Tensor._wrap(data[0])
    count = data.shape[0]
    columns = min(nrow, count)
    rows = int(math.ceil(count / columns))
    height, width = data.shape[2] + padding, data.shape[3] + padding
    grid = np.full((data.shape[1], height * rows + padding, width * columns + padding), pad_value,
                   dtype=data.dtype)
    for k in range(count):
        y, x = divmod(k, columns)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = data[k]
    return Tensor._wrap(grid)


def save_image(tensor, fp, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
               pad_value=0.0, format=None, **kwargs):
    """Computes the grid (so bad input fails as in torchvision) and writes no file."""
    make_grid(tensor, nrow=nrow, padding=padding, normalize=normalize, value_range=value_range,
              scale_each=scale_each, pad_value=pad_value)
