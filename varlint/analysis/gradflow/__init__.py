"""The shared requires-grad / leaf / shape dataflow (rules.md, "VL1xx: autograd graph semantics").

`GradFlow.facts(expression)` says what is known about the value of an expression where it is
evaluated: whether it requires grad (YES / NO / UNKNOWN), whether it is a leaf, its shape, and
why it does not require grad. The analysis runs once per file, on first use, and is shared by
VL001, VL004, the VL1xx rules and the loop rules.

How it works. Each scope (the module, every function, every class body) is walked statement by
statement with an abstract state: name -> `Value`, the grad mode, and the objects that escaped
into places the analysis does not follow (containers, attributes, unknown functions). Branches
join; loops iterate to a fixpoint; every expression's value is recorded, joined over all the
times it is evaluated. Sources and transfer rules are the ones of rules.md: factories and
`Variable` take their `requires_grad`, `nn.Parameter` is YES, `.detach()` / `.data` / `.item()`
/ `.numpy()` / integer results are NO, known differentiable ops combine their inputs, anything
computed with grad disabled is NO; function parameters, attributes, globals read in functions,
user calls and module calls are UNKNOWN. After `t.backward()` the program only goes on if `t`
required grad, so from there `t` is YES (its shape stays what it was: without a gradient it held
one element, but a `(1,)` tensor does too, so it need not be 0-dim).

Soundness against aliasing: every tensor value carries the allocation sites of the objects it
may be. A flag change (`requires_grad_()`, `.requires_grad = ...`) or an in-place op through one
name updates that name, and every other name that may hold the same object is joined with the
new value; a flag change through something unknown (`for p in params: p.requires_grad = False`)
or a call that may run such code forgets what is known about every escaped object.

Precision first: UNKNOWN never triggers a diagnostic, and whatever is not modelled is UNKNOWN.

Layout: lattice.py (the values and their joins), statements.py (the walk over statements),
expressions.py (the value of each expression), tensor_ops.py (what torch operations do), calls.py
(reading calls and literals), prepass.py (flag changes and grad-mode switches found before the
walk); the tables of the torch API are in analysis/torch_api.py.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from varlint.analysis.gradflow.calls import BackwardCall, backward_call, is_read
from varlint.analysis.gradflow.lattice import (
    MAYBE,
    NO,
    UNKNOWN,
    YES,
    Leaf,
    NoGradReason,
    RequiresGrad,
    Value,
    ValueFacts,
    numel,
    torch_size,
)
from varlint.analysis.torch_api import is_module_class

__all__ = [
    "MAYBE", "NO", "UNKNOWN", "YES", "Analysis", "BackwardCall", "GradFlow", "Leaf", "NoGradReason",
    "RequiresGrad", "Value", "ValueFacts", "backward_call", "is_module_class", "is_read", "numel",
    "torch_size",
]


def __getattr__(name: str):
    # The walk (statements.py and what it imports) is loaded when a file is first analysed:
    # the rules import this package for its lattice, and a run may never need the walk.
    if name == "Analysis":
        from varlint.analysis.gradflow.statements import Analysis

        return Analysis
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The expression types the walk may find to be a tensor (expressions.py): every other node is
# a literal, a display, a comprehension or a lambda, whose value is never a tensor.
TENSOR_CAPABLE = frozenset({
    cst.Name, cst.NamedExpr, cst.IfExp, cst.BooleanOperation, cst.Comparison, cst.UnaryOperation,
    cst.BinaryOperation, cst.Attribute, cst.Subscript, cst.Await, cst.Yield, cst.StarredElement, cst.Call,
})


def _line_read(reason: NoGradReason | None) -> NoGradReason | None:
    if reason is None or reason.line is None or type(reason.line) is int:
        return reason
    return replace(reason, line=int(reason.line))


class SameAsNested(Exception):
    """Stops an analysis whose remaining walk would repeat, step for step, the analysis it has
    just started and run to its end (see Summaries.returns_zero_dim)."""


class GradFlow:
    def __init__(self, context) -> None:
        self.context = context
        self._values: dict[cst.CSTNode, Value] | None = None
        self.prepass = None  # the file's FilePrepass, once an analysis has walked it
        # loops.py's SiteWalker, walked with the prepass when the analysis ran first; whether
        # the loop facts were built already (then the analysis walks its prepass alone).
        self.site_walker = None
        self.loops_started = False
        # Analyses in progress (a summary asked for during one starts another, see
        # summaries.py), and whether the last one to end was cut short by a RecursionError.
        self.running = 0
        self.last_failed = False
        # The summaries the outermost analysis put off (see `_analyse`), in the order it asked.
        self.deferred: list[cst.FunctionDef] | None = None

    def facts(self, expression: cst.BaseExpression) -> ValueFacts:
        """What is known about the value of `expression` where it is evaluated."""
        if self._values is None:
            if self.running:
                self._run_nested()
            else:
                self._analyse()
        value = self._values.get(expression)
        if value is None:
            return UNKNOWN
        facts = value.public()
        if facts.reason is not None or facts.no_grad_if_tensor is not None:
            # the walk's lines are looked up lazily (statements.LazyLine): rules read ints
            facts = replace(facts, reason=_line_read(facts.reason), no_grad_if_tensor=_line_read(facts.no_grad_if_tensor))
        return facts

    def _run_nested(self) -> None:
        from varlint.analysis.gradflow.statements import Analysis

        self.running += 1
        try:
            self._values = Analysis(self.context).run()
            self.last_failed = False
        except SameAsNested:  # self._values: the analysis it started, which it would repeat
            self.last_failed = False
        except RecursionError:  # code nested too deep to analyse: know nothing about it
            self._values = {}
            self.last_failed = True
        finally:
            self.running -= 1

    def _analyse(self) -> None:
        """The file's analysis, as `_run_nested` gives it, without walking a prefix twice.

        There, the first summary that reads facts before any analysis has ended (summaries.py,
        `returns_zero_dim`) starts a second analysis A2 seeing it as False; A2 walks exactly as
        the asking one A1 did up to the question and on to its end; then A1 stops if the
        summary is False (most often) and A2's facts are the file's, else A1 goes on from the
        question with it True. Here the outermost analysis puts the summary off, answers False
        and goes on as A2 would; at its end the put-off summaries are read from its facts,
        innermost first; one that is True starts the analysis that asked it again (it walks
        as that one did up to the question, which no other analysis had started from, then
        on with it True). An analysis cut short by a RecursionError here, where the stack is
        not as deep as there, runs everything again the nested way."""
        summaries = self.context.summaries
        saved = dict(summaries._zero_dim)
        self.deferred = []
        self.running += 1
        try:
            if self._analyse_deferring(summaries):
                return
        finally:
            self.deferred = None
            self.running -= 1
        summaries._zero_dim.clear()
        summaries._zero_dim.update(saved)
        self._values = None
        self._run_nested()

    def _analyse_deferring(self, summaries) -> bool:
        """See `_analyse`; False when it must run again the nested way."""
        from varlint.analysis.gradflow.statements import Analysis

        try:
            values = Analysis(self.context).run()
        except RecursionError:
            if self.deferred:
                return False
            self._values, self.last_failed = {}, True  # as `_run_nested`: nothing was put off
            return True
        except SameAsNested:
            return False
        deferred, self.deferred = self.deferred, None
        self._values, self.last_failed = values, False
        while deferred:
            function = deferred.pop()
            summaries._zero_dim[function] = summaries.read_returns_zero_dim(function)
            if summaries._zero_dim[function]:
                try:
                    self._values = Analysis(self.context).run()
                except (RecursionError, SameAsNested):
                    return False
        return True

    def may_be_tensor(self, expression: cst.BaseExpression) -> bool:
        """False when the syntax alone shows `facts(expression).is_tensor` is False, so a rule
        that only cares about tensors need not start the analysis of the file (`for i in
        range(n)`): a non-tensor-capable node, or a call of a builtin other than `abs` (the
        walk's builtin_call gives a number or an unknown value for all of them)."""
        if type(expression) not in TENSOR_CAPABLE:
            return False
        if isinstance(expression, cst.Call):
            callee = self.context.names.qualified(expression.func)
            if callee and all(name.startswith("builtins.") for name in callee) and "builtins.abs" not in callee:
                return False
        return True

    def backward_call(self, call: cst.Call) -> BackwardCall | None:
        return backward_call(call, self.context.names.qualified(call.func))
