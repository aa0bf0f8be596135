"""Helpers seen through their calls: which function of the file a call runs, what its sites
are as the caller sees them (keys and roots in the caller's names), and which calls never
touch gradients (torch tensor methods, gradient-neutral methods of tree classes). A mixin of
`LoopFacts` (analysis/loops.py), which provides the bindings and roots it maps through.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.foreign_helpers import foreign_function, foreign_sites
from varlint.analysis.loop_sites import Frame, Roots, Site, SiteKind, head
from varlint.analysis.names import path_of
from varlint.analysis.torch_api import GRAD_NEUTRAL_METHODS
from varlint.analysis.tree_methods import neutral_method

# How many calls deep a helper's reset is followed (`train_step()` -> `reset()` -> zero_grad).
HELPER_DEPTH = 3

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


class HelperFollowing:
    """Methods of `LoopFacts` about the calls in a loop."""

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
            # attribute calls may be anything, a plain call is a forward pass; so is a call
            # of an object the class holds (`self.D(x)`, `self.D = Discriminator()`).
            return isinstance(call.func, cst.Attribute) and not self.held_object_call(call, scope)
        if any(name.startswith(("torch.", "builtins.", "numpy.", "math.")) for name in names):
            return False
        return not self.foreign_neutral(call)

    def foreign_neutral(self, call: cst.Call) -> bool:
        """A call of a function of another module of the tree that never touches `.grad`
        (`from model import forward`: see analysis/gradflow/summaries.py)."""
        callee = foreign_function(self.context, call)
        if callee is None:
            return False
        facts, function = callee
        return facts.context.summaries.never_touches_grad(function)

    def held_object_call(self, call: cst.Call, scope: cst.CSTNode | None) -> bool:
        """`self.x(...)` where the class assigns `self.x` (and defines no method `x`): a call
        of the object it holds, as `x(...)` is for a local name."""
        path = path_of(call.func)
        if scope is None or path is None or path.count(".") != 1 or not path.startswith("self."):
            return False
        return bool(self.bindings_of(path, scope))

    def tree_method_is_neutral(self, call: cst.Call, scope: cst.CSTNode) -> bool:
        """`rnn.initHidden()`, `rnn` bound once to `RNN(...)`, a class of another module of the
        tree whose `initHidden` never touches gradients (see analysis/tree_methods.py)."""
        if not isinstance(call.func, cst.Attribute):
            return False
        path = path_of(call.func.value)
        bindings = self.bindings_of(path, scope) if path is not None else []
        # `D = D.cuda()` / `D = D.to(device)` after `D = MultiDiscriminator()`: the same module.
        moved = [binding for binding in bindings if is_moved_self(binding.value, path)]
        built = [binding for binding in bindings if binding not in moved]
        if len(built) != 1 or not isinstance(built[0].value, cst.Call):
            return False
        names = self.context.names.qualified(built[0].value.func)
        if len(names) != 1:
            return False
        module_name, _, class_name = next(iter(names)).rpartition(".")
        project = self.context.project
        info = project.module(module_name) if module_name else None
        if info is None or class_name not in info.classes:
            return False
        if moved and not is_plain_module_class(info.classes[class_name]):
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
        if function is None and not stack:
            return self._cache_expansion(call, self.foreign_expansion(call_site))
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

    def _cache_expansion(self, call: cst.Call, found: list[Site] | None) -> list[Site] | None:
        self._expansions[call] = found
        return found

    def foreign_expansion(self, call_site: Site) -> list[Site] | None:
        """The sites a call of a helper of another module of the tree runs, as the caller sees
        them (analysis/foreign_helpers.py); None when it cannot be followed."""
        call: cst.Call = call_site.node  # type: ignore[assignment]
        callee = foreign_function(self.context, call)
        if callee is None:
            return None
        facts, function = callee
        arguments = parameter_arguments(function, call)
        inner = foreign_sites(facts, function, arguments)
        if not inner:
            return None
        found = []
        for index, site in enumerate(inner):
            seen = self.as_seen_by(site, call_site, (), arguments)
            seen.receiver, seen.origin = None, facts.context
            if site.kind in (SiteKind.STEP, SiteKind.RESET) and seen.key is not None:
                # The optimizer is the caller's object: what it steps is known from there.
                seen.roots = self.optimizer_roots(seen.key, call_site.scope)
            seen.order = call_site.order + (index + 1) / (len(inner) + 1)
            found.append(seen)
        return found

    def followed_callee(self, call: cst.Call) -> cst.FunctionDef | None:
        """The one function of this module a call runs, when varlint can tell: a plain call of
        a module function, or a method called on `self` or defined by one class only (and not
        named like a torch method, which `model.train()` may be)."""
        callees = self.callees(call)
        if callees and len(callees) > 1:
            callees = self.methods_of_receiver_class(call, callees)
        if not callees or len(callees) != 1:
            return None
        if isinstance(call.func, cst.Attribute):
            method = call.func.attr.value
            on_self = path_of(call.func.value) == "self"
            if not on_self and (method in KNOWN_METHODS or method in GRAD_NEUTRAL_METHODS):
                return None
        return callees[0]

    def methods_of_receiver_class(self, call: cst.Call, callees: list[cst.FunctionDef]) -> list[cst.FunctionDef]:
        """Of the methods named like `agent.run_episode(...)`, the one of the class `agent` is
        built from (`agent = Agent(...)`, its only binding, a class of this module defining
        that method itself); empty when that is not known."""
        if not isinstance(call.func, cst.Attribute):
            return []
        path = path_of(call.func.value)
        scope = self.scope_of(call)
        bindings = self.bindings_of(path, scope) if path is not None and path != "self" else []
        if len(bindings) != 1 or not isinstance(bindings[0].value, cst.Call):
            return []
        func = bindings[0].value.func
        if not isinstance(func, cst.Name) or func.value not in self.classes:
            return []
        owners = [
            function for function in callees
            if isinstance(self.scope_parent.get(function), cst.ClassDef)
            and self.scope_parent[function].name.value == func.value  # type: ignore[union-attr]
        ]
        classes = {id(self.scope_parent[function]) for function in owners}
        return owners if len(classes) == 1 else []

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


# Methods of `nn.Module` that return the module itself.
MODULE_MOVES = frozenset({"cuda", "cpu", "to", "double", "float", "half", "train", "eval"})


def is_moved_self(value: cst.BaseExpression | None, path: str | None) -> bool:
    """`x.cuda()` / `x.to(device)` for the binding `x = ...` of `path`."""
    return (
        isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
        and value.func.attr.value in MODULE_MOVES and path is not None and path_of(value.func.value) == path
    )


def is_plain_module_class(info) -> bool:
    """A tree class deriving directly from `nn.Module` that does not redefine its moves."""
    return (
        len(info.bases) == 1 and info.bases[0] in ("nn.Module", "torch.nn.Module")
        and not MODULE_MOVES & set(info.methods)
    )


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

