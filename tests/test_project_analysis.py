"""Facts that cross modules of the tree: a loss class defined in another module (its `forward`
returns a reduction) makes its calls 0-dim for VL004, and the result cache follows edits of that
module. Trees are written to tmp folders and checked as `varlint check TREE` checks them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from varlint import engine
from varlint.cache import ResultCache
from varlint.config import Settings

SETTINGS = Settings(select=("VL004", "VL201", "VL202"))

LOSS_MODULE = """
    import torch.nn as nn


    class DiceLoss(nn.Module):
        def forward(self, x, y):
            return 1 - (2 * (x * y).sum() + 1) / (x.sum() + y.sum() + 1)
"""

PER_SAMPLE_MODULE = """
    import torch.nn as nn


    class DiceLoss(nn.Module):
        def forward(self, x, y):
            return (x - y).pow(2).sum(1)
"""

TRAIN = """
    import torch
    from losses import DiceLoss

    model = torch.nn.Linear(4, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = DiceLoss()


    class Trainer:
        def __init__(self, model):
            self.model = model
            self.criterion = DiceLoss()

        def report(self, x):
            loss = self.criterion(self.model(x), x)
            print(loss.data[0])


    for x in [torch.rand(2, 4)]:
        optimizer.zero_grad()
        loss = criterion(model(x), x)
        loss.backward()
        optimizer.step()
        print(loss.data[0])
"""


def write_tree(root: Path, files: dict[str, str]) -> list[str]:
    paths = []
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
        paths.append(str(path))
    return paths


def diagnostics(paths, cache=None) -> list[tuple[str, str, int]]:
    results = engine.check_paths(paths, SETTINGS, jobs=1, cache=cache)
    return sorted(
        (Path(result.path).name, d.code, d.start.row) for result in results for d in result.diagnostics
    )


def test_a_loss_class_of_another_module_gives_0_dim_losses(tmp_path):
    paths = write_tree(tmp_path, {"losses.py": LOSS_MODULE, "train.py": TRAIN})
    assert diagnostics(paths) == [("train.py", "VL004", 16), ("train.py", "VL004", 24)]


def test_a_class_returning_one_loss_per_sample_is_no_0_dim_loss(tmp_path):
    paths = write_tree(tmp_path, {"losses.py": PER_SAMPLE_MODULE, "train.py": TRAIN})
    assert diagnostics(paths) == []


def test_the_cache_follows_an_edit_of_the_loss_module(tmp_path):
    paths = write_tree(tmp_path / "tree", {"losses.py": LOSS_MODULE, "train.py": TRAIN})
    assert diagnostics(paths, ResultCache(tmp_path / "cache")) == [("train.py", "VL004", 16), ("train.py", "VL004", 24)]
    losses = Path(paths[0])
    losses.write_text(textwrap.dedent(PER_SAMPLE_MODULE).lstrip() + "\n# edited\n")
    assert diagnostics(paths, ResultCache(tmp_path / "cache")) == []
