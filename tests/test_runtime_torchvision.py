"""The torchvision stand-ins (runtime/torchvision/) and torch.utils.data's collation.

No real torchvision is needed (nor downloaded): the datasets must have the real ones'
lengths, shapes, dtypes and classes and be the same on every run; the transforms must give
torchvision's shapes and values for the deterministic ones, and draw their random choices
from torch's generator with torchvision's calls (checked against the generator's state).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest


@pytest.fixture(scope="module")
def torch():  # the runtime's torch, without installing it as `torch` in this process
    return importlib.import_module("runtime.torch_facade")


@pytest.fixture(scope="module")
def tv(torch):
    return importlib.import_module("runtime.torchvision")


@pytest.mark.parametrize("name, train, length, shape, mode", [
    ("MNIST", True, 60000, (1, 28, 28), "L"), ("MNIST", False, 10000, (1, 28, 28), "L"),
    ("FashionMNIST", True, 60000, (1, 28, 28), "L"), ("CIFAR10", True, 50000, (3, 32, 32), "RGB"),
    ("CIFAR10", False, 10000, (3, 32, 32), "RGB"),
])
def test_datasets_have_the_real_shapes(tv, torch, tmp_path, name, train, length, shape, mode):
    dataset = getattr(tv.datasets, name)(str(tmp_path), train=train, download=True,
                                         transform=tv.transforms.ToTensor())
    assert len(dataset) == length and len(dataset.classes) == 10
    image, target = dataset[length - 1]
    assert tuple(image.shape) == shape and image.dtype is torch.float32
    assert 0 <= float(image.min()) and float(image.max()) <= 1 and isinstance(target, int)
    raw = getattr(tv.datasets, name)(str(tmp_path), train=train)
    assert raw[0][0].mode == mode
    again = getattr(tv.datasets, name)(str(tmp_path), train=train, transform=tv.transforms.ToTensor())
    assert torch.equal(again[5][0], dataset[5][0]) and again[5][1] == dataset[5][1]
    assert list(tmp_path.iterdir()) == []  # nothing downloaded, nothing written


def test_mnist_legacy_attributes_and_loader(tv, torch, tmp_path):
    mnist = tv.datasets.MNIST(str(tmp_path), train=False, transform=tv.transforms.Compose([
        tv.transforms.ToTensor(), tv.transforms.Normalize((0.1307,), (0.3081,))]))
    assert mnist.test_labels.dtype is torch.int64 and tuple(mnist.test_labels.shape) == (10000,)
    assert mnist.targets.tolist()[:3] == [mnist[i][1] for i in range(3)]
    images, labels = next(iter(torch.utils.data.DataLoader(mnist, batch_size=16)))
    assert tuple(images.shape) == (16, 1, 28, 28) and labels.dtype is torch.int64
    plain = tv.transforms.ToTensor()(tv.datasets.MNIST(str(tmp_path), train=False)[0][0])
    np.testing.assert_allclose(images[0].numpy(), (plain.numpy() - np.float32(0.1307)) / np.float32(0.3081), rtol=1e-6)


def test_image_folder_without_files_serves_two_classes(tv, tmp_path):
    folder = tv.datasets.ImageFolder(str(tmp_path / "missing"), transform=tv.transforms.ToTensor())
    assert folder.classes == ["class0", "class1"] and len(folder) == 64
    assert tuple(folder[0][0].shape) == (3, 64, 64)
    for name, count in (("cats", 2), ("dogs", 3)):
        (tmp_path / "real" / name).mkdir(parents=True)
        for i in range(count):
            (tmp_path / "real" / name / f"{i}.png").write_bytes(b"")
    real = tv.datasets.ImageFolder(str(tmp_path / "real"))
    assert real.classes == ["cats", "dogs"] and real.targets == [0, 0, 1, 1, 1]


def test_deterministic_transforms(tv, torch):
    T = tv.transforms
    image = tv.datasets.CIFAR10("x", train=False)[0][0]
    assert tuple(T.Compose([T.Resize(48), T.CenterCrop(40), T.ToTensor()])(image).shape) == (3, 40, 40)
    assert tuple(T.ToTensor()(T.Scale((20, 30))(image)).shape) == (3, 20, 30)
    tensor = T.ToTensor()(image)
    assert torch.equal(T.CenterCrop(16)(tensor), tensor[:, 8:24, 8:24])
    assert T.Lambda(lambda x: x * 2)(3) == 6
    assert tuple(T.Pad(2)(tensor).shape) == (3, 36, 36)


def test_random_transforms_draw_like_torchvision(tv, torch):
    T = tv.transforms
    tensor = torch.arange(2 * 6 * 8, dtype=torch.float32).view(2, 6, 8)
    torch.manual_seed(3)
    flipped = T.RandomHorizontalFlip(p=0.5)(tensor)
    cropped = T.RandomCrop(4)(tensor)
    after = torch.rand(1)
    torch.manual_seed(3)
    flip = torch.rand(1).item() < 0.5  # torchvision: `if torch.rand(1) < self.p`
    top = torch.randint(0, 3, size=(1,)).item()  # RandomCrop.get_params
    left = torch.randint(0, 5, size=(1,)).item()
    assert torch.equal(flipped, tensor.flip(-1) if flip else tensor)
    assert torch.equal(cropped, tensor[:, top:top + 4, left:left + 4])
    assert torch.equal(after, torch.rand(1))


def test_make_grid_and_save_image(tv, torch, tmp_path):
    batch = torch.rand(10, 1, 5, 7)
    grid = tv.utils.make_grid(batch, nrow=4, padding=2)
    assert tuple(grid.shape) == (3, 3 * 7 + 2, 4 * 9 + 2)
    assert torch.equal(grid[:, 2:7, 2:9], batch[0].expand(3, 5, 7))
    assert torch.equal(grid[:, 9:14, 11:18], batch[5].expand(3, 5, 7))  # row 1, column 1
    assert float(grid[:, 0, :].abs().sum()) == 0
    normalized = tv.utils.make_grid(batch * 4 - 1, normalize=True)
    assert float(normalized.min()) == 0 and float(normalized.max()) == 1
    tv.utils.save_image(batch, str(tmp_path / "out.png"))
    assert list(tmp_path.iterdir()) == []


def test_default_collate(torch):
    collate = torch.utils.data.default_collate
    batch = collate([(torch.ones(2), 1, 0.5, {"a": np.zeros(3), "b": "x"}),
                     (torch.zeros(2), 2, 1.5, {"a": np.ones(3), "b": "y"})])
    assert tuple(batch[0].shape) == (2, 2) and batch[1].dtype is torch.int64
    assert batch[2].dtype is torch.float64 and tuple(batch[3]["a"].shape) == (2, 3)
    assert batch[3]["b"] == ["x", "y"] and isinstance(batch, list)
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        collate([[1, 2], [3]])
    assert importlib.import_module("runtime.data").dataloader.default_collate is collate
