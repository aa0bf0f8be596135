"""VL004-VL007 (zero-dim-index, data-attribute, legacy-tensor-constructor,
removed-autograd-api): what the generic fixture tests do not cover.

1. The safe fixes of VL006 and VL007 against real PyTorch: for many constructor calls (a
   hypothesis-generated family of literal data, plus sizes and ndarrays), the fixed expression
   gives the same dtype, shape, values and memory sharing as the legacy one; the `reduction=`
   derived from `size_average=` / `reduce=` is the one torch/nn/_reduction.py derives.
2. The unsafe VL005 fixes keep the printed values (fixtures/VL005, reference runtime).
3. Static precision cases that cannot be runnable fixtures, with `# expect:` annotations.
4. Fix mechanics: indentation and newline style of the `with torch.no_grad():` rewrite, when no
   fix is offered, and the applicability chosen per case.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import runtime
from runtime_harness import FIXTURES_DIR, expected_diagnostics
from varlint import engine, fixes
from varlint.diagnostic import Applicability

LEGACY_CODES = frozenset({"VL004", "VL005", "VL006", "VL007"})


def lint(source: str, codes: frozenset[str] = LEGACY_CODES) -> list:
    return engine.lint_text("case.py", source, codes)


def fix(source: str, mode: Applicability = Applicability.SAFE) -> str:
    return fixes.fix_until_stable("case.py", source, LEGACY_CODES, mode, engine.lint_text).text


def only_fix(source: str, code: str):
    (diagnostic,) = [d for d in lint(source) if d.code == code]
    return diagnostic.fix


# --- 1. the safe fixes against real PyTorch ------------------------------------------------

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

CONSTRUCTOR_DTYPES = {
    "FloatTensor": torch.float32,
    "DoubleTensor": torch.float64,
    "HalfTensor": torch.float16,
    "LongTensor": torch.int64,
    "IntTensor": torch.int32,
    "ShortTensor": torch.int16,
    "CharTensor": torch.int8,
    "ByteTensor": torch.uint8,
    "BoolTensor": torch.bool,
}


def fixed_expression(expression: str, setup: str = "") -> str:
    """The constructor call after `varlint check --fix`: the last line of the fixed program."""
    source = f"import numpy as np\nimport torch\n{setup}result = {expression}\n"
    fixed = fix(source)
    assert fixed != source, f"no safe fix for {expression}"
    return fixed.rsplit("result = ", 1)[1].strip()


def evaluate(expression: str, setup: str = "") -> dict:
    namespace = {"torch": torch, "np": np}
    exec(setup, namespace)
    return {"result": eval(expression, namespace), **namespace}


def assert_same_tensor(legacy, modern, compare_values: bool = True):
    assert (legacy.dtype, legacy.shape, legacy.requires_grad) == (modern.dtype, modern.shape, modern.requires_grad)
    if compare_values:
        assert torch.equal(legacy, modern)


numbers = st.one_of(
    st.integers(min_value=-300, max_value=300),
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
    st.booleans(),
)


def nested(depth: int):
    """Nested lists or tuples of numbers, ragged or not."""
    if depth == 0:
        return numbers
    return st.integers(min_value=0, max_value=3).flatmap(
        lambda length: st.one_of(
            st.lists(nested(depth - 1), min_size=length, max_size=length),
            st.tuples(*[nested(depth - 1)] * length) if length else st.just(()),
        )
    )


def outcome(expression: str):
    """The tensor an expression builds, or the error it raises (type and message)."""
    try:
        return evaluate(expression)["result"]
    except Exception as error:  # noqa: BLE001 - the error is the observable
        return type(error), str(error)


@settings(max_examples=80, deadline=None)
@given(data=st.integers(min_value=1, max_value=3).flatmap(nested), constructor=st.sampled_from(sorted(CONSTRUCTOR_DTYPES)))
def test_literal_data_fix_builds_the_same_tensor_or_raises_the_same(data, constructor):
    legacy_expression = f"torch.{constructor}({data!r})"
    modern_expression = fixed_expression(legacy_expression)
    assert modern_expression.startswith("torch.tensor(")
    legacy, modern = outcome(legacy_expression), outcome(modern_expression)
    if isinstance(legacy, tuple):  # ragged data, values out of range: the same error
        assert modern == legacy
    else:
        assert_same_tensor(legacy, modern)


@pytest.mark.parametrize(
    "legacy_expression",
    ["torch.FloatTensor(3)", "torch.FloatTensor(2, 3)", "torch.LongTensor(0, 4)", "torch.FloatTensor()",
     "torch.DoubleTensor(torch.Size([2, 1]))", "torch.ByteTensor(n, 2)"],
)
def test_size_fix_builds_a_tensor_of_that_size(legacy_expression):
    setup = "n = 5\n"
    modern_expression = fixed_expression(legacy_expression, setup)
    assert modern_expression.startswith("torch.empty(")
    # The contents are uninitialised in both: only dtype and shape can be compared.
    assert_same_tensor(evaluate(legacy_expression, setup)["result"], evaluate(modern_expression, setup)["result"], False)


@pytest.mark.parametrize(
    "setup",
    ["a = np.zeros(3, dtype=np.float32)\n", "a = np.arange(4)\n", "a = np.ones((2, 2))\n", "a = np.array([[1, 0]], dtype=np.uint8)\n"],
)
@pytest.mark.parametrize("constructor", ["FloatTensor", "DoubleTensor", "LongTensor", "ByteTensor"])
def test_ndarray_fix_shares_memory_exactly_when_the_constructor_does(setup, constructor):
    legacy_expression = f"torch.{constructor}(a)"
    modern_expression = fixed_expression(legacy_expression, setup)
    assert modern_expression.startswith("torch.as_tensor(a, ")
    legacy, modern = evaluate(legacy_expression, setup), evaluate(modern_expression, setup)
    assert_same_tensor(legacy["result"], modern["result"])
    legacy["result"].fill_(7)
    modern["result"].fill_(7)
    assert np.array_equal(legacy["a"], modern["a"])  # the array changed in both or in neither


@pytest.mark.parametrize("constructor", sorted(CONSTRUCTOR_DTYPES))
def test_type_conversion_fix_is_the_same_conversion(constructor):
    setup = "x = torch.tensor([1.7, -1.7, 0.0], requires_grad=True)\n"
    legacy_expression = f"x.type(torch.{constructor})"
    modern_expression = fixed_expression(legacy_expression, setup)
    legacy, modern = evaluate(legacy_expression, setup), evaluate(modern_expression, setup)
    assert_same_tensor(legacy["result"], modern["result"])
    assert (legacy["result"] is legacy["x"]) == (modern["result"] is modern["x"])
    assert type(legacy["result"].grad_fn) is type(modern["result"].grad_fn)


LITERALS = ["True", "False", "None"]


@pytest.mark.parametrize("reduce", LITERALS + [None])
@pytest.mark.parametrize("size_average", LITERALS + [None])
@pytest.mark.parametrize("reduction", ["'none'", None])
def test_reduction_is_the_one_pytorch_derives(size_average, reduce, reduction):
    from torch.nn import _reduction

    keywords = {"size_average": size_average, "reduce": reduce, "reduction": reduction}
    arguments = ", ".join(f"{name}={value}" for name, value in keywords.items() if value is not None)
    source = f"import torch.nn as nn\ncriterion = nn.MSELoss({arguments})\n"
    if {size_average, reduce} <= {None, "None"}:
        # Unset or None: PyTorch ignores them (no warning, `reduction=` stands).
        assert lint(source) == []
        return
    fixed = fix(source)
    expected = _reduction.legacy_get_string(eval(str(size_average)), eval(str(reduce)), emit_warning=False)
    assert fixed == f"import torch.nn as nn\ncriterion = nn.MSELoss(reduction='{expected}')\n"
    # And PyTorch builds the same module from both spellings.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        legacy = eval(f"torch.nn.MSELoss({arguments})")
    assert legacy.reduction == expected


# --- 2. the unsafe VL005 fixes keep the printed values -------------------------------------

VL005_UNSAFE = sorted(
    path
    for path in (FIXTURES_DIR / "VL005").glob("*.py")
    if not path.name.endswith("fixed.py") and path.with_name(path.stem + ".unsafe-fixed.py").exists()
)


def test_there_are_unsafe_vl005_fixes():
    assert len(VL005_UNSAFE) >= 3


@pytest.mark.parametrize("original", VL005_UNSAFE, ids=lambda path: path.name)
def test_unsafe_data_fix_prints_the_same(original: Path):
    before = runtime.run(original)
    after = runtime.run(original.with_name(original.stem + ".unsafe-fixed.py"))
    assert before.exception is None and after.exception is None, (before.stderr, after.stderr)
    assert after.stdout == before.stdout


# --- 3. static precision cases -------------------------------------------------------------

STATIC_CASES = {
    "index_of_unknown_or_batched_values_is_not_reported": """
        import torch

        def first(batch, model, x):
            rows = batch.sum(1)
            return batch.data[0], model(x).data[0], rows[0], x.data.numpy()[0]  # expect: VL005
        """,
    "full_reductions_and_losses": """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        x = torch.ones(2, 3, requires_grad=True)
        criterion = nn.CrossEntropyLoss()
        print(x.sum()[0], x.mean().data[0], x.norm().cpu().data[0])  # expect: VL004, VL004, VL004
        print(x.sum(0)[0], x.max(1)[0], x.norm(dim=1)[0])
        print(F.l1_loss(x, x).data[0], F.l1_loss(x, x, reduction="none")[0])  # expect: VL004
        """,
    "store_to_a_zero_dim_index_is_left_alone": """
        import torch

        total = torch.ones(3).sum()
        total.data[0] = 1.0  # expect: VL005
        """,
    "data_assignment_and_plain_reads_are_not_reported": """
        import torch

        w = torch.ones(2, requires_grad=True)
        w.data = torch.zeros(2)
        snapshot = w.data.clone()
        print(w.data, w.data.sum(), w.data.item() if False else 0)
        """,
    "update_of_an_unknown_value_that_reads_no_grad_is_not_reported": """
        def normalise(features):
            features.data -= features.data.mean()
            features.data[0] = 0
            features.data.zero_()
        """,
    "in_place_updates_in_a_file_without_torch_are_not_reported": """
        import chainer

        def update(layer, lr):
            layer.W.data -= lr * layer.W.grad
            layer.W.grad.data.zero_()
        """,
    "creator_and_reinforce_need_a_known_tensor": """
        import torch

        def describe(post, agent, reward):
            agent.reinforce(reward)
            return post.creator

        x = torch.ones(2, requires_grad=True)
        y = x * 2
        print(y.creator)  # expect: VL007
        y.creator = None
        torch.tensor([1]).reinforce(1.0)  # expect: VL007
        """,
    "retain_variables_and_grad_variables": """
        import torch
        from torch.autograd import backward

        def step(loss, gradient):
            loss.backward(retain_variables=True)  # expect: VL007
            loss.backward(gradient, retain_graph=True, retain_variables=True)  # expect: VL007
            backward([loss], grad_variables=[gradient])  # expect: VL007
            loss.backward(grad_variables=gradient)  # expect: VL007
        """,
    "legacy_reduction_only_on_torch_losses": """
        import functools
        import torch.nn as nn
        import torch.nn.functional as F

        total = functools.reduce(max, [1, 2])
        huber = nn.HuberLoss(reduction="sum")
        criterion = nn.NLLLoss(size_average=average)  # expect: VL007
        print(F.cross_entropy(x, y, reduce=False))  # expect: VL007
        """,
    "typed_constructors_resolved_through_imports": """
        import torch as th
        from torch import LongTensor
        from mylib import FloatTensor

        a = th.FloatTensor([1])  # expect: VL006
        b = LongTensor([1])  # expect: VL006
        c = FloatTensor([1])
        d = th.cuda.FloatTensor(2)  # expect: VL006
        e = a.type(th.IntTensor)  # expect: VL006
        f = a.type(th.int32)
        g = a.type()
        """,
}


@pytest.mark.parametrize("name", sorted(STATIC_CASES))
def test_static_case(name: str, tmp_path: Path):
    source = textwrap.dedent(STATIC_CASES[name]).lstrip()
    path = tmp_path / "case.py"
    path.write_text(source)
    reported = sorted((diagnostic.start.row, diagnostic.code) for diagnostic in lint(source))
    assert reported == expected_diagnostics(path)


# --- 4. fix mechanics ----------------------------------------------------------------------

MANUAL_UPDATE = """\
import torch

w = torch.ones(2, requires_grad=True)
for step in range(3):
\t(w * 2).sum().backward()
\tif step:
\t\tw.data -= 0.1 * w.grad.data  # update
\tw.grad.data.zero_()
"""


def test_no_grad_rewrite_keeps_tabs_and_comments():
    fixed = fix(MANUAL_UPDATE, Applicability.UNSAFE)
    assert fixed == MANUAL_UPDATE.replace(
        "\t\tw.data -= 0.1 * w.grad.data  # update\n",
        "\t\twith torch.no_grad():\n\t\t\tw -= 0.1 * w.grad  # update\n",
    ).replace("w.grad.data.zero_()", "w.grad.zero_()")


def test_no_grad_rewrite_keeps_crlf_newlines():
    fixed = fix(MANUAL_UPDATE.replace("\n", "\r\n"), Applicability.UNSAFE)
    assert "\t\twith torch.no_grad():\r\n\t\t\tw -= 0.1 * w.grad  # update\r\n" in fixed
    assert "\n" not in fixed.replace("\r\n", "")


def test_no_grad_rewrite_uses_the_torch_alias_and_is_unsafe():
    source = "import torch as th\nw = th.ones(1, requires_grad=True)\nw.data += w.grad\n"
    fix_of_update = only_fix(source, "VL005")
    assert fix_of_update.applicability is Applicability.UNSAFE
    assert fix(source) == source
    assert fix(source, Applicability.UNSAFE).endswith("with th.no_grad():\n    w += w.grad\n")


def test_update_already_under_no_grad_gets_no_second_block():
    source = "import torch\nw = torch.ones(1)\nwith torch.no_grad():\n    w.data -= w.grad\n"
    assert fix(source, Applicability.UNSAFE).endswith("with torch.no_grad():\n    w -= w.grad\n")


@pytest.mark.parametrize(
    "source",
    [
        # no room for a `with` block on a one-line body, nor after another statement
        "import torch\nfor p in params: p.data -= p.grad\n",
        "import torch\np = params[0]; p.data -= p.grad\n",
        # `torch` is not bound to a name the rewrite could use
        "from torch import nn\np.data -= p.grad\n",
        # `//=` has no in-place method for an attribute target
        "import torch\nself.w.data //= self.w.grad\n",
    ],
)
def test_update_without_a_fix(source):
    (diagnostic,) = lint(source)
    assert diagnostic.code == "VL005" and diagnostic.fix is None


def test_grad_data_zero_is_safe_other_grad_updates_unsafe():
    source = "import torch\nw.grad.data.zero_()\nw.grad.data.clamp_(-1, 1)\nw.data.clamp_(-1, 1)\n"
    fixes = [d.fix for d in lint(source)]
    assert [f.applicability for f in fixes] == [Applicability.SAFE, Applicability.UNSAFE, Applicability.UNSAFE]
    assert fix(source, Applicability.UNSAFE) == "import torch\nw.grad.zero_()\nw.grad.clamp_(-1, 1)\nw.detach().clamp_(-1, 1)\n"


@pytest.mark.parametrize("placement", [".cuda()", ".to(device)", ".to('cuda:0')"])
def test_type_conversion_is_unsafe_in_a_file_that_may_use_cuda(placement):
    # `x.type(torch.FloatTensor)` would also bring a CUDA tensor back to the CPU.
    source = f"import torch\nx = torch.ones(2){placement}\ny = x.type(torch.FloatTensor)\n"
    assert only_fix(source, "VL006").applicability is Applicability.UNSAFE
    source = source.replace(placement, "")
    assert only_fix(source, "VL006").applicability is Applicability.SAFE


@pytest.mark.parametrize(
    "call",
    ["torch.FloatTensor(values)", "torch.FloatTensor(*shape)", "torch.FloatTensor([1], device='cpu')",
     "torch.FloatTensor(x.size())", "torch.cuda.FloatTensor([1, 2])", "torch.FloatTensor([a, 1])"],
)
def test_constructor_with_unknown_argument_is_display_only(call):
    source = f"import torch\nt = {call}\n"
    assert only_fix(source, "VL006").applicability is Applicability.DISPLAY_ONLY
    assert fix(source, Applicability.UNSAFE) == source


def test_constructor_without_a_torch_name_has_no_fix():
    source = "from torch import FloatTensor\nt = FloatTensor([1])\n"
    assert only_fix(source, "VL006") is None


def test_zero_dim_index_and_data_numpy_fixes_do_not_fight():
    source = "import torch\nloss = torch.ones(2).mean()\nprint(loss.data.numpy()[0], loss.data.numpy())\n"
    assert [d.code for d in lint(source)] == ["VL004", "VL005"]
    assert fix(source) == "import torch\nloss = torch.ones(2).mean()\nprint(loss.item(), loss.detach().numpy())\n"


def test_keyword_renames_keep_an_existing_new_keyword():
    source = "import torch\nloss.backward(retain_graph=True, retain_variables=True)\n"
    assert only_fix(source, "VL007") is None
