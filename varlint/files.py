"""Discovery of the Python files to check under the paths given on the command line.

Directories are walked for `*.py` and `*.ipynb`, skipping VCS folders, virtual environments, build output,
caches, `exclude` patterns and whatever `.gitignore` files say. A file named explicitly is
always checked, as in ruff, unless `force_exclude` is set (`--force-exclude`, for pre-commit,
which names every staged file): then `exclude` applies to it too.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # imported when a pattern is first compiled: checking one file needs none
    import pathspec

from varlint import atomic_write

SOURCE_SUFFIXES = (".py", ".ipynb")  # Python files and Jupyter notebooks
SKIPPED_DIRECTORIES = {
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", "venv", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".varlint_cache", ".hypothesis", "__pycache__", "build", "dist",
    "node_modules", "site-packages", ".eggs", ".ipynb_checkpoints",
}


def discover(
    paths: list[str], exclude: tuple[str, ...], root: Path, force_exclude: bool = False
) -> Iterator[str]:
    # No patterns, no pathspec: a run without `exclude` never imports it.
    exclude_spec = gitignore_spec(exclude) if exclude else None
    seen: set[str] = set()
    for given in paths:
        if os.path.isdir(given):
            found = _walk(given, exclude_spec, root)
        elif force_exclude and exclude_spec is not None and exclude_spec.match_file(_relative(given, root)):
            continue
        else:
            found = iter([given])  # named explicitly (even if missing: reported as VL901)
        for path in found:
            # Normalised, so `varlint check .` reports `model.py`, not `./model.py`, as ruff.
            path = os.path.normpath(path)
            if path not in seen:
                seen.add(path)
                yield path


# While `remembering_walks()` is on (one `varlint check` run): the directory walks that met no
# .gitignore and no `exclude`, as (absolute top, root, absolute paths found, the span of each
# folder in them), so that `tree_files` does not walk their subtrees again.
_WALKS: list | None = None


@contextlib.contextmanager
def remembering_walks():
    global _WALKS
    previous, _WALKS = _WALKS, []
    try:
        yield
    finally:
        _WALKS = previous


def _walk(top: str, exclude_spec: pathspec.PathSpec | None, root: Path) -> Iterator[str]:
    # Each directory's .gitignore applies to everything below it, relative to that directory.
    ignore_specs: list[tuple[str, pathspec.PathSpec]] = _parent_gitignores(top)
    remembered = [] if _WALKS is not None and exclude_spec is None and not ignore_specs else None
    for directory, subdirectories, filenames in os.walk(top):
        spec = _read_gitignore(directory)
        if spec is not None:
            ignore_specs.append((directory, spec))
            remembered = None
        ignore_specs = [(base, s) for base, s in ignore_specs if _is_within(directory, base)]

        def ignored(path: str, is_dir: bool) -> bool:
            if not ignore_specs and exclude_spec is None:
                return False
            for base, gitignore in ignore_specs:
                relative = os.path.relpath(path, base).replace(os.sep, "/")
                if gitignore.match_file(relative + ("/" if is_dir else "")):
                    return True
            if exclude_spec is None:
                return False
            relative_to_root = _relative(path, root)
            return exclude_spec.match_file(relative_to_root + ("/" if is_dir else ""))

        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if name not in SKIPPED_DIRECTORIES
            and not name.endswith(".egg-info")
            and not os.path.exists(os.path.join(directory, name, "pyvenv.cfg"))
            and not ignored(os.path.join(directory, name), True)
        )
        for name in sorted(filenames):
            path = os.path.join(directory, name)
            # os.path.exists is False for a broken link or a symlink loop: skipped, as ruff
            # skips directory loops (os.walk does not follow directory links at all)
            if name.endswith(SOURCE_SUFFIXES) and os.path.exists(path) and not ignored(path, False):
                if remembered is not None:
                    remembered.append(os.path.abspath(path))
                yield path
            elif name.endswith(".tmp"):
                atomic_write.remove_if_stale(path)  # what a killed `--fix` run left
    if remembered is not None and _WALKS is not None:
        _WALKS.append((os.path.abspath(top), root, remembered, {}))


def _skipped_directory(path: str) -> bool:
    """Whether the walk passes over this folder whatever the ignore files say."""
    name = os.path.basename(path)
    return (name in SKIPPED_DIRECTORIES or name.endswith(".egg-info")
            or os.path.exists(os.path.join(path, "pyvenv.cfg")))


def _remembered_walk(top: str, exclude: tuple[str, ...], root: Path) -> list[str] | None:
    """What walking `top` finds, from a remembered walk of a folder above it, when that is
    sure to be the same: no `exclude`, no .gitignore anywhere in that walk or above it (so
    none applies to `top` either), and no folder from there down to `top` passed over."""
    if _WALKS is None or exclude:
        return None
    for outer, outer_root, found, spans in _WALKS:
        if outer_root != root or not _is_within(top, outer):
            continue
        folder = top
        while folder != outer:
            if _skipped_directory(folder):
                return None
            folder = os.path.dirname(folder)
        if not spans:  # each folder's files are consecutive in a walk (top-down, depth first)
            for number, path in enumerate(found):
                folder = os.path.dirname(path)
                while True:
                    first, _ = spans.get(folder, (number, number))
                    spans[folder] = (first, number)
                    if folder == outer or len(folder) <= len(outer):
                        break
                    folder = os.path.dirname(folder)
        first, last = spans.get(top, (0, -1))
        return found[first:last + 1]
    return None


def _read_gitignore(directory: str) -> pathspec.PathSpec | None:
    """The directory's .gitignore, None when it has none or only blank lines and comments
    (pathspec is imported only for real patterns)."""
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    patterns = [line.rstrip(" ") for line in lines if line.strip() and not line.startswith("#")]
    if not patterns:
        return None
    if patterns == ["*"]:  # everything below (varlint's own cache folder says so)
        return _EVERYTHING
    return gitignore_spec(lines)


class _Everything:
    """A .gitignore of just `*`: every path below its folder is ignored (no pathspec needed)."""

    @staticmethod
    def match_file(path: str) -> bool:
        return True


_EVERYTHING = _Everything()


def _parent_gitignores(top: str) -> list[tuple[str, pathspec.PathSpec]]:
    """The .gitignore files above `top`, up to the root of its git repository (if any)."""
    specs = []
    directory = os.path.abspath(top)
    while not os.path.exists(os.path.join(directory, ".git")):
        parent = os.path.dirname(directory)
        if parent == directory:
            return []  # not inside a repository: no .gitignore above applies
        directory = parent
        spec = _read_gitignore(directory)
        if spec is not None:
            specs.append((directory, spec))
    return specs[::-1]


def _is_within(path: str, base: str) -> bool:
    path, base = os.path.abspath(path), os.path.abspath(base)
    return path == base or path.startswith(base if base.endswith(os.sep) else base + os.sep)


def _relative(path: str, root: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


# --- Linear-time gitignore matching ------------------------------------------------------
#
# pathspec compiles `a*a*a*b` to `a[^/]*a[^/]*a[^/]*b`, which Python's backtracking regex
# engine matches in exponential time (20 stars: minutes for one 30-character name). Within a
# path segment, a glob `P0*P1*...*Pn` (each piece of fixed width) matches if and only if it
# matches with each middle piece at its leftmost possible place, so every star but a segment's
# last is rewritten as an atomic lazy group `(?>[^/]*?P)` that never backtracks: same matches,
# linear time.

_STAR = "[^/]*"
_TOKEN = re.compile(
    r"(?P<star>\[\^/\]\*)"            # `*` of the glob
    r"|(?P<piece>\\.|\[(?:\\.|[^\]])+\]|[^/^$().*+?|\[\\])"  # a fixed-width piece
    r"|(?P<group>\((?:[^()]|\([^()]*\))*\)[?*+]?)"  # structure: `(?:.+/)?`, the end
    r"|(?P<other>.)",                   # `/`, `^`, `$`, `.*`: segment boundaries
    re.S,
)


def linear_regex(pattern: str) -> str:
    """pathspec's regex text with every star but the last of each segment made atomic."""
    tokens = [(match.lastgroup, match.group()) for match in _TOKEN.finditer(pattern)]
    out: list[str] = []
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        if kind != "star":
            out.append(text)
            index += 1
            continue
        end = index + 1
        while end < len(tokens) and tokens[end][0] == "piece":
            end += 1
        if end < len(tokens) and tokens[end][0] == "star":  # another star follows in the segment
            out.append("(?>[^/]*?" + "".join(t for _, t in tokens[index + 1:end]) + ")")
        else:
            out.append("".join(t for _, t in tokens[index:end]))
        index = end
    return "".join(out)


def gitignore_spec(lines) -> pathspec.PathSpec:
    """pathspec's GitIgnoreSpec, with its regexes rewritten to match in linear time."""
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    for pattern in spec.patterns:
        regex = getattr(pattern, "regex", None)
        if regex is not None and regex.pattern.count(_STAR) > 1:
            pattern.regex = re.compile(linear_regex(regex.pattern))
    return spec


MAX_TREE_FILES = 5000  # a file in a huge folder (a home directory): index its folder only


def tree_files(paths: list[str], exclude: tuple[str, ...], root: Path) -> list[str]:
    """The `.py` files of the trees the files `paths` belong to (each file's root folder, the
    one `python file.py` would start `sys.path` from), for the project index: a run over
    train.py alone still knows the model.py it star-imports, and a fix of model.py alone the
    train.py that uses its names (pre-commit names only the changed files)."""
    from itertools import islice

    from varlint.project import module_names

    roots: list[str] = []
    kept: set[str] = set()
    named = module_names([path for path in paths if path.endswith(".py")])
    for top in sorted({os.path.abspath(root) for _, root in named.values()}):
        folder = top
        while folder not in kept:  # walking an outer folder covers it
            parent = os.path.dirname(folder)
            if parent == folder:
                roots.append(top)
                kept.add(top)
                break
            folder = parent
    found: dict[str, None] = {}
    for top in roots:
        if not os.path.isdir(top):
            continue
        files = _remembered_walk(top, exclude, root)
        if files is not None:
            files = [p for p in files[:MAX_TREE_FILES + 1] if p.endswith(".py")]
        else:
            files = [p for p in islice(discover([top], exclude, root), MAX_TREE_FILES + 1) if p.endswith(".py")]
        if len(files) > MAX_TREE_FILES:
            files = [p for p in files if os.path.dirname(os.path.abspath(p)) == os.path.abspath(top)]
        found.update(dict.fromkeys(files))
    return list(found)
