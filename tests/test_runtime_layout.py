"""The runtime's shape: no import circle between its modules, no module over ~800 lines,
and every Tensor method defined by exactly one op family."""

from __future__ import annotations

import ast
from pathlib import Path

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(RUNTIME.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """runtime modules imported anywhere in the file (late imports inside functions too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module:  # `from . import x` imports the submodule x, not the package again
                found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return {module for module in found if module in known and module != name}


def _cycle(graph: dict[str, set[str]]):
    """One import cycle as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module):
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        state[module] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def _files():
    return sorted(RUNTIME.rglob("*.py"))


def test_no_import_cycle_in_the_runtime():
    files = _files()
    known = {_module_name(path) for path in files}
    graph = {_module_name(path): _imports(path, known) for path in files}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_a_cycle_is_found_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_runtime_module_is_over_850_lines():
    sizes = {str(path.relative_to(RUNTIME)): len(path.read_text(encoding="utf-8").splitlines())
             for path in _files()}
    assert {name: size for name, size in sizes.items() if size > 850} == {}


def test_each_tensor_method_is_defined_once_and_bound():
    from runtime import ops
    from runtime.tensor import Tensor

    methods = ops.methods()  # raises if two families define the same name
    for name, function in methods.items():
        assert Tensor.__dict__[name] is function, name
    assert Tensor.add.__qualname__ == "Tensor.add"
    assert Tensor.where.__qualname__ == "Tensor.where"
