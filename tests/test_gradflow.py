"""The shared requires-grad / leaf / shape analysis (varlint/analysis/gradflow/) on snippets.

Each snippet marks the expressions to check with `probe(expr, ...)` (one probe call per line).
Two things are asserted for every probed expression:

- what the analysis knows, written next to the case as `rg leaf shape` (`yes nonleaf (2, 3)`,
  `no leaf ()`, `? ? ?` for unknown), and for some cases the reason it gives;
- that everything it claims is true: the snippet is executed (real PyTorch when installed,
  else the reference runtime) and every value that reaches a probe is compared with the facts.
  An UNKNOWN fact claims nothing; a YES/NO, leaf or shape fact must hold on every visit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import libcst as cst
import pytest

from varlint.analysis.gradflow import Leaf, RequiresGrad, ValueFacts
from varlint.rule import FileContext

REPO_ROOT = Path(__file__).resolve().parents[1]

# Each case: (id, snippet, expected facts of each probed expression in order of appearance).
CASES = [
    (
        "factories-and-ops",
        """
        x = torch.ones(2, 3)
        w = torch.zeros(2, 3, requires_grad=True)
        probe(x, w, x + w, (x + w).sum(), x * 2, -w)
        probe(w.detach(), w.data, w.t(), x.mm(w.t()), w.view(-1), w.sum(1), w[0], w.mean(0, keepdim=True))
        probe(torch.exp(w), torch.tensor([[1.0, 2.0]]), torch.arange(5), torch.eye(3), w @ x.t(), abs(w))
        """,
        [
            "no leaf (2, 3)", "yes leaf (2, 3)", "yes nonleaf (2, 3)", "yes nonleaf ()", "no leaf (2, 3)",
            "yes nonleaf (2, 3)",
            "no leaf (2, 3)", "no leaf (2, 3)", "yes nonleaf (3, 2)", "yes nonleaf (2, 2)", "yes nonleaf (6,)",
            "yes nonleaf (2,)", "yes nonleaf (3,)", "yes nonleaf (1, 3)",
            "yes nonleaf (2, 3)", "no leaf (1, 2)", "no leaf (5,)", "no leaf (3, 3)", "yes nonleaf (2, 2)",
            "yes nonleaf (2, 3)",
        ],
    ),
    (
        "legacy-constructors",
        """
        from torch.autograd import Variable
        import torch.nn as nn
        a = Variable(torch.ones(2))
        b = Variable(torch.ones(2), requires_grad=True)
        c = nn.Parameter(torch.ones(2))
        d = Variable(c)
        one = torch.FloatTensor([1])
        mone = one * -1
        size = torch.FloatTensor(2, 3)
        probe(a, b, c, d, one, mone, size, nn.Parameter(torch.ones(3), requires_grad=False))
        """,
        ["no leaf (2,)", "yes leaf (2,)", "yes leaf (2,)", "no leaf (2,)", "no leaf (1,)", "no leaf (1,)",
         "no leaf (2, 3)", "no leaf (3,)"],
    ),
    (
        "grad-modes",
        """
        w = torch.ones(2, requires_grad=True)
        with torch.no_grad():
            a = w * 2
            p = torch.ones(2, requires_grad=True)
            q = torch.ones(2).requires_grad_()
            r = w
        b = w * 2
        torch.set_grad_enabled(False)
        c = w * 2
        torch.set_grad_enabled(True)
        with torch.set_grad_enabled(False):
            d = w * 2
            with torch.enable_grad():
                e = w * 2
        f = w * 2
        probe(a, p, q, r, b, c, d, e, f)
        """,
        ["no leaf (2,)", "yes leaf (2,)", "yes leaf (2,)", "yes leaf (2,)", "yes nonleaf (2,)", "no leaf (2,)",
         "no leaf (2,)", "yes nonleaf (2,)", "yes nonleaf (2,)"],
    ),
    (
        "functions",
        """
        @torch.no_grad()
        def evaluate():
            w = torch.ones(2, requires_grad=True)
            probe(w * 2)

        def train():
            w = torch.ones(2, requires_grad=True)
            probe(w * 2)

        def helper(t):
            probe(t, t * 2, torch.ones(2) * 3)

        evaluate()
        train()
        helper(torch.ones(2, requires_grad=True))
        """,
        ["no leaf (2,)", "yes nonleaf (2,)", "? ? ?", "? ? ?", "no leaf (2,)"],
    ),
    (
        "branches-and-loops",
        """
        w = torch.ones(2, requires_grad=True)
        if len(sys.argv) > 99:
            z = w * 2
        else:
            z = torch.ones(2)
        probe(z)
        t = torch.ones(2)
        for i in range(3):
            probe(t)
            t = t * w
        probe(t)
        for i in range(2):
            if i:
                probe(later)
            later = w * 2
        while True:
            u = torch.zeros(2)
            break
        probe(u)
        """,
        ["? ? (2,)", "? ? (2,)", "? ? (2,)", "yes nonleaf (2,)", "no leaf (2,)"],
    ),
    (
        "after-backward",
        """
        w = torch.ones(2, requires_grad=True)

        def model(t):
            return (t * w).sum()

        loss = model(torch.ones(2))
        probe(loss)
        loss.backward()
        probe(loss)
        out = model(torch.ones(2)).view(1)
        out.backward(torch.ones(1))
        probe(out)
        one = model(torch.ones(2)).view(1)
        one.backward()
        probe(one)
        """,
        # a backward without a gradient needs one element, not 0 dims: `(1,)` works too
        ["? ? ?", "yes ? ?", "yes ? (1,)", "yes ? (1,)"],
    ),
    (
        "aliases-and-escapes",
        """
        a = torch.zeros(2)
        alias = a
        alias.requires_grad_()
        probe(a, alias)
        b, c = torch.ones(2), torch.ones(2)
        for tensor in [b, c]:
            tensor.requires_grad = True
        probe(b, c)
        d = torch.ones(2)
        kept = [d]
        kept[0].requires_grad_()
        probe(d)

        def make_trainable(tensor):
            tensor.requires_grad_(True)

        e = torch.ones(2)
        make_trainable(e)
        probe(e)
        f = torch.ones(2)
        view = f[0:1]
        view.add_(a.sum())
        probe(f)
        """,
        ["? leaf (2,)", "yes leaf (2,)", "? leaf (2,)", "? leaf (2,)", "? ? ?", "? ? ?", "? ? ?"],
    ),
    (
        "in-place",
        """
        w = torch.ones(2, requires_grad=True)
        total = torch.zeros(1)
        total += (w * 2).sum()
        probe(total)
        count = 0
        count += 1
        loss = (w * 3).sum()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
        probe(w)
        x = torch.zeros(3)
        x[0] = w[1]
        probe(x)
        y = torch.zeros(2)
        y.mul_(2)
        probe(y)
        """,
        ["yes nonleaf (1,)", "yes leaf (2,)", "yes nonleaf (3,)", "no leaf (2,)"],
    ),
    (
        "requires-grad-flags",
        """
        w = torch.ones(2)
        w.requires_grad = True
        probe(w)
        p = torch.nn.Parameter(torch.ones(2))
        p.requires_grad = False
        probe(p)
        h = torch.ones(2, requires_grad=True) * 2
        h.requires_grad_()
        probe(h)
        """,
        ["yes leaf (2,)", "no leaf (2,)", "yes nonleaf (2,)"],
    ),
    (
        "integer-results",
        """
        w = torch.tensor([[0.2, 0.8], [0.9, 0.1]], requires_grad=True)
        probe(w.argmax(1), w > 0.5, w.long(), (w == 1).float().sum(), w.argmax())
        """,
        ["no leaf ?", "no leaf ?", "no leaf (2, 2)", "no leaf ()", "no leaf ()"],
    ),
    (
        "losses",
        """
        import torch.nn as nn
        import torch.nn.functional as F
        w = torch.ones(3, 2, requires_grad=True)
        target = torch.zeros(3, 2)
        criterion = nn.MSELoss()
        unreduced = nn.MSELoss(reduction="none")
        model = nn.Linear(2, 2)
        probe(criterion(w, target), F.mse_loss(w, target), F.l1_loss(w, target, reduction="sum"))
        probe(criterion(target, target), unreduced(w, target), model(target))
        with torch.no_grad():
            evaluated = model(target)
            evaluated_loss = criterion(model(target), target)
        probe(evaluated, evaluated_loss)
        """,
        ["yes nonleaf ()", "yes nonleaf ()", "yes nonleaf ()", "no leaf ()", "? ? ?", "? ? ?",
         "? ? ?", "no leaf ()"],
    ),
    (
        "try-except",
        """
        w = torch.ones(2, requires_grad=True)
        s = torch.ones(2)
        try:
            s = s * w
            if len(sys.argv) < 99:
                raise ValueError
            s = s.detach()
        except ValueError:
            probe(s)
        probe(s)
        """,
        ["? ? (2,)", "? ? (2,)"],
    ),
    (
        "module-objects-in-functions",
        """
        import torch.nn as nn
        criterion = nn.MSELoss()
        model = nn.Linear(2, 2)

        def train(x, y):
            probe(criterion(model(x), y))

        def evaluate(x, y):
            with torch.no_grad():
                loss = criterion(model(x), y)
            probe(loss)

        train(torch.ones(1, 2), torch.zeros(1, 2))
        evaluate(torch.ones(1, 2), torch.zeros(1, 2))
        """,
        ["? ? ()", "no leaf ()"],
    ),
    (
        "unknown-grad-context",
        """
        import contextlib
        w = torch.ones(2, requires_grad=True)
        with torch.no_grad() if len(sys.argv) < 99 else contextlib.nullcontext():
            a = w * 2
        context = torch.no_grad()
        with context:
            b = w * 2
        probe(a, b)
        """,
        ["? ? (2,)", "no leaf (2,)"],
    ),
    (
        "reflection-and-containers",
        """
        w = torch.ones(2, requires_grad=True)
        q = torch.zeros(2)
        exec("q.requires_grad_()")
        probe(q)
        p = torch.zeros(2)
        kept = [p]
        kept[0] += w
        probe(p)
        r = torch.zeros(2)
        getattr(r, "requires_grad_")()
        probe(r)
        """,
        ["? ? ?", "? ? ?", "? ? ?"],
    ),
    (
        "module-outputs-under-no-grad",
        """
        import torch.nn as nn

        class PassThrough(nn.Module):
            def forward(self, x):
                return x

        w = torch.ones(2, requires_grad=True)
        linear, identity, mine = nn.Linear(2, 2), nn.Identity(), PassThrough()
        relu = nn.ReLU(inplace=True)
        with torch.no_grad():
            a, b, c, d = linear(w), identity(w), mine(w), relu(w * 1)
        x = torch.ones(2)
        probe(a * x, b * x, c * x, d * x)
        """,
        ["no leaf ?", "? ? ?", "? ? ?", "? ? ?"],
    ),
    (
        "closures-and-globals",
        """
        w = torch.ones(2)

        def enable():
            w.requires_grad_()

        enable()
        probe(w)

        def read_global():
            probe(w)

        read_global()
        g = torch.ones(2)

        def rebind():
            global g
            g = torch.ones(2, requires_grad=True)

        rebind()
        probe(g)

        def counter():
            n = torch.zeros(1)

            def bump():
                nonlocal n
                n = n + torch.ones(1, requires_grad=True)

            bump()
            probe(n)

        counter()
        """,
        ["? ? ?", "? ? ?", "? ? ?", "? ? ?"],
    ),
]


def expected_facts(text: str) -> tuple:
    requires_grad, leaf, shape = text.split(" ", 2)
    return (
        {"yes": RequiresGrad.YES, "no": RequiresGrad.NO, "?": RequiresGrad.UNKNOWN}[requires_grad],
        {"leaf": Leaf.LEAF, "nonleaf": Leaf.NONLEAF, "?": Leaf.UNKNOWN}[leaf],
        None if shape == "?" else eval(shape),
    )


def source_of(snippet: str) -> str:
    return "import sys\nimport torch\n" + textwrap.dedent(snippet).lstrip("\n")


def context_of(source: str) -> FileContext:
    module = cst.parse_module(source)
    return FileContext("snippet.py", module, cst.MetadataWrapper(module, unsafe_skip_copy=True))


def probes(source: str) -> list[tuple[int, str, ValueFacts]]:
    """(line, code, facts) of every argument of every `probe(...)` call, in source order."""
    context = context_of(source)
    found = []

    class Probes(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "probe":
                line = context.positions[node].start.line
                for index, arg in enumerate(node.args):
                    found.append((line, index, context.code(arg.value), context.gradflow.facts(arg.value)))

    context.module.visit(Probes())
    return found


# --- the truth: run every snippet once, in one interpreter --------------------------------------

DRIVER = """
import json, sys, torch
records = {}
def probe(*values):
    line = sys._getframe(1).f_lineno
    for index, value in enumerate(values):
        tensor = isinstance(value, torch.Tensor)
        records.setdefault(f"{line}:{index}", []).append(
            [tensor, tensor and value.requires_grad, tensor and value.is_leaf,
             list(value.shape) if tensor else None])
results = {}
for case, source in json.load(open(sys.argv[1])).items():
    records = {}
    exec(compile(source, "snippet.py", "exec"), {"probe": probe, "__name__": "__main__"})
    results[case] = records
json.dump(results, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def observed(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("gradflow")
    (folder / "driver.py").write_text(DRIVER)
    (folder / "snippets.json").write_text(json.dumps({case: source_of(snippet) for case, snippet, _ in CASES}))
    # Real PyTorch when installed; otherwise the reference runtime serves `torch`.
    command = [sys.executable] if find_spec("torch") else [sys.executable, "-m", "runtime"]
    completed = subprocess.run(
        [*command, str(folder / "driver.py"), str(folder / "snippets.json"), str(folder / "out.json")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads((folder / "out.json").read_text())


@pytest.mark.parametrize("case, snippet, expected", CASES, ids=[case[0] for case in CASES])
def test_what_the_analysis_knows(case, snippet, expected):
    found = probes(source_of(snippet))
    assert len(found) == len(expected), f"{len(found)} probed expressions, {len(expected)} expectations"
    for (line, _, code, facts), text in zip(found, expected):
        actual = (facts.requires_grad, facts.leaf, facts.shape)
        assert actual == expected_facts(text), f"line {line}: `{code}`"


@pytest.mark.parametrize("case, snippet, expected", CASES, ids=[case[0] for case in CASES])
def test_what_the_analysis_claims_is_true(case, snippet, expected, observed):
    runs = observed[case]
    for line, index, code, facts in probes(source_of(snippet)):
        for is_tensor, requires_grad, is_leaf, shape in runs.get(f"{line}:{index}", []):
            where = f"line {line}: `{code}`"
            if facts.is_tensor:
                assert is_tensor, where
            if facts.requires_grad is not RequiresGrad.UNKNOWN:
                assert is_tensor and requires_grad == (facts.requires_grad is RequiresGrad.YES), where
            if facts.leaf is not Leaf.UNKNOWN:
                assert is_tensor and is_leaf == (facts.leaf is Leaf.LEAF), where
            if facts.shape is not None:
                assert is_tensor and tuple(shape) == facts.shape, where


def test_every_probe_ran(observed):
    # Guards the soundness test against probes that silently never execute.
    for case, snippet, _ in CASES:
        found = {(line, index) for line, index, _, _ in probes(source_of(snippet))}
        reached = {tuple(map(int, key.split(":"))) for key in observed[case]}
        assert found == reached, case


# --- reasons, retained gradients, constants -----------------------------------------------------


def facts_of(snippet: str) -> list[ValueFacts]:
    return [facts for _, _, _, facts in probes(source_of(snippet))]


@pytest.mark.parametrize(
    "snippet, kind, detail",
    [
        ("x = torch.ones(2)\ny = (x * 2).sum()\nprobe(y)", "no-trainable-leaf", ""),
        ("w = torch.ones(2, requires_grad=True)\nwith torch.no_grad():\n    y = w * 2\nprobe(y)", "no-grad", "`torch.no_grad()`"),
        ("w = torch.ones(2, requires_grad=True)\ny = (w * 2).detach()\nprobe(y + 1)", "detach", "detach"),
        ("w = torch.ones(2, requires_grad=True)\ny = (w * 2).data\nprobe(y.sum())", "data", "data"),
        ("w = torch.ones(2, requires_grad=True)\ny = torch.tensor((w * 2).sum().item())\nprobe(y)", "item", ".item()"),
        ("w = torch.ones(2, requires_grad=True)\na = w.detach().numpy()\ny = torch.from_numpy(a * 2)\nprobe(y)", "numpy", ""),
        ("w = torch.ones(2, requires_grad=True)\ny = w.argmax()\nprobe(y)", "integer", "argmax"),
        ("w = torch.nn.Parameter(torch.ones(2))\nw.requires_grad = False\nprobe(w * 2)", "frozen", "requires_grad = False"),
        ("from torch.autograd import Variable\nw = torch.ones(2, requires_grad=True)\nprobe(Variable(w) * 2)", "variable", ""),
        ("w = torch.ones(2, requires_grad=True)\ny = torch.tensor(w * 2)\nprobe(y)", "copy", "torch.tensor(...)"),
    ],
)
def test_reason_names_the_cause(snippet, kind, detail):
    (facts,) = facts_of(snippet)
    assert facts.requires_grad is RequiresGrad.NO
    assert (facts.reason.kind, facts.reason.detail) == (kind, detail)
    source_lines = source_of(snippet).splitlines()
    cause_line = source_lines[facts.reason.line - 1]
    assert any(word in cause_line for word in ("torch.", "Variable", "detach", ".data", "requires_grad", "argmax", "no_grad"))
    assert str(facts.reason.line) in facts.reason.describe()


def test_reason_points_at_the_line_of_the_cut():
    (facts,) = facts_of("w = torch.ones(2, requires_grad=True)\nh = w * 2\ncut = h.detach()\nprobe(cut.sum() * 3)")
    assert facts.reason.line == 5  # two import lines come first


def test_retain_grad_and_assigned_grad_are_remembered():
    before, after, assigned, fresh = facts_of(
        """
        w = torch.ones(2, requires_grad=True)
        h = w * 2
        probe(h)
        h.retain_grad()
        probe(h)
        x = torch.ones(2)
        x.grad = torch.zeros(2)
        probe(x)
        probe(torch.ones(2))
        """
    )
    assert (before.grad_kept, after.grad_kept, assigned.grad_kept, fresh.grad_kept) == (False, True, True, False)


def test_backward_with_inputs_fills_their_grad():
    filled, alias, other = facts_of(
        """
        w = torch.ones(2, requires_grad=True)
        h = w * 2
        same = h
        k = w * 3
        (h * k).sum().backward(inputs=[h])
        probe(h, same, k)
        """
    )
    assert (filled.grad_kept, alias.grad_kept, other.grad_kept) == (True, None, False)


def test_a_backward_with_an_unknown_keyword_raises_before_anything():
    # `retain_variables=` (PyTorch 0.3) is a TypeError: the call proves nothing about `loss`.
    (facts,) = facts_of("loss = unknown_model()\nloss.backward(retain_variables=True)\nprobe(loss)")
    assert facts.shape is None and facts.requires_grad is RequiresGrad.UNKNOWN


def test_a_frozen_tensor_may_keep_its_old_gradient():
    (facts,) = facts_of("w = torch.ones(2, requires_grad=True)\n(w * 2).sum().backward()\nw.requires_grad_(False)\nprobe(w)")
    assert facts.requires_grad is RequiresGrad.NO and facts.grad_kept is None


def test_constants_of_the_wgan_gradients():
    one, mone, negated, half = facts_of(
        "one = torch.FloatTensor([1])\nmone = one * -1\nprobe(one)\nprobe(mone)\nprobe(-torch.ones(1))\nprobe(one * 0.5)"
    )
    assert (one.constant, mone.constant, negated.constant, half.constant) == (1, -1, -1, 0.5)


def test_python_values_are_not_tensors():
    item, listed, size = facts_of("w = torch.ones(2, requires_grad=True)\nprobe((w * 2).sum().item(), w.tolist(), w.size())")
    for facts in (item, listed, size):
        assert not facts.is_tensor and facts.requires_grad is RequiresGrad.UNKNOWN


def test_the_analysis_runs_once_per_file(monkeypatch):
    from varlint.analysis import gradflow

    runs = []
    original = gradflow.Analysis.run
    monkeypatch.setattr(gradflow.Analysis, "run", lambda self: runs.append(1) or original(self))
    context = context_of(source_of("x = torch.ones(2)\nprobe(x, x * 2)"))
    assert context.gradflow is context.gradflow
    for node in (context.module.body[-1], context.module.body[-2]):
        context.gradflow.facts(node)
    assert runs == [1]


def test_code_too_deep_for_the_analysis_is_unknown_not_a_crash():
    import sys

    source = source_of("x = torch.ones(2, requires_grad=True)\ny = " + " + ".join(["x"] * 200) + "\nprobe(x)\nprobe(y)")
    context = context_of(source)
    for metadata in ("positions", "parents", "names"):
        getattr(context, metadata)  # resolved by the engine before any rule runs
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # deeper than the 200-term sum needs, for this test only
    try:
        facts = [context.gradflow.facts(node.body[0].value.args[0].value) for node in context.module.body[-2:]]
    finally:
        sys.setrecursionlimit(limit)
    # The whole file is given up: nothing half-analysed is reported.
    assert facts == [ValueFacts(), ValueFacts()]


def test_call_of_a_dotless_qualified_name_does_not_crash():
    """`import model` then `model(data)` (pytorch/examples word_language_model/main.py): the
    qualified name of the callee, `model`, has no dot; it is no `torch.nn` module class."""
    from varlint import engine
    from varlint.analysis.gradflow import is_module_class
    from varlint.rules import all_rules

    assert not is_module_class("model")
    assert is_module_class("torch.nn.Linear")
    source = textwrap.dedent(
        """\
        import model


        def repackage_hidden(h):
            if isinstance(h, torch.Tensor):
                output = model(data)
            for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
                if args.model == 'Transformer':
                    output = model(data)
                total_loss += loss.item()
        """
    )
    codes = frozenset(rule.code for rule in all_rules())
    assert engine.lint_text("case.py", source, codes) == []


def test_a_loss_summed_from_zero_is_a_tensor_of_zero_dims_if_a_tensor_at_all():
    """`loss = 0; loss += criterion(out, y)` in a loop: the number 0 or a 0-dim tensor; after
    `loss.backward()` a 0-dim tensor (a number has no `backward`)."""
    summed, after_backward = facts_of(
        """
        criterion = torch.nn.MSELoss()
        w = torch.ones(2, requires_grad=True)
        loss = 0
        for i in range(3):
            loss += criterion(w * i, torch.zeros(2))
        probe(loss)
        loss.backward()
        probe(loss)
        """
    )
    assert summed.shape_if_tensor == () and not summed.is_tensor and summed.shape is None
    assert after_backward.is_tensor and after_backward.shape == ()


def test_arithmetic_of_values_0_dim_if_tensors_stays_0_dim_if_a_tensor():
    """Two `loss = 0; loss += ...` sums added, scaled, subtracted: still the number or a 0-dim
    tensor; with a 0-dim tensor among the operands, a 0-dim tensor."""
    both, with_tensor, batch = facts_of(
        """
        criterion = torch.nn.MSELoss()
        w = torch.ones(2, requires_grad=True)
        a = 0
        b = 0
        for i in range(3):
            a += criterion(w * i, torch.zeros(2))
            b += criterion(w, torch.zeros(2))
        probe(2 * (a - b) / 3)
        probe(a + w.sum())
        probe(a + w)
        """
    )
    assert both.shape_if_tensor == () and not both.is_tensor
    assert with_tensor.is_tensor and with_tensor.shape == ()
    assert batch.shape_if_tensor is None and batch.shape is None


def test_sizes_of_a_tensor_and_min_max_of_numbers_are_numbers():
    """`imgs.shape[0]`, `x.size()[1]` and `min(max(k, 0), 1)` keep a reduction 0-dim in
    arithmetic (`d_target * torch.sum(d_real)`); a slice of the sizes is no number."""
    by_shape, by_size, clamped, sliced, unpacked, starred = facts_of(
        """
        x = torch.ones(4, 3, requires_grad=True)
        n = x.shape[0]
        m = x.size()[1]
        k = 0.5
        k = min(max(k, 0), 1)
        probe(x.sum() / n)
        probe(x.sum() - m)
        probe(x.sum() * k)
        probe(x.sum() * x.shape[1:])
        _, c = x.size()
        probe(x.sum() / c)
        first, *rest = x.size()
        probe(x.sum() * rest)
        """
    )
    assert by_shape.shape == () and by_size.shape == () and clamped.shape == ()
    assert sliced.shape is None
    assert unpacked.shape == () and starred.shape is None


def test_an_element_wise_function_of_the_file_keeps_the_shape_of_its_argument():
    """`def log(x): return torch.log(x + 1e-8)` of a 0-dim value is 0-dim, of a batch a batch;
    a function mixing two parameters or a global says nothing."""
    zero_dim, batch, two, scaled = facts_of(
        """
        eps = 1e-8


        def log(x):
            return torch.log(x + 1e-8)


        def mixed(x, y):
            return torch.log(x + y)


        def with_global(x):
            return torch.log(x + eps)


        w = torch.ones(3, requires_grad=True)
        probe(log(w.sum()))
        probe(log(w))
        probe(mixed(w.sum(), w))
        probe(with_global(w.sum()))
        """
    )
    assert zero_dim.shape == () and zero_dim.requires_grad is RequiresGrad.YES
    assert batch.shape == (3,)
    assert two.shape is None and scaled.shape is None


FIXTURE_FILES = sorted((Path(__file__).parent.parent / "fixtures").rglob("*.py"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_may_be_tensor_never_excludes_a_tensor(path):
    """`may_be_tensor` lets rules skip the analysis: where it says no, the analysis agrees."""
    try:
        context = context_of(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        pytest.skip("not UTF-8 (a VL901 fixture)")
    except cst.ParserSyntaxError:
        pytest.skip("not parseable (a VL900 fixture)")
    flow = context.gradflow

    class Expressions(cst.CSTVisitor):
        def on_visit(self, node):
            if isinstance(node, cst.BaseExpression) and not flow.may_be_tensor(node):
                assert not flow.facts(node).is_tensor, cst.Module([]).code_for_node(node)
            return True

    context.module.visit(Expressions())
