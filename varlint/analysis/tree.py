"""Children of a libcst node in source order, without libcst's visitor machinery.

libcst's own traversal rebuilds every node it visits (`_visit_and_replace_children`) and
recurses (a chain of 600 `elif` exhausts the stack); varlint walks the tree once, iteratively,
reading the nodes' dataclass fields. Whitespace, comments and punctuation (commas, brackets,
dots, colons) are not visited: no rule or analysis looks at them.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import typing

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
    """The node's children that matter, in source order (a new list)."""
    function = _CHILDREN.get(node.__class__)
    if function is None:
        function = _children_function(node.__class__)
    return function(node)


def children_function(node_type: type):
    """`children` for the nodes of `node_type` (for traversals that look it up once per type)."""
    return _CHILDREN.get(node_type) or _children_function(node_type)


# node type -> its `children` function, generated from its fields: reading the fields by name
# and testing each value's type cost several times more (a field annotated as text, such as
# Name.value, never holds a node and is not read at all).
_CHILDREN: dict[type, object] = {}

_ITEMS = """    value = node.{field}
    value_type = value.__class__
    if value_type is tuple or value_type is list or isinstance(value, (tuple, list)):
        for item in value:
            item_kept = kept(item.__class__)
            if item_kept is None:
                item_kept = judge(item.__class__)
            if item_kept:
                found.append(item)
    else:
        value_kept = kept(value_type)
        if value_kept is None:
            value_kept = judge(value_type)
        if value_kept:
            found.append(value)
"""
_ONE = """    value = node.{field}
    value_kept = kept(value.__class__)
    if value_kept is None:
        value_kept = judge(value.__class__)
    if value_kept:
        found.append(value)
"""


def _children_function(node_type: type):
    annotations = {field.name: field.type for field in dataclasses.fields(node_type)}
    body = []
    simple: list[str] = []  # fields read without a test, gathered into one list display
    for name in fields_of(node_type):
        annotation = annotations.get(name)
        shown = repr(annotation)
        if "libcst" not in shown and "ForwardRef" not in shown and "CSTNode" not in shown:
            continue  # text (`str`, a Literal): never a node
        plan = _field_plan(annotation)
        if plan in ("one", "many"):
            simple.append(f"node.{name}" if plan == "one" else f"*node.{name}")
            continue
        if simple:
            body.append(f"    found += [{', '.join(simple)}]\n")
            simple = []
        if plan == "optional":
            body.append(f"    value = node.{name}\n    if value is not None and value.__class__ is not sentinel:\n"
                        "        found.append(value)\n")
        else:
            body.append((_ITEMS if "Sequence" in shown or "list" in shown.lower() else _ONE).format(field=name))
    if not body and not simple:
        function = _no_children
    else:
        if not body:
            source = f"def children(node):\n    return [{', '.join(simple)}]\n"
        else:
            if simple:
                body.append(f"    found += [{', '.join(simple)}]\n")
            source = "def children(node, kept=kept, judge=judge, sentinel=sentinel):\n    found = []\n" + "".join(body) + "    return found\n"
        namespace = {"kept": _KEPT.get, "judge": _kept, "sentinel": cst.MaybeSentinel}
        exec(compile(source, f"<children of {node_type.__name__}>", "exec"), namespace)
        function = namespace["children"]
    _CHILDREN[node_type] = function
    return function


def _field_plan(annotation) -> str | None:
    """How a field's children are read without testing each value's type: "one" (a node that
    always matters), "many" (a sequence of such nodes), "optional" (such a node, None or
    MaybeSentinel); None: test each value (`_kept`). Read from the field's annotation, which
    the trees libcst parses (and builds) follow; a type "always matters" when neither it nor
    any of its subclasses is formatting."""
    origin = typing.get_origin(annotation)
    if origin is collections.abc.Sequence:
        (item,) = typing.get_args(annotation) or (None,)
        members = typing.get_args(item) if typing.get_origin(item) is typing.Union else (item,)
        return "many" if all(_always_kept(member) for member in members) else None
    if origin is typing.Union:
        members = [m for m in typing.get_args(annotation) if m is not type(None) and m is not cst.MaybeSentinel]
        return "optional" if all(_always_kept(member) for member in members) else None
    return "one" if _always_kept(annotation) else None


def _always_kept(annotation) -> bool:
    if isinstance(annotation, typing.ForwardRef):
        annotation = getattr(cst, annotation.__forward_arg__, None)
    if not isinstance(annotation, type) or not issubclass(annotation, cst.CSTNode):
        return False
    pending, seen = [annotation], set()
    while pending:
        klass = pending.pop()
        if klass in seen:
            continue
        seen.add(klass)
        if not _kept(klass):
            return False
        pending.extend(klass.__subclasses__())
    return True


def _no_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    return []


def descendants(node: cst.CSTNode):
    """`node` and the nodes under it (formatting left out), in source order (pre-order): what
    `libcst.matchers.findall` looks through, without its half-second import."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        kids = children(current)
        if kids:
            kids.reverse()
            stack.extend(kids)


_ENTER, _LEAVE, _ENTER_FIELD, _LEAVE_FIELD = range(4)
_HOOKS: dict[tuple[str, str, bool], dict[str, frozenset[str]]] = {}
_OWN: dict[tuple[str, str], frozenset[str]] = {}


def own_methods(visitor_class: type) -> frozenset[str]:
    """The `visit_*` / `leave_*` methods `visitor_class` defines itself or inherits from a class
    that is not libcst's: libcst's typed visitor bases define a do-nothing `visit_<Node>`,
    `leave_<Node>` and per-field hook for every node type and field, and calling them (or
    walking field by field for them) does nothing but cost time."""
    key = (visitor_class.__module__, visitor_class.__qualname__)
    found = _OWN.get(key)
    if found is None:
        names: set[str] = set()
        for klass in visitor_class.__mro__:
            if klass.__module__.partition(".")[0] == "libcst" or klass is object:
                continue
            names.update(name for name in vars(klass) if name.startswith(("visit_", "leave_")))
        found = _OWN[key] = frozenset(names)
    return found


def _field_hooks(visitor_class: type, every: bool = False) -> dict[str, frozenset[str]]:
    """Node type name -> fields with `visit_<Node>_<field>` / `leave_<Node>_<field>` hooks: the
    visitor's own (see `own_methods`), or with `every` libcst's do-nothing ones too (a visitor
    with its own `on_visit_attribute` is called for every field)."""
    # Keyed by name: visitors defined inside functions are new classes at every call.
    key = (visitor_class.__module__, visitor_class.__qualname__, every)
    hooks = _HOOKS.get(key)
    if hooks is None:
        found: dict[str, set[str]] = {}
        for name in (dir(visitor_class) if every else own_methods(visitor_class)):
            for prefix in ("visit_", "leave_"):
                if name.startswith(prefix) and "_" in name[len(prefix):]:
                    node_type, _, field = name[len(prefix):].partition("_")
                    found.setdefault(node_type, set()).add(field)
        hooks = {node_type: frozenset(fields) for node_type, fields in found.items()}
        _HOOKS[key] = hooks
    return hooks


def walk_together(node: cst.CSTNode, visitors: list[cst.CSTVisitor]) -> None:
    """`walk(node, visitor)` for each of `visitors`, in one traversal: read-only visitors that
    never skip children (a `visit_` returning False raises ValueError). At each node the
    visitors' methods are called in the order of `visitors`; each visitor's own `on_visit`
    and `on_leave` are not (only its `visit_*` / `leave_*` methods)."""
    _walk_methods(node, list(visitors), strict=True)


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
    visitor_class = type(visitor)
    if (visitor_class.on_visit is cst.CSTVisitor.on_visit and visitor_class.on_leave is cst.CSTVisitor.on_leave
            and visitor_class.on_visit_attribute is cst.CSTVisitor.on_visit_attribute
            and visitor_class.on_leave_attribute is cst.CSTVisitor.on_leave_attribute):
        _walk_methods(node, [visitor], strict=False)
        return
    hooks = _field_hooks(visitor_class, every=True)
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


def _walk_methods(node: cst.CSTNode, visitors: list[cst.CSTVisitor], strict: bool) -> None:
    """`walk` for visitors with libcst's own `on_visit` / `on_leave` / `on_*_attribute`: per
    node type, the `visit_<Node>` / `leave_<Node>` methods of the visitors (their own, see
    `own_methods`), the per-field ones and the children function are looked up once (libcst
    looks them up at every node). A `visit_` returning False skips the node's children (with
    `strict`, any method returning False raises ValueError). The stack holds the nodes to enter
    and (method, node) pairs to call: a node's `leave_`, a field's `visit_` / `leave_`."""
    plans = _plans(tuple(type(visitor) for visitor in visitors))
    table: dict[type, tuple] = {}
    stack: list = [node]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        current = pop()
        node_type = current.__class__
        if node_type is tuple:
            current[0](current[1])
            continue
        found = table.get(node_type)
        if found is None:
            plan = plans.get(node_type)
            if plan is None:
                plan = plans[node_type] = _plan(node_type, [type(visitor) for visitor in visitors])
            found = table[node_type] = _bound(plan, visitors, strict)
        visit, leave, kids_of, field_plan = found
        if leave is not None:
            push((leave, current))
        if visit is not None and visit(current) is False:
            continue
        if field_plan is None:
            kids = kids_of(current)
            if kids:
                kids.reverse()
                extend(kids)
            continue
        items: list = []
        for name, before, after in field_plan:
            if before is not None:
                items.append((before, current))
            items.extend(_field_children(current, name))
            if after is not None:
                items.append((after, current))
        items.reverse()
        extend(items)


# (visitor classes) -> node type -> what `_walk_methods` calls at its nodes, by name.
_PLANS: dict[tuple[type, ...], dict[type, tuple]] = {}


def _plans(classes: tuple[type, ...]) -> dict[type, tuple]:
    # Keyed by the classes' names: visitors defined inside functions are new classes at every
    # call (see `_field_hooks`).
    key = tuple((klass.__module__, klass.__qualname__) for klass in classes)
    found = _PLANS.get(key)
    if found is None:
        found = _PLANS[key] = {}
    return found


def _plan(node_type: type, classes: list[type]) -> tuple:
    """(visit, leave, children function, field plan) of `node_type`, each method as the
    (visitor index, method name) pairs that define it; the field plan (None without per-field
    methods) lists (field, visit pairs, leave pairs) in source order."""
    type_name = node_type.__name__
    owns = [own_methods(klass) for klass in classes]

    def pairs(name: str) -> tuple:
        return tuple((index, name) for index, own in enumerate(owns) if name in own)

    hooked = set().union(*(_field_hooks(klass).get(type_name, ()) for klass in classes))
    field_plan = None
    if hooked:
        field_plan = tuple(
            (name, pairs(f"visit_{type_name}_{name}"), pairs(f"leave_{type_name}_{name}")) if name in hooked
            else (name, (), ())
            for name in fields_of(node_type)
        )
    return pairs(f"visit_{type_name}"), pairs(f"leave_{type_name}"), children_function(node_type), field_plan


def _bound(plan: tuple, visitors: list[cst.CSTVisitor], strict: bool) -> tuple:
    visits, leaves, kids_of, field_plan = plan
    if field_plan is not None:
        field_plan = tuple((name, _method(before, visitors, strict), _method(after, visitors, strict))
                           for name, before, after in field_plan)
    return _method(visits, visitors, strict), _method(leaves, visitors, strict), kids_of, field_plan


def _method(pairs: tuple, visitors: list[cst.CSTVisitor], strict: bool):
    """One callable for the methods `pairs` name (None for none). Not `strict`, there is one
    visitor (`walk`): its method itself, whose False skips the children."""
    if not pairs:
        return None
    methods = [getattr(visitors[index], name) for index, name in pairs]
    if not strict:
        return methods[0]
    name = pairs[0][1]

    def call_all(node) -> None:
        for method in methods:
            if method(node) is False:
                raise ValueError(f"{name} skips children: walk this visitor on its own")
    return call_all
