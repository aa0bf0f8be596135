"""The result cache (like ruff's): an unchanged file is not checked again.

Where: `.varlint_cache/` next to the configuration file in use (else in the current folder),
or `--cache-dir DIR` / `VARLINT_CACHE_DIR`; `--no-cache` turns it off.

What: one entry per checked file, named by its key, a hash of
- varlint's version and code (any change to varlint starts afresh),
- the settings and the fix mode,
- the file's path and content,
- the content of every module of the tree it imports, transitively (project index), so that
  editing a helper module invalidates the files that use it,
- with a fix mode, also the content of every module that imports it (the reverse direction):
  whether a fix may remove an import depends on which other modules still use the name
  (`from model import *` in train.py), so editing train.py invalidates model.py's fixed result.
The project index is cached too (per file: size, modification time and what the index knows
of it), so a warm run reads only what changed.

Safety: entries are written to a temporary file and renamed into place (atomic), so
concurrent runs never see half an entry; an entry that cannot be read or unpickled is
ignored (and rewritten). Unused entries are not collected; delete the folder to clear it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from varlint import atomic_write

CACHE_DIR_NAME = ".varlint_cache"
FORMAT = "1"  # bumped when the layout changes


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
    """varlint's version and the modification times of its own source files."""
    global _CODE_STAMP
    if _CODE_STAMP is None:
        package = Path(__file__).parent
        digest = hashlib.blake2b(digest_size=16)
        digest.update(FORMAT.encode())
        try:
            from importlib.metadata import version

            digest.update(version("varlint").encode())
        except Exception:  # noqa: BLE001 - not installed: the source stamp below suffices
            pass
        for path in sorted(package.rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(package)}:{stat.st_mtime_ns}:{stat.st_size};".encode())
        _CODE_STAMP = digest.hexdigest()
    return _CODE_STAMP


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
        self._index_entries: dict[str, tuple[int, int, object]] = {}
        self._index_changed = False
        self._keys: dict[str, str] = {}

    # --- The project index, per file --------------------------------------------------------

    def project_index(self, paths: list[str]):
        """The project index of `paths`, re-reading only files whose size or time changed."""
        from varlint.project import ProjectIndex, read_module

        stored = _read(self._index_file)
        if not (isinstance(stored, dict) and stored.get("stamp") == code_stamp()):
            stored = {"stamp": code_stamp(), "files": {}}
        known: dict[str, tuple[int, int, object]] = stored["files"]
        self._index_entries = dict(known)

        def reuse(path: str, name: str, is_package: bool):
            try:
                stat = os.stat(path)
            except OSError:
                return None
            entry = known.get(path)
            if entry is not None and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
                info = entry[2]
                if info.name == name:
                    return info
            from varlint.project import _read_text

            text = _read_text(path)
            if text is None:
                return None
            info = read_module(name, path, text, is_package)
            self._index_entries[path] = (stat.st_size, stat.st_mtime_ns, info)
            self._index_changed = True
            return info

        return ProjectIndex.build(paths, module_reader=reuse)

    # --- Results ----------------------------------------------------------------------------

    def key(self, path: str, project, settings, fix) -> str | None:
        name = project.module_name(path)
        info = project.module(name) if name is not None else None
        if info is None:
            return None
        digest = hashlib.blake2b(digest_size=20)
        digest.update(code_stamp().encode())
        digest.update(repr((settings, str(fix))).encode())
        digest.update(os.path.abspath(path).encode())
        digest.update(info.digest.encode())
        for dependency in sorted(project.dependencies(name)):
            digest.update(f"{dependency}:{project.summary_digest(dependency)};".encode())
        if fix is not None:
            digest.update(b"importers:")
            for importer in sorted(project.importers(name)):
                digest.update(f"{importer}:{project.summary_digest(importer)};".encode())
        return digest.hexdigest()

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

    def flush(self) -> None:
        if not self._index_changed:
            return
        data = pickle.dumps({"stamp": code_stamp(), "files": self._index_entries}, pickle.HIGHEST_PROTOCOL)
        try:
            _write_atomic(self._index_file, data)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                _write_atomic(gitignore, b"# Automatically created by varlint.\n*\n")
        except OSError:
            pass
        self._index_changed = False
