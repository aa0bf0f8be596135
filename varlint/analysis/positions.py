"""Node positions for the statements asked about, not for the whole module.

libcst's PositionProvider generates the code of the whole module to learn where each node is
(about 1.5 parses on the benchmark corpus); most files need the positions of a few reported
nodes. `LazyPositions[node]` gives the same CodeRange, computed by generating only the code of
the innermost statement holding `node` (a statement of a block: a simple statement line, or a
compound statement when `node` is in its header). Where that statement starts comes from the
stdlib AST of the same text (engine.parse compiles it anyway): libcst's blocks and the AST's
statement lists are walked side by side down to it.

Every generated statement is checked against the source: its code must be the text found at
the line it was placed on. When it is not (or the node is outside any statement: the module
itself, a header comment, a node of another tree), the positions of the whole module are
computed as libcst does, once. Either way the answer is the one PositionProvider gives.
"""

from __future__ import annotations

import ast
import sys

import libcst as cst
from libcst.metadata import CodeRange, PositionProvider
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState

RECURSION_LIMIT = 20000  # libcst's codegen recurses (a chain of 600 `elif`s)

# The AST statements a libcst compound statement can be.
COMPOUND = {
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
}
if hasattr(cst, "TryStar") and hasattr(ast, "TryStar"):
    COMPOUND[cst.TryStar] = (ast.TryStar,)
if hasattr(cst, "Match") and hasattr(ast, "Match"):
    COMPOUND[cst.Match] = (ast.Match,)


class _Scratch:
    """What the codegen state writes positions into (a BaseMetadataProvider's `_computed`)."""

    __slots__ = ("_computed",)

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}


class LazyPositions:
    """node -> CodeRange (libcst's PositionProvider's), computed per statement on demand."""

    def __init__(self, module: cst.Module, parents: dict, text: str | None = None,
                 tree: ast.Module | None = None) -> None:
        self.module = module
        self.parents = parents
        self._text = text
        self._tree = tree
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self._generated: set[cst.CSTNode] = set()
        self._line_starts: list[int] | None = None
        self._whole = False
        self._ast_indexes: dict[int, dict[int, int]] = {}  # block owner -> id(statement) -> AST index

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._computed.get(node)
        if found is None:
            if not self._whole and not self._generate_around(node):
                self.compute_all()
            found = self._computed.get(node)
            if found is None:
                if not self._whole:
                    self.compute_all()
                found = self._computed[node]  # KeyError, as the provider's mapping: not a node of this tree
        return found

    def get(self, node: cst.CSTNode, default=None):
        try:
            return self[node]
        except KeyError:
            return default

    def __contains__(self, node: cst.CSTNode) -> bool:
        return self.get(node) is not None

    def compute_all(self) -> None:
        """The positions of every node, as PositionProvider computes them."""
        provider = PositionProvider()
        with _deep_recursion():
            provider._gen_impl(self.module)
        self._computed.update(provider._computed)
        self._whole = True

    # --- One statement ------------------------------------------------------------------

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.module.code
        return self._text

    @property
    def tree(self) -> ast.Module | None:
        if self._tree is None:
            try:
                self._tree = ast.parse(self.text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
        return self._tree

    def _generate_around(self, node: cst.CSTNode) -> bool:
        located = self._locate(node)
        if located is None:
            return False
        statement, begin, indents = located
        if statement in self._generated:
            return False  # generated already, and `node` was not in it
        scratch = _Scratch()
        state = PositionProvidingCodegenState(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
            provider=scratch,
        )
        state.indent_tokens = list(indents)
        state.line = begin
        state.column = 0
        with _deep_recursion():
            statement._codegen(state)
        if not self._matches_source(begin, state.tokens):
            return False
        self._generated.add(statement)
        self._computed.update(scratch._computed)
        return True

    def _matches_source(self, begin: int, tokens: list[str]) -> bool:
        starts = self._starts()
        if not 1 <= begin <= len(starts):
            return False
        generated = "".join(tokens)
        start = starts[begin - 1]
        text = self.text
        if text.startswith(generated, start):
            return True
        # The module's last line without a newline: libcst drops the one it generated.
        last = tokens[-1] if tokens else ""
        return (not self.module.has_trailing_newline and bool(last)
                and start + len(generated) - len(last) == len(text)
                and text.startswith(generated[: len(generated) - len(last)], start))

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = [0, *(match.end() for match in NEWLINE_RE.finditer(self.text))]
        return self._line_starts

    def _locate(self, node: cst.CSTNode):
        """(statement, first line of its code, indents of its blocks) of the innermost
        statement of a block holding `node`; None when there is none or the AST disagrees."""
        chain = [node]
        current = node
        parents = self.parents
        while current is not self.module:
            current = parents.get(current)
            if current is None:
                return None
            chain.append(current)
        chain.reverse()
        tree = self.tree
        if tree is None:
            return None
        owner: cst.CSTNode = self.module
        block = self.module.body
        statements: list[ast.stmt] = tree.body
        indents: list[str] = []
        found = None
        index = 1
        while index < len(chain):
            statement = chain[index]
            counted = self._ast_index(owner, block).get(id(statement))
            if counted is None:
                return None
            if counted >= len(statements):
                return None
            mirror = statements[counted]
            begin = _begin_line(statement, mirror)
            if begin is None:
                return None
            found = (statement, begin, tuple(indents))
            if not isinstance(statement, cst.BaseCompoundStatement):
                return found
            inner = _inner_block(statement, mirror, chain, index + 1)
            if inner is None:
                return found
            suite, statements, index = inner
            if isinstance(statement, getattr(cst, "Match", ())):  # its cases are indented too
                indents.append(self.module.default_indent if statement.indent is None else statement.indent)
            indents.append(self.module.default_indent if suite.indent is None else suite.indent)
            owner, block = suite, suite.body
        return found

    def _ast_index(self, owner: cst.CSTNode, block) -> dict[int, int]:
        """id(statement) -> index of its (first) AST statement, for a block's statements."""
        found = self._ast_indexes.get(id(owner))
        if found is None:
            found, counted = {}, 0
            for statement in block:
                found[id(statement)] = counted
                counted += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
            self._ast_indexes[id(owner)] = found
        return found


def _identity_index(items, wanted) -> int | None:
    for position, item in enumerate(items):
        if item is wanted:
            return position
    return None


def _begin_line(statement: cst.CSTNode, mirror: ast.stmt) -> int | None:
    """The line where `statement`'s generated code starts (its leading lines included)."""
    if isinstance(statement, cst.SimpleStatementLine):
        if isinstance(mirror, tuple(COMPOUND_AST)):
            return None
        return mirror.lineno - len(statement.leading_lines)
    expected = COMPOUND.get(type(statement))
    if expected is None or not isinstance(mirror, expected):
        return None
    decorators = getattr(statement, "decorators", ())
    if decorators:
        listed = mirror.decorator_list
        if len(listed) != len(decorators):
            return None
        return listed[0].lineno - len(decorators[0].leading_lines) - len(statement.leading_lines)
    return mirror.lineno - len(statement.leading_lines)


COMPOUND_AST = {kind for kinds in COMPOUND.values() for kind in kinds}


def _inner_block(statement, mirror, chain: list, index: int):
    """(IndentedBlock, its AST statements, chain index of the block's statement) when the
    chain goes on into a block of `statement`; None when `node` is in its header."""
    while index < len(chain):
        step = chain[index]
        if isinstance(step, cst.IndentedBlock):
            if step is statement.body:
                return step, mirror.body, index + 1
            return None
        if isinstance(step, cst.Else) and step is getattr(statement, "orelse", None):
            if not isinstance(step.body, cst.IndentedBlock) or index + 1 >= len(chain) or chain[index + 1] is not step.body:
                return None
            return step.body, mirror.orelse, index + 2
        if isinstance(step, cst.If) and step is getattr(statement, "orelse", None):
            # an `elif`: the AST's orelse is that one `If`
            if len(mirror.orelse) != 1 or not isinstance(mirror.orelse[0], ast.If):
                return None
            statement, mirror = step, mirror.orelse[0]
            index += 1
            continue
        handlers = getattr(statement, "handlers", ())
        position = _identity_index(handlers, step)
        if position is not None:
            listed = mirror.handlers
            if len(listed) != len(handlers):
                return None
            return _body_of(step, listed[position].body, chain, index)
        if isinstance(step, cst.Finally) and step is getattr(statement, "finalbody", None):
            return _body_of(step, mirror.finalbody, chain, index)
        cases = getattr(statement, "cases", ())
        position = _identity_index(cases, step)
        if position is not None:
            if len(mirror.cases) != len(cases):
                return None
            return _body_of(step, mirror.cases[position].body, chain, index)
        return None
    return None


def _body_of(owner, statements, chain: list, index: int):
    body = owner.body
    if not isinstance(body, cst.IndentedBlock) or index + 1 >= len(chain) or chain[index + 1] is not body:
        return None
    return body, statements, index + 2


class _deep_recursion:
    def __enter__(self):
        self.limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.limit, RECURSION_LIMIT))

    def __exit__(self, *exc):
        sys.setrecursionlimit(self.limit)
        return False
