"""Training-loop facts: what each `for` / `while` body does with gradients, in statement order.

One walk over the file records *sites*: `.backward()` calls, optimizer `step()` calls, manual
updates through `w.grad`, gradient resets, calls of other functions (which may reset), and
jumps (`break`, `continue`, `return`, `raise`). Each site knows its function scope and the
chain of enclosing loops and branches (`if` / `else` / `except` / comprehension) inside that
scope, so a loop's body is "the sites with this loop among their frames" (nested blocks
included, nested function definitions excluded: they are scopes of their own).

What a step or a reset concerns is described by *roots*: the dotted paths of the objects that
own the parameters (`model` for `SGD(model.parameters())`, `{"w", "b"}` for `SGD([w, b])`), or
None when unknown. Two paths are related when one is a prefix of the other (`model` holds
`model.fc.weight`). Unknown always counts as related: the rules built on these facts only
speak when a reset is provably missing.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Iterator

import libcst as cst

from varlint.analysis.tree import walk
from varlint.analysis.gradflow import RequiresGrad
from varlint.analysis.torch_api import GRAD_NEUTRAL_METHODS
from varlint.analysis.tree_methods import neutral_method
from varlint.analysis.names import path_of

Roots = frozenset[str] | None

# How many calls deep a helper's reset is followed (`train_step()` -> `reset()` -> zero_grad).
HELPER_DEPTH = 3
# How many name bindings are followed when resolving what a parameter list holds.
BINDING_DEPTH = 4

# Calls on tensors / modules / optimizers that never reset gradients (so they are not
# "possible resets" when they are called on the objects a step concerns).
KNOWN_METHODS = frozenset(
    {
        "step", "zero_grad", "backward", "parameters", "named_parameters", "modules", "children",
        "named_modules", "train", "eval", "forward", "to", "cuda", "cpu", "double", "float",
        "half", "state_dict", "load_state_dict", "add_param_group", "item", "detach", "size",
        "view", "mean", "sum", "numpy", "tolist", "requires_grad_", "register_buffer",
        "register_parameter", "apply", "append", "extend", "format", "write",
    }
)

# `opt`, `optim`, `optimizer`, `optimizerD`, `opt_g`, `g_optimizer`, `self.optimizer_G`...
OPTIMIZER_NAME = re.compile(r"(?:[A-Za-z0-9]*_)?[Oo]pt(?:im|imizer|imiser)?(?:_\w*|[A-Z0-9]\w*)?")
# Optimizer classes live in torch.optim; schedulers and SWA helpers do not consume gradients.
NOT_OPTIMIZERS = ("torch.optim.lr_scheduler.", "torch.optim.swa_utils.")


class SiteKind(enum.Enum):
    BACKWARD = "backward"  # receiver: the tensor backward is called on
    STEP = "step"  # key: the optimizer's source text
    UPDATE = "update"  # roots: the tensors whose .grad the update consumes
    RESET = "reset"  # key (optimizer resets) and roots: what is reset
    CALL = "call"  # any other call: a helper that may reset
    JUMP = "jump"  # break / continue / return / raise


@dataclass(frozen=True, eq=False)
class Frame:
    """An enclosing loop body, or a branch that may not run (`if` body, `else`, `except`)."""

    node: cst.CSTNode
    is_loop: bool


@dataclass(eq=False)
class Site:
    kind: SiteKind
    node: cst.CSTNode  # where a diagnostic about this site points
    scope: cst.CSTNode  # the function (or module) whose body holds it
    frames: tuple[Frame, ...]  # enclosing loops and branches inside `scope`, outermost first
    order: int  # source order
    receiver: cst.BaseExpression | None = None
    key: str | None = None
    roots: Roots = None
    # UPDATE: the tensor paths updated (to insert `x.grad = None` after them).
    targets: tuple[str, ...] = ()
    # A site of a helper seen at a call: the call, in the function whose loop runs it (the
    # site's `node` stays where it is in the helper; key and roots are the caller's names).
    via: cst.CSTNode | None = None

    @property
    def where(self) -> cst.CSTNode:
        """Where a diagnostic about the loop points: the call running a helper's site."""
        return self.via if self.via is not None else self.node

    def frames_inside(self, loop: "Loop") -> tuple[Frame, ...]:
        return frames_inside(self.frames, loop.node)

    def loops(self) -> list[cst.CSTNode]:
        return [frame.node for frame in self.frames if frame.is_loop]


@dataclass(eq=False)
class Loop:
    node: cst.For | cst.While
    scope: cst.CSTNode
    sites: list[Site] = field(default_factory=list)  # in source order

    def of(self, kind: SiteKind) -> list[Site]:
        return [site for site in self.sites if site.kind is kind]

    def directly(self, site: Site) -> bool:
        """Whether `site` runs once per iteration of this loop (no nested loop in between)."""
        return not any(frame.is_loop for frame in site.frames_inside(self))


@dataclass(frozen=True)
class Binding:
    value: cst.BaseExpression | None  # None: bound by a `for` target or an unpacking
    scope: cst.CSTNode  # where the assignment is (names in `value` resolve from there)
    frames: tuple[Frame, ...]


def frames_inside(frames: tuple[Frame, ...], loop_node: cst.CSTNode) -> tuple[Frame, ...]:
    """The frames between `loop_node`'s body and what `frames` lead to."""
    for index, frame in enumerate(frames):
        if frame.node is loop_node:
            return frames[index + 1 :]
    raise ValueError("not inside this loop")


def conditional(frames: Iterable[Frame]) -> bool:
    """Whether some branch among `frames` may not run."""
    return any(not frame.is_loop for frame in frames)


def head(path: str) -> str:
    return path.split(".", 1)[0]


def related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def roots_related(a: Roots, b: Roots) -> bool:
    if a is None or b is None:
        return True
    return any(related(x, y) for x in a for y in b)


def strip_data(expression: cst.BaseExpression) -> cst.BaseExpression:
    """`w.data` -> `w` (an update through `.data` updates `w`)."""
    if isinstance(expression, cst.Attribute) and expression.attr.value == "data":
        return expression.value
    return expression


def grad_owner(expression: cst.BaseExpression) -> cst.BaseExpression | None:
    """`w` for `w.grad` or `w.grad.data`; None otherwise."""
    expression = strip_data(expression)
    if isinstance(expression, cst.Attribute) and expression.attr.value == "grad":
        return expression.value
    return None


def grad_owners(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """Every `x` read as `x.grad` inside `node`."""
    found: list[cst.BaseExpression] = []

    class Collector(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if attribute.attr.value == "grad":
                found.append(attribute.value)

    walk(node, Collector())
    return found


def is_zero(expression: cst.BaseExpression) -> bool:
    return isinstance(expression, (cst.Integer, cst.Float)) and float(expression.value) == 0


class LoopFacts:
    """The training-loop facts of one file (see the module docstring)."""

    def __init__(self, context) -> None:
        self.context = context
        walker = _Walker(self)
        walk(context.module, walker)
        self.sites: list[Site] = walker.sites
        self.loops: dict[cst.CSTNode, Loop] = walker.loops
        self.scope_parent: dict[cst.CSTNode, cst.CSTNode] = walker.scope_parent
        self.bindings: dict[tuple[cst.CSTNode, str], list[Binding]] = walker.bindings
        self.functions: dict[str, list[cst.FunctionDef]] = walker.functions
        self.methods: dict[str, list[cst.FunctionDef]] = walker.methods
        self.classes: set[str] = walker.classes
        self.declared_global: set[str] = walker.declared_global
        self._training: dict[cst.CSTNode, bool] = {}
        self._classify_steps()
        self.sites_by_scope: dict[cst.CSTNode, list[Site]] = {}
        for site in self.sites:
            self.sites_by_scope.setdefault(site.scope, []).append(site)
        self._resolve_site_roots()
        self._expansions: dict[cst.CSTNode, list[Site] | None] = {}
        for site in self.sites:
            seen = [site] if site.kind is not SiteKind.CALL else self.expansion(site) or [site]
            for node in site.loops():
                self.loops[node].sites.extend(seen)

    # --- name resolution -----------------------------------------------------------------

    def scope_chain(self, scope: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """`scope`, then the scopes whose names it can see (class bodies skipped, as in Python)."""
        first = True
        while scope is not None:
            if first or not isinstance(scope, cst.ClassDef):
                yield scope
            first = False
            scope = self.scope_parent.get(scope)

    def parent_scope(self, scope: cst.CSTNode) -> cst.CSTNode | None:
        return self.scope_parent.get(scope)

    def scope_of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The function, lambda, class or module whose body holds `node`."""
        parents = self.context.parents
        while node in parents:
            node = parents[node]
            if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
                return node
        return self.context.module

    def bindings_of(self, path: str, scope: cst.CSTNode) -> list[Binding]:
        if path.startswith("self."):
            owner = self.scope_parent.get(scope)  # a method's class: `self.x` set in any method
            return self.bindings.get((owner, path), []) if isinstance(owner, cst.ClassDef) else []
        for candidate in self.scope_chain(scope):
            found = self.bindings.get((candidate, path))
            if found:
                return found
        return []

    def optimizer_binding(self, path: str, scope: cst.CSTNode) -> Binding | None:
        """The binding of `path` to a `torch.optim.X(...)` call, if that is its only binding."""
        bindings = self.bindings_of(path, scope)
        if len(bindings) == 1 and self.is_optimizer_call(bindings[0].value):
            return bindings[0]
        return None

    def is_optimizer_call(self, value: cst.CSTNode) -> bool:
        if not isinstance(value, cst.Call):
            return False
        return any(
            name.startswith("torch.optim.") and not name.startswith(NOT_OPTIMIZERS)
            for name in self.context.names.qualified(value.func)
        )

    def is_optimizer(self, expression: cst.BaseExpression, scope: cst.CSTNode, depth: int = BINDING_DEPTH) -> bool:
        """A torch optimizer by its binding (aliases followed: `self.opt = opt`); an object
        built elsewhere (a parameter, a third-party optimizer) by its name."""
        path = path_of(expression)
        if path is None or depth <= 0:
            return False
        bindings = self.bindings_of(path, scope)
        if any(self.is_optimizer_call(binding.value) for binding in bindings):
            return True
        for binding in bindings:
            if isinstance(binding.value, cst.Call) and self.is_not_optimizer_call(binding.value):
                return False
            if path_of(binding.value) is not None and self.is_optimizer(binding.value, binding.scope, depth - 1):
                return True
        return OPTIMIZER_NAME.fullmatch(path.rsplit(".", 1)[-1]) is not None

    def is_not_optimizer_call(self, call: cst.Call) -> bool:
        """Something else of torch (a scheduler...), or code of this module (a wrapper whose
        `step()` is the user's own)."""
        if self.callees(call) is not None or (isinstance(call.func, cst.Name) and call.func.value in self.classes):
            return True
        return any(name.startswith("torch.") for name in self.context.names.qualified(call.func))

    def optimizer_roots(self, path: str, scope: cst.CSTNode) -> Roots:
        """What the optimizer `path` steps; also when it is built in each branch of an `if`
        (`Adam(netG.parameters())` / `RMSprop(netG.parameters())`) from the same objects."""
        binding = self.optimizer_binding(path, scope)
        if binding is not None:
            return self.binding_roots(binding)
        bindings = self.bindings_of(path, scope)
        if len(bindings) < 2 or not all(self.is_optimizer_call(b.value) for b in bindings):
            return None
        found = {self.binding_roots(b) for b in bindings}
        return found.pop() if len(found) == 1 else None

    def binding_roots(self, binding: Binding) -> Roots:
        """What the optimizer built by `binding` steps: the roots of its first argument."""
        call: cst.Call = binding.value  # type: ignore[assignment]
        return self.roots(call.args[0].value, binding.scope) if call.args else None

    def roots(self, expression: cst.BaseExpression, scope: cst.CSTNode, depth: int = BINDING_DEPTH) -> Roots:
        """The objects holding the parameters `expression` lists (see the module docstring)."""
        if depth <= 0:
            return None
        if isinstance(expression, cst.Call):
            if isinstance(expression.func, cst.Attribute) and expression.func.attr.value == "parameters":
                owner = path_of(expression.func.value)
                return None if owner is None else frozenset({owner})
            names = self.context.names.qualified(expression.func)
            if names & {"builtins.list", "builtins.tuple", "itertools.chain", "builtins.filter"}:
                return self._union((arg.value for arg in expression.args), scope, depth)
            return None
        if isinstance(expression, cst.BinaryOperation) and isinstance(expression.operator, cst.Add):
            return self._union((expression.left, expression.right), scope, depth)
        if isinstance(expression, (cst.List, cst.Tuple)):
            return self._union((element.value for element in expression.elements), scope, depth)
        if isinstance(expression, cst.Dict):  # a parameter group: {"params": ..., "lr": ...}
            for element in expression.elements:
                if (
                    isinstance(element, cst.DictElement)
                    and isinstance(element.key, cst.SimpleString)
                    and element.key.evaluated_value == "params"
                ):
                    return self.roots(element.value, scope, depth - 1)
            return None
        path = path_of(expression)
        if path is None:
            return None
        # A name for a parameter list or an alias (`params = list(model.parameters())`,
        # `w = model.fc.weight`) resolves through its one binding; any other object is itself.
        bindings = self.bindings_of(path, scope)
        if len(bindings) == 1 and bindings[0].value is not None:
            resolved = self.roots(bindings[0].value, bindings[0].scope, depth - 1)
            if resolved is not None:
                return resolved
        return frozenset({path})

    def _union(self, expressions: Iterable[cst.BaseExpression], scope: cst.CSTNode, depth: int) -> Roots:
        found: set[str] = set()
        for expression in expressions:
            roots = self.roots(expression, scope, depth - 1)
            if roots is None:
                return None
            found |= roots
        return frozenset(found)

    def tensor_roots(self, expression: cst.BaseExpression, site_frames: tuple[Frame, ...], scope) -> Roots:
        """What `expression` (a tensor whose .grad is used) belongs to: a `for p in
        model.parameters()` variable resolves to `model`."""
        path = path_of(expression)
        if path is None:
            return None
        for frame in reversed(site_frames):
            iterable = _iterable_of(frame.node, head(path))
            if iterable is not None:
                return self.roots(iterable, scope)
        return self.roots(expression, scope)

    @cached_property
    def known_roots(self) -> frozenset[str]:
        """Every object some optimizer of the file is built from."""
        found: set[str] = set()
        for bindings in self.bindings.values():
            for binding in bindings:
                if self.is_optimizer_call(binding.value):
                    found |= self.binding_roots(binding) or set()
        return frozenset(found)

    def _classify_steps(self) -> None:
        """`X.step()` consumes gradients only when X is an optimizer (not a scheduler); decided
        once every binding of the file is known."""
        for site in self.sites:
            if site.kind is SiteKind.STEP and not self.is_optimizer(site.receiver, site.scope):  # type: ignore[arg-type]
                site.kind = SiteKind.CALL

    def _resolve_site_roots(self) -> None:
        """Fill in what each step / reset / update concerns, now that bindings are known."""
        for site in self.sites:
            if site.kind is SiteKind.STEP:
                site.roots = self.optimizer_roots(site.key, site.scope)  # type: ignore[arg-type]
            elif site.kind is SiteKind.RESET and site.key is not None:
                # `X.zero_grad()`: an optimizer (its parameters), or a module (itself).
                if self.is_optimizer(site.receiver, site.scope):  # type: ignore[arg-type]
                    site.roots = self.optimizer_roots(site.key, site.scope)
                elif any(related(site.key, root) for root in self.known_roots):
                    site.roots, site.key = frozenset({site.key}), None
                else:
                    site.roots, site.key = None, None  # an unknown object: may reset anything
            elif site.kind in (SiteKind.RESET, SiteKind.UPDATE) and site.receiver is not None:
                site.roots = self.tensor_roots(site.receiver, site.frames, site.scope)
            elif site.kind is SiteKind.CALL:
                site.roots = self._call_roots(site.node, site.frames, site.scope)  # type: ignore[arg-type]

    def _call_roots(self, call: cst.Call, frames, scope) -> Roots:
        """The objects an unresolved call receives (itself included, for a method)."""
        expressions = [arg.value for arg in call.args]
        if isinstance(call.func, cst.Attribute):
            expressions.append(call.func.value)
        found: set[str] = set()
        for expression in expressions:
            if isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute):
                expression = expression.func.value  # `f(model.parameters())` passes `model`
            path = path_of(expression)
            if path is not None:
                found |= self.tensor_roots(expression, frames, scope) or {path}
                found.add(path)
        return frozenset(found)

    # --- helpers that reset --------------------------------------------------------------

    def callees(self, call: cst.Call) -> list[cst.FunctionDef] | None:
        """The same-module functions a call may run; None when it is not one of ours."""
        if isinstance(call.func, cst.Name):
            found = self.functions.get(call.func.value)
        elif isinstance(call.func, cst.Attribute):
            found = self.methods.get(call.func.attr.value)
        else:
            found = None
        return found or None

    def helper_resets(self, call: cst.Call, depth: int = HELPER_DEPTH) -> bool:
        """Whether calling `call` runs a reset in a function of this module (a few levels)."""
        if depth <= 0:
            return False
        for function in self.callees(call) or ():
            for site in self.sites_by_scope.get(function, ()):
                if site.kind is SiteKind.RESET:
                    return True
                if site.kind is SiteKind.CALL and self.helper_resets(site.node, depth - 1):  # type: ignore[arg-type]
                    return True
        return False

    def helper_backward(self, call: cst.Call, depth: int = HELPER_DEPTH) -> bool:
        """Whether calling `call` runs a `.backward()` in a function of this module."""
        if depth <= 0:
            return False
        for function in self.callees(call) or ():
            for site in self.sites_by_scope.get(function, ()):
                if (
                    site.kind is SiteKind.BACKWARD
                    or (site.kind is SiteKind.CALL and self.helper_backward(site.node, depth - 1))  # type: ignore[arg-type]
                ):
                    return True
        return False

    def unknown_call(self, call: cst.Call, scope: cst.CSTNode | None = None) -> bool:
        """A call of code varlint cannot see (imported from elsewhere, not torch, not builtins)."""
        if self.callees(call) is not None:
            return False
        if isinstance(call.func, cst.Attribute) and grad_neutral(call.func.attr.value, call.func.value):
            return False
        if scope is not None and self.tree_method_is_neutral(call, scope):
            return False
        names = self.context.names.qualified(call.func)
        if not names:
            # A local callable (a module instance, a loss object, a parameter): its
            # attribute calls may be anything, a plain call is a forward pass.
            return isinstance(call.func, cst.Attribute)
        return not any(name.startswith(("torch.", "builtins.", "numpy.", "math.")) for name in names)

    def tree_method_is_neutral(self, call: cst.Call, scope: cst.CSTNode) -> bool:
        """`rnn.initHidden()`, `rnn` bound once to `RNN(...)`, a class of another module of the
        tree whose `initHidden` never touches gradients (see analysis/tree_methods.py)."""
        if not isinstance(call.func, cst.Attribute):
            return False
        path = path_of(call.func.value)
        bindings = self.bindings_of(path, scope) if path is not None else []
        if len(bindings) != 1 or not isinstance(bindings[0].value, cst.Call):
            return False
        names = self.context.names.qualified(bindings[0].value.func)
        if len(names) != 1:
            return False
        module_name, _, class_name = next(iter(names)).rpartition(".")
        project = self.context.project
        info = project.module(module_name) if module_name else None
        if info is None or class_name not in info.classes:
            return False
        return neutral_method(info.path, info.digest, class_name, call.func.attr.value)

    # --- helpers seen through their calls -------------------------------------------------

    def expansion(self, call_site: Site, depth: int = HELPER_DEPTH, stack: tuple = ()) -> list[Site] | None:
        """The sites a call of a helper of this module runs, as the caller sees them: the
        helper's backward / step / reset / update / call sites, with the call's frames before
        their own, in the helper's order, and their keys and roots in the caller's names
        (`def train(model, opt)` called as `train(net, sgd)` steps `sgd`). None when the call
        is not one helper varlint can follow (several candidates, recursion, too deep)."""
        call: cst.Call = call_site.node  # type: ignore[assignment]
        if not stack and call in self._expansions:
            return self._expansions[call]
        function = self.followed_callee(call)
        found: list[Site] | None = None
        if function is not None and function not in stack and depth > 0:
            arguments = parameter_arguments(function, call)
            found = []
            after_jump: tuple[Frame, ...] = ()  # sites after an early `return` may not run
            for inner in self.sites_by_scope.get(function, ()):
                if inner.kind is SiteKind.JUMP:
                    if isinstance(inner.node, (cst.Return, cst.Raise)) and not after_jump:
                        after_jump = (Frame(inner.node, False),)
                    continue
                nested = None
                if inner.kind is SiteKind.CALL:
                    nested = self.expansion(inner, depth - 1, (*stack, function))
                for site in nested if nested is not None else [inner]:
                    found.append(self.as_seen_by(site, call_site, after_jump, arguments))
            count = len(found)
            for index, site in enumerate(found):
                site.order = call_site.order + (index + 1) / (count + 1)
        if not stack:
            self._expansions[call] = found
        return found

    def followed_callee(self, call: cst.Call) -> cst.FunctionDef | None:
        """The one function of this module a call runs, when varlint can tell: a plain call of
        a module function, or a method called on `self` or defined by one class only (and not
        named like a torch method, which `model.train()` may be)."""
        callees = self.callees(call)
        if not callees or len(callees) != 1:
            return None
        if isinstance(call.func, cst.Attribute):
            method = call.func.attr.value
            on_self = path_of(call.func.value) == "self"
            if not on_self and (method in KNOWN_METHODS or method in GRAD_NEUTRAL_METHODS):
                return None
        return callees[0]

    def as_seen_by(self, site: Site, call_site: Site, after_jump: tuple, arguments: dict) -> Site:
        """`site` (of a helper) as its caller sees it (see `expansion`)."""
        key = map_path(site.key, arguments) if site.key is not None else None
        roots = self.map_roots(site.roots, arguments, call_site.scope)
        if site.key is not None and key != site.key and site.kind in (SiteKind.STEP, SiteKind.RESET):
            # The optimizer is the caller's object now: what it steps is known from there.
            roots = self.optimizer_roots(key, call_site.scope) if key is not None else None
        return Site(
            site.kind, site.node, call_site.scope, (*call_site.frames, *after_jump, *site.frames), 0,
            receiver=site.receiver, key=key, roots=roots, targets=site.targets,
            via=call_site.via if call_site.via is not None else call_site.node,
        )

    def map_roots(self, roots: Roots, arguments: dict, scope: cst.CSTNode) -> Roots:
        if roots is None:
            return None
        found: set[str] = set()
        for root in roots:
            name = head(root)
            if name in arguments and root == name and arguments[name] is not None:
                mapped = self.roots(arguments[name], scope)  # `f([w, b])`, `f(model.parameters())`
            else:
                path = map_path(root, arguments)
                mapped = None if path is None else frozenset({path})
            if mapped is None:
                return None
            found |= mapped
        return frozenset(found)

    # --- the facts the rules ask for -----------------------------------------------------

    def loop(self, node: cst.For | cst.While) -> Loop:
        return self.loops[node]

    def training_backwards(self, loop: Loop) -> list[Site]:
        """`.backward()` calls in the loop on values that may require grad."""
        gradflow = self.context.gradflow
        return [
            site
            for site in loop.of(SiteKind.BACKWARD)
            if site.receiver is None or gradflow.facts(site.receiver).requires_grad is not RequiresGrad.NO
        ]

    def is_training_loop(self, loop: Loop) -> bool:
        if loop.node not in self._training:
            self._training[loop.node] = bool(self.training_backwards(loop))
        return self._training[loop.node]

    def training_loop_of(self, site: Site) -> Loop | None:
        """The innermost enclosing loop of `site` that is a training loop."""
        for node in reversed(site.loops()):
            loop = self.loops[node]
            if self.is_training_loop(loop):
                return loop
        return None

    def consumers(self, loop: Loop) -> list[Site]:
        """The steps and manual updates whose innermost training loop is `loop`."""
        return [
            site
            for site in loop.sites
            if site.kind in (SiteKind.STEP, SiteKind.UPDATE) and self.training_loop_of(site) is loop
        ]

    def resets(self, loop: Loop, consumer: Site) -> list[Site]:
        """The sites in `loop` that reset (or may reset) the gradients `consumer` uses."""
        found = []
        for site in loop.sites:
            if site.kind is SiteKind.RESET:
                if (consumer.key is not None and site.key == consumer.key) or roots_related(site.roots, consumer.roots):
                    found.append(site)
            elif site.kind is SiteKind.CALL:
                call: cst.Call = site.node  # type: ignore[assignment]
                if self.helper_resets(call):
                    found.append(site)
                elif self.unknown_call(call, site.scope) and self._receives(site, consumer):
                    found.append(site)
        return found

    def unreset_roots(self, loop: Loop, consumer: Site, resets: list[Site]) -> list[str]:
        """The objects of `consumer` that none of `resets` covers, when every one of them is a
        reset of known objects (`encoder.zero_grad()` alone for an optimizer of `encoder` and
        `decoder`): their gradients accumulate. Empty when anything is unknown."""
        if consumer.roots is None or not resets:
            return []
        reset_roots: set[str] = set()
        for site in resets:
            if site.kind is not SiteKind.RESET or site.roots is None:
                return []
            if consumer.key is not None and site.key == consumer.key:
                return []
            reset_roots |= site.roots
        return sorted(
            root for root in consumer.roots
            if not any(root == owner or root.startswith(owner + ".") for owner in reset_roots)
            and not self.rebound(loop, head(root))
        )

    def _receives(self, call_site: Site, consumer: Site) -> bool:
        received = call_site.roots or frozenset()
        if consumer.key is not None and consumer.key in received:
            return True
        return consumer.roots is not None and roots_related(received, consumer.roots) and bool(received)

    def rebound(self, loop: Loop, path: str) -> bool:
        """Whether `path` gets a new value in the loop (its target, an assignment in the body)."""
        if isinstance(loop.node, cst.For) and head(path) in target_names(loop.node.target):
            return True
        return bool(self.assignments_in(loop, path))

    def fresh_each_iteration(self, loop: Loop, consumer: Site) -> bool:
        """Whether every tensor the consumer uses is rebound in the loop: a fresh leaf starts
        each iteration with no grad, so nothing accumulates."""
        if consumer.roots is None:
            return False
        return all(self.rebound(loop, head(root)) for root in consumer.roots)

    def assignments_in(self, loop: Loop, path: str) -> list[Binding]:
        return [
            binding
            for binding in self.bindings_of(path, loop.scope)
            if any(frame.node is loop.node for frame in binding.frames)
        ]

    def enclosing_loop(self, node: cst.CSTNode) -> Loop | None:
        """The innermost loop whose body holds `node` in the same function."""
        parents = self.context.parents
        child = node
        while child in parents:
            parent = parents[child]
            if isinstance(parent, (cst.For, cst.While)) and child is parent.body:
                return self.loops[parent]
            if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return None
            child = parent
        return None


# In-place tensor methods that only change the values of their receiver.
IN_PLACE_VALUE_METHODS = frozenset({
    "zero", "fill", "copy", "normal", "uniform", "resize", "resize_as", "bernoulli", "random",
    "exponential", "geometric", "cauchy", "log_normal", "index_fill", "masked_fill", "scatter",
})


def grad_neutral(method: str, receiver: cst.BaseExpression) -> bool:
    """A method that never touches `.grad`: `x.mm(w)`, `h.view(-1)`, `model.train()`, and an
    in-place change of values (`p.data.clamp_(...)`, `noise.normal_(0, 1)`) on something that
    is not a `.grad`."""
    if method in KNOWN_METHODS or method in GRAD_NEUTRAL_METHODS:
        return True
    if not method.endswith("_") or method.endswith("__"):
        return False
    base = method[:-1]
    if base not in GRAD_NEUTRAL_METHODS and base not in IN_PLACE_VALUE_METHODS:
        return False
    path = path_of(strip_calls(receiver))
    return path is not None and "grad" not in path.split(".")


def strip_calls(expression: cst.BaseExpression) -> cst.BaseExpression:
    """`noise.resize_(...)` -> `noise` (the receiver of a chain of method calls)."""
    while isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute):
        expression = expression.func.value
    return expression


def parameter_arguments(function: cst.FunctionDef, call: cst.Call) -> dict[str, cst.BaseExpression | None]:
    """Each parameter of `function` -> the expression `call` passes for it (None: unknown, such
    as a default or anything behind `*args`). A method's first parameter is the receiver."""
    params = function.params
    positional = [*params.posonly_params, *params.params]
    names = [param.name.value for param in (*positional, *params.kwonly_params)]
    if isinstance(params.star_arg, cst.Param):
        names.append(params.star_arg.name.value)
    if isinstance(params.star_kwarg, cst.Param):
        names.append(params.star_kwarg.name.value)
    arguments: dict[str, cst.BaseExpression | None] = dict.fromkeys(names)
    passed = list(call.args)
    if isinstance(call.func, cst.Attribute) and positional and not is_static(function):
        arguments[positional[0].name.value] = call.func.value
        positional = positional[1:]
    if any(arg.star for arg in passed):
        return arguments
    index = 0
    for arg in passed:
        if arg.keyword is not None:
            if arg.keyword.value in arguments:
                arguments[arg.keyword.value] = arg.value
        elif index < len(positional):
            arguments[positional[index].name.value] = arg.value
            index += 1
    return arguments


def is_static(function: cst.FunctionDef) -> bool:
    return any(
        isinstance(decorator.decorator, cst.Name) and decorator.decorator.value in ("staticmethod", "classmethod")
        for decorator in function.decorators
    )


def map_path(path: str, arguments: dict) -> str | None:
    """`optimizer.param_groups` in a helper -> `opt.param_groups` at a call passing `opt`; None
    when the parameter's argument is no plain name or attribute chain; globals unchanged."""
    name, _, rest = path.partition(".")
    if name not in arguments:
        return path
    base = path_of(arguments[name])
    if base is None:
        return None
    return f"{base}.{rest}" if rest else base


def target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {name for element in target.elements for name in target_names(element.value)}
    return set()


def _iterable_of(node: cst.CSTNode, name: str) -> cst.BaseExpression | None:
    """The iterable a `for` loop (or comprehension) binds `name` from."""
    if isinstance(node, cst.For) and isinstance(node.target, cst.Name) and node.target.value == name:
        return node.iter
    if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            if isinstance(comp.target, cst.Name) and comp.target.value == name:
                return comp.iter
            comp = comp.inner_for_in
    return None


class _Walker(cst.CSTVisitor):
    """One pass over the module recording sites, loops, bindings and function definitions."""

    def __init__(self, facts: LoopFacts) -> None:
        self.facts = facts
        self.sites: list[Site] = []
        self.loops: dict[cst.CSTNode, Loop] = {}
        self.scope_parent: dict[cst.CSTNode, cst.CSTNode] = {}
        self.bindings: dict[tuple[cst.CSTNode, str], list[Binding]] = {}
        self.functions: dict[str, list[cst.FunctionDef]] = {}
        self.methods: dict[str, list[cst.FunctionDef]] = {}
        self.classes: set[str] = set()
        self.declared_global: set[str] = set()
        self.scopes: list[cst.CSTNode] = []
        self.frames: list[list[Frame]] = []  # per open scope

    # --- scopes and frames ---------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self.scopes.append(node)
        self.frames.append([])

    def _enter_scope(self, node: cst.CSTNode) -> None:
        self.scope_parent[node] = self.scopes[-1]
        self.scopes.append(node)
        self.frames.append([])

    def _leave_scope(self, node: cst.CSTNode) -> None:
        self.scopes.pop()
        self.frames.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        enclosing = self.scopes[-1]
        table = self.methods if isinstance(enclosing, cst.ClassDef) else self.functions
        table.setdefault(node.name.value, []).append(node)
        self._enter_scope(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._leave_scope(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.add(node.name.value)
        self._enter_scope(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._leave_scope(node)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._enter_scope(node)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self._leave_scope(node)

    def _push(self, node: cst.CSTNode, is_loop: bool) -> None:
        self.frames[-1].append(Frame(node, is_loop))

    def _pop(self, node: cst.CSTNode) -> None:
        self.frames[-1].pop()

    def visit_For_body(self, node: cst.For) -> None:
        self.loops[node] = Loop(node, self.scopes[-1])
        self._push(node, True)

    def leave_For_body(self, node: cst.For) -> None:
        self._pop(node)

    def visit_While_body(self, node: cst.While) -> None:
        self.loops[node] = Loop(node, self.scopes[-1])
        self._push(node, True)

    def leave_While_body(self, node: cst.While) -> None:
        self._pop(node)

    # Branches that may not run. An `elif` is an If in the orelse of another: both are pushed.
    def visit_If_body(self, node: cst.If) -> None:
        self._push(node.body, False)

    def leave_If_body(self, node: cst.If) -> None:
        self._pop(node)

    def visit_If_orelse(self, node: cst.If) -> None:
        self._push(node, False)

    def leave_If_orelse(self, node: cst.If) -> None:
        self._pop(node)

    def visit_For_orelse(self, node: cst.For) -> None:
        self._push(node.orelse, False)  # type: ignore[arg-type]

    def leave_For_orelse(self, node: cst.For) -> None:
        self._pop(node)

    def visit_While_orelse(self, node: cst.While) -> None:
        self._push(node.orelse, False)  # type: ignore[arg-type]

    def leave_While_orelse(self, node: cst.While) -> None:
        self._pop(node)

    def visit_Try_orelse(self, node: cst.Try) -> None:
        self._push(node.orelse, False)  # type: ignore[arg-type]

    def leave_Try_orelse(self, node: cst.Try) -> None:
        self._pop(node)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._push(node, False)

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._pop(node)

    def visit_MatchCase(self, node: cst.MatchCase) -> None:
        self._push(node, False)

    def leave_MatchCase(self, node: cst.MatchCase) -> None:
        self._pop(node)

    def _comprehension(self, node: cst.CSTNode) -> None:
        self._push(node, False)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comprehension(node)

    def leave_ListComp(self, node: cst.ListComp) -> None:
        self._pop(node)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._comprehension(node)

    def leave_SetComp(self, node: cst.SetComp) -> None:
        self._pop(node)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comprehension(node)

    def leave_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._pop(node)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._comprehension(node)

    def leave_DictComp(self, node: cst.DictComp) -> None:
        self._pop(node)

    # --- sites ---------------------------------------------------------------------------

    def _site(self, kind: SiteKind, node: cst.CSTNode, **facts) -> None:
        self.sites.append(
            Site(kind, node, self.scopes[-1], tuple(self.frames[-1]), len(self.sites), **facts)
        )

    def visit_Call(self, node: cst.Call) -> None:
        names = self.facts.context.names
        func = node.func
        if names.is_(func, "torch.autograd.backward"):
            self._site(SiteKind.BACKWARD, node, receiver=node.args[0].value if node.args else None)
            return
        if not isinstance(func, cst.Attribute):
            self._site(SiteKind.CALL, node)
            return
        method, receiver = func.attr.value, func.value
        if method == "backward":
            self._site(SiteKind.BACKWARD, node, receiver=receiver)
        elif method == "step" and not node.args and path_of(receiver) is not None:
            # A candidate, confirmed once bindings are known (see LoopFacts._classify_steps).
            # `step(closure)` (LBFGS) resets inside its closure: not a plain consumption.
            self._site(SiteKind.STEP, node, key=path_of(receiver), receiver=receiver)
        elif method == "zero_grad":  # `get_optimizer().zero_grad()`: no key, resets anything
            self._site(SiteKind.RESET, node, key=path_of(receiver), receiver=receiver)
        elif self._grad_reset_call(method, receiver, node):
            self._site(SiteKind.RESET, node, receiver=grad_owner(receiver))
        elif method.endswith("_") and not method.endswith("__"):
            self._update(node, strip_data(receiver), node.args)
        else:
            self._site(SiteKind.CALL, node)

    @staticmethod
    def _grad_reset_call(method: str, receiver: cst.BaseExpression, call: cst.Call) -> bool:
        """`x.grad.zero_()`, `x.grad.data.zero_()`, `x.grad.fill_(0)`, `x.grad.mul_(0)`."""
        if grad_owner(receiver) is None:
            return False
        if method == "zero_":
            return True
        return method in ("fill_", "mul_") and len(call.args) == 1 and is_zero(call.args[0].value)

    def _update(self, node: cst.CSTNode, target: cst.BaseExpression, values) -> None:
        """An in-place change of `target` computed from `target.grad`: a manual step."""
        target_path = path_of(target)
        owners = [owner for value in values for owner in grad_owners(value)]
        if target_path is not None and any(path_of(owner) == target_path for owner in owners):
            self._site(SiteKind.UPDATE, node, receiver=target, targets=(target_path,))
        elif isinstance(node, cst.Call):
            self._site(SiteKind.CALL, node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if grad_owner(node.target) is None:
            self._update(node, strip_data(node.target), [node.value])

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            target_node = target.target
            if isinstance(target_node, cst.Attribute) and target_node.attr.value == "grad":
                self._site(SiteKind.RESET, node, receiver=target_node.value)
            elif isinstance(target_node, cst.Attribute) and target_node.attr.value == "data":
                self._update(node, target_node.value, [node.value])
            self._bind(target_node, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        path = path_of(target)
        if path is None:
            if isinstance(target, (cst.Tuple, cst.List)):  # unpacking: bound, value unknown
                for element in target.elements:
                    self._bind(element.value, None)
            return
        scope = self.scopes[-1]
        owner = self.scope_parent.get(scope) if path.startswith("self.") else scope
        binding = Binding(value, scope, tuple(self.frames[-1]))
        self.bindings.setdefault((owner, path), []).append(binding)

    def visit_For(self, node: cst.For) -> None:
        for name in target_names(node.target):
            self._bind(cst.Name(name), None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, node.value)

    def visit_Global(self, node: cst.Global) -> None:
        self.declared_global |= {item.name.value for item in node.names}

    def visit_Del(self, node: cst.Del) -> None:
        if isinstance(node.target, cst.Attribute) and node.target.attr.value == "grad":
            self._site(SiteKind.RESET, node, receiver=node.target.value)

    def _jump(self, node: cst.CSTNode) -> None:
        self._site(SiteKind.JUMP, node)

    def visit_Break(self, node: cst.Break) -> None:
        self._jump(node)

    def visit_Continue(self, node: cst.Continue) -> None:
        self._jump(node)

    def visit_Return(self, node: cst.Return) -> None:
        self._jump(node)

    def visit_Raise(self, node: cst.Raise) -> None:
        self._jump(node)
