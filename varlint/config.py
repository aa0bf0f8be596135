"""Settings: each file's closest config file (`.varlint.toml`, `varlint.toml`, or a
pyproject.toml with `[tool.varlint]`), overridden by CLI flags.

Keys: `select`, `ignore`, `extend-select` (codes, prefixes such as `VL1`, or `ALL`),
`exclude` (gitignore-style patterns relative to the config file), `per-file-ignores`
(`{"glob" = ["CODE", ...]}`), `extend` (the path of a config file to inherit from, relative
to this one). Unknown keys or codes, and unreadable files, are a config error (exit 2).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when an `exclude` pattern is first compiled
    import pathspec

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from varlint.rules import rule_table

KNOWN_KEYS = {"select", "ignore", "extend-select", "exclude", "per-file-ignores", "extend"}


class ConfigError(Exception):
    """A problem with the configuration or the selection: reported, exit code 2."""


class UnknownSelector(ConfigError):
    def __init__(self, selector: str, where: str = "") -> None:
        self.selector = selector
        where = f" in {where}" if where else ""
        super().__init__(f"unknown rule selector `{selector}`{where} (see `varlint rule --all`)")


@dataclass(frozen=True)
class PathRules:
    """`exclude` and `per-file-ignores` of an extended config file, rooted at its folder."""

    root: Path
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: the default selection
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)  # where `exclude` / per-file globs are rooted
    source: Path | None = None  # the config file read, if any
    inherited: tuple[PathRules, ...] = ()  # from the config files `extend`ed
    extends: tuple[Path, ...] = ()  # the config files extended, closest first

    def selected_codes(self) -> frozenset[str]:
        rules = rule_table()
        if self.select is None:
            selected = {rule.code for rule in rules if rule.default_enabled}
        else:
            selected = set(expand(self.select))
        selected |= set(expand(self.extend_select))
        selected -= set(expand(self.ignore))
        return frozenset(selected)

    def path_rules(self) -> list[PathRules]:
        return [PathRules(self.root, self.exclude, self.per_file_ignores), *self.inherited]

    def ignored_for(self, path: str) -> frozenset[str]:
        """Codes switched off for one file by `per-file-ignores`."""
        ignored: set[str] = set()
        for rules in self.path_rules():
            relative = _relative(path, rules.root)
            for pattern, codes in rules.per_file_ignores.items():
                if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(os.path.basename(path), pattern):
                    ignored |= set(expand(codes))
        return frozenset(ignored)

    def excludes(self, path: str) -> bool:
        """Whether an `exclude` pattern (this file's or an extended one's) matches `path`."""
        for rules in self.path_rules():
            if rules.exclude and _exclude_spec(rules.exclude).match_file(_relative(path, rules.root)):
                return True
        return False


@lru_cache(maxsize=256)
def _exclude_spec(patterns: tuple[str, ...]) -> pathspec.PathSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def expand(selectors) -> list[str]:
    """Rule codes matched by codes / prefixes / `ALL`; an unknown selector is an error."""
    codes = [rule.code for rule in rule_table()]
    matched: list[str] = []
    for raw in selectors:
        selector = raw.strip().upper()
        if not selector:
            continue
        if selector == "ALL":
            matched.extend(codes)
            continue
        hits = [code for code in codes if code.startswith(selector)]
        if not hits:
            raise UnknownSelector(raw.strip())
        matched.extend(hits)
    return matched


def split_codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


CONFIG_FILES = (".varlint.toml", "varlint.toml", "pyproject.toml")  # in a folder, first wins


def config_in(directory: Path) -> Path | None:
    """The config file of one folder: `.varlint.toml`, `varlint.toml`, or a pyproject.toml
    with a [tool.varlint] table (as ruff, a pyproject.toml without one is passed over)."""
    for name in CONFIG_FILES:
        candidate = directory / name
        if not candidate.is_file():
            continue
        # A pyproject.toml that cannot be read might hold our settings: an error, as in
        # ruff, rather than silently checking with the defaults.
        if name != "pyproject.toml" or "varlint" in _tool_table(_read_toml(candidate)):
            return candidate
    return None


def find_config(start: Path) -> Path | None:
    """The closest config file from `start` (a file or folder) upwards."""
    directory = start if start.is_dir() else start.parent
    for candidate in [directory, *directory.parents]:
        found = config_in(candidate)
        if found is not None:
            return found
    return None


def _tool_table(data: dict) -> dict:
    tool = data.get("tool", {})
    return tool if isinstance(tool, dict) else {}


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"invalid TOML in {path}: {error}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"invalid TOML in {path}: it nests arrays or tables too deeply to read") from None


def load_settings(config_file: Path | None, start: Path) -> Settings:
    """The settings of `config_file`, or of the closest config file above `start`."""
    path = config_file if config_file is not None else find_config(start.resolve())
    if path is None:
        return Settings(root=Path.cwd())
    return read_config(path)


def read_config(path: Path, extended_by: tuple[Path, ...] = ()) -> Settings:
    """One config file's settings, merged over those of the file it `extend`s."""
    path = path.resolve() if path.exists() else path
    if path in extended_by:
        chain = " -> ".join(str(p) for p in (*extended_by, path))
        raise ConfigError(f"circular `extend` in the configuration: {chain}")
    table = _settings_table(path)
    own = _parse_table(path, table)
    if "extend" not in table:
        return own
    extend = table["extend"]
    if not isinstance(extend, str):
        raise ConfigError(f"`extend` in {path} must be the path of a config file")
    base_path = (path.parent / os.path.expandvars(os.path.expanduser(extend)))
    if not base_path.is_file():
        raise ConfigError(f"`extend` in {path}: no such config file {base_path}")
    base = read_config(base_path, (*extended_by, path))
    return _merge(base, own, set(table))


def _settings_table(path: Path) -> dict:
    data = _read_toml(path)
    # A pyproject.toml keeps its settings under [tool.varlint]; a varlint.toml at the top.
    table = _tool_table(data).get("varlint", {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.varlint] in {path} must be a table")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key(s) in the varlint settings of {path}: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    return table


def _merge(base: Settings, own: Settings, keys: set[str]) -> Settings:
    """`own` over `base`, as ruff: a `select` starts the selection afresh, `ignore` and
    `extend-select` add to the base's; `exclude` and `per-file-ignores` replace the base's, and
    the base's stay rooted at the base's folder when not replaced."""
    if "select" in keys:
        select, ignore, extend_select = own.select, own.ignore, own.extend_select
    else:
        select = base.select
        ignore = base.ignore + own.ignore
        extend_select = base.extend_select + own.extend_select
    inherited = [
        PathRules(
            base.root,
            base.exclude if "exclude" not in keys else (),
            base.per_file_ignores if "per-file-ignores" not in keys else {},
        ),
        *base.inherited,
    ]
    return dataclasses.replace(
        own,
        select=select,
        ignore=ignore,
        extend_select=extend_select,
        inherited=tuple(rules for rules in inherited if rules.exclude or rules.per_file_ignores),
        extends=(base.source, *base.extends),
    )


def _parse_table(path: Path, table: dict) -> Settings:
    def validate(key: str, value: list[str]) -> None:
        try:
            expand(value)
        except UnknownSelector as error:  # say where the bad selector is written
            raise UnknownSelector(error.selector, f"`{key}` of {path}") from None

    def codes(key: str) -> tuple[str, ...] | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"`{key}` in {path} must be a list of strings")
        validate(key, value)
        return tuple(value)

    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"`per-file-ignores` in {path} must be a table of glob = [codes]")
    for glob, value in per_file.items():
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"`per-file-ignores.{glob}` in {path} must be a list of codes")
        validate(f"per-file-ignores.{glob}", value)
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(item, str) for item in exclude):
        raise ConfigError(f"`exclude` in {path} must be a list of strings")
    return Settings(
        select=codes("select"),
        ignore=codes("ignore") or (),
        extend_select=codes("extend-select") or (),
        exclude=tuple(exclude),
        per_file_ignores={glob: tuple(value) for glob, value in per_file.items()},
        root=path.parent.resolve(),
        source=path,
    )


class SettingsResolver:
    """The settings of each file, as ruff: the closest config file between the file and the
    filesystem root (cached per folder); `--config` applies one file to every path, and
    `isolated` ignores every config file. `adjust` applies the command-line flags."""

    def __init__(self, config_file: Path | None = None, isolated: bool = False, adjust=lambda s: s) -> None:
        self.config_file = config_file
        self.isolated = isolated
        self.adjust = adjust
        self._by_directory: dict[Path, Settings] = {}
        self._by_source: dict[Path | None, Settings] = {}
        self._by_path: dict[str, Settings] = {}  # for_path of a path as given
        self._by_folder: dict[str, Settings] = {}  # ... of a folder, as a string
        self.fixed = None
        if isolated:
            self.fixed = adjust(Settings(root=Path.cwd()))
        elif config_file is not None:
            self.fixed = adjust(read_config(config_file))

    def for_path(self, path: str | Path) -> Settings:
        if self.fixed is not None:
            return self.fixed
        found = self._by_path.get(path) if isinstance(path, str) else None
        if found is None:
            found = self._for_path(path)
            if isinstance(path, str):
                self._by_path[path] = found
        return found

    def _for_path(self, path: str | Path) -> Settings:
        absolute = os.path.abspath(path)
        folder = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
        found = self._by_folder.get(folder)
        if found is None:
            found = self._by_folder[folder] = self._for_directory(Path(folder))
        return found

    def _for_directory(self, directory: Path) -> Settings:
        if directory not in self._by_directory:
            config = config_in(directory)
            if config is not None:
                settings = self._from_source(config)
            elif directory.parent != directory:
                settings = self.for_path(directory.parent)
            else:
                settings = self._from_source(None)
            self._by_directory[directory] = settings
        return self._by_directory[directory]

    def _from_source(self, config: Path | None) -> Settings:
        if config not in self._by_source:
            settings = read_config(config) if config is not None else Settings(root=Path.cwd())
            self._by_source[config] = self.adjust(settings)
        return self._by_source[config]


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()
