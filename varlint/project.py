"""The project index: what every module of the checked tree imports, exports and defines.

Built once per run, before any file is analysed, from the stdlib `ast` (a fraction of a libcst
parse), and shared by every file's analysis (it is plain data: it pickles to worker processes
and into the result cache).

    index = ProjectIndex.build(paths)          # every .py file under `paths`
    index = ProjectIndex.single(path, text)    # one file (`lint_text`, editors)

    index.module_name(path)        -> "pkg.models.gan" (None if the file is not indexed; a
                                      second script of the same name is keyed "name@path")
    index.modules["pkg.models.gan"] -> ModuleInfo: path, is_package, imports (Import rows:
                                      absolute module, name, alias, star, line), defined names,
                                      `__all__` (when a literal), functions (FunctionInfo: name,
                                      parameters, line, column), classes (ClassInfo: bases as
                                      written, methods, the `self.x` attributes `__init__`
                                      assigns), digest (hash of the source)
    index.resolve(module, name)    -> the qualified name `name` has inside `module`, following
                                      imports, aliases, relative imports, re-exports and
                                      `import *` across the tree (cycle-safe); "pkg.mod.f" for a
                                      definition, "torch.autograd.Variable" for an import that
                                      leaves the tree, None when unknown (e.g. a star import
                                      from outside the tree)
    index.exports(module)          -> names `from module import *` binds (`__all__`, else the
                                      public names)
    index.star_importers(module)   -> modules that do `from module import *` (directly)
    index.dependencies(module)     -> tree modules it imports, transitively (itself excluded)
    index.summary_digest(module)   -> hash of `module`'s source: the result cache keys a file
                                      on the digests of the modules it depends on

Module names: a file's package is found by walking up through folders with `__init__.py`;
the folder above the top package (or the file's folder, for a lone script) is its root, as
`python script.py` would put it on `sys.path`. Files under a given root folder without
`__init__.py` files are also known by their path relative to that root (namespace packages),
so `from models.net import G` in `repo/train.py` finds `repo/models/net.py`.
"""

from __future__ import annotations

import ast
import collections
import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from varlint import ast_stash, ast_walk


@dataclass(frozen=True)
class Import:
    module: str  # absolute module (relative imports resolved against the importer)
    name: str | None  # `from module import name`; None for `import module`
    alias: str  # the name bound in the importer (`import a.b` binds `a`)
    star: bool = False
    line: int = 0


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    parameters: tuple[str, ...]
    line: int
    column: int  # 0-based, as `ast`


@dataclass(frozen=True)
class ClassInfo:
    name: str
    bases: tuple[str, ...]  # source text of each base (`nn.Module`)
    methods: dict[str, FunctionInfo]
    attributes: tuple[str, ...]  # `self.x = ...` targets in `__init__`, in order
    line: int
    column: int


@dataclass
class ModuleInfo:
    name: str
    path: str
    is_package: bool = False
    imports: list[Import] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)  # names bound at module level, not by imports
    all_names: tuple[str, ...] | None = None  # a literal `__all__`
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    digest: str = ""  # hash of the source text
    error: str | None = None  # the file does not parse: nothing else is known
    # Every name the module reads anywhere (any scope) and every attribute it reads
    # (`model.Variable` -> "Variable"): over-approximates "uses the global `x`" (fixes that
    # remove an import ask it of the modules that import the name).
    referenced: frozenset[str] = frozenset()

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    def bound(self, name: str) -> list[Import]:
        return [row for row in self.imports if not row.star and row.alias == name]


def source_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# --- Module names -----------------------------------------------------------------------------


def package_module_name(path: str, is_package_folder=None) -> tuple[str, str]:
    """(module name, root folder) of a file, from the `__init__.py` files above it
    (`is_package_folder(directory)` answers for them: `module_names` memoises it)."""
    is_package_folder = is_package_folder or _has_init
    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    stem = filename[:-3] if filename.endswith(".py") else filename
    parts = [] if stem == "__init__" else [stem]
    while is_package_folder(directory):
        directory, package = os.path.split(directory)
        parts.insert(0, package)
        if not package:
            break
    return ".".join(parts) or stem, directory


def _has_init(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py"))


def module_names(paths) -> dict[str, tuple[str, str]]:
    """`package_module_name` of each path (by absolute path), each folder looked at once."""
    folders: dict[str, bool] = {}

    def is_package_folder(directory: str) -> bool:
        found = folders.get(directory)
        if found is None:
            found = folders[directory] = _has_init(directory)
        return found

    return {os.path.abspath(path): package_module_name(path, is_package_folder) for path in paths}


def _relative_name(path: str, root: str) -> str | None:
    absolute = os.path.abspath(path)
    base = root if root.endswith(os.sep) else root + os.sep
    if not absolute.startswith(base):
        return None
    relative = absolute[len(base):]
    stem, dot, suffix = relative.rpartition(".")
    if dot and os.sep not in suffix and not stem.endswith(os.sep) and stem:
        relative = stem  # as Path.with_suffix(""): the last suffix of the file name goes
    parts = relative.split(os.sep)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


# --- Reading one module -----------------------------------------------------------------------


def read_module(name: str, path: str, text: str, is_package: bool = False) -> ModuleInfo:
    info = ModuleInfo(name, path, is_package, digest=source_digest(text))
    try:
        tree = ast.parse(text, path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        info.error = f"{type(error).__name__}: {error}"
        return info
    ast_stash.offer(path, text, tree)
    try:
        _Reader(info).module(tree)
        info.referenced = referenced_names(tree)
    except (RecursionError, MemoryError) as error:  # a pathological file: indexed as unreadable
        info.error = f"{type(error).__name__}: {error}"
    return info


def referenced_names(tree: ast.AST) -> frozenset[str]:
    """The names read (a Name not stored to) and the attributes anywhere in `tree`."""
    names = set()
    name_node, attribute_node, store = ast.Name, ast.Attribute, ast.Store
    for node in ast_walk.nodes(tree, leaves=(name_node,)):  # a Name's only child: its context
        kind = node.__class__
        if kind is name_node:
            if node.ctx.__class__ is not store:
                names.add(node.id)
        elif kind is attribute_node:
            names.add(node.attr)
    return frozenset(names)


class _Reader:
    """Module-level facts; compound statements (if/try/with/for) are looked into because
    `try: from a import b except ImportError: ...` binds at module level too."""

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info

    def module(self, tree: ast.Module) -> None:
        self.block(tree.body)

    def block(self, statements) -> None:
        # iterative: a chain of 600 `elif`s nests 600 blocks deep
        pending = list(reversed(statements))
        while pending:
            for inner in reversed(self.statement(pending.pop())):
                pending.extend(reversed(inner))

    def statement(self, node: ast.stmt) -> list[list[ast.stmt]]:
        """Record what `node` binds; return its blocks of statements to read next."""
        info = self.info
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.partition(".")[0]
                module = alias.name if alias.asname else alias.name.partition(".")[0]
                # `import a.b` binds `a` (module a); `import a.b as c` binds `c` (module a.b).
                info.imports.append(Import(module, None, bound, False, node.lineno))
                if not alias.asname and "." in alias.name:
                    info.imports.append(Import(alias.name, None, "", False, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            module = self.absolute(node.module, node.level)
            if module is None:
                return []
            for alias in node.names:
                if alias.name == "*":
                    info.imports.append(Import(module, None, "*", True, node.lineno))
                else:
                    info.imports.append(Import(module, alias.name, alias.asname or alias.name, False, node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            info.defined.add(node.name)
            info.functions[node.name] = function_info(node)
        elif isinstance(node, ast.ClassDef):
            info.defined.add(node.name)
            info.classes[node.name] = class_info(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                info.defined.update(target_names(target))
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                info.all_names = literal_names(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.If)):
            if not isinstance(node, (ast.While, ast.If)):
                info.defined.update(target_names(node.target))
            return [node.body, node.orelse]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    info.defined.update(target_names(item.optional_vars))
            return [node.body]
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            for handler in node.handlers:
                if handler.name:
                    info.defined.add(handler.name)
            return [node.body, *(handler.body for handler in node.handlers), node.orelse, node.finalbody]
        return []

    def absolute(self, module: str | None, level: int) -> str | None:
        if not level:
            return module
        package = self.info.package.split(".") if self.info.package else []
        if level - 1 > len(package):
            return None  # beyond the top package: an ImportError at run time
        base = package[: len(package) - (level - 1)]
        return ".".join(base + ([module] if module else [])) or None


def function_info(node: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionInfo:
    arguments = node.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    if arguments.vararg:
        names.append("*" + arguments.vararg.arg)
    names.extend(a.arg for a in arguments.kwonlyargs)
    if arguments.kwarg:
        names.append("**" + arguments.kwarg.arg)
    return FunctionInfo(node.name, tuple(names), node.lineno, node.col_offset)


def class_info(node: ast.ClassDef) -> ClassInfo:
    methods = {
        item.name: function_info(item)
        for item in node.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    attributes: list[str] = []
    init = next(
        (item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "__init__"),
        None,
    )
    if init is not None and (init.args.posonlyargs or init.args.args):
        self_name = (init.args.posonlyargs or init.args.args)[0].arg
        for statement in ast.walk(init):
            targets = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
                targets = [statement.target]
            for target in targets:
                for element in ast.walk(target):
                    if (
                        isinstance(element, ast.Attribute)
                        and isinstance(element.value, ast.Name)
                        and element.value.id == self_name
                        and element.attr not in attributes
                    ):
                        attributes.append(element.attr)
    bases = tuple(ast.unparse(base) for base in node.bases)
    return ClassInfo(node.name, bases, methods, tuple(attributes), node.lineno, node.col_offset)


def target_names(target: ast.AST) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(target_names(element) for element in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    return set()


def literal_names(value: ast.AST | None) -> tuple[str, ...] | None:
    if isinstance(value, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
    ):
        return tuple(e.value for e in value.elts)
    return None


# --- The index --------------------------------------------------------------------------------


class ProjectIndex:
    def __init__(self, modules: dict[str, ModuleInfo], aliases: dict[str, str] | None = None,
                 by_path: dict[str, str] | None = None) -> None:
        self.modules = modules
        # Other names a module is reachable by (namespace-package paths): alias -> module.
        self.aliases = aliases or {}
        if by_path is None:
            by_path = {os.path.abspath(info.path): name for name, info in modules.items()}
        self._by_path = by_path
        self._importers: dict[str, set[str]] | None = None
        self._dependencies: dict[str, frozenset[str]] = {}
        self._direct: dict[str, frozenset[str]] = {}  # direct_dependencies, per module
        self._roots: dict[str, str] = {}
        self._dependency_keys: dict[str, tuple] = {}
        self._shared: dict[str, list[str]] | None = None
        self._at: set[str] | None = None
        self._meaning: dict[tuple[str, str], frozenset[str]] = {}  # _meanings, per import
        self._imported: dict[str, frozenset[str | None]] | None = None  # imported_names
        self._overrides: set[tuple[str, str]] | None = None  # redefines
        # Memo tables of analyses reading other modules (analysis/foreign_helpers.py), shared
        # by the indexes `with_module` derives from this one: their keys hold the digests the
        # entry depends on (see `dependency_key`).
        self.memo: dict[str, dict] = {}

    # Building

    @classmethod
    def build(cls, paths, read=None, module_reader=None, names=None) -> "ProjectIndex":
        """Index the files `paths` (a list of .py files, as discovered). `read(path) -> text |
        None` reads a file (default: UTF-8 with replacement); `module_reader(path, name,
        is_package) -> ModuleInfo | None` replaces reading and indexing (the cache's);
        `names` is `module_names(paths)` when the caller has it already."""
        read = read or read_text
        files = [os.path.abspath(path) for path in paths if str(path).endswith(".py")]
        known = names if names is not None else module_names(files)
        roots: set[str] = set()
        named: dict[str, tuple[str, str]] = {}
        for path in files:
            name, root = known[path] if path in known else package_module_name(path)
            named[path] = (name, root)
            roots.add(root)
        modules: dict[str, ModuleInfo] = {}
        for path, (name, _root) in named.items():
            key = name
            if key in modules:
                # Two scripts of the same name in different folders: imports find the first;
                # the other is indexed under a key of its own (its ModuleInfo keeps its name).
                key = f"{name}@{path}"
            is_package = os.path.basename(path) == "__init__.py"
            if module_reader is not None:
                info = module_reader(path, name, is_package)
            else:
                text = read(path)
                info = None if text is None else read_module(name, path, text, is_package)
            if info is not None:
                modules[key] = info
        aliases: dict[str, str] = {}
        for path, (name, _root) in named.items():
            if modules.get(name) is None or os.path.abspath(modules[name].path) != path:
                continue
            # Only the roots above this file can name it: walk up its folders (a root per
            # script folder would make a product of files and roots quadratic).
            directory = os.path.dirname(path)
            while True:
                if directory in roots:
                    alias = _relative_name(path, directory)
                    if alias and alias != name and alias not in modules:
                        aliases.setdefault(alias, name)
                parent = os.path.dirname(directory)
                if parent == directory:
                    break
                directory = parent
        return cls(modules, aliases)

    @classmethod
    def single(cls, path: str, text: str, name: str | None = None) -> "ProjectIndex":
        """An index of one file (linting a text: the rest of the tree is unknown)."""
        if name is None:
            name = package_module_name(path)[0] if path.endswith(".py") else Path(path).stem or "module"
        info = read_module(name, path, text, os.path.basename(path) == "__init__.py")
        return cls({name: info})

    def with_module(self, path: str, text: str) -> "ProjectIndex":
        """This index with `path` re-read from `text` (an editor's unsaved buffer, a fix): only
        that module is read again; the others' facts, the memo tables and (when its imports are
        unchanged) the import graph are shared with this index. The analyses that read another
        module's source (`module_source`, `module_tree`) see `text`, not the file on disk."""
        name = self.module_name(path) or package_module_name(path)[0]
        digest = source_digest(text)
        previous = self.modules.get(name)
        if previous is not None and previous.digest == digest:
            return self
        info = read_module(name, path, text, os.path.basename(path) == "__init__.py")
        _remember_source(path, info.digest, text)
        modules = dict(self.modules)
        modules[name] = info
        by_path = self._by_path
        if previous is None or os.path.abspath(previous.path) != os.path.abspath(path):
            by_path = {**by_path, os.path.abspath(path): name}
        index = ProjectIndex(modules, self.aliases, by_path)
        index.memo = self.memo
        if previous is not None and previous.imports == info.imports and previous.error == info.error:
            index._dependencies = self._dependencies  # the same import graph
            index._importers = self._importers
            index._roots = self._roots
        return index

    # Pickling: drop the memo tables.

    def __getstate__(self):
        return {"modules": self.modules, "aliases": self.aliases}

    def __setstate__(self, state) -> None:
        self.__init__(state["modules"], state["aliases"])

    # Queries

    def module_name(self, path: str) -> str | None:
        return self._by_path.get(os.path.abspath(path))

    def module(self, name: str) -> ModuleInfo | None:
        info = self.modules.get(name)
        if info is None and name in self.aliases:
            info = self.modules.get(self.aliases[name])
        return info

    def ambiguous(self, module_name: str, importer: str) -> bool:
        """Several scripts of the run are named `module_name` (keyed `name@path`) and the one
        imports resolve to is not beside `importer` (where Python would find it first): which
        one runs is not known."""
        info = self.module(module_name)
        if info is None or not (
            module_name in self._at_names() if "@" not in module_name
            else any(key.startswith(module_name + "@") for key in self.modules)
        ):
            return False
        return os.path.dirname(os.path.abspath(info.path)) != os.path.dirname(os.path.abspath(importer))

    def canonical_module(self, name: str, importer: str | None = None) -> str | None:
        """The indexed module `name` refers to (through namespace aliases), None if outside.
        With `importer` (the key of the importing module): when several scripts of the run
        share the name (keyed `name@path`), the one under the importer's own root folder, as
        `python train.py` finds its sibling `model.py` first; else the first one indexed."""
        found = name if name in self.modules else self.aliases.get(name)
        if found is None or importer is None:
            return found
        namesakes = self._namesakes().get(found.partition("@")[0])
        if not namesakes:
            return found
        own_root = self._root(importer)
        beside = [key for key in namesakes if self._root(key) == own_root]
        return beside[0] if len(beside) == 1 else found

    def _at_names(self) -> set[str]:
        """The names before the `@` of the keys `name@path`."""
        if self._at is None:
            self._at = {key.partition("@")[0] for key in self.modules if "@" in key}
        return self._at

    def _namesakes(self) -> dict[str, list[str]]:
        """Module name -> the keys of the scripts sharing it, for names shared by several."""
        if self._shared is None:
            shared: dict[str, list[str]] = {}
            for key in self.modules:
                name, at, _ = key.partition("@")
                if at and name in self.modules:
                    shared.setdefault(name, [name]).append(key)
            self._shared = shared  # once complete (a lint stopped midway leaves none)
        return self._shared

    def exports(self, module: str) -> set[str]:
        return self._exports(module, set())

    def _exports(self, module: str, seen: set[str]) -> set[str]:
        info = self.module(module)
        if info is None or module in seen:
            return set()
        seen.add(module)
        if info.all_names is not None:
            return set(info.all_names)
        names = set(info.defined) | {row.alias for row in info.imports if not row.star and row.alias}
        importer = self.canonical_module(module)
        for row in info.imports:
            if row.star:
                source = self.canonical_module(row.module, importer)
                names |= self._exports(source if source is not None else row.module, seen)
        return {name for name in names if not name.startswith("_")}

    def resolve(self, module: str, name: str) -> str | None:
        """The qualified name of `name` looked up in `module`'s global namespace."""
        return self._resolve(module, name, set())

    def _resolve(self, module: str, name: str, seen: set) -> str | None:
        canonical = self.canonical_module(module)
        if canonical is None:
            return f"{module}.{name}"  # outside the tree: the import's own spelling
        if (canonical, name) in seen:
            return None  # an import cycle that never defines it
        seen.add((canonical, name))
        info = self.modules[canonical]
        rows = info.bound(name)
        if rows and name not in info.defined:
            return self._follow(rows[-1], seen, canonical)
        if name in info.defined:
            return f"{canonical}.{name}"
        for row in reversed([row for row in info.imports if row.star]):
            source = self.canonical_module(row.module, canonical)
            if source is not None and name in self.exports(source):
                return self._resolve(source, name, seen)
        if self.canonical_module(f"{canonical}.{name}") is not None:
            return self.canonical_module(f"{canonical}.{name}")  # a submodule of a package
        return None

    def _follow(self, row: Import, seen: set, importer: str | None = None) -> str | None:
        if row.name is None:
            return self.canonical_module(row.module, importer) or row.module
        submodule = self.canonical_module(f"{row.module}.{row.name}", importer)
        source = self.canonical_module(row.module, importer)
        if source is None:
            return submodule or f"{row.module}.{row.name}"
        resolved = self._resolve(source, row.name, seen)
        return resolved if resolved is not None else submodule

    def imported_names(self, module: str) -> frozenset[str | None]:
        """The names the other modules of the index import from `module` by
        `from module import name` (None for a row that imports the module itself)."""
        if self._imported is None:
            imported: dict[str, set[str | None]] = {}
            for other, info in self.modules.items():
                for row in info.imports:
                    if row.module != other:
                        imported.setdefault(row.module, set()).add(row.name)
            self._imported = {name: frozenset(names) for name, names in imported.items()}
        return self._imported.get(module, frozenset())

    def redefines(self, base_name: str, method: str) -> bool:
        """Whether a class of the index with a base named `base_name` (its last dotted part)
        defines `method`."""
        if self._overrides is None:
            self._overrides = {
                (base.rsplit(".", 1)[-1], name)
                for module in self.modules.values() for info in module.classes.values()
                for base in info.bases for name in info.methods
            }
        return (base_name, method) in self._overrides

    def star_importers(self, module: str) -> set[str]:
        if self._importers is None:
            importers: dict[str, set[str]] = {}
            for name, info in self.modules.items():
                for row in info.imports:
                    if row.star:
                        source = self.canonical_module(row.module)
                        if source is not None:
                            importers.setdefault(source, set()).add(name)
            self._importers = importers  # once complete (a lint stopped midway leaves none)
        return set(self._importers.get(self.canonical_module(module) or module, set()))

    def importers_needing(self, module: str, name: str) -> set[str]:
        """Modules that would break if `module` stopped binding `name`: those that import it
        by name (`from module import name`, an ImportError even if unused), list it in
        `__all__`, or reference it after getting it through `from module import *` or as
        `module.name` - followed through the modules that re-export it (by name or by star).
        Over-approximate (any reference of the name anywhere counts; an import of a module
        name that two scripts of the run share may be either): a fix that removes an import
        keeps it when this is not empty."""
        start = module if module in self.modules else (self.canonical_module(module) or module)
        providers = {start}  # modules whose global `name` may be the one `module` binds
        needing: set[str] = set()
        changed = True
        while changed:
            changed = False
            for other, info in self.modules.items():
                if other == start or (other in providers and other in needing):
                    continue
                provides = needs = False
                for row in info.imports:
                    if row.star:
                        sources = self._meanings(row.module, other) & providers
                        if any(name in self.exports(source) for source in sources):
                            provides = True
                            needs = needs or name in info.referenced or name in (info.all_names or ())
                    elif row.name == name and self._meanings(row.module, other) & providers:
                        provides = needs = True  # `from module import name`
                    elif name in info.referenced and self._imports_module(row, providers, other):
                        needs = True  # `import module` ... `module.name`
                if provides and other not in providers:
                    providers.add(other)
                    changed = True
                if needs and other not in needing:
                    needing.add(other)
                    changed = True
        return needing

    def _meanings(self, module: str, importer: str) -> frozenset[str]:
        """The indexed modules an import of `module` in `importer` may mean: the one it
        resolves to, or, when several scripts of the run share that name (keyed `name@path`),
        the one under the importer's own root folder (`python train.py` finds its sibling
        first), else any of them."""
        known = self._meaning.get((module, importer))
        if known is not None:
            return known
        found = {self.canonical_module(module)} - {None}
        if found and self._at_names():
            resolved = next(iter(found))
            found |= {key for key in self.modules if key.startswith(f"{resolved}@")}
        if len(found) > 1:
            own_root = self._root(importer)
            found = {key for key in found if self._root(key) == own_root} or found
        known = self._meaning[(module, importer)] = frozenset(found)
        return known

    def _root(self, key: str) -> str:
        """The folder `sys.path` would start from for the module `key` (see module names)."""
        if key not in self._roots:
            info = self.modules.get(key)
            self._roots[key] = package_module_name(info.path)[1] if info is not None else ""
        return self._roots[key]

    def _imports_module(self, row: Import, modules: set[str], importer: str) -> bool:
        """`import m` / `import m as a` / `from pkg import m` of a module in `modules` (or of
        a package above one)."""
        if row.name is not None:
            return bool(self._meanings(f"{row.module}.{row.name}", importer) & modules)
        if self._meanings(row.module, importer) & modules:
            return True
        return any(m.partition("@")[0].startswith(row.module + ".") for m in modules)

    def importers(self, module: str) -> frozenset[str]:
        """Modules of the tree that import `module`, directly or transitively (the reverse of
        `dependencies`)."""
        start = self.canonical_module(module) or module
        return frozenset(other for other in self.modules if other != start and start in self.dependencies(other))

    def direct_dependencies(self, module: str) -> set[str]:
        found = self._direct.get(module)
        if found is None:
            found = self._direct[module] = frozenset(self._direct_dependencies(module))
        return set(found)

    def _direct_dependencies(self, module: str) -> set[str]:
        info = self.module(module)
        if info is None:
            return set()
        found = set()
        importer = self.canonical_module(module)
        for row in info.imports:
            for candidate in (f"{row.module}.{row.name}" if row.name else None, row.module):
                if candidate is None:
                    continue
                canonical = self.canonical_module(candidate)
                if canonical is not None:
                    found.add(canonical)
                    # and the namesake beside the importer, which its names resolve to
                    found.add(self.canonical_module(candidate, importer) or canonical)
            # `import a.b.c` also runs a and a.b.
            parts = row.module.split(".")
            for end in range(1, len(parts)):
                canonical = self.canonical_module(".".join(parts[:end]))
                if canonical is not None:
                    found.add(canonical)
        found.discard(self.canonical_module(module))
        return found

    def dependencies(self, module: str) -> frozenset[str]:
        start = self.canonical_module(module) or module
        if start in self._dependencies:
            return self._dependencies[start]
        seen: set[str] = set()
        todo = [start]
        while todo:
            current = todo.pop()
            direct = self._direct.get(current)
            if direct is None:
                self.direct_dependencies(current)
                direct = self._direct[current]
            for dependency in direct:
                if dependency not in seen:
                    seen.add(dependency)
                    todo.append(dependency)
        seen.discard(start)
        result = frozenset(seen)
        self._dependencies[start] = result
        return result

    def summary_digest(self, module: str) -> str:
        """A hash of `module`'s source (for cache keys)."""
        info = self.module(module)
        return "" if info is None else info.digest

    def dependency_key(self, module: str) -> tuple:
        """What a fact computed from `module` within this tree depends on: its digest and the
        digests of the tree modules it imports (transitively). Memo entries keyed by it stay
        valid in the indexes `with_module` derives (an edit elsewhere keeps the key)."""
        start = self.canonical_module(module) or module
        key = self._dependency_keys.get(start)
        if key is None:
            key = (self.summary_digest(start),
                   tuple(sorted((d, self.summary_digest(d)) for d in self.dependencies(start))))
            self._dependency_keys[start] = key
        return key


# Texts given to `with_module` (unsaved editor buffers), by (absolute path, digest).
_SOURCES: "collections.OrderedDict[tuple[str, str], str]" = collections.OrderedDict()
SOURCES_KEPT = 256


def _remember_source(path: str, digest: str, text: str) -> None:
    key = (os.path.abspath(path), digest)
    _SOURCES[key] = text
    _SOURCES.move_to_end(key)
    while len(_SOURCES) > SOURCES_KEPT:
        _SOURCES.popitem(last=False)


def module_source(path: str, digest: str) -> str | None:
    """The source of an indexed module as of `digest` (its `ModuleInfo.digest`): the text given
    to `with_module`, else the file if it still has that digest (None: it changed since)."""
    text = _SOURCES.get((os.path.abspath(path), digest))
    if text is not None:
        return text
    text = read_text(path)
    if text is None or source_digest(text) != digest:
        return None
    return text


@functools.lru_cache(maxsize=256)
def module_tree(path: str, digest: str) -> ast.Module | None:
    """The stdlib AST of an indexed module as of `digest` (its `ModuleInfo.digest`): parsed
    once for all the analyses that read other modules of the tree (loss classes, layers); the
    index's own when it is kept still (ast_stash)."""
    kept = ast_stash.peek(path)
    if kept is not None and source_digest(kept[0]) == digest:
        return kept[1]
    text = module_source(path, digest)
    if text is None:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def read_text(path: str) -> str | None:
    """A module's text as the index reads it: UTF-8 (a BOM dropped), undecodable bytes replaced;
    None when the file cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", "replace")
