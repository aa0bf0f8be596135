"""Children of a libcst node in source order, without libcst's visitor machinery.

libcst's own traversal rebuilds every node it visits (`_visit_and_replace_children`) and
recurses (a chain of 600 `elif` exhausts the stack); varlint walks the tree once, iteratively,
reading the nodes' dataclass fields. Whitespace, comments and punctuation (commas, brackets,
dots, colons) are not visited: no rule or analysis looks at them.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

# Fields that only hold formatting.
FORMATTING_FIELDS = {
    "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon", "dot",
    "colon", "equal", "header", "footer", "indent", "leading_lines", "lines_after_decorators",
    "trailing_whitespace", "default_indent", "default_newline", "encoding", "has_trailing_newline",
    "first_colon", "second_colon", "posonly_ind", "asynchronous", "whitespace",
}

# Where the fields' declaration order differs from the source order.
SOURCE_ORDER = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.Arg: ("keyword", "value"),
    cst.ExceptHandler: ("type", "name", "body"),
    cst.Parameters: ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
}

SKIPPED_TYPES = (
    cst.BaseParenthesizableWhitespace,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Newline,
    cst.Comment,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
)

_FIELDS: dict[type, tuple[str, ...]] = {}


def fields_of(node_type: type) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        if node_type in SOURCE_ORDER:
            names = SOURCE_ORDER[node_type]
        else:
            names = tuple(
                f.name
                for f in dataclasses.fields(node_type)
                if f.name not in FORMATTING_FIELDS and not f.name.startswith("whitespace")
            )
        _FIELDS[node_type] = names
    return names


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children that matter, in source order."""
    found: list[cst.CSTNode] = []
    for name in fields_of(type(node)):
        value = getattr(node, name, None)
        if isinstance(value, cst.CSTNode):
            if not isinstance(value, SKIPPED_TYPES):
                found.append(value)
        elif isinstance(value, (tuple, list)):
            found.extend(item for item in value if isinstance(item, cst.CSTNode) and not isinstance(item, SKIPPED_TYPES))
    return found
