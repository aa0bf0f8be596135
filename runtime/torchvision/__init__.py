"""Stand-ins for `torchvision`, served by the runtime's loader like `torch` (no download, ever).

`torchvision.datasets` (MNIST, FashionMNIST, CIFAR10, ImageFolder) serve seeded synthetic
images of the real datasets' shapes, dtypes, lengths and class counts (each class has its own
pattern under the noise, so a classifier can learn); `torchvision.transforms` has the common
transforms, drawing their random choices from torch's generator as torchvision does;
`torchvision.utils.save_image` writes nothing, `make_grid` tiles images as torchvision does.
"""

from . import datasets, transforms, utils  # noqa: F401

__version__ = "0.28.0+runtime"
