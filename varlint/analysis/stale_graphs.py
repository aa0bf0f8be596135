"""Graphs that outlive an optimizer step: a `.backward()` through a module call recorded before
`opt.step()` changed that module's parameters in place (VL307, rules.md "VL3xx").

Optimizer steps are in-place operations on the parameters (since PyTorch 1.5 they bump the
version counter), so a graph that saved a parameter before the step cannot be differentiated
after it: the backward raises M18. In 0.3 the step wrote through `.data` and such a backward ran
(with the old parameter values).

How it works. Each scope (the module, every function) is walked statement by statement in
execution order. A tensor value is described by the *pieces* of the graph it reaches: the module
calls recorded on the way (`Forward`: which module, when, whether its graph holds a parameter,
see analysis/module_layers.py) and the other computations (an assignment, a name bound outside
the walk). The walk records the backward calls (what graph, whether they keep it:
`retain_graph=True`) and the optimizer steps (what they step, from loops.py's roots, and the
backward that gave them gradients since the last reset). A finding is a backward whose graph
holds a `Forward` that saves parameters of a module an optimizer stepped after that forward,
when that step had gradients for the module, and no piece of the graph may have been freed by
an earlier backward without `retain_graph` (then the backward fails for another reason, as it
did in 0.3).

Precision first. Branches (`if`, loop bodies, `try`) are walked on copies: what they bind is
unknown after them, their steps are not counted (they may not run), while what they may free or
reset is. A name reassigned in a loop body is unknown at the top of the body. A value through
`.detach()`, `.data`, `.item()` or computed with gradients disabled reaches no graph (the shared
grad-state analysis says so). `torch.autograd.grad` and `backward(inputs=...)` are never
findings; a step with a closure or through a helper is not a step here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from varlint.analysis import module_layers
from varlint.analysis.gradflow import NO, YES, Leaf
from varlint.analysis.gradflow.calls import argument
from varlint.analysis.loops import SiteKind, related, roots_related
from varlint.analysis.module_layers import LayerFacts
from varlint.analysis.names import path_of
from varlint.analysis.tree import walk

# Reads that carry no graph.
CUT_ATTRIBUTES = frozenset({"data", "grad", "shape", "dtype", "device", "is_leaf", "requires_grad", "grad_fn", "ndim"})
CUT_METHODS = frozenset({
    "detach", "detach_", "item", "tolist", "numpy", "size", "dim", "numel", "nelement", "data_ptr",
    "type", "long", "int", "bool", "byte", "argmax", "argmin", "eq", "ne", "gt", "lt", "ge", "le",
})


@dataclass(frozen=True, eq=False)
class Forward:
    """A call of a module, recorded with gradients enabled."""

    call: cst.Call
    module: str  # its path (`netD`, `self.D`)
    order: int
    saves: bool  # its graph holds one of its parameters
    has_parameters: bool  # its output requires grad because of its own parameters


@dataclass(frozen=True, eq=False)
class Piece:
    """Any other part of a graph (an assignment's computation)."""

    node: object  # the assignment, or a marker for a name bound elsewhere


@dataclass(frozen=True)
class Graph:
    """The pieces a value's graph may reach, and those it certainly reaches."""

    may: frozenset = frozenset()
    must: frozenset = frozenset()

    def __or__(self, other: "Graph") -> "Graph":
        return Graph(self.may | other.may, self.must | other.must)

    def join(self, other: "Graph") -> "Graph":
        """Either of the two (after a branch)."""
        return Graph(self.may | other.may, self.must & other.must)

    @staticmethod
    def of(piece) -> "Graph":
        return Graph(frozenset({piece}), frozenset({piece}))


# A value the walk does not know (carried across loop iterations, bound by code not followed).
UNKNOWN_PIECE = Piece("unknown")
UNKNOWN = Graph(frozenset({UNKNOWN_PIECE}))
EMPTY = Graph()


@dataclass(eq=False)
class Backward:
    call: cst.Call
    graph: Graph
    order: int


@dataclass(eq=False)
class Step:
    call: cst.Call
    key: str  # the optimizer's source text
    roots: frozenset[str]
    order: int
    first: Backward  # the backward that gave it gradients


@dataclass(frozen=True)
class StaleBackward:
    """`backward` goes through `forward`, whose parameters `step` changed after `first`."""

    backward: cst.Call
    forward: Forward
    step: Step


@dataclass
class State:
    values: dict[str, Graph] = field(default_factory=dict)
    backwards: list[Backward] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    resets: list[tuple[int, frozenset[str] | None]] = field(default_factory=list)  # (order, roots)
    freed: set = field(default_factory=set)  # pieces a backward may have freed
    any_freed: bool = False

    def copy(self) -> "State":
        return State(dict(self.values), list(self.backwards), list(self.steps), list(self.resets),
                     set(self.freed), self.any_freed)


def within(module: str, roots: frozenset[str]) -> bool:
    """Every parameter of `module` is among the ones `roots` hold."""
    return any(module == root or module.startswith(root + ".") for root in roots)


def assigned_names(nodes) -> set[str]:
    """The names and attribute paths bound anywhere inside `nodes` (targets of assignments,
    `for`, `with ... as`, `del`), nested functions excluded."""
    found: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            found.add(node.name.value)
            return False

        def visit_ClassDef(self, node):
            found.add(node.name.value)
            return False

        def _targets(self, target):
            for inner in _target_paths(target):
                found.add(inner)

        def visit_AssignTarget(self, node):
            self._targets(node.target)

        def visit_AugAssign(self, node):
            self._targets(node.target)

        def visit_AnnAssign(self, node):
            self._targets(node.target)

        def visit_For(self, node):
            self._targets(node.target)

        def visit_AsName(self, node):
            self._targets(node.name)

        def visit_NamedExpr(self, node):
            self._targets(node.target)

        def visit_Del(self, node):
            self._targets(node.target)

    for node in nodes:
        walk(node, Collector())
    return found


def _target_paths(target: cst.CSTNode) -> list[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [path for element in target.elements for path in _target_paths(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_paths(target.value)
    if isinstance(target, cst.Subscript):
        return _target_paths(target.value)
    path = path_of(target)
    return [path] if path is not None else []


class StaleGraphs:
    """The findings of one file (see the module docstring)."""

    def __init__(self, context) -> None:
        self.context = context
        self.loops = context.loops
        self.gradflow = context.gradflow
        self.findings: list[StaleBackward] = []
        self._order = 0
        self._externals: dict[str, Piece] = {}
        self._module_facts: dict[tuple[int, str], LayerFacts | None] = {}
        self._class_table: module_layers.ClassTable | None = None
        self._frozen_found: tuple[set[str], bool] | None = None
        self.scope: cst.CSTNode = context.module
        if not self.loops.known_roots:
            return  # no optimizer built in this file: nothing is stepped that varlint knows
        for scope in self._scopes():
            if not self._steps_in(scope):
                continue  # no optimizer step in its body: its walk can find nothing
            self.scope = scope
            body = scope.body.body if isinstance(scope, cst.FunctionDef) and isinstance(scope.body, cst.IndentedBlock) else (
                scope.body if isinstance(scope, cst.Module) else ())
            self.block(body, State())

    def _scopes(self) -> list[cst.CSTNode]:
        """The module and every function, in source order (loops.py's walk records them)."""
        return [self.context.module, *(node for node in self.loops.scope_parent if isinstance(node, cst.FunctionDef))]

    def _steps_in(self, scope: cst.CSTNode) -> bool:
        """Whether `scope` itself holds an optimizer step (loops.py's sites): a finding needs
        one (`step` below only records a step that a STEP site of the scope stands for)."""
        return any(site.kind is SiteKind.STEP for site in self.loops.sites_by_scope.get(scope, ()))

    def external(self, path: str) -> Piece:
        """The piece standing for a name bound outside the walk: the same for every read, so
        two graphs reading it share it."""
        piece = self._externals.get(path)
        if piece is None:
            piece = self._externals[path] = Piece(path)
        return piece

    def next_order(self) -> int:
        self._order += 1
        return self._order

    # --- statements ----------------------------------------------------------------------

    def block(self, statements, state: State) -> bool:
        """Walk `statements`; False when they end in a jump (`return`, `break`, ...)."""
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Return, cst.Raise, cst.Break, cst.Continue)):
                        return False
                    self.small_statement(small, state)
            elif isinstance(statement, cst.If):
                orelse = statement.orelse
                blocks = [statement.body.body, [orelse] if isinstance(orelse, cst.If) else orelse.body.body if orelse else []]
                self.branches(blocks, state)
            elif isinstance(statement, (cst.For, cst.While)):
                self.loop(statement, state)
            elif isinstance(statement, cst.With):
                for item in statement.items:
                    if item.asname is not None:
                        self.forget(state, set(_target_paths(item.asname.name)))
                if not self.block(statement.body.body, state):
                    return False
            elif isinstance(statement, (cst.Try, cst.TryStar)):
                blocks = [statement.body.body, *(handler.body.body for handler in statement.handlers)]
                if statement.orelse is not None:
                    blocks[0] = [*statement.body.body, *statement.orelse.body.body]
                self.branches(blocks, state, may_skip=True)
                if statement.finalbody is not None:
                    self.block(statement.finalbody.body.body, state)
            elif isinstance(statement, cst.Match):
                self.branches([case.body.body for case in statement.cases], state, may_skip=True)
            elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self.forget(state, {statement.name.value})
            else:
                self.forget(state, assigned_names([statement]))
        return True

    def loop(self, statement: cst.For | cst.While, state: State) -> None:
        """The body runs zero or more times: a branch whose names may also come from the
        previous iteration (unknown at the top of the body)."""
        body = statement.body.body
        entry = state.copy()
        carried = assigned_names(body)
        for name in carried:
            entry.values[name] = entry.values.get(name, UNKNOWN).join(UNKNOWN)
        if isinstance(statement, cst.For):
            for path in _target_paths(statement.target):  # what the iterable yields
                entry.values[path] = Graph.of(self.external(path))
        self.branch(body, state, entry)
        names = carried | (set(_target_paths(statement.target)) if isinstance(statement, cst.For) else set())
        self.join_into(state, [entry], names)
        if statement.orelse is not None:
            self.branches([statement.orelse.body.body], state)

    def branches(self, blocks, state: State, may_skip: bool = False) -> None:
        """One of `blocks` runs (an `if` without `else` has an empty one), or, with
        `may_skip`, possibly none to the end (a `try` body that raises, a `match`)."""
        ends = []
        names: set[str] = set()
        for statements in blocks:
            entry = state.copy()
            if self.branch(statements, state, entry):
                ends.append(entry)
            names |= assigned_names(statements)
        if may_skip:
            ends.append(state.copy())
        self.join_into(state, ends, names)

    def join_into(self, state: State, ends: list[State], names: set[str]) -> None:
        """After a branch: each of `names` holds what one of `ends` left in it."""
        for name in names:
            keys = {key for end in ends for key in end.values if key == name or key.startswith(name + ".")}
            keys.add(name)
            for key in keys:
                joined = None
                for end in ends:
                    value = end.values.get(key, UNKNOWN)
                    joined = value if joined is None else joined.join(value)
                state.values[key] = joined if joined is not None else UNKNOWN

    def branch(self, statements, state: State, entry: State) -> bool:
        """Walk `statements` from `entry`; keep in `state` what they may free or reset (their
        steps are not kept: they may not run). False when the branch ends in a jump."""
        start = self._order
        goes_on = self.block(statements, entry)
        state.freed |= entry.freed
        state.any_freed = state.any_freed or entry.any_freed
        state.resets.extend(reset for reset in entry.resets if reset[0] > start)
        return goes_on

    @staticmethod
    def forget(state: State, names: set[str]) -> None:
        for name in names:
            state.values[name] = UNKNOWN
            for key in [key for key in state.values if key.startswith(name + ".")]:
                state.values[key] = UNKNOWN

    def small_statement(self, small: cst.BaseSmallStatement, state: State) -> None:
        if isinstance(small, cst.Assign):
            graph = self.deps(small.value, state) | Graph.of(Piece(small))
            for target in small.targets:
                self.bind(target.target, graph, state)
        elif isinstance(small, cst.AugAssign):
            graph = self.deps(small.value, state) | self.deps(small.target, state) | Graph.of(Piece(small))
            self.bind(small.target, graph, state)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.bind(small.target, self.deps(small.value, state) | Graph.of(Piece(small)), state)
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            self.call_statement(small.value, state)
        elif isinstance(small, cst.Expr):
            self.deps(small.value, state)
        else:
            self.forget(state, assigned_names([small]))

    def bind(self, target: cst.BaseExpression, graph: Graph, state: State) -> None:
        if isinstance(target, cst.Subscript):  # `x[i] = v`: x now also holds v's graph
            path = path_of(target.value)
            if path is not None:
                state.values[path] = state.values.get(path, UNKNOWN) | graph
            return
        for path in _target_paths(target):
            self.forget(state, {path})
            state.values[path] = graph

    def call_statement(self, call: cst.Call, state: State) -> None:
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        backward = self.gradflow.backward_call(call)
        if backward is not None:
            self.backward(call, backward, state)
            return
        if method == "step" and not call.args and self.loops.is_optimizer(func.value, self.scope):
            self.step(call, state)
            return
        if method == "zero_grad":
            state.resets.append((self.next_order(), self.reset_roots(func.value)))
            return
        graph = self.deps(call, state)
        if self.loops.callees(call) is not None:
            # a function of this file: it may differentiate, step or reset anything it reaches
            state.freed |= graph.may
            state.any_freed = True
            state.resets.append((self.next_order(), None))
        elif self.loops.unknown_call(call, self.scope):
            # code varlint cannot see: it may differentiate and reset what it is given
            passed = self.loops._call_roots(call, (), self.scope)  # what it receives
            if graph.may or passed:
                state.freed |= graph.may
                state.any_freed = True
                state.resets.append((self.next_order(), passed))
        if method is not None and path_of(func.value) == "self":
            self.forget(state, {key for key in state.values if key.startswith("self.")})

    def reset_roots(self, receiver: cst.BaseExpression) -> frozenset[str] | None:
        path = path_of(receiver)
        if path is None:
            return None
        if self.loops.is_optimizer(receiver, self.scope):
            return self.loops.optimizer_roots(path, self.scope)
        return frozenset({path})

    def backward(self, call: cst.Call, backward, state: State) -> None:
        graph = EMPTY
        for output in backward.outputs:
            graph |= self.deps(output, state)
        accumulates = backward.method or bool(self.context.names.qualified(call.func) & {"torch.autograd.backward"})
        if accumulates:  # not torch.autograd.grad: it fills no `.grad` for a step
            if backward.inputs is None:
                self.check(call, graph, state)
            state.backwards.append(Backward(call, graph, self.next_order()))
        if self.retains(call, 1 if backward.method else 2 if accumulates else 3) is not True:
            state.freed |= graph.may
            state.any_freed = True

    @staticmethod
    def retains(call: cst.Call, position: int) -> bool | None:
        """Whether the backward keeps its graph: `retain_graph=True` (or the legacy
        `retain_variables=True`, which VL007 renames), or `create_graph=True`. `position`: the
        positional index of `retain_graph` (`create_graph` follows it)."""
        retain = argument(call, position, "retain_graph", "retain_variables")
        create = argument(call, position + 1, "create_graph")
        if retain is not None:
            return literal_bool(retain)
        if create is not None:
            return literal_bool(create)
        return False

    def step(self, call: cst.Call, state: State) -> None:
        key = path_of(call.func.value)  # type: ignore[attr-defined]
        roots = self.loops.optimizer_roots(key, self.scope) if key is not None else None
        order = self.next_order()
        if not roots:
            return
        last_reset = max((o for o, r in state.resets if roots_related(r, roots)), default=0)
        for first in reversed(state.backwards):
            if first.order < last_reset:
                break
            if any(isinstance(p, Forward) and roots_related(frozenset({p.module}), roots) for p in first.graph.must):
                state.steps.append(Step(call, key, roots, order, first))
                return

    def check(self, call: cst.Call, graph: Graph, state: State) -> None:
        if graph.may & state.freed or (UNKNOWN_PIECE in graph.may and state.any_freed):
            return  # a backward may have freed part of it: that raises another error first
        forwards = sorted((p for p in graph.must if isinstance(p, Forward) and p.saves), key=lambda f: f.order)
        for forward in forwards:
            for step in state.steps:
                if step.order > forward.order and within(forward.module, step.roots) and any(
                    isinstance(p, Forward) and related(p.module, forward.module) for p in step.first.graph.must
                ):
                    self.findings.append(StaleBackward(call, forward, step))
                    return

    # --- expressions ---------------------------------------------------------------------

    def deps(self, node: cst.CSTNode, state: State) -> Graph:
        """The graph pieces the value of `node` reaches."""
        if isinstance(node, cst.BaseExpression) and self.gradflow.facts(node).requires_grad is NO:
            return EMPTY
        if isinstance(node, (cst.Name, cst.Attribute)):
            if isinstance(node, cst.Attribute) and node.attr.value in CUT_ATTRIBUTES:
                return EMPTY
            if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
                return EMPTY
            if self.gradflow.facts(node).leaf is Leaf.LEAF:
                return EMPTY  # a leaf holds no graph a backward could free
            path = path_of(node)
            if path is not None and path in state.values:
                return state.values[path]
            if path is not None:
                return EMPTY if self.bound_to_leaf(path) else Graph.of(self.external(path))
            return self.deps(node.value, state)  # type: ignore[union-attr]
        if isinstance(node, cst.Call):
            return self.call_deps(node, state)
        if isinstance(node, (cst.Lambda, cst.FunctionDef)):
            return EMPTY
        found = EMPTY
        for child in _child_expressions(node):
            found |= self.deps(child, state)
        return found

    def bound_to_leaf(self, path: str) -> bool:
        """A name bound outside the walk (a global read in a function) only ever to leaves
        or to values that do not require grad: it holds no graph."""
        bindings = self.loops.bindings_of(path, self.scope)
        if not bindings or any(binding.value is None or binding.scope is self.scope for binding in bindings):
            return False
        for binding in bindings:
            facts = self.gradflow.facts(binding.value)
            if not (facts.leaf is Leaf.LEAF or facts.requires_grad is NO):
                return False
        return True

    def call_deps(self, call: cst.Call, state: State) -> Graph:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in CUT_METHODS:
            return EMPTY
        arguments = EMPTY
        for arg in call.args:
            arguments |= self.deps(arg.value, state)
        forward = self.forward(call, state)
        if forward is not None:
            return arguments | Graph.of(forward)
        if isinstance(func, cst.Attribute) and not self.context.names.qualified(func):
            return arguments | self.deps(func.value, state)  # a method of a value (`out.mean()`)
        return arguments  # a function (`torch.cat`, `F.relu`)

    def forward(self, call: cst.Call, state: State) -> Forward | None:
        """The call as a module call, when `call.func` is known to be a module."""
        path = path_of(call.func)
        if path is None:
            return None
        facts = self.module_facts(path)
        trained = any(within(path, frozenset({root})) for root in self.loops.known_roots)
        if facts is None and not trained:
            return None
        from varlint.rule import maybe_grad_disabled

        if maybe_grad_disabled(self.context, call):
            return None
        frozen = self.maybe_frozen(path)
        input_requires_grad = any(self.requires_grad(arg.value, state) for arg in call.args)
        saves = facts is not None and (
            (facts.saves_alone and not frozen) or (facts.saves_with_grad_input and input_requires_grad))
        has_parameters = (facts.has_parameters if facts is not None else trained) and not frozen
        return Forward(call, path, self.next_order(), saves, has_parameters)

    def requires_grad(self, node: cst.BaseExpression, state: State) -> bool:
        if self.gradflow.facts(node).requires_grad is YES:
            return True
        return any(isinstance(p, Forward) and p.has_parameters for p in self.deps(node, state).must)

    # --- what modules save ---------------------------------------------------------------

    def module_facts(self, path: str) -> LayerFacts | None:
        key = (id(self.scope), path)
        if key not in self._module_facts:
            self._module_facts[key] = self._read_module_facts(path)
        return self._module_facts[key]

    def _read_module_facts(self, path: str) -> LayerFacts | None:
        bindings = self.loops.bindings_of(path, self.scope)
        found: set[LayerFacts | None] = set()
        for binding in bindings:
            if binding.value is None:
                return None
            found.add(module_layers.expression_facts(self.context.code(binding.value), self.class_table()))
        if len(found) != 1:
            return None
        return found.pop()

    def class_table(self) -> module_layers.ClassTable:
        if self._class_table is None:
            tree = self.context.syntax_tree or ast.Module(body=[], type_ignores=[])
            self._class_table = module_layers.ClassTable(tree, self.imported_class_facts)
        return self._class_table

    def imported_class_facts(self, name: str, depth: int) -> LayerFacts | None:
        """A module class of another module of the tree: `Generator` (imported by name, also
        by a star import) or `models.Generator`."""
        project = self.context.project
        info = project.module(self.context.module_name)
        if info is None:
            return None
        head, _, rest = name.partition(".")
        candidates: list[tuple[str, str]] = []
        for row in info.imports:
            if row.star and not rest:
                candidates.append((row.module, name))
            elif not row.star and row.alias == head:
                if row.name is None and rest:  # `import models` then `models.Generator`
                    module, _, class_name = f"{row.module}.{rest}".rpartition(".")
                    candidates.append((module, class_name))
                elif row.name is not None and not rest:  # `from models import Generator`
                    candidates.append((row.module, row.name))
        for module, class_name in candidates:
            target = project.module(module)
            if target is None or class_name not in target.classes:
                continue
            table = module_layers.file_classes(target.path, target.digest)
            if table is not None:
                return table.class_facts(class_name, depth)
        return None

    def maybe_frozen(self, path: str) -> bool:
        if self._frozen_found is None:
            self._frozen_found = self._frozen_modules()
        frozen, frozen_all = self._frozen_found
        return frozen_all or any(related(path, root) for root in frozen)

    def _frozen_modules(self) -> tuple[set[str], bool]:
        """The objects whose parameters get `requires_grad` changed somewhere in the file
        (`for p in netD.parameters(): p.requires_grad = False`); True when one is unknown."""
        frozen: set[str] = set()
        unknown = False
        if "requires_grad" not in self.context.text:
            return frozen, unknown  # both hooks below look for an attribute of that name
        parents = self.context.parents
        analysis = self

        class Collector(cst.CSTVisitor):
            def visit_AssignTarget(self, node):
                target = node.target
                if isinstance(target, cst.Attribute) and target.attr.value == "requires_grad":
                    self.found(target.value)

            def visit_Call(self, node):
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "requires_grad_":
                    self.found(node.func.value)

            def found(self, tensor):
                nonlocal unknown
                path = path_of(tensor)
                scope = analysis.loops.scope_of(tensor)
                current = tensor
                while current in parents:
                    current = parents[current]
                    if isinstance(current, cst.For) and path is not None and path in _target_paths(current.target):
                        roots = analysis.loops.roots(current.iter, scope)
                        if roots is None:
                            unknown = True
                        else:
                            frozen.update(roots)
                        return
                if path is None:
                    unknown = True
                    return
                roots = analysis.loops.roots(tensor, scope)
                frozen.update(roots or {path})

        walk(self.context.module, Collector())
        return frozen, unknown


def literal_bool(node: cst.BaseExpression) -> bool | None:
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    return None


def _child_expressions(node: cst.CSTNode):
    """The expressions directly inside `node` (through arguments, elements, slices...)."""
    stack = list(node.children)
    while stack:
        child = stack.pop()
        if isinstance(child, cst.BaseExpression):
            yield child
        else:
            stack.extend(child.children)
