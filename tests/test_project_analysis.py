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


# --- module-level loss objects and 0-dim functions of other modules (loss_classes.py) ---

ACCUMULATE = """
    import torch
    import torch.nn as nn
    from model import criterion, step_loss

    rnn = nn.Linear(3, 2)
    inputs, targets = torch.randn(4, 3), torch.randn(4, 2)
    loss = 0
    for i in range(4):
        loss += criterion(rnn(inputs[i]), targets[i])
    print(loss.data[0])
    total = 0
    for i in range(4):
        total += step_loss(rnn, inputs, targets, i)
    print(total.data[0])
"""

LOSS_OBJECT_MODULE = """
    import torch.nn as nn

    criterion = nn.MSELoss(){suffix}
    {extra}

    def step_loss(rnn, inputs, targets, i):
        {body}
"""


def loss_object_module(suffix="", extra="", body="return criterion(rnn(inputs[i]), targets[i])") -> str:
    return LOSS_OBJECT_MODULE.format(suffix=suffix, extra=extra, body=body)


def test_a_loss_object_and_a_0_dim_function_of_another_module_flow_through_augmented_sums(tmp_path):
    paths = write_tree(tmp_path, {"model.py": loss_object_module(".cuda()"), "train.py": ACCUMULATE})
    assert diagnostics(paths) == [("train.py", "VL004", 10), ("train.py", "VL004", 14)]


def test_a_loss_object_rebound_or_declared_global_is_not_known(tmp_path):
    rebound = loss_object_module(extra='criterion = nn.MSELoss(reduction="none")')
    paths = write_tree(tmp_path / "rebound", {"model.py": rebound, "train.py": ACCUMULATE})
    assert diagnostics(paths) == []
    declared = loss_object_module(extra="def reset():\n        global criterion\n        criterion = None")
    paths = write_tree(tmp_path / "global", {"model.py": declared, "train.py": ACCUMULATE})
    assert diagnostics(paths) == []


def test_a_function_whose_loss_name_is_a_parameter_or_a_local_is_not_0_dim(tmp_path):
    shadowed = loss_object_module(body="criterion = rnn\n        return criterion(inputs[i])")
    paths = write_tree(tmp_path, {"model.py": shadowed, "train.py": ACCUMULATE})
    assert diagnostics(paths) == [("train.py", "VL004", 10)]


def test_a_loss_object_of_a_same_named_script_elsewhere_is_not_known(tmp_path):
    """Two `model.py` of the run: the one of the other folder may be the one imports find."""
    paths = write_tree(tmp_path, {
        "a/model.py": loss_object_module(), "a/train.py": ACCUMULATE,
        "b/model.py": loss_object_module('\ncriterion = nn.MSELoss(reduction="none")'), "b/train.py": ACCUMULATE,
    })
    found = diagnostics(paths)
    assert all(row[0] == "train.py" for row in found)
    results = engine.check_paths(paths, SETTINGS, jobs=1)
    assert not [d for r in results if r.path.endswith("b/train.py") for d in r.diagnostics]


# --- functions of other modules that never touch `.grad` (gradflow/summaries.py) ---

MANUAL_LOOP = """
    import torch
    from model import forward

    x, y = torch.randn(4, 3), torch.randn(4, 2)
    w1 = torch.randn(3, 5, requires_grad=True)
    w2 = torch.randn(5, 2, requires_grad=True)
    for t in range(3):
        loss = (forward(x, w1, w2) - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w1 -= 0.01 * w1.grad
            w2 -= 0.01 * w2.grad
"""


def manual_tree(tmp_path: Path, model: str, **more: str) -> list[str]:
    return write_tree(tmp_path, {"model.py": model, "train.py": MANUAL_LOOP, **more})


def test_a_forward_of_another_module_through_a_chain_of_neutral_functions_is_no_reset(tmp_path):
    model = """
        from layers import relu_mm

        def forward(x, w1, w2):
            return relu_mm(x, w1).mm(w2)
    """
    layers = """
        import torch

        def relu_mm(x, w):
            return torch.clamp(x.mm(w), min=0)
    """
    assert diagnostics(manual_tree(tmp_path, model, **{"layers.py": layers})) == [("train.py", "VL201", 9)]


def test_a_forward_that_may_reset_keeps_the_loop_silent(tmp_path):
    """Each callee may reset (or is unknown): the call stays a possible reset."""
    bodies = {
        "grad": "for w in (w1, w2):\n        w.grad = None\n    return x.mm(w1).mm(w2)",
        "same_module_reset": "clear(w1)\n    return x.mm(w1).mm(w2)",
        "parameter_call": "return act(x.mm(w1)).mm(w2)",
        "outside_tree": "return outside.forward(x, w1, w2)",
        "object_method": "return w1.custom(x).mm(w2)",
        "reflection": 'return getattr(x, "mm")(w1).mm(w2)',
        "clips_gradients": "torch.nn.utils.clip_grad_norm_([w1, w2], 1.0)\n    return x.mm(w1).mm(w2)",
    }
    for name, body in bodies.items():
        model = f"import torch\nimport outside\n\ndef clear(w):\n    w.grad.zero_()\n\ndef forward(x, w1, w2, act=None):\n    {body}\n"
        assert diagnostics(manual_tree(tmp_path / name, model)) == [], name


def test_functions_calling_each_other_across_modules_are_not_known_and_terminate(tmp_path):
    model = "from layers import g\n\ndef forward(x, w1, w2):\n    return g(x, w1, w2)\n"
    layers = "from model import forward\n\ndef g(x, w1, w2):\n    return forward(x, w1, w2)\n"
    assert diagnostics(manual_tree(tmp_path, model, **{"layers.py": layers})) == []


# --- methods of classes of the tree returning a reduction (summaries.method_zero_dim) ---

DISCRIMINATOR = """
    import torch
    import torch.nn as nn


    class Base(nn.Module):
        def inherited_loss(self, x):
            return x.mean()


    class D(Base):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)
            {init}

        def compute_loss(self, x, gt):
            return sum([torch.mean((out - gt) ** 2) for out in [self.fc(x)]])

        def strict_loss(self, x, gt):
            return torch.mean((self.fc(x) - gt) ** 2)
"""

USE_DISCRIMINATOR = """
    import torch
    from models import D, Base

    x = torch.randn(4, 3)
    {binding}
    loss = d.{method}(x, 1.0) + d.{method}(x, 0.0)
    print(loss.data[0])
"""


def discriminator_rows(tmp_path: Path, binding="d = D().cuda()", method="compute_loss", init="") -> list:
    paths = write_tree(tmp_path, {
        "models.py": DISCRIMINATOR.format(init=init),
        "train.py": USE_DISCRIMINATOR.format(binding=binding, method=method),
    })
    return diagnostics(paths)


def test_a_method_of_a_class_of_another_module_returning_reductions_gives_0_dim_values(tmp_path):
    assert discriminator_rows(tmp_path / "sum") == [("train.py", "VL004", 7)]
    assert discriminator_rows(tmp_path / "strict", method="strict_loss") == [("train.py", "VL004", 7)]


def test_a_method_call_whose_receiver_or_method_is_not_known_says_nothing(tmp_path):
    cases = {
        "two_classes": "d = D()\n    if x.sum() > 0:\n        d = Base()",
        "unknown_binding": "d = torch.load('d.pt')",
        "inherited": None,
        "set_on_instances": None,
    }
    for name, binding in cases.items():
        kwargs = {}
        if binding is not None:
            kwargs["binding"] = binding
        if name == "inherited":
            kwargs["method"] = "inherited_loss"
        if name == "set_on_instances":
            kwargs["init"] = "self.compute_loss = None"
        assert discriminator_rows(tmp_path / name, **kwargs) == [], name


def test_a_parameter_named_like_an_instance_hides_it(tmp_path):
    paths = write_tree(tmp_path, {
        "models.py": DISCRIMINATOR.format(init=""),
        "train.py": """
            import torch
            from models import D

            d = D()


            def report(d, x):
                print((d.compute_loss(x, 1.0) + 0).data[0])
        """,
    })
    assert diagnostics(paths) == []


SELF_METHOD = """
    import torch


    class EBGAN(object):
        def __init__(self):
            self.pt_loss_weight = 0.1

        def pullaway_loss(self, embeddings):
            n = embeddings.size()[0]
            return (torch.sum(embeddings) - n) / (n * (n - 1))

        def train(self, d_fake, embeddings):
            g_loss = torch.mean(d_fake) + self.pt_loss_weight * self.pullaway_loss(embeddings)
            print(g_loss.data[0])
"""


def test_a_method_of_the_own_class_returning_a_reduction_gives_0_dim_values(tmp_path):
    paths = write_tree(tmp_path, {"ebgan.py": SELF_METHOD})
    assert diagnostics(paths) == [("ebgan.py", "VL004", 14)]


def test_a_method_a_subclass_of_the_tree_redefines_is_not_known(tmp_path):
    subclass = """
        from ebgan import EBGAN


        class PerSample(EBGAN):
            def pullaway_loss(self, embeddings):
                return embeddings.sum(1)
    """
    paths = write_tree(tmp_path, {"ebgan.py": SELF_METHOD, "variants.py": subclass})
    assert diagnostics(paths) == []
