"""`torchvision.datasets` stand-ins: seeded synthetic images, never a download.

Each dataset has the real one's length (MNIST 60000/10000, CIFAR10 50000/10000), image shape
and mode, targets and classes. Image i of class c is class c's fixed pattern plus noise, both
from numpy generators seeded by the dataset and index (torch's generator is not touched, so
the program's own random numbers stay PyTorch's). `download=True` is accepted and does nothing.
"""

from __future__ import annotations

import os

import numpy as np

from ..tensor import Tensor
from .image import Image

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "ImageFolder", "VisionDataset"]


class VisionDataset:
    def __init__(self, root=None, transforms=None, transform=None, target_transform=None):
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.transform = transform
        self.target_transform = target_transform

    def __getitem__(self, index):
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of bounds for dimension 0 with size {len(self)}")
        image, target = Image(self._image(index % len(self))), int(self._targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self._targets)

    def __repr__(self):
        return f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: {self.root}"


class _Synthetic(VisionDataset):
    """Images of `shape` (H, W) or (H, W, 3), `count` of them, targets cycling over classes."""

    shape: tuple = (28, 28)
    classes: list = []

    def __init__(self, root, count, seed, transform=None, target_transform=None):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._seed = seed
        self._targets = np.random.default_rng(seed).integers(0, len(self.classes), count)
        patterns = np.random.default_rng(seed + 1).random((len(self.classes),) + self.shape)
        self._patterns = (patterns > 0.6).astype(np.float64) * 200.0

    def _image(self, index):
        noise = np.random.default_rng((self._seed, index)).random(self.shape) * 80.0
        return np.clip(self._patterns[self._targets[index]] * 0.7 + noise, 0, 255).astype(np.uint8)

    @property
    def data(self):
        return Tensor._wrap(np.stack([self._image(i) for i in range(len(self))]))

    @property
    def targets(self):
        return Tensor._wrap(self._targets.astype(np.int64))

    train_data = test_data = data
    train_labels = test_labels = targets

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.classes)}


class MNIST(_Synthetic):
    shape = (28, 28)
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.train = train
        super().__init__(root, 60000 if train else 10000, 1 if train else 2, transform, target_transform)


class FashionMNIST(MNIST):
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class CIFAR10(_Synthetic):
    shape = (32, 32, 3)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.train = train
        super().__init__(root, 50000 if train else 10000, 3 if train else 4, transform, target_transform)

    @property
    def data(self):  # CIFAR10.data is a numpy array (N, 32, 32, 3), targets a list
        return np.stack([self._image(i) for i in range(len(self))])

    @property
    def targets(self):
        return [int(t) for t in self._targets]


class ImageFolder(_Synthetic):
    """root/class_x/*.png: the class folders and file count of root if it exists (images are
    synthetic 64x64 RGB); otherwise two classes of 32 images each."""

    shape = (64, 64, 3)
    extensions = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

    def __init__(self, root, transform=None, target_transform=None, loader=None, is_valid_file=None,
                 allow_empty=False):
        folders = sorted(entry.name for entry in os.scandir(root) if entry.is_dir()) if os.path.isdir(root) else []
        samples = []
        for index, folder in enumerate(folders):
            for directory, _, files in sorted(os.walk(os.path.join(root, folder))):
                samples += [(os.path.join(directory, f), index) for f in sorted(files)
                            if f.lower().endswith(self.extensions)]
        if not samples:
            folders = ["class0", "class1"]
            samples = [(os.path.join(str(root), folders[i % 2], f"{i}.png"), i % 2) for i in range(64)]
        self.classes = folders
        super().__init__(root, len(samples), 5, transform, target_transform)
        self._targets = np.array([target for _, target in samples])
        self.samples = self.imgs = samples

    @property
    def targets(self):
        return [int(t) for t in self._targets]
