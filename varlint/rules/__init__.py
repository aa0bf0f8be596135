"""The rule registry: one module per rule, its docstring the rule's documentation.

Rules are discovered from this package's modules, so adding a rule is adding a module.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from varlint.rule import Rule


@lru_cache(maxsize=None)
def all_rules() -> tuple[type[Rule], ...]:
    from varlint.rule import Rule

    found: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and getattr(value, "code", None)
            ):
                if value.code in found:
                    raise RuntimeError(f"rule code {value.code} defined twice")
                found[value.code] = value
    return tuple(found[code] for code in sorted(found))


def rule_by_code(code: str) -> type[Rule] | None:
    return next((rule for rule in all_rules() if rule.code == code), None)


class RuleInfo(NamedTuple):
    code: str
    name: str
    default_enabled: bool


_CLASS_ATTRIBUTE = re.compile(r'^    (code|name|default_enabled) = (?:"([^"]*)"|(True|False))', re.M)


@lru_cache(maxsize=None)
def rule_table() -> tuple[RuleInfo, ...]:
    """Code, name and default selection of every rule, read from the rule modules' text without
    importing them (they import libcst and the analyses): what settings and a run answered
    from the cache need. tests/test_cache.py holds it to `all_rules()`."""
    found: dict[str, RuleInfo] = {}
    folder = os.path.dirname(__file__)
    for info in pkgutil.iter_modules(__path__):
        with open(os.path.join(folder, f"{info.name}.py"), encoding="utf-8") as handle:
            values: dict[str, str] = {}
            for match in _CLASS_ATTRIBUTE.finditer(handle.read()):
                values.setdefault(match.group(1), match.group(2) if match.group(2) is not None else match.group(3))
        if "code" in values:
            found[values["code"]] = RuleInfo(values["code"], values.get("name", ""), values.get("default_enabled") != "False")
    return tuple(found[code] for code in sorted(found))
