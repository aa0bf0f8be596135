"""`torchvision.transforms`: Compose, ToTensor, Normalize, Resize/Scale, CenterCrop, RandomCrop,
RandomHorizontalFlip, Lambda, Grayscale, Pad.

They accept the stand-in images of runtime/torchvision/image.py and tensors (C, H, W). Random
choices are torchvision's calls on torch's generator (`torch.rand(1) < p` for a flip,
`torch.randint` for a crop's corner), so they consume the same random numbers. Resize is
bilinear without antialiasing, so resized pixel values are close to torchvision's, not equal.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import random_ops
from ..tensor import Tensor
from .image import Image

__all__ = ["Compose", "ToTensor", "Normalize", "Resize", "Scale", "CenterCrop", "RandomCrop",
           "RandomHorizontalFlip", "Lambda", "Grayscale", "Pad", "ToPILImage"]


def _pair(size):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    return int(size[0]), int(size[1])


def _array(img):
    """(H, W, C) or (H, W) array of an image, or (C, H, W) of a tensor, and a rebuild function."""
    if isinstance(img, Image):
        return img.array, lambda a: Image(a), (0, 1)
    if isinstance(img, Tensor):
        return img._data, lambda a: Tensor._wrap(np.ascontiguousarray(a)), (-2, -1)
    raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def _hw(img):
    array, _, (h_axis, w_axis) = _array(img)
    return array.shape[h_axis], array.shape[w_axis]


def _crop(img, top, left, height, width):
    array, rebuild, (h_axis, _) = _array(img)
    if h_axis == 0:
        return rebuild(array[top:top + height, left:left + width])
    return rebuild(array[..., top:top + height, left:left + width])


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {t}\n" for t in self.transforms) + ")"


class ToTensor:
    """An image (H, W[, C]) of uint8 to a float tensor (C, H, W) in [0, 1]."""

    def __call__(self, pic):
        if isinstance(pic, Image):
            array = pic.array
        elif isinstance(pic, np.ndarray):
            array = pic
        else:
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if array.ndim == 2:
            array = array[:, :, None]
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return Tensor._wrap(chw.astype(np.float32) / np.float32(255))
        return Tensor._wrap(chw)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Input tensor should be a torch tensor. Got {type(tensor)}.")
        dtype = tensor._data.dtype
        mean = np.asarray(self.mean, dtype=dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=dtype).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to division by zero.")
        return Tensor._wrap(((tensor._data - mean) / std).astype(dtype))

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class Resize:
    """Resize to (h, w), or the smaller edge to `size` keeping the aspect ratio (bilinear)."""

    def __init__(self, size, interpolation=None, max_size=None, antialias=True):
        self.size = size

    def __call__(self, img):
        h, w = _hw(img)
        if isinstance(self.size, numbers.Number) or len(self.size) == 1:
            short = int(self.size if isinstance(self.size, numbers.Number) else self.size[0])
            if h <= w:
                new_h, new_w = short, int(short * w / h)
            else:
                new_h, new_w = int(short * h / w), short
        else:
            new_h, new_w = _pair(self.size)
        array, rebuild, (h_axis, w_axis) = _array(img)
        ys = np.clip((np.arange(new_h) + 0.5) * h / new_h - 0.5, 0, h - 1)
        xs = np.clip((np.arange(new_w) + 0.5) * w / new_w - 0.5, 0, w - 1)
        y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
        y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
        fy, fx = ys - y0, xs - x0
        values = np.moveaxis(array.astype(np.float64), (h_axis, w_axis), (0, 1))
        fy = fy.reshape((-1, 1) + (1,) * (values.ndim - 2))
        fx = fx.reshape((1, -1) + (1,) * (values.ndim - 2))
        top = values[y0][:, x0] * (1 - fx) + values[y0][:, x1] * fx
        bottom = values[y1][:, x0] * (1 - fx) + values[y1][:, x1] * fx
        result = np.moveaxis(top * (1 - fy) + bottom * fy, (0, 1), (h_axis % array.ndim, w_axis % array.ndim))
        if array.dtype == np.uint8:
            result = np.clip(np.round(result), 0, 255)
        return rebuild(result.astype(array.dtype))

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation=bilinear, max_size=None, antialias=True)"


Scale = Resize  # the 2017 name


class CenterCrop:
    def __init__(self, size):
        self.size = _pair(size)

    def __call__(self, img):
        h, w = _hw(img)
        th, tw = self.size
        return _crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class Pad:
    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding, self.fill = padding, fill

    def __call__(self, img):
        p = self.padding
        left, top, right, bottom = (p, p, p, p) if isinstance(p, int) else (
            (p[0], p[1], p[0], p[1]) if len(p) == 2 else tuple(p))
        array, rebuild, (h_axis, w_axis) = _array(img)
        widths = [(0, 0)] * array.ndim
        widths[h_axis % array.ndim] = (top, bottom)
        widths[w_axis % array.ndim] = (left, right)
        return rebuild(np.pad(array, widths, constant_values=self.fill))


class RandomCrop:
    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size)
        self.padding, self.fill = padding, fill

    def __call__(self, img):
        if self.padding is not None:
            img = Pad(self.padding, self.fill)(img)
        h, w = _hw(img)
        th, tw = self.size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if h == th and w == tw:
            return _crop(img, 0, 0, h, w)
        top = int(random_ops.randint(0, h - th + 1, size=(1,)).item())
        left = int(random_ops.randint(0, w - tw + 1, size=(1,)).item())
        return _crop(img, top, left, th, tw)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if random_ops.rand(1).item() < self.p:
            array, rebuild, (_, w_axis) = _array(img)
            return rebuild(np.flip(array, axis=w_axis % array.ndim).copy())
        return img

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class Grayscale:
    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        gray = img.convert("L")
        return gray.convert("RGB") if self.num_output_channels == 3 else gray


class Lambda:
    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


class ToPILImage:
    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        array = pic._data if isinstance(pic, Tensor) else np.asarray(pic)
        if array.ndim == 3 and array.shape[0] in (1, 3):
            array = array.transpose(1, 2, 0)
        if array.dtype != np.uint8:
            array = (array * 255).astype(np.uint8)
        return Image(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)
