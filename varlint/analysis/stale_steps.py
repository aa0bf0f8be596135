"""Gradients applied twice: a step that also uses the gradients another optimizer's step has
already applied, because the reset in between is missing (analysis/loops.py's facts, read in
statement order, for VL201).

    optimizer_info.zero_grad()          # resets generator and discriminator
    info_loss.backward()                # info_loss from discriminator(...)
    optimizer_info.step()
    # (next iteration; `optimizer_D.zero_grad()` missing)
    d_loss = loss(discriminator(real), valid)
    d_loss.backward()
    optimizer_D.step()                  # also applies info_loss's gradients of discriminator

Walking back from the step (through the previous iteration), the first reset that covers one
of its modules `m` comes before a backward that surely wrote `m`'s gradients (its loss is
computed in the loop body from a call `m(...)`, through arithmetic, torch losses and
reductions only) and a step of another optimizer holding `m` after that backward. Only when
every gradient site of the loop runs once per iteration (no branch, nested loop, jump, helper
or call that may reset), the loop's modules' `requires_grad` is never switched, and each
name followed is assigned once in the loop body, by a plain statement of it: else silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from varlint.analysis.loop_sites import Loop, Site, SiteKind, related
from varlint.analysis.names import path_of
from varlint.analysis.torch_api import FUNCTIONAL_LOSSES, LOSS_MODULES
from varlint.analysis.tree import walk

GRAD_SITES = (SiteKind.BACKWARD, SiteKind.STEP, SiteKind.RESET, SiteKind.UPDATE)
# Arithmetic that carries gradients from both operands.
ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.Power)


@dataclass(frozen=True)
class StaleUse:
    module: str  # the module whose gradients are applied twice
    reset: Site  # its last reset before them
    backward: Site  # the backward that wrote them
    first_step: Site  # the other optimizer's step that applied them first


def stale_use(facts, loop: Loop, step: Site) -> StaleUse | None:
    """Why `step` applies gradients another step of the loop already applied (see above)."""
    if step.kind is not SiteKind.STEP or step.roots is None or step.key is None or step.via is not None:
        return None
    sequence = direct_sites(facts, loop)
    if sequence is None or step not in sequence:
        return None
    resets = facts.resets(loop, step)
    if any(site not in sequence for site in resets):
        return None  # a reset in a branch, a nested loop or a helper
    for module in sorted(step.roots):
        found = _walk_back(facts, loop, sequence, step, module, resets)
        if found is not None:
            return None if switches_requires_grad(facts) else found
    return None


def direct_sites(facts, loop: Loop) -> list[Site] | None:
    """The loop's sites in order when every gradient site runs once per iteration, in the
    loop's own body; None otherwise."""
    found = []
    for site in loop.sites:
        if site.via is not None or site.origin is not None:
            if site.kind is not SiteKind.CALL:
                return None
            continue
        inside = site.frames_inside(loop)
        if site.kind is SiteKind.JUMP or (site.kind in GRAD_SITES and inside):
            return None
        if not inside:
            found.append(site)
    return sorted(found, key=lambda site: site.order)


def _covers(owner: str, module: str) -> bool:
    return module == owner or module.startswith(owner + ".")


def _walk_back(facts, loop: Loop, sequence: list[Site], step: Site, module: str, resets: list[Site]):
    index = sequence.index(step)
    count = len(sequence)
    steps_after: list[Site] = []  # other steps holding `module`, later than the site walked
    candidate = None
    for distance in range(1, count):
        site = sequence[(index - distance) % count]
        if site in resets:
            if site.kind is not SiteKind.RESET or site.roots is None:
                return None  # a call that may reset: not known
            if any(_covers(owner, module) for owner in site.roots):
                if candidate is None:
                    return None
                return StaleUse(module, site, candidate[0], candidate[1])
            if any(related(owner, module) for owner in site.roots):
                return None  # resets part of it
            continue
        if site.kind is SiteKind.STEP and site.key != step.key and site.roots is not None:
            if any(_covers(owner, module) for owner in site.roots):
                steps_after.append(site)
        elif site.kind is SiteKind.BACKWARD and steps_after and candidate is None:
            if module in gradient_sources(facts, loop, site):
                candidate = (site, steps_after[-1])
    return None  # no reset of it in the loop: the plain VL201 case


def switches_requires_grad(facts) -> bool:
    """`p.requires_grad = False` / `x.requires_grad_(...)` anywhere in the file."""
    found = []

    class Switches(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            if isinstance(node.target, cst.Attribute) and node.target.attr.value == "requires_grad":
                found.append(node)

        def visit_Attribute(self, node: cst.Attribute) -> None:
            if node.attr.value == "requires_grad_":
                found.append(node)

    walk(facts.context.module, Switches())
    return bool(found)


def gradient_sources(facts, loop: Loop, backward: Site) -> set[str]:
    """The modules whose gradients `backward` surely writes: those called (`m(x)`) in the
    computation of its loss in the loop body (see the module docstring)."""
    receiver = backward.receiver
    if receiver is None:
        return set()
    assignments = _loop_assignments(facts, loop)
    if assignments is None:
        return set()
    line = facts.context.range(backward.node).start.line
    before = {
        name: value for name, value in assignments.items() if facts.context.range(value).start.line < line
    }
    return _sources(facts, receiver, before, set(), loop.scope)


def _loop_assignments(facts, loop: Loop) -> dict[str, cst.BaseExpression] | None:
    """Each name assigned exactly once in the loop body, by a statement of the body itself:
    the value (a tuple target maps each of its names to the whole value)."""
    body = loop.node.body
    if not isinstance(body, cst.IndentedBlock):
        return None
    values: dict[str, cst.BaseExpression] = {}
    counts: dict[str, int] = {}
    augmented: set[str] = set()

    class Augmented(cst.CSTVisitor):
        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name):
                augmented.add(node.target.value)

    walk(body, Augmented())
    for statement in body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    for name in _target_names(target.target):
                        values[name] = small.value
    for binding_key, bindings in facts.bindings.items():
        scope, path = binding_key
        if scope is loop.scope and path in values:
            counts[path] = sum(1 for b in bindings if any(frame.node is loop.node for frame in b.frames))
    return {name: value for name, value in values.items() if counts.get(name) == 1 and name not in augmented}


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    return []


def _sources(facts, expression: cst.BaseExpression, assignments: dict, seen: set, scope) -> set[str]:
    names = facts.context.names
    if isinstance(expression, cst.Name):
        value = assignments.get(expression.value)
        if value is None or expression.value in seen:
            return set()
        return _sources(facts, value, assignments, seen | {expression.value}, scope)
    if isinstance(expression, cst.BinaryOperation) and isinstance(expression.operator, ARITHMETIC):
        return _sources(facts, expression.left, assignments, seen, scope) | _sources(facts, expression.right, assignments, seen, scope)
    if isinstance(expression, cst.UnaryOperation) and isinstance(expression.operator, cst.Minus):
        return _sources(facts, expression.expression, assignments, seen, scope)
    if not isinstance(expression, cst.Call):
        return set()
    func = expression.func
    path = path_of(func)
    if path is not None and path in facts.known_roots and _is_module_call(facts, path):
        return {path}  # `discriminator(x)`: its parameters are in the graph
    qualified = names.qualified(func)
    reduction = isinstance(func, cst.Attribute) and func.attr.value in ("mean", "sum") and not expression.args
    if reduction:
        return _sources(facts, func.value, assignments, seen, scope)
    if qualified & (FUNCTIONAL_LOSSES | {"torch.mean", "torch.sum"}) or _is_loss_object(facts, func, scope):
        found: set[str] = set()
        for arg in expression.args[:1] if qualified & {"torch.mean", "torch.sum"} else expression.args:
            found |= _sources(facts, arg.value, assignments, seen, scope)
        return found
    return set()


def _is_module_call(facts, path: str) -> bool:
    """`path(...)` calls the module an optimizer of the file is built from (not a function)."""
    return path not in facts.functions and path.split(".")[-1] not in facts.methods


def _is_loss_object(facts, func: cst.BaseExpression, scope) -> bool:
    """`criterion` bound (only) to a torch loss module: `criterion = nn.BCELoss()`."""
    path = path_of(func)
    if path is None:
        return False
    bindings = facts.bindings_of(path, scope)
    if not bindings:
        return False
    for binding in bindings:
        if not isinstance(binding.value, cst.Call):
            return False
        if not facts.context.names.qualified(binding.value.func) & LOSS_MODULES:
            return False
    return True
