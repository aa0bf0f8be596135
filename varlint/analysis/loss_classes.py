"""Loss modules: torch's (`nn.MSELoss()` with its default reduction) and the user's own, in this
file or any module of the tree: a class whose `forward` returns a full reduction on every path.

    class DiceLoss(nn.Module):
        def forward(self, x, y):
            return 1 - (2 * (x * y).sum() + 1) / (x.sum() + y.sum() + 1)

An instance of such a class is a loss module (its call gives a 0-dim tensor, so `.data[0]` of
it raises on PyTorch 2.x). What counts as a full reduction is read from the syntax of
`forward` (stdlib `ast`, once per class and file version): `t.sum()` / `t.mean()` without
arguments, `torch.sum(t)` / `torch.mean(t)`, a functional loss of torch with its default
reduction, a loss module `__init__` assigns (`self.bce(x, y)`), and arithmetic of these with
numbers (or `-`). A name is followed when `forward` binds it once. Anything else (a tuple, a
value that may be a batch, a decorated or generator `forward`, a class without its own
`forward`) is not a loss: precision first.
"""

from __future__ import annotations

import ast
import functools

import libcst as cst

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
    """A top-level class of the file being checked (read from its tree, which may be unsaved:
    only the source of a class with a `forward` is generated and parsed, once per file)."""
    memo = context.__dict__.setdefault("_local_loss_classes", {})
    if class_name not in memo:
        found = [
            statement for statement in context.module.body
            if isinstance(statement, cst.ClassDef) and statement.name.value == class_name
        ]
        memo[class_name] = (
            len(found) == 1
            and has_forward(found[0])
            and _top_level_loss_class(context, found[0], class_name)
        )
    return memo[class_name]


def _top_level_loss_class(context, klass: cst.ClassDef, class_name: str) -> bool:
    """`klass`, the one top-level class of that name, read from the file's stdlib AST (the same
    class: no source to generate and parse again), or from its own source when the file has
    no AST."""
    tree = getattr(context.positions, "tree", None)
    if tree is None:
        return text_loss_class(context.module.code_for_node(klass), class_name)
    return _loss_class_in(tree, class_name)


def has_forward(klass: cst.ClassDef) -> bool:
    body = klass.body.body if isinstance(klass.body, cst.IndentedBlock) else ()
    return any(isinstance(item, cst.FunctionDef) and item.name.value == "forward" for item in body)


def file_loss_class(path: str, digest: str, class_name: str) -> bool:
    return _loss_class_in(module_tree(path, digest), class_name)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@functools.lru_cache(maxsize=4096)
def text_loss_class(text: str, class_name: str) -> bool:
    return _loss_class_in(_parsed(text), class_name)


def _loss_class_in(tree: ast.Module | None, class_name: str) -> bool:
    if tree is None:
        return False
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    return len(classes) == 1 and is_loss_class(classes[0])


def is_loss_class(klass: ast.ClassDef) -> bool:
    methods = {node.name: node for node in klass.body if isinstance(node, ast.FunctionDef)}
    forward = methods.get("forward")
    if forward is None or forward.decorator_list or not forward.body:
        return False
    if not isinstance(forward.body[-1], ast.Return):
        return False  # may fall through and return None
    returns, assigned = [], {}
    for node in ast.walk(forward):
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
    if any(isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)) for node in ast.walk(forward) if node is not forward):
        return False
    losses = held_losses(methods.get("__init__"))
    return all(
        node.value is not None and reduced(node.value, assigned, losses, depth=4) for node in returns
    )


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


def reduced(node: ast.AST, assigned: dict, losses: set[str], depth: int) -> bool:
    """Whether `node` is certainly a 0-dim tensor (see the module docstring)."""
    if depth <= 0:
        return False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return reduced(node.operand, assigned, losses, depth)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left = reduced(node.left, assigned, losses, depth)
        right = reduced(node.right, assigned, losses, depth)
        return (left and (right or is_number(node.right))) or (right and is_number(node.left))
    if isinstance(node, ast.Name):
        values = assigned.get(node.id, [])
        return len(values) == 1 and values[0] is not None and reduced(values[0], assigned, losses, depth - 1)
    if not isinstance(node, ast.Call) or any(isinstance(arg, ast.Starred) for arg in node.args):
        return False
    func = node.func
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
