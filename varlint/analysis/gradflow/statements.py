"""The walk over statements: scopes, blocks, branches, loops to a fixpoint, try, with, and the
bindings each statement makes (assignment, aliasing, escape, havoc)."""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

import libcst as cst

from varlint.analysis.tree import walk, walk_together
from varlint.analysis import torch_api as api
from varlint.analysis.gradflow.calls import argument, is_sizes, literal_bool, sequence_elements
from varlint.analysis.gradflow.lattice import (
    CONSTANT_KINDS,
    ENABLED,
    NO,
    OBJECT_KINDS,
    OTHER,
    TOP,
    UNBOUND,
    UNKNOWN_MODE,
    YES,
    GradMode,
    Kind,
    Leaf,
    NoGradReason,
    State,
    Value,
    join,
    join_states,
    number,
)
from varlint.analysis.gradflow.prepass import FilePrepass, ScopeInfo
from varlint.analysis.gradflow.expressions import Expressions
from varlint.analysis.gradflow.tensor_ops import TensorOperations


MAX_ITERATIONS = 12


@functools.total_ordering
class LazyLine:
    """A line number (an int to every reader: compared, hashed, formatted) looked up in the
    file's positions when first read."""

    __slots__ = ("positions", "node", "_line")

    def __init__(self, positions, node: cst.CSTNode) -> None:
        self.positions, self.node, self._line = positions, node, None

    def __int__(self) -> int:
        if self._line is None:
            self._line = self.positions[self.node].start.line
        return self._line

    __index__ = __int__

    def __eq__(self, other) -> bool:
        if isinstance(other, LazyLine):
            return other.node is self.node or int(self) == int(other)  # one node, one line
        return int(self) == other

    def __lt__(self, other) -> bool:
        if isinstance(other, LazyLine):
            return other.node is not self.node and int(self) < int(other)
        return int(self) < other

    def __hash__(self) -> int:
        return hash(int(self))

    def __bool__(self) -> bool:
        return bool(int(self))

    def __format__(self, spec: str) -> str:
        return format(int(self), spec)

    def __repr__(self) -> str:
        return repr(int(self))

    __str__ = __repr__


class Analysis(Expressions, TensorOperations):
    def __init__(self, context) -> None:
        self.context = context
        self.names = context.names
        self.parents = context.parents
        self.positions = context.positions
        self.values: dict[cst.CSTNode, Value] = {}
        self.pending: list[tuple[cst.CSTNode, GradMode]] = []  # scopes to walk, in order
        self.scheduled: set[cst.CSTNode] = set()
        self.prepass = FilePrepass(self)
        self.loops: list[tuple[list, list]] = []  # (break states, continue states) per loop
        self.try_states: list[list[State]] = []  # states an exception may leave, per `try`
        self.scope: ScopeInfo | None = None
        # Module-level names bound once to an object whose kind is all that matters (a loss
        # module, a model, an optimizer): functions that read them see that kind.
        self.assigned_once: set[str] = set()
        self.module_objects: dict[str, Value] = {}
        # The argument values of every evaluated call of a function of this file.
        self.call_arguments: dict[cst.Call, list[Value]] = {}
        self.lines: dict[cst.CSTNode, LazyLine] = {}
        # node type -> its `expr_` / `stmt_` method (found by name once per type, see `expr`)
        self.expression_handlers: dict[type, object] = {}
        self.statement_handlers: dict[type, object] = {}


    def run(self) -> dict[cst.CSTNode, Value]:
        module = self.context.module
        # The prepass reads the tree only: the analyses of one file (a summary asked for
        # while the file is analysed starts another, see summaries.py) share it.
        gradflow = self.context.gradflow
        if gradflow.prepass is None:
            if gradflow.loops_started:
                walk(module, self.prepass)
            else:  # the training-loop facts will need their walk too: one traversal for both
                from varlint.analysis.loop_sites import SiteWalker

                gradflow.site_walker = SiteWalker(self.names)
                walk_together(module, [self.prepass, gradflow.site_walker])
            gradflow.prepass = self.prepass
        else:
            self.prepass = gradflow.prepass
        module_scope = self.names.scope_created[module]
        self.assigned_once = {name for name, bindings in module_scope.bindings.items() if len(bindings) == 1}
        self.schedule(module, UNKNOWN_MODE if self.prepass.switches_in_functions else ENABLED)
        deferred: set[cst.CSTNode] = set()
        while self.pending:
            node, mode = self.pending.pop(0)
            if node not in deferred and self.callers_pending(node):
                deferred.add(node)  # walked after its callers, once: see seeded_parameters
                self.pending.append((node, mode))
                continue
            self.walk_scope(node, mode)
        return self.values

    def callers_pending(self, function: cst.CSTNode) -> bool:
        """Whether a module-level function is called from a scope not walked yet."""
        if not isinstance(function, cst.FunctionDef) or self.parents.get(function) is not self.context.module:
            return False
        bindings = self.names.scope_created[self.context.module].bindings.get(function.name.value, [])
        if len(bindings) != 1:
            return False
        waiting = {node for node, _ in self.pending}
        for reference in self.names.references(bindings[0]):
            scope = self.names.scope_at(reference)
            if scope is not None and scope.node in waiting:
                return True
        return False


    def schedule(self, node: cst.CSTNode, mode: GradMode) -> None:
        if node not in self.scheduled:
            self.scheduled.add(node)
            self.pending.append((node, mode))


    def line(self, node: cst.CSTNode) -> int:
        """The line of `node`, found when a message or a join reads it (most reasons are never
        read, and finding a line generates the code of its statement): one per node, so the
        reasons an iteration of a loop makes again compare equal without reading it."""
        line = self.lines.get(node)
        if line is None:
            line = self.lines[node] = LazyLine(self.positions, node)
        return line  # type: ignore[return-value]

    # Scopes


    def walk_scope(self, node: cst.CSTNode, mode: GradMode) -> None:
        body = list(node.body) if isinstance(node, cst.Module) else list(node.body.body)
        scope = self.names.scope_created.get(node)
        if scope is None or not body:
            return
        untracked = self.prepass.walrus_targets | self.prepass.nonlocals_declared
        if isinstance(node, cst.Module):
            untracked |= self.prepass.globals_declared
        else:
            untracked |= self.prepass.declared_in.get(node, set())
        local_names = scope.local_names
        env: dict[str, Value] = {}
        if isinstance(node, cst.FunctionDef):
            env = {name: TOP for name in self.parameters(node.params)}
            env.update(self.seeded_parameters(node))
        self.scope = ScopeInfo(node, local_names, untracked, scope.exposed)
        self.block(body, State(env, mode, frozenset()))


    def seeded_parameters(self, function: cst.FunctionDef) -> dict[str, Value]:
        """Parameters whose argument is, at every call, a loss module or the parsed command
        line (`train(args, model, criterion)` called from `main()` only, walked before it):
        what the body sees. Only for a module-level function defined once, used nowhere but
        in direct calls already walked, and imported by no other module of the tree."""
        if function.decorators or function.asynchronous is not None:
            return {}
        module_scope = self.names.scope_created[self.context.module]
        bindings = module_scope.bindings.get(function.name.value, [])
        if len(bindings) != 1 or bindings[0].node is not function.name:
            return {}
        calls = []
        for reference in self.names.references(bindings[0]):
            call = self.parents.get(reference)
            if not isinstance(call, cst.Call) or call.func is not reference or call not in self.call_arguments:
                return {}
            if any(arg.star for arg in call.args):
                return {}
            calls.append(call)
        if not calls or self.imported_elsewhere(function.name.value):
            return {}
        params = function.params
        positional = [param.name.value for param in (*params.posonly_params, *params.params)]
        keywords = {param.name.value for param in (*params.params, *params.kwonly_params)}
        seeded: dict[str, Value] = {}
        for name in (*positional, *(k for k in keywords if k not in positional)):
            value = UNBOUND
            for call in calls:
                passed = self.passed_for(call, name, positional, keywords)
                if passed is None:
                    value = TOP
                    break
                value = join(value, passed)
            if value.kind in (Kind.LOSS, Kind.ARGUMENTS):
                seeded[name] = value
        return seeded

    def passed_for(self, call: cst.Call, name: str, positional: list[str], keywords: set[str]) -> Value | None:
        values = self.call_arguments[call]
        index = 0
        for arg, value in zip(call.args, values):
            if arg.keyword is not None:
                if arg.keyword.value == name and name in keywords:
                    return value
            else:
                if index < len(positional) and positional[index] == name:
                    return value
                index += 1
        return None

    def imported_elsewhere(self, name: str) -> bool:
        project = self.context.project
        module = self.context.module_name
        if project is None or module is None:
            return False
        if project.star_importers(module):
            return True
        imported = project.imported_names(module)
        return name in imported or None in imported

    @staticmethod
    def parameters(params: cst.Parameters) -> list[str]:
        names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                names.append(star.name.value)
        return names


    def function_entry_mode(self, node: cst.FunctionDef) -> GradMode:
        """Grad mode when the function starts: its decorator's, else enabled for module-level
        functions never called with grad disabled in this file, else unknown."""
        decorated = self.decorator_mode(node)
        if decorated is not None:
            return decorated
        if (
            isinstance(self.scope.node, cst.Module)
            and not self.prepass.switches_anywhere
            and node.name.value not in self.prepass.called_without_grad
        ):
            return ENABLED
        return UNKNOWN_MODE


    def decorator_mode(self, node: cst.FunctionDef) -> GradMode | None:
        for decorator in node.decorators:
            enabled = self.grad_context(decorator.decorator, bare_ok=True)
            if enabled is False:
                written = f"`@{self.context.code(decorator.decorator)}`"
                reason = NoGradReason("no-grad", self.line(decorator), written)
                return GradMode(False, reason)
            if enabled is True:
                return ENABLED
        return None


    def grad_context(self, node: cst.BaseExpression, bare_ok: bool = False) -> bool | None:
        """For `torch.no_grad()` False, `torch.enable_grad()` True, `set_grad_enabled(flag)`
        the flag when literal; None for anything else."""
        if isinstance(node, cst.Call):
            qualified = self.names.qualified(node.func)
            if qualified & api.SET_GRAD_ENABLED:
                return literal_bool(argument(node, 0, "mode"))
            if qualified & api.NO_GRAD_CONTEXTS:
                flag = argument(node, 0, "mode")
                return False if flag is None else (False if literal_bool(flag) else None)
            if qualified & api.ENABLE_GRAD_CONTEXTS:
                return True
            return None
        if bare_ok:
            qualified = self.names.qualified(node)
            if qualified & api.NO_GRAD_CONTEXTS:
                return False
            if qualified & api.ENABLE_GRAD_CONTEXTS:
                return True
        return None

    # Statements


    def block(self, statements, state: State | None) -> State | None:
        for statement in statements:
            if state is None:
                return None
            state = self.statement(statement, state)
            if state is not None:
                for collected in self.try_states:
                    collected.append(state.copy())
        return state


    def statement(self, node: cst.CSTNode, state: State) -> State | None:
        node_type = type(node)
        handler = self.statement_handlers.get(node_type)
        if handler is None:  # found once per node type (the base classes are ABCs: slow checks)
            if issubclass(node_type, cst.BaseSmallStatement):  # in a one-line body: `if c: x = 1`
                handler = self.small_statement
            elif issubclass(node_type, cst.SimpleStatementLine):
                handler = self.simple_statement_line
            else:  # match statements and anything newer: forget what they may assign
                handler = getattr(self, f"stmt_{node_type.__name__}", self.forget_assigned)
            self.statement_handlers[node_type] = handler
        return handler(node, state)


    def simple_statement_line(self, node: cst.SimpleStatementLine, state: State) -> State | None:
        for small in node.body:
            state = self.small_statement(small, state)
            if state is None:
                return None
        return state


    def small_statement(self, node: cst.BaseSmallStatement, state: State) -> State | None:
        if isinstance(node, cst.Expr):
            self.expr(node.value, state)
        elif isinstance(node, cst.Assign):
            value = self.expr(node.value, state)
            for target in node.targets:
                self.assign(target.target, value, state, node.value)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.expr(node.value, state), state, node.value)
        elif isinstance(node, cst.AugAssign):
            self.augmented_assign(node, state)
        elif isinstance(node, (cst.Return, cst.Raise)):
            for part in (getattr(node, "value", None), getattr(node, "exc", None)):
                if part is not None:
                    self.expr(part, state)
            return None
        elif isinstance(node, cst.Break):
            self.loops[-1][0].append(state)
            return None
        elif isinstance(node, cst.Continue):
            self.loops[-1][1].append(state)
            return None
        elif isinstance(node, cst.Assert):
            self.expr(node.test, state)
        elif isinstance(node, cst.Del):
            self.delete(node.target, state)
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            names = node.names if isinstance(node.names, (list, tuple)) else ()
            for alias in names:
                bound = alias.asname.name if alias.asname else alias.name
                while isinstance(bound, cst.Attribute):
                    bound = bound.value
                if isinstance(bound, cst.Name):
                    self.bind(bound.value, TOP, state)
        return state


    def stmt_If(self, node: cst.If, state: State) -> State | None:
        self.expr(node.test, state)
        taken = self.block(node.body.body, state.copy())
        if node.orelse is None:
            return join_states(taken, state)
        if isinstance(node.orelse, cst.If):
            return join_states(taken, self.stmt_If(node.orelse, state.copy()))
        return join_states(taken, self.block(node.orelse.body.body, state.copy()))


    def stmt_While(self, node: cst.While, state: State) -> State | None:
        endless = isinstance(node.test, cst.Name) and node.test.value == "True"

        def iteration(head: State) -> State | None:
            self.expr(node.test, head)
            return self.block(node.body.body, head)

        head, breaks = self.loop(state, iteration)
        exit_state = None if endless else head
        if exit_state is not None and node.orelse is not None:
            exit_state = self.block(node.orelse.body.body, exit_state.copy())
        return join_states(exit_state, *breaks)


    def stmt_For(self, node: cst.For, state: State) -> State | None:
        iterable = self.expr(node.iter, state)
        elements = sequence_elements(node.iter)
        if elements is not None:
            item = UNBOUND
            for element in elements:
                item = join(item, self.values.get(element, TOP))
        elif self.is_range(node.iter):
            item = number()
        else:  # rows of a tensor are views of it: in-place changes through them reach it
            item = Value(objects=iterable.objects)
        self.escape(iterable, state)

        def iteration(head: State) -> State | None:
            self.assign(node.target, item, head)
            return self.block(node.body.body, head)

        head, breaks = self.loop(state, iteration)
        exit_state = head
        if node.orelse is not None:
            exit_state = self.block(node.orelse.body.body, exit_state.copy())
        return join_states(exit_state, *breaks)


    def is_range(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and "builtins.range" in self.names.qualified(node.func)


    def loop(self, state: State, iteration) -> tuple[State, list[State]]:
        """Run `iteration` (head state -> end-of-body state) to a fixpoint; return the loop head
        state (the state whenever the loop test runs) and the states at `break`."""
        head = state.copy()
        for count in itertools.count():
            self.loops.append(([], []))
            end = iteration(head.copy())
            breaks, continues = self.loops.pop()
            following = join_states(head, end, *continues)
            if following == head:
                return head, breaks
            if count >= MAX_ITERATIONS:  # not converging: forget what keeps changing
                for name, value in following.env.items():
                    if head.env.get(name, UNBOUND) != value:
                        following.env[name] = value.forgotten()
            head = following


    def stmt_Try(self, node, state: State) -> State | None:
        self.try_states.append([state.copy()])
        after_body = self.block(node.body.body, state.copy())
        raised = join_states(*self.try_states.pop())
        exits = []
        if node.orelse is not None:
            after_body = self.block(node.orelse.body.body, after_body) if after_body is not None else None
        exits.append(after_body)
        for handler in node.handlers:
            entry = raised.copy()
            if handler.name is not None:
                self.assign(handler.name.name, OTHER, entry)
            exits.append(self.block(handler.body.body, entry))
        if node.finalbody is not None:
            # The finally block runs on every path; its end is where normal paths go on.
            merged = join_states(*exits, raised)
            end = self.block(node.finalbody.body.body, merged)
            return end if any(e is not None for e in exits) else None
        return join_states(*exits)

    stmt_TryStar = stmt_Try


    def stmt_With(self, node: cst.With, state: State) -> State | None:
        before = state.mode
        for item in node.items:
            value = self.expr(item.item, state)
            if value.kind is Kind.NO_GRAD:
                state.mode = GradMode(False, value.reason)
            elif value.kind is Kind.ENABLE_GRAD:
                state.mode = ENABLED
            elif self.mentions_grad_mode(item.item):  # `no_grad() if eval else nullcontext()`
                state.mode = UNKNOWN_MODE
            if item.asname is not None:
                context = value.kind in (Kind.NO_GRAD, Kind.ENABLE_GRAD)
                self.assign(item.asname.name, OTHER if context else TOP, state)
        end = self.block(node.body.body, state)
        if end is not None:
            end.mode = before  # leaving a grad-mode context restores the previous mode
        return end


    def mentions_grad_mode(self, node: cst.CSTNode) -> bool:
        apis = api.NO_GRAD_CONTEXTS | api.ENABLE_GRAD_CONTEXTS | api.SET_GRAD_ENABLED
        found = False
        names = self.names

        class Mentions(cst.CSTVisitor):
            def visit_Attribute(self, attribute: cst.Attribute) -> None:
                nonlocal found
                found = found or bool(names.qualified(attribute) & apis)

            def visit_Name(self, name: cst.Name) -> None:
                nonlocal found
                found = found or bool(names.qualified(name) & apis)

        walk(node, Mentions())
        return found


    def stmt_FunctionDef(self, node: cst.FunctionDef, state: State) -> State:
        self.schedule(node, self.function_entry_mode(node))
        self.escape_free_names(state)
        self.bind(node.name.value, Value(Kind.CODE), state)
        return state


    def stmt_ClassDef(self, node: cst.ClassDef, state: State) -> State:
        self.schedule(node, UNKNOWN_MODE)
        is_module = False
        for base in node.bases:
            qualified = self.names.qualified(base.value)
            local = state.env.get(base.value.value) if isinstance(base.value, cst.Name) else None
            if any(name.startswith("torch.nn.") for name in qualified) or (
                local is not None and local.kind is Kind.MODULE_CLASS
            ):
                is_module = True
        self.escape_free_names(state)
        self.bind(node.name.value, Value(Kind.MODULE_CLASS if is_module else Kind.CODE), state)
        return state


    def forget_assigned(self, node: cst.CSTNode, state: State) -> State:
        for name in self.scope.local_names:
            if name in state.env:
                state.env[name] = state.env[name].forgotten()
        self.havoc(state)
        return state

    # Bindings and effects


    def tracked(self, name: str) -> bool:
        return name not in self.scope.untracked


    def bind(self, name: str, value: Value, state: State) -> None:
        if not self.tracked(name):
            return
        state.env[name] = value
        if name in self.scope.exposed:
            state.escaped |= value.objects
        at_module_level = isinstance(self.scope.node, cst.Module)
        if at_module_level and name in self.assigned_once and value.kind in OBJECT_KINDS:
            self.module_objects[name] = join(self.module_objects.get(name, UNBOUND), value)


    def lookup(self, name: str, state: State) -> Value:
        if not self.tracked(name):
            return TOP
        if name in state.env:
            return state.env[name]
        if name in self.scope.local_names:
            return UNBOUND
        if name in ("True", "False"):
            return number(name == "True")
        if name == "None":
            return OTHER
        return self.module_objects.get(name, TOP)  # a module-level object, or unknown


    def assign(self, target: cst.BaseExpression, value: Value, state: State, source=None) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, value, state)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = sequence_elements(source) if source is not None else None
            # `_, c, h, w = f.size()`: ints (OTHER is the torch.Size of a tensor or unknown)
            sizes = value.kind is Kind.OTHER and source is not None and is_sizes(source) and not any(
                isinstance(element, cst.StarredElement) for element in target.elements
            )
            for index, element in enumerate(target.elements):
                if elements is not None and len(elements) == len(target.elements):
                    part = self.values.get(elements[index], TOP)
                elif sizes:
                    part = number()
                else:
                    part = TOP
                self.assign(element.value, part, state)
        elif isinstance(target, cst.StarredElement):
            self.assign(target.value, OTHER, state)
        elif isinstance(target, cst.Attribute):
            self.assign_attribute(target, value, state)
        elif isinstance(target, cst.Subscript):
            receiver = self.expr(target.value, state)
            self.subscript_parts(target, state)
            self.escape(value, state)
            if receiver.kind in (Kind.TENSOR, Kind.UNKNOWN):
                self.in_place(target.value, receiver, [value], state)


    def assign_attribute(self, target: cst.Attribute, value: Value, state: State) -> None:
        receiver = self.expr(target.value, state)
        attribute = target.attr.value
        if attribute == "requires_grad":
            flag = value.constant if value.kind is Kind.NUMBER else None
            self.set_requires_grad(target.value, receiver, flag, state, target, attribute=True)
        elif attribute == "grad":
            if value.kind is not Kind.OTHER:  # `x.grad = None` leaves nothing to read
                self.mutate(target.value, receiver, replace(receiver, grad_kept=True), state, flags=True)
        elif attribute == "data":
            if receiver.kind is Kind.TENSOR:
                shape = value.shape if value.kind is Kind.TENSOR else None
                new = replace(receiver, shape=shape, constant=None)
                self.mutate(target.value, receiver, new, state)
        else:
            self.escape(value, state)


    def augmented_assign(self, node: cst.AugAssign, state: State) -> None:
        operand = self.expr(node.value, state)
        target = node.target
        if isinstance(target, cst.Name):
            current = self.expr(target, state)
            if current.kind is Kind.TENSOR:
                self.in_place(target, current, [operand], state)
                return
            rebound = self.binary(node.operator, current, operand, state, node)
            if current.kind is Kind.UNKNOWN:  # a tensor (changed in place) or a number (rebound)
                self.in_place(target, current, [operand], state)
                rebound = join(state.env.get(target.value, current), rebound)
                if current.tensor_shape == () and self.adds_zero_dim(node, operand):
                    # A number or a 0-dim tensor, plus a 0-dim tensor: a 0-dim tensor.
                    rebound = replace(rebound, kind=Kind.TENSOR, shape=(), tensor_shape=None)
            self.bind(target.value, rebound, state)
        elif isinstance(target, cst.Subscript):
            receiver = self.expr(target.value, state)
            self.subscript_parts(target, state)
            self.escape(operand, state)
            if receiver.kind in (Kind.TENSOR, Kind.UNKNOWN):
                self.in_place(target.value, receiver, [operand], state)
            else:  # an element of a container, maybe an escaped tensor, changed in place
                self.in_place(target, TOP, [operand], state)
        elif isinstance(target, cst.Attribute):
            self.in_place(target, self.expr(target, state), [operand], state)
            self.escape(operand, state)


    @staticmethod
    def adds_zero_dim(node: cst.AugAssign, operand: Value) -> bool:
        arithmetic = (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign, cst.DivideAssign)
        return isinstance(node.operator, arithmetic) and operand.kind is Kind.TENSOR and operand.shape == ()

    def delete(self, target: cst.BaseExpression, state: State) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, TOP, state)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.delete(element.value, state)


    def escape(self, value: Value, state: State) -> None:
        """`value` is now reachable from somewhere the walk does not follow."""
        state.escaped |= value.objects


    def escape_free_names(self, state: State) -> None:
        for name in self.scope.exposed:
            if name in state.env:
                self.escape(state.env[name], state)


    def havoc(self, state: State, objects: frozenset[int] = frozenset()) -> None:
        """Unknown code may have changed the escaped objects (and `objects`)."""
        reachable = state.escaped | objects
        if not reachable:
            return
        for name, value in state.env.items():
            if value.objects & reachable:
                state.env[name] = value.forgotten()


    def mutate(self, receiver_node, receiver: Value, new: Value, state: State, flags: bool = False) -> None:
        """`receiver` (the value of `receiver_node`) was changed in place into `new`."""
        if not receiver.objects:
            if flags:  # a flag changed on something unknown: maybe on an escaped object
                self.havoc(state)
            if isinstance(receiver_node, cst.Name):
                self.bind(receiver_node.value, new, state)
            return
        for name, value in state.env.items():
            if value.objects & receiver.objects:
                state.env[name] = join(value, new)
        if isinstance(receiver_node, cst.Name):
            self.bind(receiver_node.value, new, state)


    def set_requires_grad(
        self, receiver_node, receiver: Value, flag, state: State, node, attribute: bool
    ) -> Value:
        """`x.requires_grad_(flag)` / `x.requires_grad = flag` (flag None: not a literal). Both
        raise on a non-leaf unless it is a no-op, so if the program goes on x is a leaf."""
        line = self.line(node)
        if flag is None:
            new = Value(Kind.TENSOR, leaf=Leaf.LEAF if attribute else receiver.leaf, objects=receiver.objects)
        elif flag:
            leaf = Leaf.LEAF if attribute or receiver.requires_grad is NO else receiver.leaf
            new = replace(receiver, kind=Kind.TENSOR, requires_grad=YES, leaf=leaf, reason=None)
        else:
            detail = "requires_grad = False" if attribute else "requires_grad_(False)"
            was_no = receiver.requires_grad is NO
            new = replace(
                receiver, kind=Kind.TENSOR, requires_grad=NO, leaf=Leaf.LEAF,
                reason=receiver.reason if was_no else NoGradReason("frozen", line, detail),
                grad_kept=receiver.grad_kept if was_no else None,  # an old gradient stays
            )
        self.mutate(receiver_node, receiver, new, state, flags=True)
        return new


    def in_place(
        self, receiver_node, receiver: Value, operands: list[Value], state: State, shape_kept=True
    ) -> Value:
        """An in-place op on `receiver` with `operands`: with grad enabled the receiver joins the
        operands' graph; with grad disabled its flags do not change."""
        carries_grad = any(op.kind not in CONSTANT_KINDS and op.requires_grad is not NO for op in operands)
        if not receiver.objects and carries_grad and state.mode.enabled is not False:
            self.havoc(state)  # the receiver may be any escaped tensor, now part of a graph
        enabled = self.combine([receiver, *operands], ENABLED, tensor_op=True)
        kept = receiver
        if state.mode.enabled is True:
            flags = enabled
        elif state.mode.enabled is False:
            flags = kept
        else:
            flags = join(enabled, kept)
        new = Value(
            receiver.kind,
            flags.requires_grad,
            flags.leaf,
            receiver.shape if shape_kept else None,
            flags.reason,
            receiver.objects,
            receiver.grad_kept,
        )
        self.mutate(receiver_node, receiver, new, state)
        return new

    # Expressions
