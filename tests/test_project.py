"""The project index (varlint/project.py) over small multi-module trees."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

from varlint.project import ProjectIndex


def tree(root: Path, files: dict[str, str]) -> list[str]:
    paths = []
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        paths.append(str(path))
    return paths


def test_module_names_from_packages_and_roots(tmp_path):
    paths = tree(tmp_path, {
        "train.py": "",
        "pkg/__init__.py": "",
        "pkg/models/__init__.py": "",
        "pkg/models/gan.py": "",
        "scripts/run.py": "",
    })
    index = ProjectIndex.build(paths)
    names = [index.module_name(path) for path in paths]
    assert names == ["train", "pkg", "pkg.models", "pkg.models.gan", "run"]
    # A folder without __init__.py is a namespace package relative to the root above it.
    assert index.canonical_module("scripts.run") == "run"


def test_resolve_follows_relative_imports_aliases_and_reexports(tmp_path):
    paths = tree(tmp_path, {
        "pkg/__init__.py": "from .core import Variable as V\n",
        "pkg/core.py": "from torch.autograd import Variable\nimport torch.nn as nn\n",
        "pkg/use.py": "from . import V\nfrom .core import nn\nfrom pkg.core import Variable\n",
    })
    index = ProjectIndex.build(paths)
    assert index.resolve("pkg.use", "V") == "torch.autograd.Variable"
    assert index.resolve("pkg.use", "Variable") == "torch.autograd.Variable"
    assert index.resolve("pkg.use", "nn") == "torch.nn"
    assert index.resolve("pkg.use", "missing") is None


def test_star_imports_exports_and_reverse_map(tmp_path):
    paths = tree(tmp_path, {
        "model.py": """
            from torch.autograd import Variable
            import torch
            def make(x, *rest, scale=1, **options):
                return x
            class Net(torch.nn.Module):
                def __init__(self):
                    self.fc = 1
                    self.fc2, self.fc3 = 2, 3
                def forward(self, x):
                    self.hidden = x
            _private = 1
        """,
        "limited.py": "from model import *\n__all__ = ['make']\n",
        "train.py": "from model import *\nfrom limited import *\n",
    })
    index = ProjectIndex.build(paths)
    assert index.exports("model") == {"Variable", "torch", "make", "Net"}
    assert index.exports("limited") == {"make"}
    assert index.resolve("train", "Variable") == "torch.autograd.Variable"
    assert index.resolve("train", "make") == "model.make"
    assert index.resolve("train", "_private") is None
    assert index.star_importers("model") == {"limited", "train"}
    model = index.modules["model"]
    assert model.functions["make"].parameters == ("x", "*rest", "scale", "**options")
    net = model.classes["Net"]
    assert net.bases == ("torch.nn.Module",)
    assert set(net.methods) == {"__init__", "forward"}
    assert net.attributes == ("fc", "fc2", "fc3")  # `self.hidden` is set outside __init__


def test_cycles_terminate(tmp_path):
    paths = tree(tmp_path, {
        "a.py": "from b import *\nfrom b import thing\n",
        "b.py": "from a import *\nfrom a import thing\n",
    })
    index = ProjectIndex.build(paths)
    assert index.resolve("a", "thing") is None
    assert index.exports("a") == {"thing"}
    assert index.dependencies("a") == {"b"}


def test_transitive_dependencies_and_pickling(tmp_path):
    paths = tree(tmp_path, {
        "train.py": "import helpers.io\nfrom model import Net\n",
        "model.py": "from layers import Block\nclass Net(Block):\n    pass\n",
        "layers.py": "import torch\n",
        "helpers/__init__.py": "",
        "helpers/io.py": "",
        "broken.py": "def (:\n",
    })
    index = ProjectIndex.build(paths)
    assert index.dependencies("train") == {"model", "layers", "helpers", "helpers.io"}
    assert index.modules["broken"].error is not None
    copy = pickle.loads(pickle.dumps(index))
    assert copy.dependencies("train") == index.dependencies("train")
    assert copy.resolve("train", "Net") == "model.Net"


def test_single_file_index():
    index = ProjectIndex.single("snippet.py", "from torch.autograd import Variable as V\n")
    assert index.module_name("snippet.py") == "snippet"
    assert index.resolve("snippet", "V") == "torch.autograd.Variable"


def test_importers_needing_a_name(tmp_path):
    paths = tree(tmp_path, {
        "model.py": "from torch.autograd import Variable\n",
        "train.py": "from model import *\nx = Variable(1)\n",  # uses it through the star
        "quiet.py": "from model import *\nprint(1)\n",  # star-imports it, never uses it
        "reexport.py": "from model import *\n",  # passes it on ...
        "deep.py": "from reexport import *\ndef f():\n    return Variable\n",  # ... to a use
        "named.py": "from model import Variable\n",  # an ImportError without it, used or not
        "attribute.py": "import model\nmodel.Variable(2)\n",
        "listed.py": "from model import *\n__all__ = ['Variable']\n",
        "other.py": "from torch.autograd import Variable\nVariable(3)\n",  # its own import
    })
    index = ProjectIndex.build(paths)
    assert index.importers_needing("model", "Variable") == {"train", "deep", "named", "attribute", "listed"}
    assert index.importers_needing("model", "torch") == set()
    assert "Variable" in index.modules["train"].referenced  # read ...
    assert "x" not in index.modules["train"].referenced  # ... an assignment is not a read
    # An `__all__` that leaves the name out stops the star import from passing it on.
    limited = tree(tmp_path / "limited", {
        "model.py": "from torch.autograd import Variable\n__all__ = ['Net']\nclass Net: pass\n",
        "train.py": "from model import *\nVariable(1)\n",
    })
    assert ProjectIndex.build(limited).importers_needing("model", "Variable") == set()


def test_importers_needing_with_two_scripts_of_one_name(tmp_path):
    # Two projects in one run, each with its own model.py: `python train.py` imports the
    # model.py beside it; a script with no model.py of its own may mean either.
    paths = tree(tmp_path, {
        "a/model.py": "from torch.autograd import Variable\n",
        "a/train.py": "from model import *\n",
        "b/model.py": "from torch.autograd import Variable\n",
        "b/train.py": "from model import *\nVariable(1)\n",
    })
    index = ProjectIndex.build(paths)
    second = index.module_name(str(tmp_path / "b/model.py"))
    assert second != "model"  # keyed by its path
    b_train = "train@" + str(tmp_path / "b/train.py")
    assert index.importers_needing(second, "Variable") == {b_train}
    assert index.importers_needing("model", "Variable") == set()  # a/train.py never reads it
    paths += tree(tmp_path, {"c/run.py": "from model import *\nVariable(2)\n"})
    index = ProjectIndex.build(paths)
    assert index.importers_needing("model", "Variable") == {"run"}
    assert index.importers_needing(second, "Variable") == {b_train, "run"}


def test_importers_are_the_reverse_of_dependencies(tmp_path):
    paths = tree(tmp_path, {
        "model.py": "",
        "utils.py": "from model import *\n",
        "train.py": "from utils import *\n",
        "alone.py": "",
    })
    index = ProjectIndex.build(paths)
    assert index.importers("model") == {"utils", "train"}
    assert index.importers("alone") == frozenset()


def test_two_scripts_of_one_name_resolve_to_their_siblings(tmp_path):
    # `python b/train.py` imports b/model.py, though a/model.py was indexed first as `model`;
    # a script with no `model` beside it keeps the first one.
    paths = tree(tmp_path, {
        "a/model.py": "class RNN: pass\nclass Net: pass\n",
        "a/train.py": "from model import *\n",
        "b/model.py": "from helpers import RNN\n",
        "b/helpers.py": "class RNN: pass\n",
        "b/train.py": "from model import *\nfrom model import RNN as R\n",
        "c/run.py": "from model import Net\n",
    })
    index = ProjectIndex.build(paths)
    b_model = index.module_name(str(tmp_path / "b/model.py"))
    b_train = index.module_name(str(tmp_path / "b/train.py"))
    assert b_model == "model@" + str(tmp_path / "b/model.py")
    assert index.canonical_module("model") == "model"
    assert index.canonical_module("model", b_train) == b_model
    assert index.canonical_module("model", "train") == "model"
    assert index.canonical_module("model", "run") == "model"
    assert index.resolve(b_train, "R") == "helpers.RNN"
    assert index.resolve("train", "RNN") == "model.RNN"
    assert "Net" in index.exports("model") and "Net" not in index.exports(b_model)
    assert index.resolve("run", "Net") == "model.Net"


def test_a_script_depends_on_the_namesake_beside_it(tmp_path):
    # The result cache keys b/train.py on b/model.py, the module its names resolve to.
    paths = tree(tmp_path, {
        "a/model.py": "",
        "b/model.py": "",
        "b/train.py": "from model import *\n",
    })
    index = ProjectIndex.build(paths)
    b_model = index.module_name(str(tmp_path / "b/model.py"))
    assert b_model in index.dependencies(index.module_name(str(tmp_path / "b/train.py")))
