"""Loss modules: torch's (`nn.MSELoss()` with its default reduction) and the user's own, in this
file or any module of the tree: a class whose `forward` returns a full reduction on every path.

    class DiceLoss(nn.Module):
        def forward(self, x, y):
            return 1 - (2 * (x * y).sum() + 1) / (x.sum() + y.sum() + 1)

An instance of such a class is a loss module (its call gives a 0-dim tensor, so `.data[0]` of
it raises on PyTorch 2.x). What counts as a full reduction is read from the syntax of
`forward` (stdlib `ast`, once per class and file version): `t.sum()` / `t.mean()` without
arguments, `torch.sum(t)` / `torch.mean(t)`, a functional loss of torch with its default
reduction, a loss module `__init__` assigns (`self.bce(x, y)`) or the module binds at its top
level (`criterion = nn.MSELoss()`, see below), and arithmetic of these with numbers (or `-`).
A name is followed when `forward` binds it once. Anything else (a tuple, a value that may be a
batch, a decorated or generator `forward`, a class without its own `forward`) is not a loss:
precision first.

The same reading gives two facts about the top level of any module of the tree, used where
another module imports them (`from model import criterion, step_loss`):

- a *loss object*: a name the module binds once, to a torch loss module with its default
  reduction (`criterion = nn.MSELoss()`, `.cuda()` allowed; `nn` resolved through the module's
  imports) or to a loss class of the module, and never rebinds (no `global` of it anywhere);
- a *0-dim function*: a top-level function, defined once, not decorated, not a generator,
  ending in a `return`, whose every `return` is such a full reduction (`return
  criterion(rnn(x), y)`, `return F.nll_loss(out, y) + 0.1 * kld.sum()`).
"""

from __future__ import annotations

import ast
import functools
import os
import weakref
from dataclasses import dataclass

import libcst as cst

from varlint import ast_walk
from varlint.analysis import torch_api as api
from varlint.analysis.torch_api import MODULE_RETURNING_METHODS
from varlint.project import module_tree

REDUCTIONS = ("mean", "sum", "batchmean")
FUNCTIONAL_LOSS_NAMES = frozenset(name.rsplit(".", 1)[1] for name in api.FUNCTIONAL_LOSSES)
LOSS_MODULE_NAMES = frozenset(name.rsplit(".", 1)[1] for name in api.LOSS_MODULES)


def is_loss_constructor(context, expression: cst.BaseExpression) -> bool:
    """`nn.BCELoss()`, `nn.BCELoss().cuda()`, `DiceLoss()` (a loss class of the tree) ..."""
    while (
        isinstance(expression, cst.Call)
        and isinstance(expression.func, cst.Attribute)
        and expression.func.attr.value in MODULE_RETURNING_METHODS
    ):
        expression = expression.func.value
    if not isinstance(expression, cst.Call) or any(arg.star for arg in expression.args):
        return False
    names = context.names.qualified(expression.func)
    if len(names) == 1 and next(iter(names)) in api.LOSS_MODULES:
        return cst_default_reduction(expression)
    if not names and isinstance(expression.func, cst.Name):
        return local_loss_class(context, expression.func.value)
    return len(names) == 1 and tree_loss_class(context.project, next(iter(names)))


def cst_default_reduction(call: cst.Call) -> bool:
    """A torch loss module built with its default (full) reduction."""
    if any(arg.keyword is None for arg in call.args):
        return False  # a positional `weight`, or the legacy `size_average, reduce`
    for arg in call.args:
        if arg.keyword.value == "reduce" and not (isinstance(arg.value, cst.Name) and arg.value.value == "True"):
            return False
        if arg.keyword.value == "reduction" and not (
            isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value in REDUCTIONS
        ):
            return False
    return True


def tree_loss_class(project, qualified: str) -> bool:
    """`pkg.losses.DiceLoss`: a class of a module of the tree that is a loss."""
    module_name, _, class_name = qualified.rpartition(".")
    info = project.module(module_name) if project is not None and module_name else None
    if info is None or class_name not in info.classes:
        return False
    return file_loss_class(info.path, info.digest, class_name)


def local_loss_class(context, class_name: str) -> bool:
    """A top-level class of the file being checked (read from its stdlib AST: the text checked,
    which may be unsaved)."""
    memo = context.__dict__.setdefault("_local_loss_classes", {})
    if class_name not in memo:
        tree = context.syntax_tree
        found = [
            node for node in (tree.body if tree is not None else ())
            if isinstance(node, ast.ClassDef) and node.name == class_name
        ]
        # The class alone: the module's own loss objects are not consulted (as for a class
        # read from its source text).
        memo[class_name] = len(found) == 1 and is_loss_class(found[0])
    return memo[class_name]


def file_loss_class(path: str, digest: str, class_name: str) -> bool:
    return _loss_class_in(module_tree(path, digest), class_name)


def _loss_class_in(tree: ast.Module | None, class_name: str) -> bool:
    if tree is None:
        return False
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    return len(classes) == 1 and is_loss_class(classes[0], top_level_facts(tree).losses)


def is_loss_class(klass: ast.ClassDef, module_losses: frozenset[str] = frozenset()) -> bool:
    """`module_losses`: the loss objects of the class's module (see `top_level_facts`)."""
    methods = {node.name: node for node in klass.body if isinstance(node, ast.FunctionDef)}
    forward = methods.get("forward")
    if forward is None:
        return False
    return returns_reduced(forward, held_losses(methods.get("__init__")), module_losses)


def returns_reduced(
    function: ast.FunctionDef, losses: set[str], module_losses: frozenset[str], allow_sum: bool = False
) -> bool:
    """Every `return` of `function` is a full reduction (and it cannot fall through); see
    `reduced` for `allow_sum`."""
    if function.decorator_list or not function.body:
        return False
    if not isinstance(function.body[-1], ast.Return):
        return False  # may fall through and return None
    returns, assigned = [], {}
    for node in ast.walk(function):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
            return False
        if isinstance(node, ast.Return):
            returns.append(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.With, ast.NamedExpr)):
            for target in ast.walk(getattr(node, "target", node)):
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(None)  # bound, value not followed
    if any(isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)) for node in ast.walk(function) if node is not function):
        return False
    arguments = function.args
    parameters = {
        a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg)
        if a is not None
    }
    visible = frozenset(module_losses) - parameters - set(assigned)  # not shadowed by a local
    return all(
        node.value is not None and reduced(node.value, assigned, losses, 4, visible, allow_sum)
        for node in returns
    )


@dataclass(frozen=True)
class TopLevel:
    """What the top level of a module binds, as far as losses go (see the module docstring)."""

    losses: frozenset[str] = frozenset()  # loss objects: `criterion = nn.MSELoss()`
    zero_dim_functions: frozenset[str] = frozenset()  # `def step_loss(...): return criterion(...)`
    names: frozenset[str] = frozenset()  # every name the top level binds


def tree_loss_object(project, qualified: str, importer: str) -> bool:
    """`model.criterion`: a loss object of a module of the tree (see the module docstring), as
    the module `importer` sees it."""
    info = _defining_module(project, qualified, importer)
    return info is not None and qualified.rpartition(".")[2] in _file_top_level(info.path, info.digest).losses


def tree_zero_dim_function(project, qualified: str, importer: str) -> bool:
    """`model.step_loss`: a 0-dim function of a module of the tree (see the module docstring)."""
    info = _defining_module(project, qualified, importer)
    name = qualified.rpartition(".")[2]
    return info is not None and name in info.functions and name in _file_top_level(info.path, info.digest).zero_dim_functions


def _defining_module(project, qualified: str, importer: str):
    """The module of the tree that defines `qualified` at its top level, when it is the one
    `importer` imports (several scripts of that name in the run: not known)."""
    module_name, _, name = qualified.rpartition(".")
    info = project.module(module_name) if project is not None and module_name else None
    if info is None or info.error is not None or name not in info.defined:
        return None
    if os.path.abspath(info.path) == os.path.abspath(importer) or project.ambiguous(module_name, importer):
        return None
    return info


# What a call of a method gives (`method_zero_dim`).
ZERO_DIM = "0-dim"
ZERO_DIM_OR_NUMBER = "0-dim or number"  # `return sum([torch.mean(...) for out in outs])`


def tree_method_zero_dim(project, qualified_class: str, method: str, importer: str) -> str | None:
    """`models.MultiDiscriminator.compute_loss`: what the method of a class of a module of the
    tree returns on every path, when it is a full reduction (see `method_zero_dim`)."""
    info = _defining_module(project, qualified_class, importer)
    class_name = qualified_class.rpartition(".")[2]
    if info is None or class_name not in info.classes:
        return None
    return _file_method_zero_dim(info.path, info.digest, class_name, method)


def local_method_zero_dim(context, class_name: str, method: str) -> str | None:
    """The same for a top-level class of the file being checked (its text parsed once)."""
    memo = context.__dict__.setdefault("_local_method_zero_dim", {})
    key = (class_name, method)
    if key not in memo:
        memo[key] = method_zero_dim(context.syntax_tree, class_name, method)
    return memo[key]


@functools.lru_cache(maxsize=1024)
def _file_method_zero_dim(path: str, digest: str, class_name: str, method: str) -> str | None:
    return method_zero_dim(module_tree(path, digest), class_name, method)


def method_zero_dim(tree: ast.Module | None, class_name: str, method: str) -> str | None:
    """ZERO_DIM when the method `class_name.method` (defined by the class itself, once, not
    decorated, not set on instances) returns a full reduction on every path; ZERO_DIM_OR_NUMBER
    when that holds only counting a `sum([...])` of reductions (the number 0 when empty)."""
    if tree is None:
        return None
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    if len(classes) != 1:
        return None
    klass = classes[0]
    found = [node for node in klass.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == method]
    if len(found) != 1 or not isinstance(found[0], ast.FunctionDef):
        return None
    for node in ast.walk(klass):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Attribute) and t.attr == method for t in targets):
            return None  # `self.compute_loss = ...`: the instance's attribute wins
    init = next((node for node in klass.body if isinstance(node, ast.FunctionDef) and node.name == "__init__"), None)
    losses, top = held_losses(init), top_level_facts(tree)
    if returns_reduced(found[0], losses, top.losses):
        return ZERO_DIM
    if "sum" not in top.names and returns_reduced(found[0], losses, top.losses, allow_sum=True):
        return ZERO_DIM_OR_NUMBER
    return None


@functools.lru_cache(maxsize=1024)
def _file_top_level(path: str, digest: str) -> TopLevel:
    tree = module_tree(path, digest)
    return top_level_facts(tree) if tree is not None else TopLevel()


_TOP_LEVEL: "weakref.WeakKeyDictionary[ast.Module, TopLevel]" = weakref.WeakKeyDictionary()


def top_level_facts(tree: ast.Module) -> TopLevel:
    known = _TOP_LEVEL.get(tree)
    if known is None:
        known = _TOP_LEVEL[tree] = _read_top_level(tree)
    return known


def _read_top_level(tree: ast.Module) -> TopLevel:
    bindings: dict[str, list[ast.AST | None]] = {}  # name -> the value of each binding (None: not followed)
    imports: dict[str, str] = {}
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _bound_names(target):
                    bindings.setdefault(name, []).append(node.value if isinstance(target, ast.Name) else None)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bindings.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.partition(".")[0]
                bindings.setdefault(bound, []).append(None)
                if isinstance(node, ast.Import):
                    imports[bound] = alias.name if alias.asname else bound
                elif node.module and not node.level and alias.name != "*":
                    imports[bound] = f"{node.module}.{alias.name}"
                elif alias.name == "*":
                    bindings.setdefault("*", []).append(None)
        else:
            for field_name in ("target", "targets", "optional_vars", "name"):
                value = getattr(node, field_name, None)
                for target in value if isinstance(value, list) else [value]:
                    if isinstance(target, str):
                        bindings.setdefault(target, []).append(None)  # `except E as name`
                    elif isinstance(target, ast.AST):
                        for name in _bound_names(target):
                            bindings.setdefault(name, []).append(None)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.stmt, ast.excepthandler, ast.withitem, ast.match_case)):
                    pending.append(child)
    declared = {name for node in ast_walk.nodes(tree) if isinstance(node, (ast.Global, ast.Nonlocal)) for name in node.names}
    once = {name: values[0] for name, values in bindings.items() if len(values) == 1 and name not in declared}
    imports = {alias: name for alias, name in imports.items() if alias in once}
    losses = frozenset(
        name for name, value in once.items()
        if isinstance(value, ast.expr) and _ast_loss_constructor(value, imports, once)
    )
    torch_imported = any(name == "torch" or name.startswith("torch.") for name in imports.values())
    functions = frozenset(
        name for name, value in once.items()
        if torch_imported and isinstance(value, ast.FunctionDef) and returns_reduced(value, set(), losses)
    )
    return TopLevel(losses, functions, frozenset(bindings))


def _bound_names(target: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name)}


def _ast_loss_constructor(value: ast.expr, imports: dict[str, str], once: dict) -> bool:
    """`nn.MSELoss()`, `torch.nn.L1Loss().cuda()`, `DiceLoss()` (a loss class of the module)."""
    while (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in MODULE_RETURNING_METHODS
        and isinstance(value.func.value, ast.Call)
    ):
        value = value.func.value
    if not isinstance(value, ast.Call) or any(isinstance(arg, ast.Starred) for arg in value.args):
        return False
    path = dotted_path(value.func)
    if path is None:
        return False
    root, _, rest = path.partition(".")
    if root in imports:
        qualified = imports[root] + ("." + rest if rest else "")
        return qualified in api.LOSS_MODULES and not value.args and ast_default_reduction(value)
    klass = once.get(path)
    return isinstance(klass, ast.ClassDef) and is_loss_class(klass)


def dotted_path(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def held_losses(init: ast.FunctionDef | None) -> set[str]:
    """The `self.x` that `__init__` assigns (only) to a torch loss module with full reduction."""
    if init is None:
        return set()
    found: dict[str, bool] = {}
    for node in ast.walk(init):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    found[target.attr] = found.get(target.attr, True) and ast_loss_module(node.value)
    return {name for name, is_loss in found.items() if is_loss}


def ast_loss_module(value: ast.AST) -> bool:
    if not isinstance(value, ast.Call) or value.args:
        return False
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in LOSS_MODULE_NAMES:
        return False
    return ast_default_reduction(value)


def ast_default_reduction(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg is None:
            return False
        if keyword.arg == "reduce" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is True):
            return False
        if keyword.arg == "reduction" and not (
            isinstance(keyword.value, ast.Constant) and keyword.value.value in REDUCTIONS
        ):
            return False
    return True


def reduced(
    node: ast.AST, assigned: dict, losses: set[str], depth: int, module_losses: frozenset[str] = frozenset(),
    allow_sum: bool = False,
) -> bool:
    """Whether `node` is certainly a 0-dim tensor (see the module docstring); `module_losses`:
    the loss objects of the module that `node` sees (not shadowed by a local name). With
    `allow_sum`, also the builtin `sum([...])` of a comprehension of those: a 0-dim tensor, or
    the number 0 when the comprehension is empty."""
    more = (module_losses, allow_sum)
    if depth <= 0:
        return False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return reduced(node.operand, assigned, losses, depth, *more)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left = reduced(node.left, assigned, losses, depth, *more)
        right = reduced(node.right, assigned, losses, depth, *more)
        return (left and (right or is_number(node.right))) or (right and is_number(node.left))
    if isinstance(node, ast.Name):
        values = assigned.get(node.id, [])
        return (
            len(values) == 1 and values[0] is not None
            and reduced(values[0], assigned, losses, depth - 1, *more)
        )
    if not isinstance(node, ast.Call) or any(isinstance(arg, ast.Starred) for arg in node.args):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        if allow_sum and func.id == "sum" and func.id not in assigned and len(node.args) == 1 and not node.keywords:
            comprehension = node.args[0]
            if isinstance(comprehension, (ast.ListComp, ast.GeneratorExp)):
                targets = {name for generator in comprehension.generators for name in _bound_names(generator.target)}
                return reduced(comprehension.elt, assigned, losses, depth - 1, module_losses - targets, allow_sum)
        return func.id in module_losses  # `criterion(out, y)`, `criterion = nn.MSELoss()` above
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value
    if isinstance(owner, ast.Name) and owner.id == "self":
        return func.attr in losses
    if func.attr in ("sum", "mean") and not node.args and not node.keywords:
        if isinstance(owner, ast.Name) and owner.id == "torch":
            return False  # `torch.sum()` without its tensor
        return True
    root = owner.id if isinstance(owner, ast.Name) else None
    if root == "torch" and func.attr in ("sum", "mean"):
        return len(node.args) == 1 and not node.keywords
    if root == "F" or (isinstance(owner, ast.Attribute) and ast.unparse(owner) == "torch.nn.functional"):
        inputs = api.FUNCTIONAL_LOSS_INPUTS.get(f"torch.nn.functional.{func.attr}", 2)
        return func.attr in FUNCTIONAL_LOSS_NAMES and len(node.args) <= inputs and ast_default_reduction(node)
    return False


def is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
