"""The base class of every rule, and the per-file context the rules share.

A rule is a libcst visitor (Fixit style): it defines `visit_<Node>` methods and calls
`self.report(node, message, fix=...)`. The engine runs all selected rules in ONE batched
traversal of the tree (varlint/engine.py dispatches over the pre-order the name pass records),
so names, scopes and parents are resolved once per file, and shared analyses (the grad-state
dataflow, loop facts) are computed once, on first use, through `self.context`.

A rule's documentation is its module docstring (What it does / Why is this bad / Example /
Fix safety), printed by `varlint rule CODE`.
"""

from __future__ import annotations

import ast
import os
import sys
from functools import cached_property
from typing import ClassVar, Iterable

import libcst as cst
from libcst.metadata import CodeRange

from varlint.diagnostic import Applicability, Diagnostic, Edit, Fix, Position


class FileContext:
    """Everything known about one file, built once and shared by all rules.

    `project` is the run's project index (varlint/project.py); without one (linting a text) it
    is an index of this file alone. Names, parents and scopes come from one pass of our own
    (varlint/analysis/names.py); libcst metadata (positions, or any provider a rule asks for
    with `get_metadata`) is computed only when first needed."""

    def __init__(
        self,
        path: str,
        module: cst.Module,
        wrapper: cst.MetadataWrapper | None = None,
        *,
        project=None,
        module_name: str | None = None,
        text: str | None = None,
        syntax_tree=None,
    ) -> None:
        self.path = path
        self.module = module
        self._text = text  # the source `module` was parsed from (positions check against it)
        self._syntax_tree = syntax_tree  # its stdlib AST (where statements start)
        self._wrapper = wrapper
        self._project = project
        self._module_name = module_name
        self._metadata: dict = {}

    @property
    def wrapper(self) -> cst.MetadataWrapper:
        if self._wrapper is None:
            self._wrapper = cst.MetadataWrapper(self.module, unsafe_skip_copy=True)
        return self._wrapper

    def metadata(self, provider) -> dict:
        """A libcst metadata provider's mapping, resolved on first use."""
        if provider not in self._metadata:
            self._metadata[provider] = self.wrapper.resolve(provider)
        return self._metadata[provider]

    @property
    def project(self):
        if self._project is None:
            from varlint.project import ProjectIndex

            self._project = ProjectIndex.single(self.path, self.text, self._module_name)
        return self._project

    @property
    def module_name(self) -> str:
        if self._module_name is None:
            from varlint.project import package_module_name

            key = self._project.module_name(self.path) if self._project is not None else None
            info = self._project.modules.get(key) if key is not None else None
            self._module_name = info.name if info is not None else package_module_name(self.path)[0]
        return self._module_name

    @cached_property
    def positions(self):
        """Start and end of a node (libcst's PositionProvider's ranges), computed for the
        statements asked about only (varlint/analysis/positions.py)."""
        from varlint.analysis.positions import LazyPositions

        return LazyPositions(self.module, self.parents, self._text, self._syntax_tree)

    @cached_property
    def text(self) -> str:
        """The source text (`module.code` would generate it again from the whole tree)."""
        return self._text if self._text is not None else self.module.code

    @cached_property
    def syntax_tree(self):
        """The stdlib AST of the source (the caller's when it had one; None if it does not parse)."""
        if self._syntax_tree is not None:
            return self._syntax_tree
        try:
            return ast.parse(self.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None

    @property
    def parents(self) -> dict[cst.CSTNode, cst.CSTNode]:
        return self.names.parents

    @cached_property
    def names(self):
        """Qualified-name resolution (imports followed), see varlint/analysis/names.py."""
        from varlint.analysis.names import NameResolver

        is_package = os.path.basename(self.path) == "__init__.py"
        # Without a project index, imports resolve within this file only (the star imports
        # of other modules are unknown).
        key = self._project.module_name(self.path) if self._project is not None else None
        return NameResolver(self.module, self._project, self.module_name, is_package, key)

    def expression_context(self, node: cst.CSTNode) -> str:
        """"load", "store" (an assignment target) or "del" (see names.py)."""
        return self.names.expression_context(node)

    @cached_property
    def gradflow(self):
        """The shared requires-grad / leaf / shape dataflow of this file."""
        from varlint.analysis.gradflow import GradFlow

        return GradFlow(self)

    @cached_property
    def summaries(self):
        """Summaries of this file's functions (what a call returns), see analysis/gradflow."""
        from varlint.analysis.gradflow.summaries import Summaries

        return Summaries(self)

    @cached_property
    def loops(self):
        """Training-loop facts (backward / step / reset sites per loop body)."""
        from varlint.analysis.loops import LoopFacts

        return LoopFacts(self)

    @cached_property
    def scopes(self):
        """The scopes, bindings and definitions of the loop facts' walk, with their name
        resolution (analysis/loops.py `WalkedScopes`): the loop facts once built, else the
        walk alone, which they take over when built later."""
        if "loops" in self.__dict__:
            return self.loops
        from varlint.analysis.loops import WalkedScopes, sites_walked

        return WalkedScopes(self, sites_walked(self))

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def range(self, node: cst.CSTNode) -> CodeRange:
        return self.positions[node]

    def edit(self, node: cst.CSTNode, replacement: cst.CSTNode | str) -> Edit:
        """An edit replacing `node`'s source text by `replacement` (a node or source text)."""
        code_range = self.range(node)
        content = replacement if isinstance(replacement, str) else self.code(replacement)
        return Edit(to_position(code_range.start), to_position(code_range.end), content)


# Expressions that can take `.method()` without parentheses.
PRIMARY_EXPRESSIONS = (
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.List,
    cst.ListComp,
    cst.Dict,
    cst.DictComp,
    cst.Set,
    cst.SetComp,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
)


def needs_parentheses(expression: cst.BaseExpression) -> bool:
    return not (getattr(expression, "lpar", None) or isinstance(expression, PRIMARY_EXPRESSIONS))


def receiver_code(context, expression: cst.BaseExpression) -> str:
    """Source text of `expression`, parenthesized when needed before `.method()`."""
    code = context.code(expression)
    return f"({code})" if needs_parentheses(expression) else code


def short_code(code: str, limit: int = 40) -> str:
    """A snippet for a message: the code itself if it is short and on one line."""
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


HINT_LIMIT = 80


def replace_message(replacement: str) -> str:
    """A fix's `Replace with `...`` message: the replacement shown whole, never cut mid-token;
    one too long for a line says where to see it instead."""
    if "\n" not in replacement and len(replacement) <= HINT_LIMIT:
        return f"Replace with `{replacement}`"
    return "Replace with the rewritten code (run `varlint check --diff` to see it)"


def to_position(code_position) -> Position:
    # libcst: 1-based lines, 0-based columns; ruff and varlint: both 1-based.
    return Position(code_position.line, code_position.column + 1)


class Rule(cst.BatchableCSTVisitor):
    code: ClassVar[str]
    name: ClassVar[str]
    # Rules that are off unless selected explicitly (severity "info"), like VL104.
    default_enabled: ClassVar[bool] = True

    # libcst metadata a rule reads with `get_metadata` (computed for it on first use; the
    # shared facts, `self.context.names` / `parents` / `positions`, need no declaration).
    METADATA_DEPENDENCIES = ()

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.diagnostics: list[Diagnostic] = []

    def get_metadata(self, key, node, default=None):
        return self.context.metadata(key).get(node, default)

    @classmethod
    def documentation(cls) -> str:
        return (sys.modules[cls.__module__].__doc__ or "").strip()

    @classmethod
    def summary(cls) -> str:
        return cls.documentation().splitlines()[0] if cls.documentation() else cls.name

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
    ) -> None:
        code_range = self.context.range(node)
        self.diagnostics.append(
            Diagnostic(
                code=self.code,
                name=self.name,
                message=message,
                path=self.context.path,
                start=to_position(code_range.start),
                end=to_position(code_range.end),
                fix=fix,
            )
        )

    # Small helpers shared by rules.

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        return self.context.names.qualified(node)

    def make_fix(
        self,
        applicability: Applicability,
        message: str,
        edits: Iterable[Edit],
    ) -> Fix:
        return Fix(applicability, message, tuple(edits))


class TrainingLoopRule(Rule):
    """A rule about training loops: `check_loop` runs for every for/while loop that calls
    `.backward()` on a value that may require grad (see varlint/analysis/loops.py)."""

    def visit_For(self, node: cst.For) -> None:
        self._visit_loop(node)

    def visit_While(self, node: cst.While) -> None:
        self._visit_loop(node)

    def _visit_loop(self, node: cst.For | cst.While) -> None:
        loop = self.context.loops.loop(node)
        if self.context.loops.is_training_loop(loop):
            self.check_loop(loop)

    def check_loop(self, loop) -> None:
        raise NotImplementedError


# --- Helpers for call arguments and edits, shared by the VL3xx rules ----------------------


def call_argument(call: cst.Call, index: int | None, keyword: str) -> cst.Arg | None:
    """The argument passed as positional `index` (None: keyword only) or as `keyword=`."""
    for position, argument in enumerate(call.args):
        if argument.star:
            return None
        if argument.keyword is not None:
            if argument.keyword.value == keyword:
                return argument
        elif position == index:
            return argument
    return None


def has_star_arguments(call: cst.Call) -> bool:
    return any(argument.star for argument in call.args)


def opening_parenthesis_end(context: FileContext, call: cst.Call) -> Position | None:
    """The position right after `call`'s `(` (and the whitespace after it), where a first
    argument is inserted; None when the layout is not a simple one-line one."""
    after_func = call.whitespace_after_func
    before_args = call.whitespace_before_args
    if not (isinstance(after_func, cst.SimpleWhitespace) and isinstance(before_args, cst.SimpleWhitespace)):
        return None
    end = to_position(context.range(call.func).end)
    if any(True for _ in getattr(call.func, "rpar", ())):
        return None  # `(f)(x)`: the range of the callee leaves its parentheses out
    return Position(end.row, end.column + len(after_func.value) + 1 + len(before_args.value))


def closing_parenthesis_start(context: FileContext, call: cst.Call) -> Position | None:
    """The position of `call`'s own `)`, where a last argument is appended."""
    if call.rpar:
        return None
    end = to_position(context.range(call).end)
    return Position(end.row, end.column - 1)


def argument_separator(call: cst.Call) -> str:
    """What goes before an argument appended at the closing parenthesis."""
    if not call.args:
        return ""
    return " " if isinstance(call.args[-1].comma, cst.Comma) else ", "


GRAD_DISABLING = frozenset({"torch.no_grad", "torch.inference_mode", "torch.set_grad_enabled",
                            "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad"})


def maybe_grad_disabled(context: FileContext, node: cst.CSTNode) -> bool:
    """Whether `node` may run with gradients disabled: inside a `with` or a function decorated
    with a grad-mode API, or in a file that switches grad mode with a call (a global switch)."""
    if _calls_set_grad_enabled(context):
        return True
    current = node
    while current is not None and not isinstance(current, cst.Module):
        if isinstance(current, cst.With):
            for item in current.items:
                expression = item.item.func if isinstance(item.item, cst.Call) else item.item
                if context.names.qualified(expression) & GRAD_DISABLING:
                    return True
        if isinstance(current, cst.FunctionDef):
            for decorator in current.decorators:
                expression = decorator.decorator
                expression = expression.func if isinstance(expression, cst.Call) else expression
                if context.names.qualified(expression) & GRAD_DISABLING:
                    return True
        current = context.parents.get(current)
    return False


def _calls_set_grad_enabled(context: FileContext) -> bool:
    """`torch.set_grad_enabled(False)` as a statement switches grad mode from there on."""
    cached = getattr(context, "_switches_grad_mode", None)
    if cached is None:
        cached = False
        if "set_grad_enabled" in context.text:
            from varlint.analysis.tree import descendants

            cached = any(isinstance(node, cst.Expr) and _is_set_grad_enabled_call(node.value)
                         for node in descendants(context.module))
        context._switches_grad_mode = cached
    return cached


def _is_set_grad_enabled_call(expression: cst.CSTNode) -> bool:
    """`set_grad_enabled(...)` or `<anything>.set_grad_enabled(...)`."""
    if not isinstance(expression, cst.Call):
        return False
    func = expression.func
    if isinstance(func, cst.Attribute):
        func = func.attr
    return isinstance(func, cst.Name) and func.value == "set_grad_enabled"


def shift_continuation_lines(code: str, delta: int) -> str:
    """`code` moved `delta` columns (negative: left): its continuation lines follow, so a
    replaced multi-line call keeps its layout. Multi-line strings are left as they are."""
    if delta == 0 or "\n" not in code or '"""' in code or "'''" in code:
        return code
    first, *rest = code.split("\n")
    shifted = []
    for line in rest:
        if delta > 0:
            shifted.append(" " * delta + line if line.strip() else line)
        else:
            leading = len(line) - len(line.lstrip(" "))
            shifted.append(line[min(leading, -delta):])
    return "\n".join([first, *shifted])


def enclosing_statement(context: FileContext, node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement line (or compound statement header) that holds `node`."""
    current = node
    while current is not None and not isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        current = context.parents.get(current)
    return current


def comments_outside(node: cst.CSTNode, kept: cst.CSTNode | None) -> list[str]:
    """The comments inside `node` that are not inside `kept` (lost when `node` is replaced by
    something built from `kept`)."""
    inside_kept = {id(comment) for comment in _comments(kept)} if kept is not None else set()
    return [comment.value for comment in _comments(node) if id(comment) not in inside_kept]


def _comments(node: cst.CSTNode) -> list[cst.Comment]:
    """The comments under `node`, in source order (libcst.matchers would cost a 0.5 s import)."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Comment):
            found.append(current)
        stack.extend(reversed(current.children))
    return found


def hoisted_comments_edit(context: FileContext, node: cst.CSTNode, comments: list[str]) -> Edit | None:
    """An edit putting `comments` on lines of their own before the statement holding `node`."""
    statement = enclosing_statement(context, node)
    if statement is None or not comments:
        return None
    row = context.range(statement).start.line
    lines = context.text.splitlines()
    line = lines[row - 1] if row - 1 < len(lines) else ""
    indent = line[: len(line) - len(line.lstrip())]
    newline = context.module.default_newline
    text = "".join(f"{indent}{comment}{newline}" for comment in comments)
    return Edit(Position(row, 1), Position(row, 1), text)


def self_assignment_removal(context: FileContext, node: cst.CSTNode, replacement: str) -> Edit | None:
    """When replacing `node` by `replacement` turns `x = <node>` into `x = x`, the edit that
    removes the statement instead (its comment, if any, stays; `pass` if the block would be
    empty)."""
    assign = context.parents.get(node)
    if not (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and assign.targets[0].target.value == replacement
    ):
        return None
    line = context.parents.get(assign)
    block = context.parents.get(line)
    if not (isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and isinstance(block, (cst.IndentedBlock, cst.Module))):
        return None
    start = context.range(line).start
    comment = line.trailing_whitespace.comment
    if comment is None and len(block.body) > 1:
        end_row = context.range(line).end.line + 1
        return Edit(Position(start.line, 1), Position(end_row, 1), "")
    content = comment.value if comment is not None and len(block.body) > 1 else "pass"
    statement_end = to_position(context.range(assign).end)
    edit_end = statement_end
    if comment is not None and len(block.body) > 1:
        edit_end = to_position(context.range(comment).end)
    return Edit(to_position(start), edit_end, content)
