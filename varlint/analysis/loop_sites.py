"""Training-loop sites: one walk over a file recording, in statement order, what each `for` /
`while` body does with gradients (see analysis/loops.py for how the rules use them).

Sites are `.backward()` calls, optimizer `step()` candidates, manual updates through `w.grad`,
gradient resets, calls of other functions (which may reset), and jumps (`break`, `continue`,
`return`, `raise`). Each site knows its function scope and the chain of enclosing loops and
branches (`if` / `else` / `except` / comprehension) inside that scope. The walk also records
the bindings of every name and `self.x` path, and the functions, methods and classes of the
file. Small path helpers (`related`, `head`, `grad_owner`...) live here too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable

import libcst as cst

from varlint.analysis.names import path_of
from varlint.analysis.tree import walk

Roots = frozenset[str] | None

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
    # A site of a helper of another module: that module's FileContext (positions, code).
    origin: object | None = None

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


class SiteWalker(cst.CSTVisitor):
    """One pass over the module recording sites, loops, bindings and function definitions."""

    def __init__(self, names) -> None:
        self.names = names  # the file's NameResolver
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
        names = self.names
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
