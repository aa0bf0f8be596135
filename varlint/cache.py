"""The result cache (like ruff's): an unchanged file is neither parsed nor checked again.

Where: `.varlint_cache/` next to the configuration file in use (else in the current folder),
or `--cache-dir DIR` / `VARLINT_CACHE_DIR`; `--no-cache` turns it off.

What: one entry per checked file, named by its key, a hash of
- varlint's code (the names, sizes and modification times of its source files: any change
  to varlint, a new release included, starts afresh) and the cache's format,
- the settings and the fix mode,
- the file's path and content,
- the content of every module of the tree it imports, transitively (project index), so that
  editing a helper module (its summaries, its star-import exports) invalidates the files
  that use it,
- with a fix mode, also the content of every module that imports it (the reverse direction):
  whether a fix may remove an import depends on which other modules still use the name
  (`from model import *` in train.py), so editing train.py invalidates model.py's fixed result.
A notebook's key is its path, content, settings and varlint's code (notebooks are not
modules of the project index).

The project index is cached too, per file, by content hash: a module whose text is unchanged
is not parsed again, so a warm run over an unchanged tree reads and hashes the files, loads
the index entries and the results, and prints.

Safety: entries are written to a temporary file and renamed into place (atomic), so
concurrent runs never see half an entry; an entry that cannot be read or unpickled, or
that is not what its name says, is ignored (and rewritten). Unused entries are not
collected; delete the folder to clear it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from varlint import atomic_write

CACHE_DIR_NAME = ".varlint_cache"
FORMAT = "2"  # bumped when the layout changes


def default_cache_dir(settings, override: str | None = None) -> Path:
    if override:
        return Path(override)
    environment = os.environ.get("VARLINT_CACHE_DIR")
    if environment:
        return Path(environment)
    source = getattr(settings, "source", None)
    base = Path(source).parent if source else Path.cwd()
    return base / CACHE_DIR_NAME


_CODE_STAMP: str | None = None


def code_stamp() -> str:
    """The cache format and the names, sizes and modification times of varlint's sources."""
    global _CODE_STAMP
    if _CODE_STAMP is None:
        package = os.path.dirname(os.path.abspath(__file__))
        digest = hashlib.blake2b(digest_size=16)
        digest.update(FORMAT.encode())
        for directory, subdirectories, filenames in os.walk(package):
            subdirectories.sort()
            for name in sorted(filenames):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(directory, name))
                    relative = os.path.relpath(os.path.join(directory, name), package)
                    digest.update(f"{relative}:{stat.st_mtime_ns}:{stat.st_size};".encode())
        _CODE_STAMP = digest.hexdigest()
    return _CODE_STAMP


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write.replace(str(path), data, 0o644)


def _read(path: Path):
    try:
        with open(path, "rb") as stream:
            return pickle.load(stream)
    except Exception:  # noqa: BLE001 - missing, truncated or foreign: as if absent
        return None


class ResultCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.entries = self.directory / "results"
        self._index_file = self.directory / "index.pickle"
        self._index_entries: dict[str, tuple[str, object]] | None = None  # path -> (digest, ModuleInfo)
        self._index_changed = False
        self._keys: dict[str, str] = {}
        self._gitignore_done = False
        self._settings: dict[int, tuple] = {}  # id -> (settings, fix, their text in keys)

    # --- The project index, per file, by content hash ---------------------------------------

    def _load_index(self) -> dict:
        if self._index_entries is None:
            stored = _read(self._index_file)
            files = stored.get("files") if isinstance(stored, dict) and stored.get("stamp") == code_stamp() else None
            self._index_entries = dict(files) if isinstance(files, dict) else {}
        return self._index_entries

    def module_info(self, path: str, name: str, is_package: bool, digest: str):
        """The cached index entry of `path` if its text still hashes to `digest`."""
        entry = self._load_index().get(path)
        if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] == digest):
            return None
        info = entry[1]
        if getattr(info, "name", None) != name or getattr(info, "is_package", None) != is_package \
                or getattr(info, "digest", None) != digest or getattr(info, "path", None) != path:
            return None
        return info

    def store_module(self, path: str, info) -> None:
        entries = self._load_index()
        if entries.get(path, (None,))[0] != info.digest or entries[path][1] is not info:
            entries[path] = (info.digest, info)
            self._index_changed = True

    # --- Results ----------------------------------------------------------------------------

    def _dependencies_digest(self, project, name: str, importers: bool) -> str:
        """One hash of the (name, content digest) of every module `name` depends on,
        transitively (and, with `importers`, of every module depending on it)."""
        digest = _merkle_digests(project).get(project.canonical_module(name) or name, "")
        if importers:
            memo = project.memo.setdefault("cache.importers_digest", {})
            if name not in memo:
                hashed = hashlib.blake2b(digest_size=20)
                for importer in sorted(project.importers(name)):
                    hashed.update(f"{importer}:{project.summary_digest(importer)};".encode())
                memo[name] = hashed.hexdigest()
            digest += ":" + memo[name]
        return digest

    def key(self, path: str, project, settings, fix) -> str | None:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(code_stamp().encode())
        digest.update(self._settings_text(settings, fix))
        digest.update(os.path.abspath(path).encode())
        name = project.module_name(path) if project is not None else None
        info = project.module(name) if name is not None else None
        if info is not None:
            digest.update(info.digest.encode())
            digest.update(self._dependencies_digest(project, name, fix is not None).encode())
            imported_as = _imported_as(project)  # by its key and by its name (`model@path`, `model`)
            digest.update(f"{imported_as.get(name, '')}:{imported_as.get(info.name, '')}".encode())
        elif path.endswith(".ipynb"):  # a notebook: its own content only
            try:
                with open(path, "rb") as handle:
                    digest.update(b"notebook:" + content_digest(handle.read()).encode())
            except OSError:
                return None
        else:
            return None
        return digest.hexdigest()

    def _settings_text(self, settings, fix) -> bytes:
        found = self._settings.get(id(settings))
        if found is None or found[0] is not settings or found[1] != str(fix):
            found = self._settings[id(settings)] = (settings, str(fix), repr((settings, str(fix))).encode())
        return found[2]

    def get(self, path: str, project, settings, fix):
        key = self.key(path, project, settings, fix)
        if key is None:
            return None
        self._keys[path] = key
        entry = _read(self.entries / key[:2] / key)
        if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] == path):
            return None
        return entry[1]

    def put(self, path: str, project, settings, fix, result) -> None:
        if result.internal_error or result.fix_failures or result.fixed_text is not None:
            return  # a failure is retried next time; fixes are not replayed from the cache
        key = self._keys.get(path) or self.key(path, project, settings, fix)
        if key is None:
            return
        try:
            _write_atomic(self.entries / key[:2] / key, pickle.dumps((path, result), pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # a read-only or full disk: the cache is an optimisation only
        self._write_gitignore()

    def flush(self) -> None:
        if not self._index_changed or self._index_entries is None:
            return
        data = pickle.dumps({"stamp": code_stamp(), "files": self._index_entries}, pickle.HIGHEST_PROTOCOL)
        try:
            _write_atomic(self._index_file, data)
        except OSError:
            pass
        self._write_gitignore()
        self._index_changed = False

    def _write_gitignore(self) -> None:
        gitignore = self.directory / ".gitignore"
        if self._gitignore_done:
            return
        self._gitignore_done = True
        try:
            if not gitignore.exists():
                _write_atomic(gitignore, b"# Automatically created by varlint.\n*\n")
        except OSError:
            pass


def _imported_as(project) -> dict[str, str]:
    """For every module, a hash of the import statements of the other modules that name it
    (`from m import *`, `from m import f`, `import m`): the analyses ask whether a function
    is imported elsewhere (gradflow seeds the parameters of a function only its own module
    calls), so a check's result depends on them. Memoised on the index."""
    memo = project.memo.get("cache.imported_as")
    if memo is not None:
        return memo
    rows: dict[str, list[str]] = {}
    for importer, info in project.modules.items():
        for row in info.imports:
            targets = {row.module, project.canonical_module(row.module), project.canonical_module(row.module, importer)}
            if row.name is not None:
                submodule = f"{row.module}.{row.name}"
                targets |= {project.canonical_module(submodule), project.canonical_module(submodule, importer)}
            for target in targets - {None, importer}:
                rows.setdefault(target, []).append(f"{importer}|{row.module}|{row.name}|{row.alias}|{row.star}")
    memo = {target: hashlib.blake2b("\n".join(sorted(found)).encode(), digest_size=20).hexdigest()
            for target, found in rows.items()}
    project.memo["cache.imported_as"] = memo
    return memo


def _family(project, module: str) -> list[str]:
    """The index keys of the scripts named like `module` (`model`, `model@/other/model.py`):
    which of them an import means, and whether that is ambiguous, depends on all of them."""
    families = project.memo.get("cache.families")
    if families is None:
        families = {}
        for key in project.modules:
            families.setdefault(key.partition("@")[0], []).append(key)
        project.memo["cache.families"] = families
    found = families.get(module.partition("@")[0], [module])
    return sorted(found) if len(found) > 1 else [module]


def _merkle_digests(project) -> dict[str, str]:
    """For every module of the index, a hash of the names and content digests of all the
    modules it depends on, transitively (a Merkle hash over the components of the import
    graph, so linear in its size): it changes when any of them changes, or when the set of
    them does. Memoised on the index."""
    memo = project.memo.get("cache.merkle")
    if memo is not None:
        return memo
    graph = {module: sorted(project.direct_dependencies(module)) for module in project.modules}
    # Tarjan's strongly connected components, iteratively; components come out dependencies first.
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component_of: dict[str, int] = {}
    deep: list[str] = []  # per component: the hash of its members and everything below it
    counter = 0
    for start in sorted(graph):
        if start in index_of:
            continue
        work = [(start, iter(graph[start]))]
        index_of[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in graph:
                    continue
                if successor not in index_of:
                    index_of[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(graph[successor])))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index_of[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                number = len(deep)
                for member in members:
                    component_of[member] = number
                below = sorted({deep[component_of[s]] for m in members for s in graph[m]
                                if s in component_of and component_of[s] != number})
                hashed = hashlib.blake2b(digest_size=20)
                for member in sorted(members):
                    for relative in _family(project, member):
                        hashed.update(f"{relative}:{project.summary_digest(relative)};".encode())
                hashed.update(("|" + ",".join(below)).encode())
                deep.append(hashed.hexdigest())
    result = {}
    for module, successors in graph.items():
        # (In a cycle, the module's own component is among them: its own digest is in the key anyway.)
        parts = sorted({deep[component_of[s]] for s in successors if s in component_of})
        result[module] = hashlib.blake2b(",".join(parts).encode(), digest_size=20).hexdigest()
    project.memo["cache.merkle"] = result
    return result
