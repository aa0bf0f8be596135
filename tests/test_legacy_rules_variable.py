"""VL001 / VL002 / VL003 checks that the fixture files do not cover on their own.

1. Every row of the "VL001 fixes" table (rules.md): the fix has the applicability the table
   gives, and a safe rewrite behaves exactly like the original under real PyTorch (and under
   the reference runtime): same values, dtype, flags, leaf status, storage sharing with every
   input, gradients after a backward. Negative controls show that the probe does tell the
   rewrites that rules.md forbids (`t.requires_grad_()`, plain `w` for a parameter) apart.
2. Unsafe fixes are unsafe for a reason: the program that makes each of them change behaviour.
3. VL001 and VL003 both edit `Variable(..., volatile=...)`: fixing with both rules selected gives
   the same file as fixing with VL003 first and VL001 afterwards.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from varlint import engine, fixes
from varlint.config import Settings
from varlint.diagnostic import Applicability, Diagnostic

try:
    import runtime_harness as harness
except ImportError:  # tests/ is a package in some layouts
    from tests import runtime_harness as harness

SAFE, UNSAFE, DISPLAY_ONLY = Applicability.SAFE, Applicability.UNSAFE, Applicability.DISPLAY_ONLY
HEADER = "import numpy as np\nimport torch\nfrom torch.autograd import Variable\n"

# Printed after the program (and not linted with it): what a later use of `result` can observe.
PROBE = """
import torch as _torch
_inputs = {_n: _v for _n, _v in list(globals().items())
           if isinstance(_v, _torch.Tensor) and _n != "result" and not _n.startswith("_")}
def _describe(tensor):
    return (type(tensor).__name__, str(tensor.dtype), tuple(tensor.shape), tensor.requires_grad,
            tensor.is_leaf, tensor.detach().tolist())
print("result", _describe(result))
for _name, _tensor in sorted(_inputs.items()):
    print(_name, _describe(_tensor), result.numel() > 0 and result.data_ptr() == _tensor.data_ptr())
if result.requires_grad:
    (result * 2).sum().backward()
    print("result.grad", result.grad.tolist() if result.is_leaf else None)
    for _name, _tensor in sorted(_inputs.items()):
        if _tensor.is_leaf:
            print(_name, "grad", None if _tensor.grad is None else _tensor.grad.tolist())
"""


@dataclass(frozen=True)
class Row:
    id: str
    program: str  # defines `result`; the line with `Variable` is the one reported
    applicability: Applicability | None  # None: no fix at all
    rewrite: str | None = None  # what replaces the `Variable(...)` call, where rules.md names it


ROWS = [
    # Variable(<fresh factory>(...)) -> the factory call, requires_grad moved into it
    Row("factory", "result = Variable(torch.ones(2, 2))", SAFE, "torch.ones(2, 2)"),
    Row("factory-requires-grad", "result = Variable(torch.zeros(3), requires_grad=True)", SAFE,
        "torch.zeros(3, requires_grad=True)"),
    Row("factory-positional-flag", "result = Variable(torch.full((2,), 0.5), True)", SAFE,
        "torch.full((2,), 0.5, requires_grad=True)"),
    Row("like-factory", "base = torch.ones(2)\nresult = Variable(torch.zeros_like(base), requires_grad=True)",
        SAFE, "torch.zeros_like(base, requires_grad=True)"),
    Row("new-method", "base = torch.ones(2)\nresult = Variable(base.new_ones(3))", SAFE, "base.new_ones(3)"),
    Row("from-numpy-requires-grad", "a = np.ones(2, dtype=np.float32)\n"
        "result = Variable(torch.from_numpy(a), requires_grad=True)", SAFE),
    # factories that are not fresh in the table's sense: not folded, still exact
    Row("factory-with-requires-grad", "result = Variable(torch.ones(2, requires_grad=True))", SAFE),
    Row("factory-with-out", "buffer = torch.zeros(2)\nresult = Variable(torch.ones(2, out=buffer))", SAFE),
    Row("normal-of-grad-mean", "torch.manual_seed(0)\nmean = torch.zeros(2, requires_grad=True)\n"
        "result = Variable(torch.normal(mean, 1.0))", SAFE),
    # Variable(x.data) -> x.detach()
    Row("data", "h = torch.ones(2, requires_grad=True) * 2\nresult = Variable(h.data)", SAFE, "h.detach()"),
    Row("data-requires-grad", "x = torch.tensor([1.0, -2.0])\nresult = Variable(x.data, requires_grad=True)",
        SAFE, "x.detach().requires_grad_()"),
    # Variable(x): plain x only where the analysis knows x does not require grad
    Row("known-no-grad", "x = torch.ones(2)\nresult = Variable(x)", SAFE, "x"),
    Row("known-no-grad-operand", "x = torch.ones(2)\nresult = Variable(x) * 2", SAFE, "x"),
    Row("known-no-grad-flag-set-later", "y = torch.zeros(2)\nu = Variable(y)\nu.requires_grad = True\nresult = u",
        SAFE, "y.detach()"),
    Row("parameter", "w = torch.nn.Parameter(torch.ones(2))\nresult = Variable(w)", SAFE, "w.detach()"),
    Row("non-leaf", "w = torch.ones(2, requires_grad=True)\nresult = Variable(w * 3)", SAFE, "(w * 3).detach()"),
    Row("unknown", "def wrap(x):\n    return Variable(x)\nw = torch.ones(2, requires_grad=True)\nresult = wrap(w)",
        SAFE, "x.detach()"),
    # Variable(x, requires_grad=True) -> x.detach().requires_grad_(), never x.requires_grad_()
    Row("requires-grad", "t = torch.ones(2)\nresult = Variable(t, requires_grad=True)", SAFE,
        "t.detach().requires_grad_()"),
    Row("requires-grad-positional", "t = torch.ones(2)\nresult = Variable(t, True)", SAFE,
        "t.detach().requires_grad_()"),
    Row("requires-grad-comparison", "t = torch.ones(2)\nstep = 0\nresult = Variable(t, requires_grad=step == 0)",
        SAFE, "t.detach().requires_grad_(step == 0)"),
    Row("requires-grad-false", "t = torch.ones(2)\nresult = Variable(t, requires_grad=False)", SAFE, "t.detach()"),
    Row("requires-grad-name", "t = torch.ones(2)\nflag = True\nresult = Variable(t, requires_grad=flag)", UNSAFE),
    # Variable(x, volatile=...) -> as above, volatile dropped
    Row("volatile", "t = torch.ones(2)\nresult = Variable(t * 2, volatile=True)", SAFE, "(t * 2).detach()"),
    Row("volatile-name", "t = torch.ones(2)\nflag = True\nresult = Variable(t * 2, volatile=flag)", SAFE),
    Row("volatile-positional", "t = torch.ones(2)\nresult = Variable(t * 2, False, True)", SAFE),
    Row("volatile-false-requires-grad", "t = torch.ones(2)\nresult = Variable(t, volatile=False, requires_grad=True)",
        SAFE),
    Row("volatile-name-requires-grad",
        "t = torch.ones(2)\nflag = False\nresult = Variable(t, volatile=flag, requires_grad=True)", UNSAFE),
    Row("volatile-and-requires-grad", "t = torch.ones(2)\nresult = Variable(t, volatile=True, requires_grad=True)", None),
    # Variable(list / ndarray / number) raises M1: torch.tensor(...) is only displayed
    Row("list", "result = Variable([1.0, 2.0])", DISPLAY_ONLY, "torch.tensor([1.0, 2.0])"),
    Row("ndarray", "result = Variable(np.zeros(3))", DISPLAY_ONLY, "torch.tensor(np.zeros(3))"),
    Row("number", "result = Variable(3.0)", DISPLAY_ONLY, "torch.tensor(3.0)"),
    # rows outside the table
    Row("empty", "result = Variable()", SAFE, "torch.empty(0)"),
    Row("parameter-argument", "h = torch.ones(2, requires_grad=True) * 3\nresult = torch.nn.Parameter(Variable(h))",
        SAFE, "h"),
    Row("name-keyword", "t = torch.ones(2)\nresult = Variable(t, name='t')", UNSAFE),
    Row("grad-fn-keyword", "t = torch.ones(2)\nresult = Variable(t, _grad_fn=None)", None),
    Row("star-arguments", "t = torch.ones(2)\narguments = (t,)\nresult = Variable(*arguments)", None),
]


def variable_diagnostic(source: str) -> Diagnostic:
    diagnostics = engine.lint_text("row.py", source, frozenset({"VL001"}))
    assert len(diagnostics) == 1, diagnostics
    return diagnostics[0]


def rewrite(source: str, diagnostic: Diagnostic) -> str:
    fixed, applied = fixes.apply_fixes(source, [diagnostic.fix])
    assert applied == 1
    return fixed


def run_program(directory: Path, name: str, source: str, runner) -> harness.ProgramRun:
    path = directory / f"{name}.py"
    path.write_text(source + PROBE)
    return runner(path)


RUNNERS = {
    "torch": harness.run_with_torch,
    "runtime": harness.run_with_runtime,
}


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_fix_applicability_follows_the_table(row: Row):
    source = HEADER + row.program + "\n"
    diagnostic = variable_diagnostic(source)
    actual = diagnostic.fix.applicability if diagnostic.fix else None
    assert actual == row.applicability, f"{row.id}: {diagnostic.message}"
    if row.rewrite is not None:
        assert [edit.content for edit in diagnostic.fix.edits] == [row.rewrite]


SAFE_ROWS = [row for row in ROWS if row.applicability is SAFE]


@pytest.mark.parametrize("runner", list(RUNNERS), ids=list(RUNNERS))
@pytest.mark.parametrize("row", SAFE_ROWS, ids=[row.id for row in SAFE_ROWS])
def test_safe_fix_keeps_what_the_program_observes(row: Row, runner: str, tmp_path: Path):
    if runner == "torch" and not harness.torch_available():
        pytest.skip("PyTorch is not installed")
    source = HEADER + row.program + "\n"
    fixed = rewrite(source, variable_diagnostic(source))
    original_run = run_program(tmp_path, "original", source, RUNNERS[runner])
    fixed_run = run_program(tmp_path, "fixed", fixed, RUNNERS[runner])
    assert original_run.exception is None, original_run.stderr
    assert (fixed_run.stdout, fixed_run.exception) == (original_run.stdout, None), (
        f"{row.id}: the safe fix changed behaviour under {runner}\n--- fixed program\n{fixed}"
        f"--- original\n{original_run.stdout}--- fixed\n{fixed_run.stdout}{fixed_run.stderr}"
    )


# Rewrites rules.md forbids, each next to the exact one: the probe must tell them apart, or the
# test above could not fail.
FORBIDDEN_REWRITES = [
    ("t = torch.ones(2)\nresult = Variable(t, requires_grad=True)", "result = t.requires_grad_()"),
    ("w = torch.nn.Parameter(torch.ones(2))\nresult = Variable(w)", "result = w"),
    ("h = torch.ones(2, requires_grad=True) * 2\nresult = Variable(h)", "result = h"),
    ("result = Variable(torch.ones(2, requires_grad=True))", "result = torch.ones(2, requires_grad=True)"),
    ("t = torch.ones(2)\nresult = Variable(t)", "result = t.clone()"),
]


@pytest.mark.parametrize("runner", list(RUNNERS), ids=list(RUNNERS))
@pytest.mark.parametrize("program, wrong", FORBIDDEN_REWRITES, ids=[wrong for _, wrong in FORBIDDEN_REWRITES])
def test_probe_tells_forbidden_rewrites_apart(program: str, wrong: str, runner: str, tmp_path: Path):
    if runner == "torch" and not harness.torch_available():
        pytest.skip("PyTorch is not installed")
    source = HEADER + program + "\n"
    forbidden = source.replace(source.splitlines()[-1], wrong)
    original_run = run_program(tmp_path, "original", source, RUNNERS[runner])
    forbidden_run = run_program(tmp_path, "forbidden", forbidden, RUNNERS[runner])
    assert forbidden_run.stdout != original_run.stdout
    # and varlint's own fix is not the forbidden one
    assert f"result = {variable_diagnostic(source).fix.edits[0].content}" != wrong


# Each unsafe fix, with a value for which it changes what happens (why it is not safe).
UNSAFE_COUNTEREXAMPLES = [
    # `Variable` takes an int flag, `requires_grad_()` only a bool
    ("t = torch.ones(2)\nflag = 1\nresult = Variable(t, requires_grad=flag)", "flag"),
    # a truthy volatile with requires_grad raises M4 today; dropping it makes the program run
    ("t = torch.ones(2)\nflag = True\nresult = Variable(t, volatile=flag, requires_grad=True)", "flag"),
    # the name is lost
    ("t = torch.ones(2)\nresult = Variable(t, name='t')\nprint(result.name)", "name"),
]


@pytest.mark.parametrize("program, reason", UNSAFE_COUNTEREXAMPLES, ids=[r for _, r in UNSAFE_COUNTEREXAMPLES])
def test_unsafe_fix_can_change_behaviour(program: str, reason: str, tmp_path: Path):
    if not harness.torch_available():
        pytest.skip("PyTorch is not installed")
    source = HEADER + program + "\n"
    diagnostic = variable_diagnostic(source)
    assert diagnostic.fix.applicability is UNSAFE
    original_run = run_program(tmp_path, "original", source, harness.run_with_torch)
    fixed_run = run_program(tmp_path, "fixed", rewrite(source, diagnostic), harness.run_with_torch)
    assert (original_run.stdout, original_run.exception) != (fixed_run.stdout, fixed_run.exception)


# --- VL001 and VL003 on the same call ------------------------------------------------------

MIXED_VOLATILE = textwrap.dedent(
    """\
    import torch
    from torch.autograd import Variable

    t = torch.ones(2)
    flag = False
    a = Variable(t, volatile=True)
    b = Variable(t * 2, False, True)
    c = Variable(t, volatile=flag, name="c")
    d = Variable(t, volatile=flag, requires_grad=True)
    e = Variable(Variable(t, volatile=True), volatile=True)
    f = Variable(torch.zeros(2),
                 volatile=True, requires_grad=False)
    """
)


def volatile_programs() -> list[tuple[str, str]]:
    found = [
        (harness.fixture_id(path), path.read_text(encoding="utf-8-sig"))
        for path in harness.fixture_programs()
        if harness.original_of(path) is None and "volatile" in harness.read_text(path)
    ]
    return [("mixed", MIXED_VOLATILE), *found]


def fix_text(tmp_path: Path, text: str, select: tuple[str, ...], mode: Applicability) -> str:
    path = tmp_path / "program.py"
    path.write_text(text)
    result = engine.check_file(str(path), Settings(select=select), fix=mode)
    return result.fixed_text if result.fixed_text is not None else text


@pytest.mark.parametrize("mode", [SAFE, UNSAFE], ids=["fix", "unsafe-fixes"])
@pytest.mark.parametrize("name, text", volatile_programs(), ids=[name for name, _ in volatile_programs()])
def test_variable_and_volatile_fixes_converge(name: str, text: str, mode: Applicability, tmp_path: Path):
    together = fix_text(tmp_path, text, ("VL001", "VL003"), mode)
    volatile_first = fix_text(tmp_path, fix_text(tmp_path, text, ("VL003",), mode), ("VL001",), mode)
    assert together == volatile_first
    # and nothing is left for either rule to fix
    assert fix_text(tmp_path, together, ("VL001", "VL003"), mode) == together


def test_mixed_volatile_program_is_fixed_as_the_tables_say(tmp_path: Path):
    fixed = fix_text(tmp_path, MIXED_VOLATILE, ("VL001", "VL003"), SAFE).splitlines()
    # `t` is known not to require grad, and nothing uses `a` or `t` as an object of its own
    assert "a = t" in fixed
    assert "b = (t * 2).detach()" in fixed
    # `name=` makes VL001 unsafe; VL003 still drops the keyword safely
    assert 'c = Variable(t, name="c")' in fixed
    # a volatile that may be truthy next to requires_grad=True may raise M4 today: left alone
    assert "d = Variable(t, volatile=flag, requires_grad=True)" in fixed
    # the outer call first, then the inner one (plain `t` before `.detach()`)
    assert "e = t.detach()" in fixed
    assert "f = torch.zeros(2)" in fixed


def test_fixture_folders_exist():
    # Guards the data-driven tests over fixtures/ against collecting nothing.
    for code in ("VL001", "VL002", "VL003"):
        assert list((harness.FIXTURES_DIR / code).glob("*.py")), code
