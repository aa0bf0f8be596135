"""Quick checks of the runtime core (tensor, autograd, printing, events, entry points).

They need no PyTorch: expected values are PyTorch 2.13's, written out. The suites that compare
with real PyTorch are test_runtime_vs_torch.py and test_runtime_gradcheck.py.
"""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest

import runtime
from runtime import autograd, events
from runtime import torch_facade as torch
from runtime.autograd import Variable


@pytest.fixture(autouse=True)
def _fresh_log():
    events.clear()
    yield
    events.clear()


def kinds():
    return [event["kind"] for event in events.log()]


# -- the five core behaviours (mission.md) ------------------------------------------------------


def test_core_behaviours():
    x = Variable(torch.ones(2, 2))
    w = Variable(torch.zeros(2, 2), requires_grad=True)
    y = (x + w + 2).mean()
    assert repr(y) == "tensor(3., grad_fn=<MeanBackward0>)"
    y.backward()
    assert repr(w.grad) == "tensor([[0.2500, 0.2500],\n        [0.2500, 0.2500]])"
    assert x.grad is None  # behaviour 1
    grad_object = w.grad
    (x + w + 2).mean().backward()  # behaviour 4: accumulates into the same object
    assert w.grad is grad_object and np.allclose(w.grad.numpy(), 0.5)
    assert x.grad_fn is None and type(y.grad_fn).__name__ == "MeanBackward0"  # behaviour 5
    z = (x + 2).mean()
    assert z.grad_fn is None
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and does not have a grad_fn$"):
        z.backward()  # behaviour 3
    assert kinds() == ["variable-call", "variable-call", "grad-never-populated", "grad-fn-none",
                       "grad-fn-none", "backward-without-grad"]


# -- printing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, expected", [
    (lambda: torch.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: torch.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: torch.tensor(True), "tensor(True)"),
    (lambda: torch.tensor([True, False]), "tensor([ True, False])"),
    (lambda: torch.tensor(1.5), "tensor(1.5000)"),
    (lambda: torch.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (lambda: torch.tensor([1.5], dtype=torch.float64), "tensor([1.5000], dtype=torch.float64)"),
    (lambda: torch.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: torch.tensor([0.1, -2.5]), "tensor([ 0.1000, -2.5000])"),
    (lambda: torch.zeros(0, dtype=torch.long), "tensor([], dtype=torch.int64)"),
    (lambda: torch.zeros(2, 0), "tensor([], size=(2, 0))"),
    (lambda: torch.tensor([float("nan"), 1.0, float("inf")]), "tensor([nan, 1., inf])"),
    (lambda: torch.Size([2, 3]), "torch.Size([2, 3])"),
    (lambda: torch.float32, "torch.float32"),
])
def test_printing(make, expected):
    assert repr(make()) == expected


def test_printing_wraps_at_80_columns():
    text = repr(torch.arange(30.0).reshape(3, 10) / 7)
    assert text.splitlines()[0] == (
        "tensor([[0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,")
    assert text.splitlines()[1] == "         1.2857],"


# -- autograd details ------------------------------------------------------------------------------


def test_grad_fn_names_and_leaves():
    w = torch.ones(2, 3, requires_grad=True)
    v = torch.ones(3, requires_grad=True)
    names = {
        "AddBackward0": w + 1, "RsubBackward1": 1 - w, "MulBackward0": 2 / w, "MmBackward0": w @ w.t(),
        "MvBackward0": w @ v, "DotBackward0": v @ v, "SqueezeBackward4": v[:2] @ w,
        "ViewBackward0": w.reshape(3, 2), "UnsafeViewBackward0": w.t().reshape(6),
        "SelectBackward0": w[:, 1], "SliceBackward0": w[0:1], "IndexBackward0": w[torch.tensor([0])],
        "SumBackward1": w.sum(1), "MaxBackward0": w.max(1)[0], "MaxBackward1": w.max(),
        "ClampBackward1": w.clamp(min=0), "ToCopyBackward0": w.double(), "PowBackward0": w ** 2,
    }
    for name, tensor in names.items():
        assert type(tensor.grad_fn).__name__ == name
    assert type((w * 2).sum().grad_fn.next_functions[0][0].next_functions[0][0]).__name__ == "AccumulateGrad"
    assert w.float() is w and w.type(torch.FloatTensor) is w and w.type() == "torch.FloatTensor"


def test_freed_graph_and_retain_graph():
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert w.grad.tolist() == [4.0, 8.0, 12.0]
    with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
        y.backward()


def test_inplace_errors_and_versions():
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in an in-place operation.$"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="^a view of a leaf Variable"):
        w[0] = 0
    h = w.exp()
    h.add_(1)
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\], which is output 0 of Exp, is at version 1"):
        h.sum().backward()
    with torch.no_grad():
        w -= 1
    assert w.is_leaf and w._version == 1


def test_non_leaf_grad_warns_every_access_and_records():
    w = torch.ones(2, requires_grad=True)
    h = w * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert h.grad is None
        assert h.grad is None
    assert len(caught) == 2 and caught[0].filename == __file__
    assert kinds() == ["grad-of-non-leaf", "grad-of-non-leaf"]


def test_double_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (first,) = autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert first.tolist() == [3.0, 12.0]
    first.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_legacy_constructors():
    assert torch.FloatTensor(2, 3).shape == (2, 3)
    assert repr(torch.FloatTensor([1, 2])) == "tensor([1., 2.])"
    assert repr(torch.LongTensor([1.7, -1.7])) == "tensor([ 1, -1])"
    with pytest.raises(TypeError, match=r"^new\(\): data must be a sequence \(got float\)$"):
        torch.FloatTensor(2.5)
    array = np.zeros(2, dtype=np.float32)
    torch.FloatTensor(array)[0] = 5
    assert array[0] == 5
    assert isinstance(torch.ones(1), torch.FloatTensor) and not isinstance(torch.ones(1), torch.LongTensor)
    with pytest.raises(TypeError, match="^type torch.cuda.FloatTensor not available"):
        torch.cuda.FloatTensor(2)


def test_variable_semantics():
    t = torch.ones(2)
    v = Variable(t)
    assert v is not t and isinstance(t, Variable)
    v.add_(1)
    assert t.tolist() == [2.0, 2.0] and t._version == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Variable(t, volatile=True)
    assert str(caught[0].message).startswith("volatile was removed and now has no effect")
    with pytest.raises(TypeError, match="^Variable data has to be a tensor, but got list$"):
        Variable([1.0])
    assert kinds() == ["variable-call", "variable-call", "volatile", "variable-call"]


# -- events from whole programs ------------------------------------------------------------------


def run_source(tmp_path, source):
    path = tmp_path / "program.py"
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return runtime.run(path, timeout=60)


def lines_of(result, kind):
    return [event["line"] for event in result.events if event["kind"] == kind]


def test_manual_update_without_reset_records_grad_accumulated(tmp_path):
    result = run_source(tmp_path, """
        import torch
        w = torch.ones(2, requires_grad=True)
        for step in range(3):
            loss = (w * 3).sum()
            loss.backward()
            w.data -= 0.1 * w.grad.data
        print(w.grad)
    """)
    assert result.stdout == "tensor([9., 9.])\n"
    accumulated = [e for e in result.events if e["kind"] == "grad-accumulated"]
    assert [e["line"] for e in accumulated] == [5, 5] and accumulated[0]["related"] == [6]


def test_harmless_accumulation_into_reset_grads_is_not_recorded(tmp_path):
    result = run_source(tmp_path, """
        import torch
        w = torch.ones(2, requires_grad=True)
        for step in range(3):
            w.grad = None
            (w * 3).sum().backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
            (w * 2).sum().backward()
    """)
    assert lines_of(result, "grad-accumulated") == []


def test_history_across_iterations(tmp_path):
    result = run_source(tmp_path, """
        import torch
        w = torch.ones(2, requires_grad=True)
        total = 0
        losses = []
        for step in range(3):
            loss = (w * w).sum()
            total += loss
            losses.append(loss)
            losses_ok = [loss.item()]
        print(total)
    """)
    # No backward ever runs through them: decided when the program ends, once per line.
    assert lines_of(result, "history-across-iterations") == [7, 8]
    assert result.stdout == "tensor(6., grad_fn=<AddBackward0>)\n"


def test_zero_dim_index_events(tmp_path):
    result = run_source(tmp_path, """
        import torch
        loss = (torch.ones(2, requires_grad=True) * 2).sum()
        try:
            loss.data[0]
        except IndexError:
            pass
        print(loss.data.numpy()[0])
    """)
    assert lines_of(result, "zero-dim-index") == [4, 7]
    assert result.exception == "IndexError: too many indices for array: array is 0-dimensional, but 1 were indexed"


def test_run_reports_crash_and_timeout(tmp_path):
    crashed = run_source(tmp_path, """
        import torch
        (torch.ones(3) * 2).backward()
    """)
    assert crashed.returncode == 1 and crashed.exception == (
        "RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn")
    assert lines_of(crashed, "backward-without-grad") == [2]
    path = tmp_path / "hang.py"
    path.write_text("import torch\nprint('start', flush=True)\nwhile True:\n    pass\n")
    hung = runtime.run(path, timeout=2)
    assert hung.timed_out and hung.stdout == "start\n"


def test_imports_served_by_the_runtime(tmp_path):
    result = run_source(tmp_path, """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from torch import nn as nn2, optim
        from torch.autograd import Variable
        from torch.autograd.variable import Variable as V2
        print(nn is nn2, torch.nn.functional is F, torch.optim is optim, V2 is Variable)
        print(torch.autograd.variable.Variable is Variable, torch.cuda.is_available())
    """)
    assert result.stdout == "True True True True\nTrue False\n", result.stderr


def test_inplace_on_a_view_rewrites_the_base_history():
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = w * 2
    h[0:2].mul_(3)
    assert repr(h) == "tensor([ 6., 12.,  6.], grad_fn=<CopySlices>)"
    h.sum().backward()
    assert w.grad.tolist() == [6.0, 6.0, 2.0]


def test_data_loader(tmp_path):
    result = run_source(tmp_path, """
        import torch
        from torch.utils.data import DataLoader, TensorDataset
        data = TensorDataset(torch.arange(6.).view(3, 2), torch.arange(3))
        for x, y in DataLoader(data, batch_size=2):
            print(x.shape, y)
    """)
    assert result.stdout == "torch.Size([2, 2]) tensor([0, 1])\ntorch.Size([1, 2]) tensor([2])\n", result.stderr
