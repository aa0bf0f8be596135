"""Summaries of the functions of a file, computed once and reused at every call site.

`returns_zero_dim(function)`: every `return` of the function gives a 0-dim tensor, whatever its
arguments are (the analysis of a function body knows nothing of its parameters, so what it
knows holds for every call): `def loss_function(recon_x, x): return F.mse_loss(...) + kld` makes
`loss = loss_function(out, x)` a 0-dim tensor at the call, and `loss.data[0]` raises.

`method_zero_dim(call)`: `self.pullaway_loss(...)` where the class's own method (not redefined
by a class of the tree deriving from it) returns 0-dim values as above; `D1.compute_loss(x, valid)` where `D1` is bound (only) to
`MultiDiscriminator(...)` (and its own `.cuda()` / `.to(...)`), a class of this file or of
another module of the tree whose `compute_loss` returns a full reduction on every path (see
analysis/loss_classes.py): a 0-dim tensor, or "a 0-dim tensor or the number 0" for a `sum([...])`
of reductions. A name that is a parameter, declared `global`, bound to anything else or to
instances of two classes gives nothing.

`elementwise_parameter(call)`: `log(Z)` with `def log(x): return torch.log(x + 1e-8)` (one
`return`, of element-wise torch operations of one parameter and number literals): the index of
that parameter, so that the call has the shape of its argument (a 0-dim `Z` gives a 0-dim value).

`never_touches_grad(function)`: a call of the function neither resets the gradients of what
it receives nor may reset them, whatever its arguments are: its body mentions no `.grad` (nor
`zero_grad`, `backward`, `step`, hooks), and every call in it is a torch function, a builtin
(not a reflective one), a tensor method of the never-touch table (`x.mm(w1).clamp(min=0)`,
analysis/torch_api.py) or a function of the tree that never touches `.grad` either. A call of
anything else (a parameter, an object, code outside the tree) makes it unknown. Used for calls of
functions of other modules (`from model import forward`), so that a manual-update loop calling
one still lacks its reset (VL201).

Recursion, generators, decorated functions, functions defined twice and names rebound
anywhere give no summary: precision first.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.gradflow import SameAsNested
from varlint.analysis.loop_sites import SiteKind, head
from varlint.analysis.loss_classes import ZERO_DIM, local_method_zero_dim, tree_method_zero_dim
from varlint.analysis.torch_api import MODULE_RETURNING_METHODS
from varlint.analysis.names import path_of
from varlint.analysis.torch_api import ELEMENTWISE_OPS, ENABLE_GRAD_CONTEXTS, NO_GRAD_CONTEXTS, REFLECTION, SET_GRAD_ENABLED
from varlint.analysis.tree import walk

# Words that, as a name or an attribute, may reach gradients or change how they are computed.
GRAD_WORDS = frozenset({
    "grad", "zero_grad", "backward", "step", "register_hook", "retain_grad", "grad_fn",
    "register_full_backward_hook", "register_backward_hook", "requires_grad_", "detach_",
})
GRAD_MODE_SWITCHES = NO_GRAD_CONTEXTS | ENABLE_GRAD_CONTEXTS | SET_GRAD_ENABLED


class Summaries:
    def __init__(self, context) -> None:
        self.context = context
        self._zero_dim: dict[cst.FunctionDef, bool] = {}
        self._neutral: dict[cst.FunctionDef, bool] = {}
        self._elementwise: dict[cst.FunctionDef, int | None] = {}

    def returns_zero_dim(self, function: cst.FunctionDef) -> bool:
        if function not in self._zero_dim:
            self._zero_dim[function] = False  # while computing it: recursion knows nothing
            gradflow = self.context.gradflow
            # Asked by an analysis of the file before any has ended: reading the returns'
            # facts starts another analysis, which sees this summary as False (above).
            starts = gradflow.running > 0 and gradflow._values is None
            if starts and gradflow.running == 1 and gradflow.deferred is not None and self._returns(function):
                # Asked by the outermost analysis (GradFlow._analyse): read once it has ended.
                gradflow.deferred.append(function)
                return False
            self._zero_dim[function] = self._all_returns_zero_dim(function)
            if starts and gradflow._values is not None and not gradflow.last_failed and not self._zero_dim[function]:
                # The summary is False, what the other analysis saw, and every other answer
                # both get is this table's: the asking analysis would walk on exactly as the
                # other did. Stop it; the file's facts are the other's (GradFlow.facts).
                raise SameAsNested
        return self._zero_dim[function]

    def _all_returns_zero_dim(self, function: cst.FunctionDef) -> bool:
        return self._returns(function) is not None and self.read_returns_zero_dim(function)

    def _returns(self, function: cst.FunctionDef) -> list[cst.Return] | None:
        """The returns of `function` when whether they all give 0-dim values depends on the
        facts (the first one has a value), else None (its summary is False)."""
        if function.decorators or function.asynchronous is not None:
            return None
        returns: list[cst.Return] = []
        generator = []

        class Returns(cst.CSTVisitor):
            def visit_Return(self, node: cst.Return) -> None:
                returns.append(node)

            def visit_Yield(self, node: cst.Yield) -> None:
                generator.append(node)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return node is function

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False

        walk(function, Returns())
        if generator or not returns or not ends_in_return(function) or returns[0].value is None:
            return None
        return returns

    def read_returns_zero_dim(self, function: cst.FunctionDef) -> bool:
        """Whether every return of `function` (`_returns` gives them) is a 0-dim tensor."""
        returns = self._returns(function)
        if returns is None:
            return False
        gradflow = self.context.gradflow
        # Syntax first: a query made while the module's analysis runs starts another one.
        if any(node.value is None or not gradflow.may_be_tensor(node.value) for node in returns):
            return False
        for node in returns:
            facts = gradflow.facts(node.value)
            if not facts.is_tensor or facts.shape != ():
                return False
        return True

    def method_zero_dim(self, call: cst.Call) -> str | None:
        """See the module docstring: loss_classes.ZERO_DIM, ZERO_DIM_OR_NUMBER or None."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        path = path_of(func.value)
        facts = self.context.scopes
        if path == "self":
            method = self._own_method(call)
            return ZERO_DIM if method is not None and self.returns_zero_dim(method) else None
        if path is None or head(path) in facts.declared_global:
            return None
        bindings = self._bindings_seen(path, facts.scope_of(call))
        classes = set()
        for binding in bindings or ():
            found = self._constructed_class(binding.value, path)
            if found is None:
                return None
            if found != "itself":
                classes.add(found)
        if len(classes) != 1:
            return None
        where, name = classes.pop()
        if where == "local":
            return local_method_zero_dim(self.context, name, func.attr.value)
        return tree_method_zero_dim(self.context.project, name, func.attr.value, self.context.path)

    def _own_method(self, call: cst.Call) -> cst.FunctionDef | None:
        """`self.pullaway_loss(...)` in a method of class C: C's own `pullaway_loss`, when C
        defines it once, does not set it on instances, and no class of the tree deriving from
        a class named C defines it again (then `self` may be one of those)."""
        facts = self.context.scopes
        function = facts.scope_of(call)
        klass = facts.parent_scope(function) if isinstance(function, cst.FunctionDef) else None
        if not isinstance(klass, cst.ClassDef) or not isinstance(klass.body, cst.IndentedBlock):
            return None
        name = call.func.attr.value  # type: ignore[attr-defined]
        found = [
            item for item in klass.body.body
            if isinstance(item, cst.FunctionDef) and item.name.value == name
        ]
        if len(found) != 1 or facts.bindings_of(f"self.{name}", function):
            return None
        if self._overridden(klass.name.value, name):
            return None
        return found[0]

    def _overridden(self, class_name: str, method: str) -> bool:
        project = self.context.project
        return project is not None and project.redefines(class_name, method)

    def _bindings_seen(self, path: str, scope: cst.CSTNode):
        """The bindings of `path` as seen from `scope`; None when a function parameter of that
        name hides them (a parameter is bound by each call: not known)."""
        facts = self.context.scopes
        if path.startswith("self."):
            return facts.bindings_of(path, scope)
        name = head(path)
        for candidate in facts.scope_chain(scope):
            if isinstance(candidate, (cst.FunctionDef, cst.Lambda)) and name in _parameter_names(candidate.params):
                return None
            found = facts.bindings.get((candidate, path))
            if found:
                return found
        return None

    def _constructed_class(self, value: cst.BaseExpression | None, path: str):
        """("tree", qualified) / ("local", name) of the class `value` constructs, "itself" for
        `x = x.cuda()`, None otherwise."""
        while (
            isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in MODULE_RETURNING_METHODS
        ):
            value = value.func.value
            if path_of(value) == path:
                return "itself"
        if not isinstance(value, cst.Call) or any(arg.star for arg in value.args):
            return None
        names = self.context.names.qualified(value.func)
        if len(names) == 1:
            return ("tree", next(iter(names)))
        facts = self.context.scopes
        if not names and isinstance(value.func, cst.Name) and value.func.value in facts.classes:
            return ("local", value.func.value)
        return None

    def never_touches_grad(self, function: cst.FunctionDef) -> bool:
        """See the module docstring; recursion (also through other modules) knows nothing."""
        if function not in self._neutral:
            self._neutral[function] = False  # while computing it
            self._neutral[function] = self._neutral_body(function)
        return self._neutral[function]

    def _neutral_body(self, function: cst.FunctionDef) -> bool:
        if function.decorators or function.asynchronous is not None:
            return False
        facts = self.context.loops
        if len(facts.functions.get(function.name.value) or []) != 1:
            return False
        if _mentions_grad_or_nested(function):
            return False
        names = self.context.names
        for site in facts.sites_by_scope.get(function, ()):
            if site.kind is SiteKind.JUMP:
                continue
            if site.kind is not SiteKind.CALL:
                return False  # a backward, a step, a reset, a manual update
            call: cst.Call = site.node  # type: ignore[assignment]
            if facts.callees(call) is not None:
                callee = facts.followed_callee(call)
                if callee is None or not isinstance(call.func, cst.Name) or not self.never_touches_grad(callee):
                    return False
                continue
            qualified = names.qualified(call.func)
            if qualified:
                if not all(_library_neutral(name) for name in qualified) and not facts.foreign_neutral(call):
                    return False  # code outside the tree, or that may touch `.grad`
            elif not isinstance(call.func, cst.Attribute) or facts.unknown_call(call, site.scope):
                return False  # a parameter, a local object, a method of an unknown object...
        return True

    def call_returns_zero_dim(self, call: cst.BaseExpression) -> bool:
        """`f(...)` where `f` is the one function of that name of this module, never rebound."""
        function = self.module_function(call)
        return function is not None and self.returns_zero_dim(function)

    def module_function(self, call: cst.BaseExpression) -> cst.FunctionDef | None:
        """The one top-level function of this module that `f(...)` calls (`f` never rebound)."""
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name):
            return None
        facts = self.context.scopes
        name = call.func.value
        functions = facts.functions.get(name) or []
        if len(functions) != 1 or facts.parent_scope(functions[0]) is not self.context.module:
            return None
        if len(facts.bindings.get((self.context.module, name), [])) or name in facts.declared_global:
            return None
        return functions[0]

    def elementwise_parameter(self, call: cst.BaseExpression) -> int | None:
        """See the module docstring."""
        function = self.module_function(call)
        if function is None:
            return None
        if function not in self._elementwise:
            self._elementwise[function] = _elementwise_parameter(function, self.context.names)
        return self._elementwise[function]

    def name_returns_zero_dim(self, expression: cst.BaseExpression) -> bool:
        """`loss`, bound once in its scope to `f(...)` with such an `f` (see above)."""
        path = path_of(expression)
        if not isinstance(expression, cst.Name) or path is None:
            return False
        facts = self.context.scopes
        scope = facts.scope_of(expression)
        if expression.value in facts.declared_global:
            return False
        bindings = facts.bindings.get((scope, path), [])
        return len(bindings) == 1 and self.call_returns_zero_dim(bindings[0].value)


def ends_in_return(function: cst.FunctionDef) -> bool:
    """Whether the body's last statement is a `return` (no fall-through returning None)."""
    body = function.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return False
    last = body.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return)


def _library_neutral(name: str) -> bool:
    """A function of torch, numpy, math or the builtins that never touches `.grad` (none named
    after gradients but the grad-mode switches; no reflection)."""
    if name.startswith("builtins."):
        return name[len("builtins."):] not in REFLECTION
    if not name.startswith(("torch.", "numpy.", "math.")):
        return False
    return "grad" not in name or name in GRAD_MODE_SWITCHES


def _mentions_grad_or_nested(function: cst.FunctionDef) -> bool:
    """Whether the body names one of GRAD_WORDS, declares a `global` / `nonlocal`, yields or
    defines a function, lambda or class of its own."""
    found = []

    class Mentions(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if node.attr.value in GRAD_WORDS:
                found.append(node)

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in GRAD_WORDS:
                found.append(node)

        def visit_Global(self, node) -> None:
            found.append(node)

        def visit_Nonlocal(self, node) -> None:
            found.append(node)

        def visit_Yield(self, node) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            if node is not function:
                found.append(node)
            return node is function

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            found.append(node)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            found.append(node)
            return False

    walk(function, Mentions())
    return bool(found)


def _parameter_names(params: cst.Parameters) -> set[str]:
    found = {param.name.value for param in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.add(star.name.value)
    return found


def _elementwise_parameter(function: cst.FunctionDef, names) -> int | None:
    params = function.params
    if function.decorators or function.asynchronous is not None or params.star_arg is not cst.MaybeSentinel.DEFAULT:
        return None
    if params.kwonly_params or params.star_kwarg is not None or params.posonly_params:
        return None
    if any(param.default is not None for param in params.params):
        return None
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    statements = [item for item in body if not _is_docstring(item)]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return None
    line = statements[0].body
    if len(line) != 1 or not isinstance(line[0], cst.Return) or line[0].value is None:
        return None
    used: set[str] = set()
    if not _elementwise(line[0].value, names, used) or len(used) != 1:
        return None
    parameter_names = [param.name.value for param in params.params]
    name = used.pop()
    return parameter_names.index(name) if name in parameter_names else None


def _elementwise(node: cst.BaseExpression, names, used: set[str]) -> bool:
    """An expression of element-wise torch operations of names (collected in `used`) and
    number literals."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Name):
        if names.qualified(node):
            return False  # a global of another module, a builtin
        used.add(node.value)
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _elementwise(node.expression, names, used)
    if isinstance(node, cst.BinaryOperation) and isinstance(
        node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.Power)
    ):
        return _elementwise(node.left, names, used) and _elementwise(node.right, names, used)
    if not isinstance(node, cst.Call) or any(arg.star for arg in node.args):
        return False
    qualified = names.qualified(node.func)
    keyword_values = [arg.value for arg in node.args if arg.keyword is not None]
    if not all(isinstance(value, (cst.Integer, cst.Float)) for value in keyword_values):
        return False
    positional = [arg.value for arg in node.args if arg.keyword is None]
    if qualified:
        operations = {name.rsplit(".", 1)[1] for name in qualified if name.startswith("torch.")}
        if len(qualified) != 1 or not operations <= ELEMENTWISE_OPS or not operations or not positional:
            return False
        return _elementwise(positional[0], names, used) and all(
            isinstance(value, (cst.Integer, cst.Float)) for value in positional[1:]
        )
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in ELEMENTWISE_OPS:
        return _elementwise(node.func.value, names, used) and all(
            isinstance(value, (cst.Integer, cst.Float)) for value in positional
        )
    return False


def _is_docstring(statement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.SimpleString)
    )
