"""Serving the runtime's modules under the names `torch`, `torch.nn`, ...

`torchvision` and its submodules are served the same way (runtime/torchvision/, stand-ins).
`install()` registers the core modules in sys.modules right away (`torch`, `torch.autograd`,
`torch.autograd.variable`, `torch.cuda`, `torch.backends`) and puts a meta-path finder first
in sys.meta_path for the rest, so that `torch.nn` (runtime/nn.py), `torch.nn.functional`
(runtime/functional.py) and `torch.optim` (runtime/optim.py) are imported only when the
program imports them. Any other `torch.a.b` resolves to attribute `b` of module `torch.a` if
that attribute is a module (e.g. `torch.nn.init` when runtime/nn.py defines `init`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

# module name in the program -> module of the runtime that serves it (imported lazily)
LAZY_MODULES = {
    "torch.nn": "runtime.nn",
    "torch.nn.functional": "runtime.functional",
    "torch.optim": "runtime.optim",
    "torch.utils.data": "runtime.data",
    "torch.distributions": "runtime.distributions",
    "torch.optim.lr_scheduler": "runtime.lr_scheduler",
    "torchvision": "runtime.torchvision",
    "torchvision.datasets": "runtime.torchvision.datasets",
    "torchvision.transforms": "runtime.torchvision.transforms",
    "torchvision.utils": "runtime.torchvision.utils",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass  # already executed when the runtime module was imported

    def is_package(self, fullname):
        return True


class TorchFinder(importlib.abc.MetaPathFinder):
    """Finds `torch`, `torchvision` and their submodules among the runtime's modules (and
    never the real ones)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ("torch", "torchvision") and not fullname.startswith(("torch.", "torchvision.")):
            return None
        module = _resolve(fullname)
        if module is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(module))


def _resolve(fullname):
    if fullname in LAZY_MODULES:
        try:
            return importlib.import_module(LAZY_MODULES[fullname])
        except ModuleNotFoundError as error:
            if error.name == LAZY_MODULES[fullname]:
                return None  # that part of the runtime is not written yet
            raise
    parent_name, _, child = fullname.rpartition(".")
    parent = sys.modules.get(parent_name)
    candidate = getattr(parent, child, None) if parent is not None else None
    return candidate if isinstance(candidate, types.ModuleType) else None


def install() -> None:
    """Make `import torch` (and its submodules) give the runtime. Idempotent."""
    from . import autograd, torch_facade

    sys.modules["torch"] = torch_facade
    sys.modules["torch.autograd"] = autograd
    sys.modules["torch.autograd.variable"] = autograd.variable_module
    sys.modules["torch.cuda"] = torch_facade.cuda
    sys.modules["torch.backends"] = torch_facade.backends
    torch_facade.autograd = autograd
    if not any(isinstance(finder, TorchFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, TorchFinder())
