"""Methods of classes defined in other modules of the tree, read once per run: which of them
never touch gradients, so that a call of one in a training loop (`hidden = rnn.initHidden()`
with `rnn = RNN(...)` from `from model import *`) is no possible reset.

A method is gradient-neutral when its body mentions no `.grad`, calls no `zero_grad`,
`backward` or `step`, calls no method of its object (`self.fc(x)` of a submodule `__init__`
assigns is a forward pass), declares no `global`, and calls nothing but torch, builtins and tensor
operations that never touch `.grad`. Anything else, or a method the class inherits, is not
known: precision first.
"""

from __future__ import annotations

import ast
import builtins
import functools

from varlint.analysis.torch_api import GRAD_NEUTRAL_METHODS

GRAD_WORDS = frozenset({"grad", "zero_grad", "backward", "step", "requires_grad_", "register_hook"})
PURE_ROOTS = ("torch", "np", "numpy", "math", "random", "F", "nn", "Variable")
BUILTINS = frozenset(dir(builtins))


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


@functools.lru_cache(maxsize=4096)
def neutral_method(path: str, digest: str, class_name: str, method: str) -> bool:
    """Whether `class_name.method` of the file `path` (as of `digest`) is gradient-neutral."""
    from varlint.project import module_tree

    tree = module_tree(path, digest)  # an editor's unsaved buffer of it, else the file as indexed
    if tree is None:
        return False
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    if len(classes) != 1:
        return False
    attributes = init_attributes(classes[0])
    found = [node for node in classes[0].body if isinstance(node, ast.FunctionDef) and node.name == method]
    if len(found) != 1 or found[0].decorator_list:
        return False
    for node in ast.walk(found[0]):
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(node, ast.Attribute) and node.attr in GRAD_WORDS:
            return False
        if isinstance(node, ast.Call) and not pure_call(node.func, attributes):
            return False
    return True


def init_attributes(klass: ast.ClassDef) -> set[str]:
    """The `self.x` that `__init__` assigns (submodules, for `self.fc(x)`)."""
    found: set[str] = set()
    for node in klass.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            for inner in ast.walk(node):
                targets = inner.targets if isinstance(inner, ast.Assign) else []
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                        found.add(target.attr)
    return found


def pure_call(func: ast.AST, attributes: set[str]) -> bool:
    if isinstance(func, ast.Name):
        return func.id in BUILTINS or func.id in PURE_ROOTS
    if isinstance(func, ast.Attribute):
        path = dotted(func)
        if path is not None and path.split(".", 1)[0] in PURE_ROOTS:
            return True
        if isinstance(func.value, ast.Name) and func.value.id == "self":
            return func.attr in attributes  # `self.fc(x)`: a submodule's forward
        return func.attr in GRAD_NEUTRAL_METHODS
    return False
