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


# type -> whether a value of that type is a child that matters (a node, not formatting).
# A per-type table: isinstance against libcst's abstract base classes is slow.
_KEPT: dict[type, bool] = {}


def _kept(value_type: type) -> bool:
    kept = _KEPT.get(value_type)
    if kept is None:
        kept = issubclass(value_type, cst.CSTNode) and not issubclass(value_type, SKIPPED_TYPES)
        _KEPT[value_type] = kept
    return kept


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children that matter, in source order."""
    found: list[cst.CSTNode] = []
    kept = _KEPT
    for name in fields_of(type(node)):
        value = getattr(node, name, None)
        value_type = type(value)
        if value_type is tuple or value_type is list or isinstance(value, (tuple, list)):
            for item in value:
                item_kept = kept.get(type(item))
                if item_kept is None:
                    item_kept = _kept(type(item))
                if item_kept:
                    found.append(item)
        else:
            value_kept = kept.get(value_type)
            if value_kept is None:
                value_kept = _kept(value_type)
            if value_kept:
                found.append(value)
    return found


_ENTER, _LEAVE, _ENTER_FIELD, _LEAVE_FIELD = range(4)
_HOOKS: dict[tuple[str, str], dict[str, frozenset[str]]] = {}


def _field_hooks(visitor_class: type) -> dict[str, frozenset[str]]:
    """Node type name -> fields with `visit_<Node>_<field>` / `leave_<Node>_<field>` hooks."""
    # Keyed by name: visitors defined inside functions are new classes at every call.
    key = (visitor_class.__module__, visitor_class.__qualname__)
    hooks = _HOOKS.get(key)
    if hooks is None:
        found: dict[str, set[str]] = {}
        for name in dir(visitor_class):
            for prefix in ("visit_", "leave_"):
                if name.startswith(prefix) and "_" in name[len(prefix):]:
                    node_type, _, field = name[len(prefix):].partition("_")
                    found.setdefault(node_type, set()).add(field)
        hooks = {node_type: frozenset(fields) for node_type, fields in found.items()}
        _HOOKS[key] = hooks
    return hooks


_OWN_HOOKS: dict[tuple[str, str], dict[str, frozenset[str]]] = {}


def _own(visitor_class: type, name: str) -> bool:
    """Whether the visitor defines `name` itself: libcst's CSTVisitor has a no-op for every
    node and every field, which need not be called."""
    return getattr(visitor_class, name, None) is not getattr(cst.CSTVisitor, name, None)


def _own_field_hooks(visitor_class: type) -> dict[str, frozenset[str]]:
    """`_field_hooks`, without the no-ops inherited from CSTVisitor."""
    key = (visitor_class.__module__, visitor_class.__qualname__)
    hooks = _OWN_HOOKS.get(key)
    if hooks is None:
        hooks = {}
        for node_type, fields in _field_hooks(visitor_class).items():
            own = frozenset(field for field in fields if _own(visitor_class, f"visit_{node_type}_{field}")
                            or _own(visitor_class, f"leave_{node_type}_{field}"))
            if own:
                hooks[node_type] = own
        _OWN_HOOKS[key] = hooks
    return hooks


_TOGETHER: dict[tuple[type, ...], type] = {}


def walk_together(node: cst.CSTNode, visitors: list[cst.CSTVisitor]) -> None:
    """`walk(node, visitor)` for each of `visitors`, in one traversal: read-only visitors that
    never skip children (a `visit_` returning False raises ValueError)."""
    classes = tuple(type(visitor) for visitor in visitors)
    together = _TOGETHER.get(classes)
    if together is None:
        namespace: dict[str, object] = {"__init__": _together_init}
        for name in sorted({name for c in classes for name in dir(c) if name.startswith(("visit_", "leave_"))}):
            if any(_own(c, name) for c in classes):
                namespace[name] = _fan_out(name)
        together = type("Together", (cst.CSTVisitor,), namespace)
        # _field_hooks caches by qualified name: one per combination of visitor classes.
        together.__qualname__ = "Together[" + ",".join(f"{c.__module__}.{c.__qualname__}" for c in classes) + "]"
        _TOGETHER[classes] = together
    walk(node, together(visitors))


def _together_init(self, visitors) -> None:
    cst.CSTVisitor.__init__(self)
    self.visitors = visitors
    self.bound: dict[str, list] = {}


def _fan_out(name: str):
    def method(self, node) -> None:
        bound = self.bound.get(name)
        if bound is None:
            bound = self.bound[name] = [getattr(v, name) for v in self.visitors if _own(type(v), name)]
        for call in bound:
            if call(node) is False:
                raise ValueError(f"{name} skips children: walk this visitor on its own")
    method.__name__ = name
    return method


def _field_children(node: cst.CSTNode, name: str) -> list[cst.CSTNode]:
    value = getattr(node, name, None)
    if isinstance(value, (tuple, list)):
        return [item for item in value if _kept(type(item))]
    return [value] if _kept(type(value)) else []


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a read-only visitor, without rebuilding the tree and without
    recursion: `visit_<Node>` (returning False skips the children), `leave_<Node>` and the
    per-field `visit_<Node>_<field>` / `leave_<Node>_<field>` hooks are called as libcst calls
    them, on every node but formatting (whitespace, punctuation)."""
    hooks = _field_hooks(type(visitor))
    visitor_class = type(visitor)
    if (visitor_class.on_visit is cst.CSTVisitor.on_visit and visitor_class.on_leave is cst.CSTVisitor.on_leave
            and visitor_class.on_visit_attribute is cst.CSTVisitor.on_visit_attribute
            and visitor_class.on_leave_attribute is cst.CSTVisitor.on_leave_attribute):
        _walk_with_methods(node, visitor, _own_field_hooks(visitor_class))
        return
    on_visit, on_leave = visitor.on_visit, visitor.on_leave
    stack: list[tuple[cst.CSTNode, int, str | None]] = [(node, _ENTER, None)]
    while stack:
        current, action, field = stack.pop()
        if action == _LEAVE:
            on_leave(current)
            continue
        if action == _ENTER_FIELD:
            visitor.on_visit_attribute(current, field)
            continue
        if action == _LEAVE_FIELD:
            visitor.on_leave_attribute(current, field)
            continue
        descend = on_visit(current)
        stack.append((current, _LEAVE, None))
        if not descend:
            continue
        fields = hooks.get(type(current).__name__) if hooks else None
        if not fields:
            stack.extend((child, _ENTER, None) for child in reversed(children(current)))
            continue
        items: list[tuple[cst.CSTNode, int, str | None]] = []
        for name in fields_of(type(current)):
            kids = [(child, _ENTER, None) for child in _field_children(current, name)]
            if name in fields:
                items += [(current, _ENTER_FIELD, name), *kids, (current, _LEAVE_FIELD, name)]
            else:
                items += kids
        stack.extend(reversed(items))


def _walk_with_methods(node: cst.CSTNode, visitor: cst.CSTVisitor, hooks: dict[str, frozenset[str]]) -> None:
    """`walk` for a visitor with libcst's own `on_visit` / `on_leave` / `on_*_attribute`: its
    `visit_<Node>`, `leave_<Node>` and per-field methods are looked up once per node type
    (libcst looks them up at every node), and a node without a `leave_` method is not
    revisited. Stack entries: (node, None) to enter it, (node, method) to call `method(node)`."""
    visitor_class = type(visitor)
    methods: dict[type, tuple] = {}
    field_methods: dict[tuple[type, str], tuple] = {}
    stack: list = [(node, None)]
    while stack:
        current, call = stack.pop()
        if call is not None:
            call(current)
            continue
        node_type = type(current)
        found = methods.get(node_type)
        if found is None:
            name = node_type.__name__
            found = tuple(getattr(visitor, method) if _own(visitor_class, method) else None
                          for method in (f"visit_{name}", f"leave_{name}"))
            methods[node_type] = found
        visit, leave = found
        if leave is not None:
            stack.append((current, leave))
        if visit is not None and visit(current) is False:
            continue
        fields = hooks.get(node_type.__name__) if hooks else None
        if not fields:
            kids = children(current)
            kids.reverse()
            stack.extend([(child, None) for child in kids])
            continue
        items: list = []
        for name in fields_of(node_type):
            kids = _field_children(current, name)
            if name not in fields:
                items.extend([(child, None) for child in kids])
                continue
            pair = field_methods.get((node_type, name))
            if pair is None:
                pair = tuple(getattr(visitor, method) if _own(visitor_class, method) else None
                             for method in (f"visit_{node_type.__name__}_{name}", f"leave_{node_type.__name__}_{name}"))
                field_methods[(node_type, name)] = pair
            if pair[0] is not None:
                items.append((current, pair[0]))
            items.extend([(child, None) for child in kids])
            if pair[1] is not None:
                items.append((current, pair[1]))
        items.reverse()
        stack.extend(items)
