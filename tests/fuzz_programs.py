"""Hypothesis strategies for the fuzz suite (tests/test_fuzz.py): whole programs to check and fix.

- `legacy_programs()`: programs made of the PyTorch 0.1-0.3 idioms the rules look at
  (`Variable`, `volatile`, `.data[0]`, `.data` updates, typed constructors, training loops with
  backward/step/zero_grad, loss accumulators), put in every place code can be: module level,
  helper functions, methods of classes, comprehensions, decorated functions, `with no_grad`,
  `match`/`case`, `async def`, `try`, and the newest syntax (PEP 695 type parameters, PEP 701
  f-strings; a syntax error for an older Python, which is VL900, not a crash).
- `hypothesmith_programs()`: programs from the Python grammar and from libcst node strategies.

Each program is a complete module (text); the properties live in test_fuzz.py.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = ["x", "w", "h", "loss", "out", "y", "total", "grads", "Variable", "data", "step"]
TENSORS = [
    "torch.randn(3, 4)", "torch.ones(2, 2)", "torch.zeros(5)", "torch.FloatTensor(3, 3)",
    "torch.Tensor([1.0, 2.0])", "torch.tensor(1.5)", "x", "w * 2", "torch.LongTensor([1, 2])",
]
IMPORTS = [
    "import torch",
    "from torch.autograd import Variable",
    "from torch.autograd import Variable as V",
    "import torch.autograd as autograd",
    "import torch.nn as nn",
    "import torch.nn.functional as F",
    "import torch.optim as optim",
    "from torch import autograd",
    "from torch.autograd import *",
]

names = st.sampled_from(NAMES)
tensors = st.sampled_from(TENSORS)


@st.composite
def wrapped(draw) -> str:
    """An expression making a tensor, often through a legacy wrapper."""
    tensor = draw(tensors)
    wrapper = draw(st.sampled_from(["Variable", "V", "autograd.Variable", "torch.autograd.Variable", ""]))
    if not wrapper:
        return tensor
    keywords = draw(st.lists(
        st.sampled_from(["requires_grad=True", "volatile=True", "requires_grad=False", "volatile=False"]),
        max_size=2, unique=True))
    return f"{wrapper}({', '.join([tensor, *keywords])})"


@st.composite
def simple_statement(draw) -> str:
    name, other = draw(names), draw(names)
    forms = [
        f"{name} = {draw(wrapped())}",
        f"{name} = ({other} * {draw(wrapped())}).sum()",
        f"{name} = {other}.mean()",
        f"print({name}.data[0])",
        f"print({name}.data[0], {other}.grad)",
        f"{name}.backward()",
        f"{name}.backward(torch.ones(1))",
        f"{name}.backward(retain_variables=True)",
        f"print({name}.grad, {name}.grad_fn)",
        f"{name}.data.zero_()",
        f"{name}.data -= 0.1 * {other}.grad.data",
        f"{name}.data = {other}.data.clone()",
        f"{name}.volatile = True",
        f"print({name}.volatile)",
        f"value = {name}.data.numpy()",
        f"{name} = {name}.type(torch.FloatTensor)",
        f"{name} = {other}.creator",
        f"if isinstance({name}, Variable): print({name})",
        f"total += {name}",
        f"grads.append({name}.data[0])",
        f"{name}.grad.data.zero_()",
        f"{name} = [Variable(t) for t in [{draw(tensors)}, {draw(tensors)}]]",
        f"{name} = {{k: Variable(v) for k, v in {{'a': {draw(tensors)}}}.items()}}",
        f"{name}: Variable = {draw(wrapped())}",
        f"del {name}",
        f"{name} = lambda t: Variable(t, volatile=True)",
        f"{name} = f'{{{other}.data[0]!r:>{{10}}}}'",
        f"{name}, {other} = {draw(wrapped())}, {draw(wrapped())}",
        f"{name} = {other} if {other} is not None else {draw(wrapped())}",
        "pass",
    ]
    return draw(st.sampled_from(forms))


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


@st.composite
def block(draw, depth: int = 0) -> list[str]:
    """A list of statement lines (at least one); compound statements nest up to depth 2."""
    statements: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        if depth >= 2 or draw(st.integers(0, 2)) > 0:
            statements.append(draw(simple_statement()))
            continue
        body = draw(block(depth + 1))
        kind = draw(st.sampled_from([
            "for", "while", "with", "if", "def", "class", "try", "match", "async", "decorated", "train",
        ]))
        name = draw(names)
        if kind == "for":
            statements += [f"for {name} in range(3):", *_indent(body)]
        elif kind == "while":
            statements += ["while step < 3:", *_indent(body + ["step += 1"])]
        elif kind == "with":
            manager = draw(st.sampled_from(["torch.no_grad()", "torch.enable_grad()", "open('f') as fh"]))
            statements += [f"with {manager}:", *_indent(body)]
        elif kind == "if":
            statements += [f"if {name}:", *_indent(body), "else:", *_indent(draw(block(depth + 1)))]
        elif kind == "def":
            statements += [f"def helper_{name}({name}, {draw(names)}=None):", *_indent(body + [f"return {name}"])]
        elif kind == "class":
            statements += [
                "class Model(nn.Module):",
                "    def forward(self, x):",
                *_indent(_indent(body + ["return x"])),
            ]
        elif kind == "try":
            statements += ["try:", *_indent(body), "except Exception as error:", *_indent(["print(error)"])]
        elif kind == "match":
            statements += [f"match {name}:", "    case [first, *rest]:", *_indent(_indent(body)),
                           "    case _:", "        pass"]
        elif kind == "async":
            statements += ["async def run():", *_indent(body + ["await run()"]),
                           "async def gen():", "    async for item in source():", "        yield Variable(item)"]
        elif kind == "decorated":
            decorator = draw(st.sampled_from(["@torch.no_grad()", "@staticmethod", "@functools.wraps(f)"]))
            statements += [decorator, f"def decorated({name}):", *_indent(body)]
        else:  # a training loop, with some of its lines left out
            loop = ["optimizer.zero_grad()", "out = model(Variable(x))", "loss = criterion(out, y)",
                    "loss.backward()", "optimizer.step()", "total += loss", "print(loss.data[0])"]
            kept = draw(st.lists(st.sampled_from(loop), min_size=1, max_size=len(loop), unique=True))
            statements += ["for epoch in range(2):", *_indent(sorted(kept, key=loop.index) + body)]
    return statements


@st.composite
def newest_syntax(draw) -> list[str]:
    """PEP 695 and PEP 701 forms (syntax errors before Python 3.12)."""
    return [draw(st.sampled_from([
        "type Alias = list[Variable]",
        "def first[T](items: list[T]) -> T:\n    return Variable(items[0])",
        "class Box[T]:\n    value: T",
        "message = f\"{'loss: ' + f'{loss.data[0]}'}\"",
        "message = f\"{x.data[0]:{'>'}{10}}\"",
    ]))]


@st.composite
def legacy_programs(draw) -> str:
    imports = draw(st.lists(st.sampled_from(IMPORTS), min_size=1, max_size=4, unique=True))
    setup = ["model = nn.Linear(4, 1)", "optimizer = optim.SGD(model.parameters(), lr=0.1)",
             "criterion = nn.MSELoss()", "x = Variable(torch.randn(3, 4))", "y = Variable(torch.randn(3, 1))",
             "total = 0", "grads = []", "step = 0"]
    body = draw(block())
    if draw(st.integers(0, 9)) == 0:
        body += draw(newest_syntax())
    trailing = draw(st.sampled_from(["\n", "", "\n\n", "  # noqa\n", "  # noqa: VL001\n"]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = "\n".join(imports + draw(st.lists(st.sampled_from(setup), max_size=5)) + body) + trailing
    return text.replace("\n", newline)


def hypothesmith_programs():
    """Programs from the Python grammar and from libcst node strategies (hypothesmith)."""
    import hypothesmith

    return st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node())


def any_program():
    return st.one_of(legacy_programs(), hypothesmith_programs())


# --- The properties --------------------------------------------------------------------


def problems(text: str, directory) -> list[str]:
    """What is wrong with varlint on one program (empty: nothing): an internal error in
    `check`; for `--fix` and `--fix --unsafe-fixes`, a result that does not parse, a second run
    that changes it again, or a fix left unapplied (one fix dropping the file's others)."""
    import os

    from varlint import engine
    from varlint.config import Settings
    from varlint.diagnostic import Applicability, Diagnostic
    from varlint.fixes import APPLIES

    settings = Settings(select=("ALL",), root=directory)
    path = os.path.join(str(directory), "program.py")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    found = []
    checked = engine.check_file(path, settings)
    if checked.internal_error:
        found.append(f"check: internal error {checked.internal_error}")
    for mode in (Applicability.SAFE, Applicability.UNSAFE):
        result = engine.check_file(path, settings, fix=mode)
        if result.internal_error:
            found.append(f"fix {mode.value}: internal error {result.internal_error}")
            continue
        left = [d.code for d in result.diagnostics if d.fix and d.fix.applicability in APPLIES[mode]]
        if left:
            found.append(f"fix {mode.value}: fixes left unapplied: {left}")
        if result.fixed_text is None:
            continue
        if isinstance(engine.parse(path, result.fixed_text), Diagnostic) or not _compiles(result.fixed_text):
            found.append(f"fix {mode.value}: the fixed text does not parse")
            continue
        fixed_path = os.path.join(str(directory), "fixed.py")
        with open(fixed_path, "w", encoding="utf-8", newline="") as handle:
            handle.write(result.fixed_text)
        again = engine.check_file(fixed_path, settings, fix=mode)
        if again.internal_error or again.fixed_text is not None:
            found.append(f"fix {mode.value}: a second run changes the fixed text again"
                         f"{' (' + again.internal_error + ')' if again.internal_error else ''}")
    return found


def _compiles(text: str) -> bool:
    try:
        compile(text, "<fixed>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
