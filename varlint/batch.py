"""Checking a list of files (`varlint check PATHS`): the project index, the result cache and the
worker processes put together (`engine.check_paths` is this module's `check_paths`).

1. The files to index: the files given and the other modules of their trees
   (`files.tree_files`: imports resolve, and fixes keep what the unchecked modules need).
2. With a cache, every indexed file is read and hashed; a module whose text is unchanged
   takes its index entry from the cache, without a parse.
3. The modules left are indexed by the workers, in shares, when there are enough of them and
   of files to check (the workers then load libcst and the rules while the parent goes on),
   else here.
4. The index is assembled; each file's key (its text, settings, and the texts of the modules
   it imports) finds its result in the cache; the others are checked, largest first, by the
   workers (sent the index once) or here. Results are returned in the order of `paths`.
"""

from __future__ import annotations

import os

from varlint import ast_stash, collection, engine, parallel
from varlint.config import Settings


def check_paths(
    paths: list[str],
    settings: Settings,
    fix=None,
    jobs: int | None = None,
    cache=None,
    on_result=None,
    settings_by_path: dict[str, Settings] | None = None,
) -> list:
    from varlint.files import tree_files
    from varlint.project import ProjectIndex, module_names, read_module, read_text, source_digest

    given = {os.path.abspath(path) for path in paths}
    indexed = list(paths) + [
        path for path in tree_files(list(paths), settings.exclude, settings.root) if os.path.abspath(path) not in given
    ]
    jobs = jobs or parallel.default_jobs()
    many = jobs > 1 and len(paths) >= parallel.MIN_FILES_PER_WORKER * 2

    names = module_names([path for path in indexed if path.endswith(".py")])
    infos: dict[str, object] = {}  # path -> ModuleInfo
    project = _lone_files_index(paths, indexed, names, infos)
    if project is not None:
        indexed, names = [], {}  # nothing else to index

    # The modules to index, with what the cache knows of them.
    missing: list[tuple[str, str, bool]] = []
    texts: dict[str, str] = {}
    from_cache: set[str] = set()
    for absolute, (name, _root) in names.items():
        if absolute in infos:  # read already
            continue
        is_package = os.path.basename(absolute) == "__init__.py"
        if cache is not None:
            text = read_text(absolute)
            if text is None:
                continue
            info = cache.module_info(absolute, name, is_package, source_digest(text))
            if info is not None:
                infos[absolute] = info
                from_cache.add(absolute)
                continue
            texts[absolute] = text
        missing.append((absolute, name, is_package))

    pool = None
    check = _WorkerCheck(settings_by_path, settings, fix)
    if not many:  # index and checks both here: the checks take the index's trees (ast_stash)
        ast_stash.keep(paths)
    try:
        if many and len(missing) >= parallel.MIN_FILES_PER_WORKER * 2:
            pool = parallel.Pool(min(jobs, len(paths)), check)
            sizes = {path: _size(path) for path, _, _ in missing}
            for item, info in zip(missing, pool.index(missing, sizes)):
                if info is not None:
                    infos[item[0]] = info
        else:
            with collection.between_files():
                for path, name, is_package in missing:
                    text = texts.pop(path, None)
                    if text is None:
                        text = read_text(path)
                    if text is not None:
                        infos[path] = read_module(name, path, text, is_package)
                # The index and the trees kept for the checks (ast_stash) live to the end of the
                # run (acyclic, they are freed as usual): no collection traverses them.
                collection.freeze_index()
        if cache is not None:
            for path, info in infos.items():
                if path not in from_cache:
                    cache.store_module(path, info)
        texts.clear()
        if project is None:
            project = ProjectIndex.build(indexed, module_reader=lambda path, name, is_package: infos.get(path), names=names)

        results: dict[int, object] = {}
        pending: list[int] = []
        for number, path in enumerate(paths):
            cached = cache.get(path, project, _settings_of(path, settings_by_path, settings), fix) if cache is not None else None
            if cached is not None:
                results[number] = cached
                if on_result is not None:
                    on_result(cached)
            else:
                pending.append(number)

        def arrived(number: int, result) -> None:
            results[number] = result
            if cache is not None:
                cache.put(paths[number], project, _settings_of(paths[number], settings_by_path, settings), fix, result)
            if on_result is not None:
                on_result(result)

        # Largest first: the files still running when the others are done are small ones.
        pending.sort(key=lambda number: -_size(paths[number]))
        work = [(number, paths[number]) for number in pending]
        if pool is None and many and len(work) >= parallel.MIN_FILES_PER_WORKER * 2:
            pool = parallel.Pool(min(jobs, len(work)), check)
        if pool is not None and work:
            pool.share("project", project)
            pool.run(work, arrived)
        else:
            for number, path in work:
                with collection.between_files():
                    result = engine.check_file(path, _settings_of(path, settings_by_path, settings), fix, project)
                arrived(number, result)
    finally:
        ast_stash.drop()
        if pool is not None:
            pool.close()
    if cache is not None:
        cache.flush()
    return [results[number] for number in range(len(paths))]


LONE_FILES = 16  # runs of at most this many files try `_lone_files_index`


def _lone_files_index(paths: list[str], indexed: list[str], names: dict, infos: dict):
    """For a run of a few files (an editor's, pre-commit's, one small file) of which none
    imports a module of its tree and none is named in the text of another module of the tree
    (so nothing imports it, directly or through others): an index where only these files are
    read, the others known by name only (as empty modules). Every question the analyses can
    ask of it about these files (what their names resolve to, their dependencies and
    importers, which modules bind a name they define) has the answer the full index gives,
    and the tree is not parsed. None when the shortcut does not apply. The files read are
    added to `infos` either way."""
    import re

    from varlint.project import ModuleInfo, ProjectIndex, read_module, read_text

    if len(paths) > LONE_FILES or len(indexed) <= len(paths):
        return None
    given = {os.path.abspath(path) for path in paths if path.endswith(".py")}
    for path in given:
        if path not in names:
            return None
        text = read_text(path)
        if text is None:
            return None
        name, _root = names[path]
        infos[path] = read_module(name, path, text, os.path.basename(path) == "__init__.py")
    stub = ProjectIndex.build(
        list(names), module_reader=lambda path, name, is_package: infos.get(path) or ModuleInfo(name, path, is_package),
        names=names,
    )
    if any(stub.direct_dependencies(stub.module_name(path)) for path in given):
        return None
    stems = {names[path][0].rpartition(".")[2] for path in given}
    mentioned = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(stems))) + r")\b")
    for path in names:
        if path not in given:
            text = read_text(path)
            if text is None or mentioned.search(text):
                return None
    return stub


class _WorkerCheck:
    """`check(path)` in a worker: the file's settings, and the index the parent shared."""

    def __init__(self, by_path, default: Settings, fix) -> None:
        self.by_path, self.default, self.fix = by_path, default, fix

    def __call__(self, path: str):
        settings = _settings_of(path, self.by_path, self.default)
        with collection.between_files():
            return engine.check_file(path, settings, self.fix, parallel.shared("project"))


def _settings_of(path: str, by_path: dict[str, Settings] | None, default: Settings) -> Settings:
    return by_path.get(path, default) if by_path else default


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
