"""Qualified-name resolution: what a name or attribute chain refers to, through imports.

`from torch.autograd import Variable as V; V(x)`, `import torch.autograd as ag; ag.Variable(x)`
and `torch.autograd.variable.Variable(x)` all resolve to `torch.autograd.Variable`; a user's own
class named `Variable` resolves to its local name and is never mistaken for torch's.

Our own resolution, in one iterative pass over the tree (libcst's ScopeProvider and
QualifiedNameProvider cost many parses and recurse): an import table and the bindings of every
scope (module, function, lambda, class body, comprehension), with Python's rules: `global` and
`nonlocal`, class bodies invisible from their methods, the first iterable of a comprehension
evaluated outside it, a walrus binding in the enclosing scope, parameters' defaults and
annotations evaluated outside the function. Like Python's compiler it is flow-insensitive: a
name bound anywhere in a function is local to all of it, so `torch = None` in a function makes
every `torch` there local (not the module). Imports from other modules of the tree resolve
through the project index (varlint/project.py): re-exports, relative imports, `import *`.

The pass also records each node's parent and scope, the pre-order of the nodes (the engine
dispatches the rules over it), and which expressions are assignment or `del` targets.
"""

from __future__ import annotations

import builtins

import libcst as cst

from varlint.analysis.tree import children, children_function

# Spellings of one object under another module path, mapped to the canonical one.
ALIASES = {
    "torch.autograd.variable.Variable": "torch.autograd.Variable",
    "torch.autograd.variable": "torch.autograd.variable",
    "torch.nn.parameter.Parameter": "torch.nn.Parameter",
    "torch.nn.modules.module.Module": "torch.nn.Module",
    "torch.optim.optimizer.Optimizer": "torch.optim.Optimizer",
    "torch.functional": "torch",
}

VARIABLE = "torch.autograd.Variable"


def canonical(name: str) -> str:
    if name in ALIASES:
        return ALIASES[name]
    for prefix, target in ALIASES.items():
        if name.startswith(prefix + "."):
            return target + name[len(prefix):]
    return name


def is_dotted_name(node: cst.CSTNode) -> bool:
    """`name` or `a.b.c`: an expression that names something."""
    while node.__class__ is cst.Attribute or isinstance(node, cst.Attribute):
        node = node.value
    return node.__class__ is cst.Name or isinstance(node, cst.Name)


BUILTIN_NAMES = frozenset(dir(builtins))
EMPTY: frozenset[str] = frozenset()

IMPORT, LOCAL = "import", "local"
LOAD, STORE, DEL = "load", "store", "del"


class Binding:
    """One place a name is bound in a scope: an import (with the qualified name it binds) or
    anything else (assignment, definition, parameter, loop or `with` target...)."""

    __slots__ = ("name", "node", "scope", "kind", "qualified")

    def __init__(self, name: str, node: cst.CSTNode, scope: "Scope", kind: str, qualified: str | None = None) -> None:
        self.name = name
        self.node = node  # the Name bound, or the Import/ImportFrom statement
        self.scope = scope
        self.kind = kind
        self.qualified = qualified

    def __repr__(self) -> str:
        return f"Binding({self.name!r}, {self.kind}, {self.qualified!r})"


class Scope:
    """A module, function, lambda, class body or comprehension."""

    def __init__(self, node: cst.CSTNode, kind: str, parent: "Scope | None") -> None:
        self.node = node
        self.kind = kind  # "module" | "function" | "class" | "comprehension"
        self.parent = parent
        self.bindings: dict[str, list[Binding]] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.accesses: dict[str, list[cst.CSTNode]] = {}  # names read here -> the Name nodes
        self.exposed: set[str] = set()  # names of this scope read from nested scopes
        self.star_modules: list[str] = []  # `from m import *` (module scope)

    @property
    def local_names(self) -> set[str]:
        return set(self.bindings)

    def __repr__(self) -> str:
        return f"Scope({self.kind}, {type(self.node).__name__})"


COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


class NameResolver:
    """Scopes, bindings and parents of one module, computed in one iterative pass.

    `project` (a varlint.project.ProjectIndex) and `module_name` let imports from other
    modules of the tree resolve through them (re-exports, `import *`)."""

    def __init__(
        self, module: cst.Module, project=None, module_name: str | None = None, is_package: bool = False,
        module_key: str | None = None,
    ) -> None:
        self.module = module
        self.project = project
        self.module_name = module_name
        # The module's key in the project index (`train@path` for a second script named
        # `train`): its imports of a name several scripts share find its sibling first.
        self.module_key = module_key
        self.is_package = is_package
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        # node -> the scope it is evaluated in, for some nodes only: see `scope_at`
        self.scope_of: dict[cst.CSTNode, Scope] = {}
        self.scope_created: dict[cst.CSTNode, Scope] = {}  # Module / def / lambda / class / comprehension
        self.contexts: dict[cst.CSTNode, str] = {}  # targets: STORE or DEL (absent: LOAD)
        self.order: list[cst.CSTNode] = []  # every node, in source order (pre-order)
        self._binders: dict[cst.CSTNode, tuple[Scope, cst.CSTNode]] = {}  # Name -> (scope, binding node)
        self._not_read: set[cst.CSTNode] = set()  # Names that are not reads (attr, keyword, import)
        self._pending_nonlocal: list[tuple[Scope, str, cst.CSTNode]] = []
        self._function_of_params: dict[cst.Parameters, Scope] = {}
        self._param_outer: dict[cst.Param, Scope] = {}
        self._outer_iter: dict[cst.CompFor, Scope] = {}
        self._memo: dict[tuple[int, str], frozenset[str]] = {}
        self._qualified: dict[cst.CSTNode, frozenset[str]] = {}
        self._star_exports: dict[str, set[str]] = {}  # module -> project.exports(module)
        self._resolved: dict[str, str] = {}  # dotted name -> canonical(_through_project(it))
        self._imported: set[str] = set()  # the names an import binds, in any scope
        # The names that may have qualified names (see `_qualifying_names`), once asked.
        self._may_qualify: frozenset[str] | None = None
        self._walk()
        self._finish()

    # --- The pass -------------------------------------------------------------------------

    def _walk(self) -> None:
        root = Scope(self.module, "module", None)
        self.module_scope = root
        self.scope_created[self.module] = root
        parents, scope_of, order = self.parents, self.scope_of, self.order
        binders, not_read = self._binders, self._not_read
        # node type -> (its handler or None, its children function), looked up once per type.
        table: dict[type, tuple] = {}
        handlers = self._HANDLERS
        name_type = cst.Name
        # Two stacks side by side: the nodes to enter and the scopes they are evaluated in.
        stack: list[cst.CSTNode] = [self.module]
        scopes: list[Scope] = [root]
        scope_of[self.module] = root
        pop, pop_scope, push, push_scopes = stack.pop, scopes.pop, stack.extend, scopes.extend
        while stack:
            node = pop()
            scope = pop_scope()
            order.append(node)
            node_type = node.__class__
            if node_type is name_type:  # the commonest node, with no children (`_on_name`)
                scope_of[node] = scope
                binder = binders.pop(node, None) if binders else None
                if binder is not None:
                    self._bind(binder[0], node.value, binder[1])
                elif node not in not_read:
                    accesses = scope.accesses.get(node.value)
                    if accesses is None:
                        scope.accesses[node.value] = [node]
                    else:
                        accesses.append(node)
                continue
            found = table.get(node_type)
            if found is None:
                found = table[node_type] = (handlers.get(node_type), children_function(node_type))
            handler, kids_of = found
            if handler is not None:
                pushed = handler(self, node, scope)
                if pushed is not None:  # the handler chose each child's scope
                    for child, child_scope in reversed(pushed):
                        parents[child] = node
                        scope_of[child] = child_scope
                        stack.append(child)
                        scopes.append(child_scope)
                    continue
            # The children are evaluated in the node's scope: `scope_of` records it only for
            # the nodes above (names, the children a handler placed), `scope_at` finds it
            # through the parents for the others.
            kids = kids_of(node)
            if kids:
                for child in kids:
                    parents[child] = node
                kids.reverse()
                push(kids)
                push_scopes([scope] * len(kids))

    def _bind(self, scope: Scope, name: str, node: cst.CSTNode, kind: str = LOCAL, qualified: str | None = None) -> None:
        if kind == IMPORT:
            self._imported.add(name)
        target = scope
        if name in scope.globals:
            target = self.module_scope
        elif name in scope.nonlocals:
            self._pending_nonlocal.append((scope, name, node))
            return
        target.bindings.setdefault(name, []).append(Binding(name, node, target, kind, qualified))

    def _target(self, expression: cst.CSTNode, scope: Scope, context: str = STORE) -> None:
        """Mark an assignment (or `del`) target; Names in it are bound in `scope`."""
        self.contexts[expression] = context
        if isinstance(expression, cst.Name):
            if context == STORE:
                self._binders[expression] = (scope, expression)
        elif isinstance(expression, (cst.Tuple, cst.List)):
            for element in expression.elements:
                self._target(element.value, scope, context)
        elif isinstance(expression, cst.StarredElement):
            self._target(expression.value, scope, context)

    # Handlers: called before a node's children are walked; those that return a list of
    # (child, scope) pairs decide where each child is evaluated.

    def _on_name(self, node: cst.Name, scope: Scope):
        # `_walk` handles exact Names itself; this handles subclasses (never made by the parser).
        binder = self._binders.pop(node, None)
        if binder is not None:
            self._bind(binder[0], node.value, binder[1])
        elif node not in self._not_read:
            scope.accesses.setdefault(node.value, []).append(node)
        return None

    def _on_attribute(self, node: cst.Attribute, scope: Scope):
        self._not_read.add(node.attr)
        return None

    def _on_arg(self, node: cst.Arg, scope: Scope):
        if node.keyword is not None:
            self._not_read.add(node.keyword)
        return None

    def _on_assign_target(self, node: cst.AssignTarget, scope: Scope):
        self._target(node.target, scope)
        return None

    def _on_aug_assign(self, node: cst.AugAssign, scope: Scope):
        self.contexts[node.target] = STORE
        if isinstance(node.target, cst.Name):  # read (walked as a Name) and bound
            self._bind(scope, node.target.value, node.target)
        return None

    def _on_ann_assign(self, node: cst.AnnAssign, scope: Scope):
        self._target(node.target, scope)
        return None

    def _on_for(self, node: cst.For | cst.CompFor, scope: Scope):
        self._target(node.target, scope)
        return None

    def _on_with_item(self, node: cst.WithItem, scope: Scope):
        if node.asname is not None:
            self._target(node.asname.name, scope)
        return None

    def _on_except(self, node: cst.ExceptHandler, scope: Scope):
        if node.name is not None:
            self._target(node.name.name, scope)
        return None

    def _on_named_expr(self, node: cst.NamedExpr, scope: Scope):
        owner = scope
        while owner.kind == "comprehension" and owner.parent is not None:
            owner = owner.parent  # a walrus in a comprehension binds in the enclosing scope
        self._target(node.target, owner)
        return None

    def _on_del(self, node: cst.Del, scope: Scope):
        self._target(node.target, scope, DEL)
        return None

    def _on_global(self, node: cst.Global | cst.Nonlocal, scope: Scope):
        declared = scope.globals if isinstance(node, cst.Global) else scope.nonlocals
        for item in node.names:
            declared.add(item.name.value)
            self._not_read.add(item.name)
        return None

    def _on_import(self, node: cst.Import, scope: Scope):
        for alias in node.names:
            dotted = dotted_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(scope, alias.asname.name.value, node, IMPORT, dotted)
                self._not_read.add(alias.asname.name)
            else:
                top = dotted.partition(".")[0]
                self._bind(scope, top, node, IMPORT, top)  # `import a.b` binds `a`
            self._mark_not_read(alias.name)
        return None

    def _on_import_from(self, node: cst.ImportFrom, scope: Scope):
        module = self._absolute(node)
        if node.module is not None:
            self._mark_not_read(node.module)
        if isinstance(node.names, cst.ImportStar):
            if module is not None:
                scope.star_modules.append(module)
            return None
        for alias in node.names:
            name = dotted_name(alias.name)
            qualified = f"{module}.{name}" if module is not None else None
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound = alias.asname.name.value
                self._not_read.add(alias.asname.name)
            else:
                bound = name
            self._bind(scope, bound, node, IMPORT, qualified)
            self._mark_not_read(alias.name)
        return None

    def _mark_not_read(self, expression: cst.CSTNode) -> None:
        while isinstance(expression, cst.Attribute):
            self._not_read.add(expression.attr)
            expression = expression.value
        self._not_read.add(expression)

    def _absolute(self, node: cst.ImportFrom) -> str | None:
        module = dotted_name(node.module) if node.module is not None else ""
        level = len(node.relative)
        if not level:
            return module
        if self.module_name is None:
            return "." * level + module  # unknown package: never matches a real module
        package = self.module_name.split(".")
        if not self.is_package:
            package = package[:-1]
        if level - 1 > len(package):
            return None
        base = package[: len(package) - (level - 1)]
        return ".".join(base + ([module] if module else [])) or None

    def _on_function(self, node: cst.FunctionDef, scope: Scope):
        self._bind(scope, node.name.value, node.name)
        self._not_read.add(node.name)
        inner = Scope(node, "function", scope)
        self.scope_created[node] = inner
        self._function_of_params[node.params] = inner
        pushed = [(decorator, scope) for decorator in node.decorators]
        pushed.append((node.name, scope))
        pushed.append((node.params, scope))
        if node.returns is not None:
            pushed.append((node.returns, scope))
        pushed.append((node.body, inner))
        return pushed

    def _on_lambda(self, node: cst.Lambda, scope: Scope):
        inner = Scope(node, "function", scope)
        self.scope_created[node] = inner
        self._function_of_params[node.params] = inner
        return [(node.params, scope), (node.body, inner)]

    def _on_parameters(self, node: cst.Parameters, scope: Scope):
        """Parameter names bind in the function; annotations and defaults run outside it."""
        inner = self._function_of_params.pop(node, None)
        if inner is None:
            return None
        pushed = []
        for param in children(node):
            if isinstance(param, cst.Param):
                self._bind(inner, param.name.value, param.name)
                self._not_read.add(param.name)
                self._param_outer[param] = scope
                pushed.append((param, inner))
            else:
                pushed.append((param, scope))  # a bare `*`
        return pushed

    def _on_param(self, node: cst.Param, scope: Scope):
        outer = self._param_outer.pop(node, None)
        if outer is None:
            return None
        pushed = [(node.name, scope)]
        if node.annotation is not None:
            pushed.append((node.annotation, outer))
        if node.default is not None:
            pushed.append((node.default, outer))
        return pushed

    def _on_class(self, node: cst.ClassDef, scope: Scope):
        self._bind(scope, node.name.value, node.name)
        self._not_read.add(node.name)
        inner = Scope(node, "class", scope)
        self.scope_created[node] = inner
        pushed = [(decorator, scope) for decorator in node.decorators]
        pushed.append((node.name, scope))
        pushed.extend((child, scope) for child in (*node.bases, *node.keywords))
        pushed.append((node.body, inner))
        return pushed

    def _on_comprehension(self, node, scope: Scope):
        inner = Scope(node, "comprehension", scope)
        self.scope_created[node] = inner
        # The first iterable is evaluated outside the comprehension.
        first = node.for_in
        self._outer_iter[first] = scope
        return [(child, inner) for child in children(node)]

    def _on_comp_for(self, node: cst.CompFor, scope: Scope):
        self._target(node.target, scope)
        outer = self._outer_iter.pop(node, None)
        if outer is None:
            return None
        return [(child, outer if child is node.iter else scope) for child in children(node)]

    _HANDLERS = {}

    # --- After the pass -------------------------------------------------------------------

    def _finish(self) -> None:
        for scope, name, node in self._pending_nonlocal:
            owner = self._enclosing_function(scope.parent, name)
            if owner is not None:
                owner.bindings.setdefault(name, []).append(Binding(name, node, owner, LOCAL))
        for scope in self.scope_created.values():
            for name in scope.accesses:
                owner = self.lookup(scope, name)
                if owner is not None and owner is not scope:
                    owner.exposed.add(name)

    def _enclosing_function(self, scope: Scope | None, name: str) -> Scope | None:
        while scope is not None and scope.kind != "module":
            if scope.kind != "class" and name in scope.bindings:
                return scope
            scope = scope.parent
        return None

    def lookup(self, scope: Scope, name: str) -> Scope | None:
        """The scope whose binding of `name` a read in `scope` sees (None: not bound; then a
        builtin, a star import, or a NameError)."""
        if name in scope.globals:
            return self.module_scope if name in self.module_scope.bindings else None
        if name in scope.nonlocals:
            return self._enclosing_function(scope.parent, name)
        first = True
        while scope is not None:
            if (first or scope.kind != "class") and name in scope.bindings:
                return scope
            first = False
            scope = scope.parent
        return None

    # --- Queries --------------------------------------------------------------------------

    def scope_at(self, node: cst.CSTNode) -> Scope | None:
        """The scope `node` is evaluated in (None: not in the tree walked). A node without a
        `scope_of` entry is evaluated in its parent's scope (see `_walk`)."""
        while node is not None:
            scope = self.scope_of.get(node)
            if scope is not None:
                return scope
            node = self.parents.get(node)
        return None

    def bindings(self, node: cst.Name) -> list[Binding]:
        """The bindings a read of the Name `node` may see (all those of its scope)."""
        scope = self.scope_at(node)
        if scope is None:
            return []
        owner = self.lookup(scope, node.value)
        return [] if owner is None else list(owner.bindings[node.value])

    def references(self, binding: Binding) -> list[cst.CSTNode]:
        """The reads that may see `binding` (in its scope and the scopes nested in it)."""
        found = []
        for scope in self.scope_created.values():
            nodes = scope.accesses.get(binding.name)
            if nodes and self.lookup(scope, binding.name) is binding.scope:
                found.extend(nodes)
        return found

    def expression_context(self, node: cst.CSTNode) -> str:
        """LOAD, STORE (an assignment target) or DEL."""
        return self.contexts.get(node, LOAD)

    def qualified(self, node: cst.CSTNode) -> set[str]:
        """Canonical qualified names of `node` from imports or builtins (empty if local)."""
        return set(self.qualified_frozen(node))

    def qualified_frozen(self, node: cst.CSTNode) -> frozenset[str]:
        """`qualified`, not copied (for the callers that only read it)."""
        # Most names and attribute chains are over a name that neither an import nor a builtin
        # binds: known empty without a look-up (see `_qualifying_names`). Subclasses of Name /
        # Attribute (never made by the parser) take the full path.
        may_qualify = self._may_qualify
        if may_qualify is None:
            may_qualify = self._may_qualify = self._qualifying_names()
        base = node
        while base.__class__ is cst.Attribute:
            base = base.value
        if base.__class__ is cst.Name and base.value not in may_qualify:
            return EMPTY
        # Memoized per node: every rule with a `visit_Call` asks for its callee.
        known = self._qualified.get(node)
        if known is None:
            known = self._qualified[node] = self._compute_qualified(node)
        return known

    def _qualifying_names(self) -> frozenset[str]:
        """The names that may have qualified names; for any other name `_compute_names` is
        empty: it gives names only from the IMPORT bindings of the scope binding the name (so
        the name is in `_imported`), from a star import when no scope binds it (so the name is
        in the module's exports) or for a builtin name."""
        names = BUILTIN_NAMES | self._imported
        if self.project is not None:
            for source in self.module_scope.star_modules:
                canonical_source = self.project.canonical_module(source, self.module_key)
                if canonical_source is not None:
                    names |= self._exports_of(canonical_source)
        return names

    def _compute_qualified(self, node: cst.CSTNode) -> frozenset[str]:
        if not is_dotted_name(node):
            return EMPTY
        attributes = []
        base = node
        while isinstance(base, cst.Attribute):
            attributes.append(base.attr.value)
            base = base.value
        if base in self._not_read:
            return EMPTY  # the name of a definition, a keyword, part of an import statement
        scope = self.scope_at(base)
        if scope is None:
            return EMPTY
        names = self._names_of(scope, base.value)
        if not names:
            return EMPTY
        suffix = "".join("." + attribute for attribute in reversed(attributes))
        resolved = self._resolved
        found = []
        for name in names:
            dotted = name + suffix
            known = resolved.get(dotted)
            if known is None:
                known = resolved[dotted] = canonical(self._through_project(dotted))
            found.append(known)
        return frozenset(found)

    def _names_of(self, scope: Scope, name: str) -> frozenset[str]:
        key = (id(scope), name)
        found = self._memo.get(key)
        if found is None:
            found = self._compute_names(scope, name)
            self._memo[key] = found
        return found

    def _compute_names(self, scope: Scope, name: str) -> frozenset[str]:
        owner = self.lookup(scope, name)
        if owner is not None:
            return frozenset(
                binding.qualified
                for binding in owner.bindings[name]
                if binding.kind == IMPORT and binding.qualified is not None
            )
        if self.project is not None:
            for source in reversed(self.module_scope.star_modules):
                canonical_source = self.project.canonical_module(source, self.module_key)
                if canonical_source is not None and name in self._exports_of(canonical_source):
                    resolved = self.project.resolve(canonical_source, name)
                    return frozenset({resolved}) if resolved else frozenset()
        if name in BUILTIN_NAMES:
            return frozenset({f"builtins.{name}"})
        return frozenset()

    def _exports_of(self, module: str) -> set[str]:
        """The names `from module import *` binds (memoised: every name a file with a star
        import reads that no scope binds, a builtin for one, is looked up in them)."""
        found = self._star_exports.get(module)
        if found is None:
            found = self._star_exports[module] = self.project.exports(module)
        return found

    def _through_project(self, name: str) -> str:
        """`model.Variable` -> `torch.autograd.Variable` when model.py imports it."""
        project = self.project
        if project is None:
            return name
        for _ in range(8):  # re-export chains are short; cycles are cut by `resolve`
            parts = name.split(".")
            for end in range(len(parts) - 1, 0, -1):
                module = project.canonical_module(".".join(parts[:end]), self.module_key)
                if module is not None:
                    break
            else:
                return name
            resolved = project.resolve(module, parts[end])
            if resolved is None:
                return name
            rewritten = ".".join([resolved, *parts[end + 1:]])
            if rewritten == name:
                return name
            name = rewritten
        return name

    def is_(self, node: cst.CSTNode, *qualified_names: str) -> bool:
        return not self.qualified_frozen(node).isdisjoint(qualified_names)

    def callee(self, call: cst.Call) -> set[str]:
        return self.qualified(call.func)

    def module_name_at(self, node: cst.CSTNode, module: str = "torch") -> str | None:
        """The name that surely refers to the imported `module` where `node` is evaluated:
        `torch` (also bound by `import torch.nn`), or an alias (`import torch as th` -> `th`).
        None when no name does, e.g. only `from torch import nn` or a local `torch` variable;
        a fix that needs `torch.Tensor` then has nothing to write."""
        scope = self.scope_at(node)
        if scope is None:
            return None

        def surely(name: str) -> bool:
            owner = self.lookup(scope, name)
            if owner is None:
                return False
            return all(b.kind == IMPORT and b.qualified == module for b in owner.bindings[name])

        aliases = sorted(
            name
            for name, bindings in self.module_scope.bindings.items()
            if all(b.kind == IMPORT and b.qualified == module for b in bindings)
        )
        for name in [module] + [alias for alias in aliases if alias != module]:
            if surely(name):
                return name
        return None


NameResolver._HANDLERS = {
    cst.Name: NameResolver._on_name,
    cst.Attribute: NameResolver._on_attribute,
    cst.Arg: NameResolver._on_arg,
    cst.AssignTarget: NameResolver._on_assign_target,
    cst.AugAssign: NameResolver._on_aug_assign,
    cst.AnnAssign: NameResolver._on_ann_assign,
    cst.For: NameResolver._on_for,
    cst.WithItem: NameResolver._on_with_item,
    cst.ExceptHandler: NameResolver._on_except,
    cst.NamedExpr: NameResolver._on_named_expr,
    cst.Del: NameResolver._on_del,
    cst.Global: NameResolver._on_global,
    cst.Nonlocal: NameResolver._on_global,
    cst.Import: NameResolver._on_import,
    cst.ImportFrom: NameResolver._on_import_from,
    cst.FunctionDef: NameResolver._on_function,
    cst.Lambda: NameResolver._on_lambda,
    cst.Parameters: NameResolver._on_parameters,
    cst.Param: NameResolver._on_param,
    cst.ClassDef: NameResolver._on_class,
    cst.ListComp: NameResolver._on_comprehension,
    cst.SetComp: NameResolver._on_comprehension,
    cst.GeneratorExp: NameResolver._on_comprehension,
    cst.DictComp: NameResolver._on_comprehension,
    cst.CompFor: NameResolver._on_comp_for,
}


def dotted_name(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted_name(node.value)}.{node.attr.value}"
    return ""


def path_of(expression: cst.CSTNode | None) -> str | None:
    """`model.fc.weight` for an attribute chain over a name; None for anything else."""
    # Exact classes first: `isinstance` against libcst's classes (ABCs) is slow when it fails.
    attributes = []
    while expression.__class__ is cst.Attribute:
        attributes.append(expression.attr.value)
        expression = expression.value
    if expression.__class__ is cst.Name or isinstance(expression, cst.Name):
        base = expression.value
    elif isinstance(expression, cst.Attribute):  # a subclass (never made by the parser)
        base = path_of(expression.value)
        if base is None:
            return None
        base = f"{base}.{expression.attr.value}"
    else:
        return None
    if not attributes:
        return base
    attributes.append(base)
    attributes.reverse()
    return ".".join(attributes)


def read_paths(node: cst.CSTNode) -> set[str]:
    """The names and attribute chains (such as `self.x`) that `node` mentions."""
    paths: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            paths.add(current.value)
        elif isinstance(current, cst.Attribute):
            path = path_of(current)
            if path is not None:
                paths.add(path)
        stack.extend(children(current))
    return paths
