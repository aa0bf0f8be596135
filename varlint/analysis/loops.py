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

Layout: loop_sites.py (the walk recording sites, bindings and definitions), loop_helpers.py
(following calls into helpers of the file), this module (name and root resolution, and the
facts the rules ask for).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Iterable, Iterator

import libcst as cst

from varlint.analysis.tree import walk, walk_together
from varlint.analysis.gradflow import RequiresGrad
from varlint.analysis.loop_helpers import HELPER_DEPTH, KNOWN_METHODS, HelperFollowing, grad_neutral
from varlint.analysis.loop_sites import (
    Binding,
    Frame,
    Loop,
    Roots,
    Site,
    SiteKind,
    SiteWalker,
    _iterable_of,
    conditional,
    frames_inside,
    head,
    related,
    roots_related,
    target_names,
)
from varlint.analysis.names import path_of

__all__ = [
    "BINDING_DEPTH", "HELPER_DEPTH", "KNOWN_METHODS", "Binding", "Frame", "Loop", "LoopFacts", "Roots",
    "Site", "SiteKind", "conditional", "frames_inside", "grad_neutral", "head", "related",
    "roots_related", "target_names",
]

# How many name bindings are followed when resolving what a parameter list holds.
BINDING_DEPTH = 4
# Methods of a module listing its parameters (`named_parameters` in comprehensions over it).
PARAMETER_LISTS = frozenset({"parameters", "named_parameters"})

# `opt`, `optim`, `optimizer`, `optimizerD`, `opt_g`, `g_optimizer`, `self.optimizer_G`...
OPTIMIZER_NAME = re.compile(r"(?:[A-Za-z0-9]*_)?[Oo]pt(?:im|imizer|imiser)?(?:_\w*|[A-Z0-9]\w*)?")
# Optimizer classes live in torch.optim; schedulers and SWA helpers do not consume gradients.
NOT_OPTIMIZERS = ("torch.optim.lr_scheduler.", "torch.optim.swa_utils.")


def sites_walked(context) -> SiteWalker:
    """The file's SiteWalker, walked: by the grad-state analysis when it ran first (one
    traversal for both, see gradflow/statements.py), else now, with the analysis's prepass
    if it has not run yet."""
    gradflow = context.gradflow
    gradflow.loops_started = True
    walker = gradflow.site_walker
    if walker is not None:
        gradflow.site_walker = None
        return walker
    walker = SiteWalker(context.names)
    if gradflow.prepass is None:
        from varlint.analysis.gradflow.statements import Analysis

        prepass = Analysis(context).prepass
        walk_together(context.module, [walker, prepass])
        gradflow.prepass = prepass
    else:
        walk(context.module, walker)
    return walker


class WalkedScopes:
    """What the walk records about names (the scopes, the bindings of every name and `self.x`
    path, the functions, methods and classes of the file) and the name resolution over it,
    without the loop facts built on the sites (`FileContext.scopes`: the grad-state
    analysis's summaries need only these, also in files whose rules never ask for loops)."""

    def __init__(self, context, walker: SiteWalker) -> None:
        self.context = context
        self.walker = walker
        self.scope_parent: dict[cst.CSTNode, cst.CSTNode] = walker.scope_parent
        self.bindings: dict[tuple[cst.CSTNode, str], list[Binding]] = walker.bindings
        self.functions: dict[str, list[cst.FunctionDef]] = walker.functions
        self.methods: dict[str, list[cst.FunctionDef]] = walker.methods
        self.classes: set[str] = walker.classes
        self.declared_global: set[str] = walker.declared_global

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


class LoopFacts(WalkedScopes, HelperFollowing):
    """The training-loop facts of one file (see the module docstring)."""

    def __init__(self, context) -> None:
        # The walk of `FileContext.scopes` when that came first (the walker is handed over once).
        walked = context.__dict__.get("scopes")
        super().__init__(context, walked.walker if walked is not None else sites_walked(context))
        walker = self.walker
        self.sites: list[Site] = walker.sites
        self.loops: dict[cst.CSTNode, Loop] = walker.loops
        self._training: dict[cst.CSTNode, bool] = {}
        self._classify_steps()
        self.sites_by_scope: dict[cst.CSTNode, list[Site]] = {}
        for site in self.sites:
            self.sites_by_scope.setdefault(site.scope, []).append(site)
        self._resolve_site_roots()
        self._expansions: dict[cst.CSTNode, list[Site] | None] = {}
        for site in self.sites:
            enclosing = site.loops()
            if not enclosing:
                continue  # in no loop: its expansion is computed if a rule asks for it
            seen = [site] if site.kind is not SiteKind.CALL else self.expansion(site) or [site]
            for node in enclosing:
                self.loops[node].sites.extend(seen)

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
            if isinstance(expression.func, cst.Attribute) and expression.func.attr.value in PARAMETER_LISTS:
                owner = path_of(expression.func.value)
                return None if owner is None else frozenset({owner})
            if isinstance(expression.func, cst.Attribute) and expression.func.attr.value == "values":
                # `params.values()` of `params = {n: p for n, p in m.named_parameters() ...}`:
                # the dict's roots, only when its one binding says what it holds.
                return self._dict_roots(expression.func.value, scope, depth - 1)
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

    def _dict_roots(self, expression: cst.BaseExpression, scope: cst.CSTNode, depth: int) -> Roots:
        """The objects whose parameters the dict `expression` holds: a comprehension over one
        `m.parameters()` / `m.named_parameters()` (filtered or not); None otherwise."""
        path = path_of(expression)
        if path is None or depth <= 0:
            return None
        bindings = self.bindings_of(path, scope)
        if len(bindings) != 1 or not isinstance(bindings[0].value, (cst.DictComp, cst.ListComp, cst.GeneratorExp)):
            return None
        comprehension = bindings[0].value.for_in
        if comprehension.inner_for_in is not None:
            return None
        return self.roots(comprehension.iter, bindings[0].scope, depth - 1)

    def _union(self, expressions: Iterable[cst.BaseExpression], scope: cst.CSTNode, depth: int) -> Roots:
        # The parts of one expression (`list(a.parameters()) + list(b.parameters()) + ...`):
        # finite syntax, so the depth (which bounds the bindings followed) stays.
        found: set[str] = set()
        for expression in expressions:
            roots = self.roots(expression, scope, depth)
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
            if self.exclusive(loop, site, consumer):
                continue  # never in the same iteration (`if args.use_optimizer:` / `else:`)
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

    def exclusive(self, loop: Loop, a: Site, b: Site) -> bool:
        """Whether `a` and `b` never run in the same iteration: one in the body of an
        `if C:` of the loop, the other in the `else` of an `if C:` (the same or another),
        where C is a name or attribute chain nothing in the loop may change."""
        for side_a, test_a in self.branches(loop, a):
            for side_b, test_b in self.branches(loop, b):
                if side_a != side_b and test_a == test_b and self.stable_in(loop, test_a):
                    return True
        return False

    def branches(self, loop: Loop, site: Site) -> list[tuple[str, str]]:
        """("if" | "else", the test's path) of each `if` of the loop's function holding `site`."""
        parents = self.context.parents
        found = []
        for frame in site.frames_inside(loop):
            node = frame.node
            if node not in parents:
                continue  # a frame of a helper of another module
            if isinstance(node, cst.If):
                side, test = "else", node.test
            elif isinstance(parents[node], cst.If) and parents[node].body is node:  # type: ignore[attr-defined]
                side, test = "if", parents[node].test  # type: ignore[attr-defined]
            else:
                continue
            path = path_of(test)
            if path is not None and self.scope_of(node) is loop.scope:
                found.append((side, path))
        return found

    def stable_in(self, loop: Loop, path: str) -> bool:
        """Whether nothing in an iteration of `loop` may give `path` another value: neither
        it nor an object holding it is assigned in the loop (nor, for attributes, anywhere in
        the file), declared `global` elsewhere, or passed to (or called a method of in) a call."""
        name = head(path)
        if name == "self" or name in self.declared_global or self.rebound(loop, name):
            return False
        prefixes = [".".join(path.split(".")[:end]) for end in range(2, path.count(".") + 2)]
        if any(key[1] in prefixes for key in self.bindings):
            return False
        for site in loop.sites:
            if site.kind is SiteKind.CALL:
                if site.roots is None or any(path == root or path.startswith(root + ".") for root in site.roots):
                    return False
        return True

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
