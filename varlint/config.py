"""Settings: `[tool.varlint]` in the nearest pyproject.toml, overridden by CLI flags.

Keys: `select`, `ignore`, `extend-select` (codes, prefixes such as `VL1`, or `ALL`),
`exclude` (gitignore-style patterns relative to the config file), `per-file-ignores`
(`{"glob" = ["CODE", ...]}`). Unknown keys or codes are a config error (exit 2).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from varlint.rules import all_rules

KNOWN_KEYS = {"select", "ignore", "extend-select", "exclude", "per-file-ignores"}


class ConfigError(Exception):
    """A problem with the configuration or the selection: reported, exit code 2."""


class UnknownSelector(ConfigError):
    def __init__(self, selector: str, where: str = "") -> None:
        self.selector = selector
        where = f" in {where}" if where else ""
        super().__init__(f"unknown rule selector `{selector}`{where} (see `varlint rule --all`)")


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: the default selection
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)  # where `exclude` / per-file globs are rooted
    source: Path | None = None  # the config file read, if any

    def selected_codes(self) -> frozenset[str]:
        rules = all_rules()
        if self.select is None:
            selected = {rule.code for rule in rules if rule.default_enabled}
        else:
            selected = set(expand(self.select))
        selected |= set(expand(self.extend_select))
        selected -= set(expand(self.ignore))
        return frozenset(selected)

    def ignored_for(self, path: str) -> frozenset[str]:
        """Codes switched off for one file by `per-file-ignores`."""
        relative = _relative(path, self.root)
        ignored: set[str] = set()
        for pattern, codes in self.per_file_ignores.items():
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(os.path.basename(path), pattern):
                ignored |= set(expand(codes))
        return frozenset(ignored)


def expand(selectors) -> list[str]:
    """Rule codes matched by codes / prefixes / `ALL`; an unknown selector is an error."""
    codes = [rule.code for rule in all_rules()]
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


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.varlint] table, from `start` upwards."""
    directory = start if start.is_dir() else start.parent
    for candidate in [directory, *directory.parents]:
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            # A pyproject.toml that cannot be read might hold our settings: an error, as in
            # ruff, rather than silently checking with the defaults.
            if "varlint" in _read_toml(pyproject).get("tool", {}):
                return pyproject
    return None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"invalid TOML in {path}: {error}") from None


def load_settings(config_file: Path | None, start: Path) -> Settings:
    path = config_file if config_file is not None else find_config(start.resolve())
    if path is None:
        return Settings(root=Path.cwd())
    data = _read_toml(path)
    # A pyproject.toml keeps its settings under [tool.varlint]; a varlint.toml at the top.
    table = data.get("tool", {}).get("varlint", {}) if path.name == "pyproject.toml" else data
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [tool.varlint] of {path}: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(KNOWN_KEYS))})"
        )

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


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()
