"""Methods of classes defined in other modules of the tree, read once per run: which of them
never touch gradients, so that a call of one in a training loop (`hidden = rnn.initHidden()`
with `rnn = RNN(...)` from `from model import *`) is no possible reset.

A method is gradient-neutral when its body mentions no `.grad`, calls no `zero_grad`,
`backward` or `step`, calls no method of its object but neutral ones of its class
(`self.forward(x)`; `self.fc(x)` of a submodule `__init__` assigns, and `m(x)` of
`for m in self.models`, are forward passes), declares no `global`, and calls nothing but torch,
builtins, tensor operations that never touch `.grad` and `append` on a local list. Anything
else, or a method the class inherits, is not known: precision first.
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
    return _neutral(classes[0], init_attributes(classes[0]), method, set())


def _neutral(klass: ast.ClassDef, attributes: set[str], method: str, seen: set[str]) -> bool:
    """`method` of `klass` is gradient-neutral; the methods it calls on `self`
    (`self.forward(x)`) must be too (a recursion is not known)."""
    if method in seen:
        return False
    seen.add(method)
    found = [node for node in klass.body if isinstance(node, ast.FunctionDef) and node.name == method]
    if len(found) != 1 or found[0].decorator_list:
        return False
    submodules = submodule_names(found[0], attributes)
    lists = local_lists(found[0])
    methods = {node.name for node in klass.body if isinstance(node, ast.FunctionDef)}
    for node in ast.walk(found[0]):
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(node, ast.Attribute) and node.attr in GRAD_WORDS:
            return False
        if not isinstance(node, ast.Call) or pure_call(node.func, attributes):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in submodules:
            continue  # `m(x)` of `for m in self.models`: a submodule's forward
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in lists and func.attr in ("append", "extend"):
                continue  # `outputs.append(...)` of a local `outputs = []`
            if func.value.id == "self" and func.attr in methods and _neutral(klass, attributes, func.attr, seen):
                continue  # `self.forward(x)` of a neutral `forward`
        return False
    return True


def submodule_names(function: ast.FunctionDef, attributes: set[str]) -> set[str]:
    """Names only bound by `for m in self.x` (`self.x` assigned in `__init__`) in `function`."""
    loop_bound: set[str] = set()
    other: set[str] = set()
    targets: set[int] = set()  # the Name nodes of those loops' targets
    for node in ast.walk(function):
        if isinstance(node, (ast.For, ast.comprehension)):
            iterable, target = node.iter, node.target
            over_attribute = (
                isinstance(iterable, ast.Attribute) and isinstance(iterable.value, ast.Name)
                and iterable.value.id == "self" and iterable.attr in attributes
            )
            if isinstance(target, ast.Name) and over_attribute:
                loop_bound.add(target.id)
                targets.add(id(target))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in targets:
            other.add(node.id)
    other |= {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}
    return loop_bound - other


def local_lists(function: ast.FunctionDef) -> set[str]:
    """Local names whose every binding in `function` is a list display (`outputs = []`)."""
    lists: set[str] = set()
    other: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value, ast.List):
                    lists.add(target.id)
                else:
                    other |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension, ast.withitem, ast.NamedExpr)):
            target = getattr(node, "target", None) or getattr(node, "optional_vars", None)
            if target is not None:
                other |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    other |= {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}
    return lists - other


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
