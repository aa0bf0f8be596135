"""A stand-in for a PIL image: an uint8 array (H, W) for mode "L" or (H, W, 3) for "RGB"."""

from __future__ import annotations

import numpy as np


class Image:
    def __init__(self, array: np.ndarray):
        self.array = np.ascontiguousarray(array, dtype=np.uint8)
        self.mode = "L" if self.array.ndim == 2 else "RGB"

    @property
    def size(self) -> tuple[int, int]:  # PIL's (width, height)
        return self.array.shape[1], self.array.shape[0]

    @property
    def width(self) -> int:
        return self.array.shape[1]

    @property
    def height(self) -> int:
        return self.array.shape[0]

    def convert(self, mode):
        if mode == self.mode:
            return Image(self.array.copy())
        if mode == "RGB":
            return Image(np.repeat(self.array[:, :, None], 3, axis=2))
        if mode == "L":  # ITU-R 601-2 luma, as PIL
            weights = np.array([299, 587, 114]) / 1000
            return Image(np.round(self.array @ weights).astype(np.uint8))
        raise ValueError(f"conversion from {self.mode} to {mode} not supported")

    def __repr__(self):
        return f"<PIL.Image.Image image mode={self.mode} size={self.width}x{self.height}>"
