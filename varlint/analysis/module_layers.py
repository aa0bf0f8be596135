"""What a call of an `nn.Module` saves for backward: whether the graph it records holds its
parameters (so that an in-place change of them, such as an optimizer step, makes a later
backward through that graph raise M18).

A layer with weights saves them only where the gradient of its input needs them: `nn.Linear`
saves `weight.t()` only when its input requires grad, so `nn.Linear(2, 1)(x)` with a plain `x`
holds no parameter, while in `nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))` the
second layer's input requires grad (it comes from the first layer's weights) and its weight is
saved. `LayerFacts` says which of the two holds for a module:

* `saves_alone`: the graph holds a parameter whatever the input (a weighted layer applied to the
  output of another one: a lower bound from the layers varlint can see);
* `saves_with_grad_input`: it does when the input requires grad (a weighted layer applied to
  something computed from the input);
* `has_parameters`: its output requires grad because of its own parameters.

Module classes are read from source with `ast` (the file's own classes and those of other
modules of the tree): the layers `__init__` assigns to `self.x`, and the order in which
`forward` applies them (a name-level dataflow: what is computed from the input, what from a
weighted layer's output). Anything not understood contributes nothing: precision first.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from varlint.analysis.tree_methods import dotted
from varlint.project import module_tree

# torch.nn layers whose forward saves a weight for the gradient of its input.
WEIGHTED_LAYERS = frozenset({
    "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "PReLU", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
})
# Layers whose weights exist unless a keyword turns them off (`affine=False`...).
AFFINE_LAYERS = {
    "BatchNorm1d": ("affine", True), "BatchNorm2d": ("affine", True), "BatchNorm3d": ("affine", True),
    "LayerNorm": ("elementwise_affine", True), "GroupNorm": ("affine", True),
    "InstanceNorm1d": ("affine", False), "InstanceNorm2d": ("affine", False),
    "InstanceNorm3d": ("affine", False),
}
# Layers with parameters that save none of them (an embedding's backward needs the indices).
UNSAVED_PARAMETER_LAYERS = frozenset({"Embedding", "EmbeddingBag"})
CONTAINERS = frozenset({"Sequential"})
# Attribute calls on a module object that return the same module.
SAME_MODULE_METHODS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "train", "eval", "apply"})
WRAPPERS = frozenset({"DataParallel", "DistributedDataParallel"})
CLASS_DEPTH = 3


@dataclass(frozen=True)
class LayerFacts:
    has_parameters: bool
    saves_alone: bool
    saves_with_grad_input: bool


WEIGHTED = LayerFacts(True, False, True)
PARAMETER_FREE = LayerFacts(False, False, False)


def _keyword_value(call: ast.Call, name: str, default: bool) -> bool | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, bool):
                return keyword.value.value
            return None
    return default


def sequence(layers: list[LayerFacts | None]) -> LayerFacts:
    """Facts of layers applied one after the other (`nn.Sequential`); an unknown layer is
    taken to pass gradients on and to save nothing."""
    saves_alone = saves_with = has_parameters = False
    for layer in layers:
        if layer is None:
            continue
        if layer.saves_alone or (has_parameters and layer.saves_with_grad_input):
            saves_alone = True
        saves_with = saves_with or layer.saves_with_grad_input
        has_parameters = has_parameters or layer.has_parameters
    return LayerFacts(has_parameters, saves_alone, saves_with or saves_alone)


class ClassTable:
    """The module classes of one source file, read on demand (`facts(call)`)."""

    def __init__(self, tree: ast.Module, resolve_class=None) -> None:
        self.classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
        # `resolve_class(dotted_name)` -> LayerFacts | None for classes of other modules.
        self.resolve_class = resolve_class
        self._class_facts: dict[str, LayerFacts | None] = {}

    def facts(self, node: ast.AST, depth: int = CLASS_DEPTH) -> LayerFacts | None:
        """What the module built by the expression `node` saves; None when not known."""
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SAME_MODULE_METHODS:
            return self.facts(func.value, depth)
        name = dotted(func)
        if name is None:
            return None
        last = name.rsplit(".", 1)[-1]
        torch_layer = name.startswith(("nn.", "torch.nn.")) or "." not in name and name not in self.classes
        if torch_layer and last in WEIGHTED_LAYERS:
            return WEIGHTED
        if torch_layer and last in UNSAVED_PARAMETER_LAYERS:
            return LayerFacts(True, False, False)
        if torch_layer and last in AFFINE_LAYERS:
            keyword, default = AFFINE_LAYERS[last]
            affine = _keyword_value(node, keyword, default)
            return None if affine is None else (WEIGHTED if affine else PARAMETER_FREE)
        if torch_layer and last in CONTAINERS:
            if node.keywords:
                return None
            return sequence([None if isinstance(arg, ast.Starred) else self.facts(arg, depth) for arg in node.args])
        if torch_layer and last in WRAPPERS and node.args:
            return self.facts(node.args[0], depth)
        if name in self.classes:
            return self.class_facts(name, depth)
        if name.startswith(("nn.", "torch.nn.")):
            return PARAMETER_FREE if last[:1].isupper() else None
        if self.resolve_class is not None and depth > 0:
            return self.resolve_class(name, depth - 1)
        return None

    def class_facts(self, name: str, depth: int) -> LayerFacts | None:
        if name not in self._class_facts:
            self._class_facts[name] = None  # recursion guard
            self._class_facts[name] = self._read_class(self.classes[name], depth) if depth > 0 else None
        return self._class_facts[name]

    def _read_class(self, klass: ast.ClassDef, depth: int) -> LayerFacts | None:
        methods = {node.name: node for node in klass.body if isinstance(node, ast.FunctionDef)}
        init, forward = methods.get("__init__"), methods.get("forward")
        if forward is None:
            return None
        layers: dict[str, LayerFacts | None] = {}
        for node in ast.walk(init) if init is not None else ():
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and dotted(target.value) == "self":
                        # Assigned twice: known only if both agree.
                        found = self.facts(node.value, depth - 1)
                        layers[target.attr] = found if layers.get(target.attr, found) == found else None
        return forward_facts(forward, layers)


def forward_facts(forward: ast.FunctionDef, layers: dict[str, LayerFacts | None]) -> LayerFacts:
    """A name-level dataflow over `forward`: which `self.x(...)` calls get an argument computed
    from the input, and which one computed from another weighted layer's output."""
    inputs = {arg.arg for arg in forward.args.args[1:] + forward.args.kwonlyargs}
    from_input: set[str] = set(inputs)
    from_weights: set[str] = set()
    saves_alone = saves_with = has_parameters = False

    def layer_of(call: ast.Call) -> LayerFacts | None:
        if isinstance(call.func, ast.Attribute) and dotted(call.func.value) == "self":
            return layers.get(call.func.attr)
        return None

    def mentions(node: ast.AST, names: set[str]) -> bool:
        return any(isinstance(inner, ast.Name) and inner.id in names for inner in ast.walk(node))

    def from_weight_output(node: ast.AST) -> bool:
        return mentions(node, from_weights) or any(
            isinstance(inner, ast.Call) and (layer_of(inner) or PARAMETER_FREE).has_parameters
            for inner in ast.walk(node))

    for _ in range(2):  # twice: a loop in forward feeds names back
        for node in ast.walk(forward):
            if isinstance(node, ast.Call):
                layer = layer_of(node)
                if layer is None:
                    continue
                arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
                has_parameters = has_parameters or layer.has_parameters
                if layer.saves_alone or (layer.saves_with_grad_input and any(from_weight_output(a) for a in arguments)):
                    saves_alone = True
                if layer.saves_with_grad_input and any(mentions(a, from_input) for a in arguments):
                    saves_with = True
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {inner.id for target in targets for inner in ast.walk(target) if isinstance(inner, ast.Name)}
                if mentions(node.value, from_input):
                    from_input |= names
                if from_weight_output(node.value):
                    from_weights |= names
    return LayerFacts(has_parameters, saves_alone, saves_with or saves_alone)


@functools.lru_cache(maxsize=1024)
def file_classes(path: str, digest: str) -> ClassTable | None:
    """The class table of the file `path` as of `digest` (other modules of the tree)."""
    tree = module_tree(path, digest)
    return None if tree is None else ClassTable(tree)


def expression_facts(code: str, table: ClassTable) -> LayerFacts | None:
    """Facts of the module built by the source expression `code` (a binding's value)."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return None
    return table.facts(tree.body)
