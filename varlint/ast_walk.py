"""Every node of a stdlib AST: the nodes `ast.walk` yields, in another order, about twice as fast
(no generator per node, no `iter_fields`/`iter_child_nodes` frames). For callers that only
collect (sets, any/all): `ast.walk` stays where the order matters."""

from __future__ import annotations

import ast

_AST = ast.AST


def nodes(tree: ast.AST, leaves: tuple[type, ...] = ()) -> list[ast.AST]:
    """`tree` and all its descendants, as `ast.walk(tree)` (a field `ast.walk` would skip, one
    missing on the node, is skipped too); the children of a node of a type in `leaves` are left
    out (`(ast.Name,)`: a quarter of a module's nodes are the contexts of its names)."""
    found = [tree]
    for node in found:  # grows as it goes: each node is read once
        if leaves and node.__class__ in leaves:
            continue
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, _AST):
                found.append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, _AST):
                        found.append(item)
    return found
