"""Mutation benchmark of the training-loop and 0-dim rules on a tree of real code.

    python bench/mutants.py CORPUS_DIR [--limit N] [--verbose]

1. Finds the training loops of every `.py` file under CORPUS_DIR, by syntax and independently
   of varlint's own analysis: a `for` / `while` loop that calls `.backward()` and an argument-
   less `.step()` (or updates a tensor from its `.grad`: `w -= lr * w.grad`), in its body or
   in a function of the same file it calls (three calls deep).
2. Runs varlint (VL004, VL201, VL202) on each original file and prints every diagnostic of the
   loop rules as a false alarm, and every VL004 for review (on legacy code, a `.data[0]` of a
   loss is the real IndexError of PyTorch 2.x).
3. Makes one mutant per reset of a training loop (`X.zero_grad()`, `p.grad.zero_()`,
   `p.grad = None` ... in the loop or in what it calls):
   - reset-deleted: the reset statement replaced by `pass`; detected by a new VL201;
   - reset-moved: the reset moved right before the `step()` of the same optimizer (after the
     last backward); detected by a new VL202;
   and one mutant per `.item()` on a loss (a name with `loss` in it, or something `.backward()`
   is called on in the same function) turned back into `.data[0]`; detected by VL004 on it.
4. Prints the detection rate per kind and the mutants that were missed (`--verbose`).

Mutants are linted in-process from text (nothing is written), with one project index of the
whole tree (as `varlint check CORPUS_DIR` builds it). No timing is measured.

The development corpus: bench/repos.txt lists the public repositories (and the commit of each
snapshot); `python bench/assemble_repos.py /work/corpus/repos` exports their `.py` files from
local git mirrors into a folder outside this repository (third-party code is never committed).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from varlint import engine  # noqa: E402
from varlint.project import ProjectIndex  # noqa: E402

CODES = frozenset({"VL004", "VL201", "VL202"})
DEPTH = 3
KINDS = ("reset-deleted", "reset-moved", "item-to-data0")
EXPECTED = {"reset-deleted": "VL201", "reset-moved": "VL202", "item-to-data0": "VL004"}


@dataclass
class Mutant:
    kind: str
    path: str
    line: int  # of the mutated statement in the original
    text: str
    description: str


def dotted(node: cst.CSTNode | None) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def method_call(node: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value, node.func.value
    return None


def grad_owner(node: cst.CSTNode) -> str | None:
    """`w` for `w.grad` / `w.grad.data`."""
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        node = node.value
    if isinstance(node, cst.Attribute) and node.attr.value == "grad":
        return dotted(node.value) or "?"
    return None


def reset_of(statement: cst.SimpleStatementLine) -> str | None:
    """What a one-statement line resets: the receiver of `X.zero_grad()`, or the tensor of
    `w.grad.zero_()` / `w.grad.data.zero_()` / `w.grad = None`; None if it is no reset."""
    if len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Expr):
        call = method_call(small.value)
        if call is None:
            return None
        method, receiver = call
        if method == "zero_grad":
            return dotted(receiver) or "?"
        if method == "zero_" and grad_owner(receiver):
            return grad_owner(receiver)
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        if isinstance(target, cst.Attribute) and target.attr.value == "grad":
            if isinstance(small.value, cst.Name) and small.value.value == "None":
                return dotted(target.value) or "?"
    return None


def step_of(statement: cst.SimpleStatementLine) -> str | None:
    """What a one-statement line steps: the receiver of `X.step()`, or the tensor `w` of a
    manual update from its gradient (`w -= lr * w.grad`, `w.data.add_(-lr, w.grad.data)`)."""
    if len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.AugAssign):
        target = small.target
        target = target.value if isinstance(target, cst.Attribute) and target.attr.value == "data" else target
        path = dotted(target)
        return path if path is not None and path in grads_read(small.value) else None
    if not isinstance(small, cst.Expr):
        return None
    call = method_call(small.value)
    if call is None:
        return None
    if call[0] == "step":
        return None if small.value.args else dotted(call[1])
    receiver = call[1]
    receiver = receiver.value if isinstance(receiver, cst.Attribute) and receiver.attr.value == "data" else receiver
    path = dotted(receiver)
    if call[0].endswith("_") and path is not None and path in grads_read(small.value):
        return path
    return None


def grads_read(node: cst.CSTNode) -> set[str]:
    """Every `w` read as `w.grad` in `node`."""
    found: set[str] = set()

    class Reads(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            owner = grad_owner(attribute)
            if owner and attribute.attr.value == "grad":
                found.add(owner)

    node.visit(Reads())
    return found


class FileModel:
    """The syntax facts of one file the benchmark needs."""

    def __init__(self, path: str, text: str, module: cst.Module) -> None:
        self.path, self.text, self.module = path, text, module
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.positions = wrapper.resolve(PositionProvider)
        self.parents = wrapper.resolve(ParentNodeProvider)
        self.functions: dict[str, list[cst.FunctionDef]] = defaultdict(list)
        self.equivalent: list[Mutant] = []  # reset deletions that change nothing (not counted)
        self.loops: list[cst.For | cst.While] = []
        outer = self

        class Collect(cst.CSTVisitor):
            def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
                outer.functions[node.name.value].append(node)

            def visit_For(self, node: cst.For) -> None:
                outer.loops.append(node)

            def visit_While(self, node: cst.While) -> None:
                outer.loops.append(node)

        module.visit(Collect())

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def callees(self, call: cst.Call) -> list[cst.FunctionDef]:
        func = call.func
        name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
        return self.functions.get(name, []) if name else []

    def reached(self, node: cst.CSTNode, depth: int = DEPTH, seen=None) -> list[cst.CSTNode]:
        """`node` and the same-file functions its calls run (a few levels deep)."""
        seen = set() if seen is None else seen
        found = [node]
        if depth <= 0:
            return found
        calls: list[cst.Call] = []

        class Calls(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                calls.append(call)

        node.visit(Calls())
        for call in calls:
            for function in self.callees(call):
                if function not in seen:
                    seen.add(function)
                    found += self.reached(function.body, depth - 1, seen)
        return found

    def is_training_loop(self, loop: cst.For | cst.While) -> bool:
        """Backward and a step (or a manual update from `.grad`) in the loop or what it calls."""
        backward = step = False
        for part in self.reached(loop.body):
            for call in calls_in(part):
                found = method_call(call)
                if found and found[0] == "backward":
                    backward = True
            step = step or any(step_of(line) for line in self.statements(part))
        return backward and step

    def statements(self, node: cst.CSTNode) -> list[cst.SimpleStatementLine]:
        found: list[cst.SimpleStatementLine] = []

        class Lines(cst.CSTVisitor):
            def visit_SimpleStatementLine(self, line: cst.SimpleStatementLine) -> None:
                found.append(line)

            def visit_FunctionDef(self, function: cst.FunctionDef) -> bool:
                return function is node  # nested definitions are not part of this body

            def visit_ClassDef(self, klass: cst.ClassDef) -> bool:
                return False

        node.visit(Lines())
        return found


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            calls.append(call)

        def visit_FunctionDef(self, function: cst.FunctionDef) -> bool:
            return False

    node.visit(Calls())
    return calls


def enclosing_function(model: FileModel, node: cst.CSTNode) -> cst.CSTNode:
    while node in model.parents:
        node = model.parents[node]
        if isinstance(node, (cst.FunctionDef, cst.Module)):
            return node
    return node


def replace_lines(text: str, start: int, end: int, new: list[str]) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[: start - 1] + new + lines[end:])


def statement_span(model: FileModel, statement: cst.CSTNode) -> tuple[int, int, str]:
    position = model.positions[statement]
    indent = model.text.splitlines()[position.start.line - 1][: position.start.column]
    return position.start.line, position.end.line, indent


def assigned_calls(model: FileModel, name: str) -> list[cst.Call]:
    """The values of the assignments `name = f(...)` of the file (any scope)."""
    found: list[cst.Call] = []

    class Assigns(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if any(dotted(target.target) == name for target in node.targets):
                found.append(node.value)

    model.module.visit(Assigns())
    return found


def optimizer_modules(model: FileModel, name: str) -> set[str] | None:
    """The objects whose `.parameters()` the one construction of `name` lists (through one
    name: `chain = ichain(g.parameters(), e.parameters()); opt = Adam(chain)`); None when
    `name` is not built once here from such a list."""
    values = assigned_calls(model, name)
    if len(values) != 1 or not isinstance(values[0], cst.Call) or not values[0].args:
        return None
    found: set[str] = set()
    pending, depth = [values[0].args[0].value], 0
    while pending and depth < 20:
        depth += 1
        node = pending.pop()
        if isinstance(node, cst.Name):
            bound = assigned_calls(model, node.value)
            if len(bound) != 1:
                return None
            node = bound[0]
        for call in [node, *calls_in(node)] if isinstance(node, cst.Call) else calls_in(node):
            found_call = method_call(call)
            if found_call and found_call[0] == "parameters" and dotted(found_call[1]):
                found.add(dotted(found_call[1]))
            elif isinstance(call, cst.Call) and call is node:
                pending.extend(arg.value for arg in call.args if isinstance(arg.value, cst.Name))
    return found or None


def equivalent_deletion(model: FileModel, line: cst.SimpleStatementLine, target: str) -> bool:
    """Whether deleting the reset `line` of `target` changes nothing: other statements of the
    same block reset all of `target`'s gradients too (the same object, an optimizer built
    from it, or the modules it is built from), later with nothing in between that may read
    them (a step of an optimizer that may hold them, a `.grad`, a jump, a call of a function
    of the file doing one of these), or earlier with, in addition, no backward in between."""
    block = model.parents.get(line)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return False
    siblings = list(block.body)
    index = siblings.index(line)
    held = optimizer_modules(model, target) or {target}
    for later, others in ((True, siblings[index + 1:]), (False, reversed(siblings[:index]))):
        covered: set[str] = set()
        for sibling in others:
            if isinstance(sibling, cst.SimpleStatementLine):
                other = reset_of(sibling)
                if other == target:
                    return True
                if other is not None:
                    covered |= {other} | (optimizer_modules(model, other) or set())
                    if held <= covered:
                        return True
                    continue
            if not quiet(model, sibling, held, target, backward_too=not later):
                break
    return False


def quiet(model: FileModel, statement: cst.CSTNode, held: set[str], target: str, backward_too: bool) -> bool:
    """Whether `statement` surely reads no gradient of `held` (see `equivalent_deletion`)."""
    jumps = (cst.Break, cst.Continue, cst.Return, cst.Raise)

    class Jumps(cst.CSTVisitor):
        found = False

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, jumps) or isinstance(node, (cst.Yield, cst.Await)):
                Jumps.found = True
            return not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda))

    statement.visit(Jumps())
    if Jumps.found:
        return False
    for part in model.reached(statement):
        code = model.module.code_for_node(part)
        if ".grad" in code or (backward_too and "backward" in code):
            return False
        for inner in model.statements(part):
            stepped = step_of(inner)
            if stepped is None:
                continue
            modules = optimizer_modules(model, stepped)
            if stepped == target or modules is None or modules & held:
                return False
    return True


def mutants_of(model: FileModel) -> tuple[list[Mutant], int]:
    mutants: list[Mutant] = []
    loops = [loop for loop in model.loops if model.is_training_loop(loop)]
    resets_done: set[cst.CSTNode] = set()
    items_done: set[cst.CSTNode] = set()
    newline = model.module.default_newline
    for loop in loops:
        parts = model.reached(loop.body)
        for part in parts:
            lines = model.statements(part)
            steps = [line for line in lines if step_of(line)]
            for index, line in enumerate(lines):
                target = reset_of(line)
                if target is None or line in resets_done:
                    continue
                resets_done.add(line)
                start, end, indent = statement_span(model, line)
                description = model.module.code_for_node(line.body[0]).strip()  # without comments
                if equivalent_deletion(model, line, target):
                    model.equivalent.append(Mutant("reset-deleted", model.path, start, "", description))
                else:
                    text = replace_lines(model.text, start, end, [f"{indent}pass{newline}"])
                    mutants.append(Mutant("reset-deleted", model.path, start, text, description))
                moved = moved_reset(model, line, target, steps, start, end)
                if moved is not None:
                    mutants.append(Mutant("reset-moved", model.path, start, moved, description))
        for part in parts:
            for mutant in item_mutants(model, part, items_done):
                mutants.append(mutant)
    return mutants, len(loops)


def moved_reset(model: FileModel, reset, target: str, steps, start: int, end: int) -> str | None:
    """The text with `reset` moved right before the step it belongs to (same function, after
    the reset in source order): `X.step()` for an optimizer reset `X.zero_grad()`, or the only
    step of the function for a module or tensor reset."""
    function = enclosing_function(model, reset)
    candidates = [s for s in steps if enclosing_function(model, s) is function and model.line(s) > end]
    same = [s for s in candidates if step_of(s) == target]
    step = same[0] if same else (candidates[0] if len({step_of(s) for s in candidates}) == 1 else None)
    if step is None:
        return None
    step_start, _, step_indent = statement_span(model, step)
    between = model.text.splitlines()[end:step_start - 1]
    if not any(".backward(" in line for line in between):
        return None  # no backward between the reset and the step: nothing to move across
    code = model.module.code_for_node(reset.body[0])
    lines = model.text.splitlines(keepends=True)
    newline = model.module.default_newline
    lines.insert(step_start - 1, f"{step_indent}{code}{newline}")
    lines[start - 1 : end] = [f"{lines[start - 1][: len(lines[start - 1]) - len(lines[start - 1].lstrip())]}pass{newline}"]
    return "".join(lines)


def item_mutants(model: FileModel, part: cst.CSTNode, done: set) -> list[Mutant]:
    """`.item()` on a loss -> `.data[0]`."""
    backwarded = {
        dotted(call.func.value)
        for call in calls_in(part)
        if method_call(call) and method_call(call)[0] == "backward"
    }
    found = []
    for call in calls_in(part):
        found_call = method_call(call)
        if not found_call or found_call[0] != "item" or call.args or call in done:
            continue
        receiver = dotted(found_call[1])
        if receiver is None or not ("loss" in receiver.lower() or receiver in backwarded):
            continue
        done.add(call)
        position = model.positions[call]
        if position.start.line != position.end.line:
            continue
        lines = model.text.splitlines(keepends=True)
        row = lines[position.start.line - 1]
        snippet = model.module.code_for_node(call)
        column = position.start.column
        if row[column : column + len(snippet)] != snippet:
            continue
        replacement = f"{model.module.code_for_node(found_call[1])}.data[0]"
        lines[position.start.line - 1] = row[:column] + replacement + row[column + len(snippet):]
        found.append(Mutant("item-to-data0", model.path, position.start.line, "".join(lines), snippet))
    return found


def lint(path: str, text: str, project=None):
    return engine.lint_text(path, text, CODES, project)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--limit", type=int, default=0, help="stop after N mutants (0: all)")
    parser.add_argument("--verbose", action="store_true", help="list the missed mutants")
    parser.add_argument("--per-file", type=int, default=0, help="at most N mutants of each kind per file (0: all)")
    parser.add_argument("--progress", action="store_true", help="print each file as it is done (stderr)")
    parser.add_argument("--only", default="", help="mutate only the files whose path contains this (the index spans the whole tree)")
    args = parser.parse_args(argv)
    totals, detected = Counter(), Counter()
    missed: list[Mutant] = []
    equivalent: list[Mutant] = []
    false_alarms, reviews = [], []
    loops_found = files_with_loops = 0
    paths = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(args.corpus)
        for name in names
        if name.endswith(".py")
    )
    # One index of the whole tree, as `varlint check CORPUS_DIR` builds it: imports, star
    # imports and classes of the other modules resolve.
    project = ProjectIndex.build(paths)
    for path in paths:
        if args.only and args.only not in path:
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            module = cst.parse_module(text)
        except (OSError, UnicodeDecodeError, cst.ParserSyntaxError, RecursionError):
            continue  # Python 2 files and the like: varlint reports them as VL900/VL901
        model = FileModel(path, text, module)
        mutants, loops = mutants_of(model)
        if not loops:
            continue
        equivalent.extend(model.equivalent)
        loops_found += loops
        files_with_loops += 1
        original = lint(path, text, project)
        for diagnostic in original:
            (false_alarms if diagnostic.code in ("VL201", "VL202") else reviews).append(diagnostic)
        before = {(d.code, d.start.row) for d in original}
        if args.per_file:
            kept: Counter = Counter()
            mutants = [m for m in mutants if (kept.update([m.kind]) or kept[m.kind] <= args.per_file)]
        if args.progress:
            print(f"{path}: {loops} loops, {len(mutants)} mutants", file=sys.stderr, flush=True)
        for mutant in mutants:
            if args.limit and sum(totals.values()) >= args.limit:
                break
            totals[mutant.kind] += 1
            code = EXPECTED[mutant.kind]
            after = {(d.code, d.start.row) for d in lint(path, mutant.text, project)}
            new = {row for c, row in after - before if c == code}
            hit = bool(new) if code != "VL004" else mutant.line in new
            if hit:
                detected[mutant.kind] += 1
            else:
                missed.append(mutant)
    print(f"files with training loops: {files_with_loops}, training loops: {loops_found}")
    for kind in KINDS:
        total = totals[kind]
        rate = f"{100 * detected[kind] / total:.1f}%" if total else "n/a"
        print(f"{kind:15} {detected[kind]:4}/{total:<4} detected  {rate}")
    print(f"reset deletions not made (another reset of the same block covers them first): {len(equivalent)}")
    if args.verbose:
        for mutant in equivalent:
            print(f"  {mutant.path}:{mutant.line}: {mutant.description}")
    print(f"false alarms on originals (VL201/VL202): {len(false_alarms)}")
    for diagnostic in false_alarms:
        print(f"  {diagnostic.path}:{diagnostic.start.row}: {diagnostic.code} {diagnostic.message}")
    print(f"VL004 on originals (legacy `.data[0]` of 0-dim values, to review): {len(reviews)}")
    for diagnostic in reviews:
        print(f"  {diagnostic.path}:{diagnostic.start.row}: {diagnostic.code}")
    if args.verbose:
        for mutant in missed:
            print(f"missed {mutant.kind}: {mutant.path}:{mutant.line}: {mutant.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
