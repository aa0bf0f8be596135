"""The runtime's event log: each fact recorded with its kind and the program line that caused it.

Expected lines are never hard-coded: purpose-written programs mark them with comments
(``# event: KIND[, KIND]`` on the line where the event must be recorded, other named markers for
``related`` lines), and the fixtures/core programs are checked against their ``# expect:``
annotations through the rule -> event-kind mapping below. The event kinds and their meaning are
documented in runtime/events.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from varlint.confirm import PREDICTING_RULE

try:
    import runtime_harness as harness
except ImportError:  # tests/ is a package in some layouts
    from tests import runtime_harness as harness

runtime = pytest.importorskip("runtime")

#: the event kinds of the contract (runtime/events.py), one per rule that predicts it
EVENT_KINDS = set(PREDICTING_RULE)
EVENT_KEYS = {"kind", "line", "file", "detail", "related"}


def run_program(path: Path, fork: bool | None = None):
    """Run ``path`` on the runtime (fork server, or ``runtime.run`` with fork=False)."""
    result = harness.run_with_runtime(path, timeout=60.0, fork=fork)
    assert not result.timed_out, f"{Path(path).name} timed out under the runtime"
    for event in result.events:
        assert set(event) >= EVENT_KEYS, f"event without the contract's keys: {event}"
        assert event["kind"] in EVENT_KINDS, f"unknown event kind {event['kind']!r}"
        assert isinstance(event["line"], int)
        assert all(isinstance(line, int) for line in event["related"]), event
    return result


def observe(path: Path, check) -> None:
    """``check(result)`` on a run of ``path``; a failure on a forked run is confirmed on a run
    through ``runtime.run()`` (a fresh interpreter) before it counts."""
    result = run_program(path)
    try:
        check(result)
        return
    except AssertionError:
        if not result.forked:
            raise
    check(run_program(path, fork=False))


def kinds_and_lines(events, path: Path | None = None) -> set[tuple[int, str]]:
    """{(line, kind)} of the events recorded in ``path`` (all events when path is None)."""
    found = set()
    for event in events:
        if path is not None and Path(event["file"]).resolve() != Path(path).resolve():
            continue
        found.add((event["line"], event["kind"]))
    return found


def describe(result) -> str:
    events = "\n".join(f"  line {e['line']}: {e['kind']} related={e['related']} ({e['detail']})" for e in result.events)
    return (
        f"\nevents:\n{events or '  (none)'}\nstdout:\n{textwrap.indent(result.stdout, '  ')}"
        f"\nexception: {result.exception}\nstderr tail:\n{textwrap.indent(result.stderr[-1500:], '  ')}"
    )


def write_program(tmp_path: Path, source: str, name: str = "program.py") -> tuple[Path, str]:
    source = textwrap.dedent(source).lstrip("\n")
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return path, source


def assert_events_match_markers(
    tmp_path: Path, source: str, *, expect_exception: str | None = None, expect_stdout: str | None = None, also=None
) -> None:
    """Run ``source``: its events (line, kind) are exactly its ``# event:`` markers, it ends with
    ``expect_exception`` (None: no crash), prints ``expect_stdout`` (when given), and
    ``also(result, source)`` holds (when given)."""
    path, source = write_program(tmp_path, source)
    expected = set(harness.event_markers(source))

    def check(result):
        assert result.exception == expect_exception, describe(result)
        observed = kinds_and_lines(result.events, path)
        assert observed == expected, f"expected (line, kind): {sorted(expected)}" + describe(result)
        if expect_stdout is not None:
            assert result.stdout == expect_stdout, describe(result)
        if also is not None:
            also(result, source)

    observe(path, check)


# Layer 3 of the fixture tests (every fixture's diagnostics confirmed by its events, and no
# event left unpredicted) is tests/test_confirm.py, which matches the linter's own output.


def test_core_fixtures_exist():
    names = {p.name for p in harness.fixture_programs() if p.parent.name == "core"}
    assert {f"behaviour_{n}" for n in range(1, 6)} <= {name[: len("behaviour_1")] for name in names}


M20 = "RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn"
SEED_GRAD = "tensor([[0.2500, 0.2500],\n        [0.2500, 0.2500]])\n"


def test_core_behaviour_3_ends_with_m20_at_its_backward_line():
    program = harness.FIXTURES_DIR / "core" / "behaviour_3_backward_without_grad.py"
    backward_line = harness.marker_line(harness.read_text(program), "y.backward()  # expect")

    def check(result):
        assert result.exception == M20, describe(result)
        assert (backward_line, "backward-without-grad") in kinds_and_lines(result.events, program), describe(result)

    observe(program, check)


def test_core_behaviour_2_prints_the_mission_gradient():
    program = harness.FIXTURES_DIR / "core" / "behaviour_2_mean_gradient.py"

    def check(result):
        assert SEED_GRAD in result.stdout, describe(result)
        assert result.exception is None, describe(result)

    observe(program, check)


def test_core_behaviour_4_second_backward_doubles_the_gradient():
    program = harness.FIXTURES_DIR / "core" / "behaviour_4_gradients_accumulate.py"

    def check(result):
        assert SEED_GRAD + "tensor([[0.5000, 0.5000],\n        [0.5000, 0.5000]])\n" in result.stdout, describe(result)

    observe(program, check)


def test_run_api_reports_what_the_command_line_shows():
    """``runtime.run()`` itself (not the fork server): its exception is the traceback's last line."""
    program = harness.FIXTURES_DIR / "core" / "behaviour_3_backward_without_grad.py"
    result = runtime.run(str(program), timeout=60.0)
    assert not result.timed_out
    assert result.exception == M20
    assert harness.final_exception_line(result.stderr, result.returncode) == M20
    assert result.returncode != 0
    assert result.stdout == "tensor(3.)\nFalse\nNone\n"
    backward_line = harness.marker_line(harness.read_text(program), "y.backward()  # expect")
    assert (backward_line, "backward-without-grad") in kinds_and_lines(result.events, program)


# --------------------------------------------------------------------------------------------
# backward without grad, and where it is reported
# --------------------------------------------------------------------------------------------


def test_backward_inside_a_helper_reports_the_helpers_line(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch


        def train_step(loss):
            loss.backward()  # event: backward-without-grad


        x = torch.ones(3)
        y = (x * 2).sum()
        try:
            train_step(y)
        except RuntimeError as error:
            print(error)
        """,
        expect_stdout="element 0 of tensors does not require grad and does not have a grad_fn\n",
    )


def test_backward_without_grad_crash_is_reported_and_ends_the_program(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        x = torch.ones(2, 2)
        y = (x + 2).mean()
        print(y.requires_grad)
        y.backward()  # event: backward-without-grad
        print("not reached")
        """,
        expect_exception=M20,
        expect_stdout="False\n",
    )


@pytest.mark.parametrize(
    "cut",
    [
        "with torch.no_grad():\n    y = (w * 2).sum()",
        "y = (w * 2).sum().detach()",
        "y = (w.data * 2).sum()",
        "y = (w.detach() * 2).sum()",
        "y = torch.tensor((w * 2).sum().item())",
    ],
)
def test_backward_on_a_graph_cut_by_no_grad_detach_data_or_item(tmp_path, cut):
    source = "import torch\n\nw = torch.ones(3, requires_grad=True)\n" + cut + "\n"
    source += "try:\n    y.backward()  # event: backward-without-grad\nexcept RuntimeError:\n    print('M20')\n"
    assert_events_match_markers(tmp_path, source, expect_stdout="M20\n")


def test_autograd_backward_and_grad_without_grad(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        x = torch.ones(3)
        for call in ("backward", "grad"):
            try:
                if call == "backward":
                    torch.autograd.backward((x * 2).sum())  # event: backward-without-grad
                else:
                    torch.autograd.grad((x * 2).sum(), x)  # event: backward-without-grad
            except RuntimeError as error:
                print(call, error)
        """,
    )


def test_backward_with_grad_records_nothing(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.ones(2, requires_grad=True)
        y = (w * 3).sum()
        y.backward()
        print(w.grad)
        """,
        expect_stdout="tensor([3., 3.])\n",
    )


def test_backward_non_scalar_and_gradient_shape(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.ones(3, requires_grad=True)
        one = torch.FloatTensor([1])
        mone = one * -1
        try:
            (w * 2).backward()  # event: backward-non-scalar
        except RuntimeError as error:
            print(error)
        loss = (w * 2).sum()
        try:
            loss.backward(mone)  # event: backward-gradient-shape
        except RuntimeError as error:
            print(error)
        (w * 2).backward(torch.ones(3))
        loss.backward(torch.tensor(-1.0))
        print(w.grad)
        """,
        expect_stdout=(
            "grad can be implicitly created only for scalar outputs\n"
            "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of "
            "torch.Size([]).\n"
            "tensor([0., 0., 0.])\n"
        ),
    )


# --------------------------------------------------------------------------------------------
# .grad / .grad_fn reads that give None
# --------------------------------------------------------------------------------------------


def test_grad_and_grad_fn_reads(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        x = torch.ones(2)
        w = torch.ones(2, requires_grad=True)
        h = w * x
        kept = w * 3
        kept.retain_grad()
        (h.sum() + kept.sum()).backward()
        print(x.grad)  # event: grad-never-populated
        print(w.grad)
        print(h.grad)  # event: grad-of-non-leaf
        print(kept.grad)
        print(x.grad_fn)  # event: grad-fn-none
        print(w.grad_fn)
        print(type(h.grad_fn).__name__)
        print((x * 2).grad_fn)  # event: grad-fn-none
        """,
        expect_stdout="None\ntensor([4., 4.])\nNone\ntensor([1., 1.])\nNone\nNone\nMulBackward0\nNone\n",
    )


# --------------------------------------------------------------------------------------------
# gradients accumulated across updates
# --------------------------------------------------------------------------------------------

MANUAL_UPDATES = {
    "no_grad -=": "with torch.no_grad():\n        w -= 0.1 * w.grad  # update",
    ".data -=": "w.data -= 0.1 * w.grad.data  # update",
    ".data.sub_": "w.data.sub_(0.1 * w.grad.data)  # update",
    "optimizer step": "opt.step()  # update",
}


def _sgd_loop(update: str, reset_first: str = "", reset_last: str = "") -> str:
    lines = [
        "import torch",
        "",
        "w = torch.tensor([1.0, -1.0], requires_grad=True)",
        "x = torch.tensor([1.0, 2.0])",
        "opt = torch.optim.SGD([w], lr=0.1)",
        "for i in range(3):",
    ]
    if reset_first:
        lines.append("    " + reset_first)
    lines += [
        "    loss = (w * x).sum()",
        "    loss.backward()  # backward",
        "    " + update,
    ]
    if reset_last:
        lines.append("    " + reset_last)
    lines.append("print(w)")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("update", list(MANUAL_UPDATES))
def test_grad_accumulated_in_a_loop_without_reset(tmp_path, update):
    path, source = write_program(tmp_path, _sgd_loop(MANUAL_UPDATES[update]))
    backward_line = harness.marker_line(source, "# backward")
    update_line = harness.marker_line(source, "# update")

    def check(result):
        assert result.exception is None, describe(result)
        # the accumulated gradients: w moves by 0.1 * (1, 2) * (1 + 2 + 3)
        assert result.stdout == "tensor([ 0.4000, -2.2000], requires_grad=True)\n", describe(result)
        assert kinds_and_lines(result.events, path) == {(backward_line, "grad-accumulated")}, describe(result)
        accumulated = [e for e in result.events if e["kind"] == "grad-accumulated"]
        assert len(accumulated) == 2, "iterations 2 and 3 add into a consumed gradient" + describe(result)
        assert all(update_line in e["related"] for e in accumulated), describe(result)

    observe(path, check)


RESETS = {
    "opt.zero_grad() first": ("opt.zero_grad()", ""),
    "opt.zero_grad(set_to_none=False) first": ("opt.zero_grad(set_to_none=False)", ""),
    "w.grad = None last": ("", "w.grad = None"),
    "w.grad.zero_() last": ("", "w.grad.zero_()"),
    "w.grad.data.zero_() last": ("", "w.grad.data.zero_()"),
}


@pytest.mark.parametrize("reset", list(RESETS))
@pytest.mark.parametrize("update", list(MANUAL_UPDATES))
def test_no_grad_accumulated_when_reset_each_iteration(tmp_path, update, reset):
    first, last = RESETS[reset]
    path, _ = write_program(tmp_path, _sgd_loop(MANUAL_UPDATES[update], first, last))

    def check(result):
        assert result.exception is None, describe(result)
        # w moves by 0.1 * (1, 2) per step
        assert result.stdout == "tensor([ 0.7000, -1.6000], requires_grad=True)\n", describe(result)
        assert kinds_and_lines(result.events, path) == set(), describe(result)

    observe(path, check)


def test_no_grad_accumulated_for_deliberate_gradient_accumulation(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        for i in range(4):
            loss = (w * w).sum()
            loss.backward()
            if (i + 1) % 2 == 0:
                opt.step()
                opt.zero_grad()
        print(w)
        """,
    )


def test_two_backwards_feeding_one_step_are_not_accumulation(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        for i in range(3):
            opt.zero_grad()
            (w * w).sum().backward()
            (w * 3).sum().backward()
            opt.step()
        print(w)
        """,
    )


def test_second_backward_without_any_update_is_not_reported(tmp_path):
    """Behaviour 4 outside a training loop: the grads add up, but nothing consumed them."""
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.zeros(2, 2, requires_grad=True)
        (w + 2).mean().backward()
        (w + 2).mean().backward()
        print(w.grad)
        """,
        expect_stdout="tensor([[0.5000, 0.5000],\n        [0.5000, 0.5000]])\n",
    )


def test_zeroing_only_before_the_loop_is_accumulation(tmp_path):
    def related_is_the_step(result, source):
        step_line = harness.marker_line(source, "# step")
        accumulated = [e for e in result.events if e["kind"] == "grad-accumulated"]
        assert all(step_line in e["related"] for e in accumulated), describe(result)

    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        opt.zero_grad()
        for i in range(3):
            loss = (w * w).sum()
            loss.backward()  # event: grad-accumulated
            opt.step()  # step
        print(w)
        """,
        also=related_is_the_step,
    )


def test_gan_discriminator_grads_reset_before_their_next_step_are_not_accumulation(tmp_path):
    """The generator's backward adds into the discriminator's grads after optimizerD.step(),
    but netD.zero_grad() clears them before optimizerD uses them again: no accumulation."""
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        g = torch.tensor([0.5], requires_grad=True)
        d = torch.tensor([0.1], requires_grad=True)
        optimizer_d = torch.optim.SGD([d], lr=0.1)
        optimizer_g = torch.optim.SGD([g], lr=0.1)
        for step in range(3):
            optimizer_d.zero_grad()
            loss_d = (d * g.detach()).sum() - d.sum()
            loss_d.backward()
            optimizer_d.step()
            optimizer_g.zero_grad()
            loss_g = -(d * g).sum()
            loss_g.backward()
            optimizer_g.step()
        print(g, d)
        """,
    )


# --------------------------------------------------------------------------------------------
# step after reset
# --------------------------------------------------------------------------------------------


def _related_is_the_reset(result, source):
    reset_line = harness.marker_line(source, "# reset")
    after_reset = [e for e in result.events if e["kind"] == "step-after-reset"]
    assert after_reset and all(reset_line in e["related"] for e in after_reset), describe(result)


def test_step_after_reset(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        loss = (w * w).sum()
        loss.backward()
        opt.zero_grad()  # reset
        opt.step()  # event: step-after-reset
        print(w)
        """,
        expect_stdout="tensor([ 1., -1.], requires_grad=True)\n",
        also=_related_is_the_reset,
    )


def test_step_after_reset_in_a_loop(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        for i in range(3):
            loss = (w * w).sum()
            loss.backward()
            opt.zero_grad()  # reset
            opt.step()  # event: step-after-reset
        print(w)
        """,
        expect_stdout="tensor([ 1., -1.], requires_grad=True)\n",
        also=_related_is_the_reset,
    )


def test_step_after_a_zeroing_reset(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        for i in range(2):
            loss = (w * w).sum()
            loss.backward()
            w.grad.zero_()  # reset
            opt.step()  # event: step-after-reset
        print(w)
        """,
        expect_stdout="tensor([ 1., -1.], requires_grad=True)\n",
        also=_related_is_the_reset,
    )


def test_reset_then_step_with_a_backward_between_is_fine(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        for i in range(3):
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            opt.step()
        print(w)
        """,
        expect_stdout="tensor([ 0.5120, -0.5120], requires_grad=True)\n",
    )


# --------------------------------------------------------------------------------------------
# history kept across iterations
# --------------------------------------------------------------------------------------------

ACCUMULATORS = {
    "total += loss": ("total = 0", "total += loss  # event: history-across-iterations"),
    "total = total + loss": ("total = 0", "total = total + loss  # event: history-across-iterations"),
    "losses.append(loss)": ("losses = []", "losses.append(loss)  # event: history-across-iterations"),
    "total += loss.item()": ("total = 0", "total += loss.item()"),
    "total += loss.detach()": ("total = 0", "total += loss.detach()"),
    "losses.append(loss.item())": ("losses = []", "losses.append(loss.item())"),
}


@pytest.mark.parametrize("with_backward", [True, False], ids=["training", "evaluation"])
@pytest.mark.parametrize("accumulator", list(ACCUMULATORS))
def test_history_across_iterations(tmp_path, accumulator, with_backward):
    init, statement = ACCUMULATORS[accumulator]
    body = ["    loss = (w * x).sum()"]
    if with_backward:
        body += ["    opt.zero_grad()", "    loss.backward()", "    opt.step()"]
    body.append("    " + statement)
    source = "\n".join(
        [
            "import torch",
            "",
            "w = torch.tensor([1.0, -1.0], requires_grad=True)",
            "x = torch.tensor([2.0, 3.0])",
            "opt = torch.optim.SGD([w], lr=0.1)",
            init,
            "for i in range(3):",
            *body,
            "print(len(losses))" if init.startswith("losses") else "print(round(float(total), 4))",
        ]
    )
    assert_events_match_markers(tmp_path, source + "\n")


# Several graphs kept until one backward consumes them are wanted (REINFORCE's loss list, a
# seq2seq sum over time steps: fixtures/clean/ holds both); a list never emptied across
# episodes keeps graphs whose backward already ran.
LOSS_LIST_EPISODES = """
    import torch

    w = torch.tensor([1.0, -1.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    policy_loss = []
    for episode in range(3):
        RESET
        for t in range(3):
            policy_loss.append((w * t).sum())  MARKER
        opt.zero_grad()
        torch.stack(policy_loss).sum().backward()
        opt.step()
    print(len(policy_loss))
"""


def test_a_loss_list_consumed_by_one_backward_per_episode_is_no_history(tmp_path):
    source = LOSS_LIST_EPISODES.replace("RESET", "policy_loss = []").replace("MARKER", "")
    assert_events_match_markers(tmp_path, source, expect_stdout="3\n")


def test_a_loss_list_kept_across_episodes_is_history(tmp_path):
    source = LOSS_LIST_EPISODES.replace("RESET", "pass").replace("MARKER", "# event: history-across-iterations")
    # (PyTorch then refuses the second backward through episode 1's freed graph: M23)
    assert_events_match_markers(tmp_path, source, expect_exception=(
        "RuntimeError: Trying to backward through the graph a second time (or directly access saved "
        "tensors after they have already been freed). Saved intermediate values of the graph are freed "
        "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
        "through the graph a second time or if you need to access saved tensors after calling backward."))


def test_an_accumulation_undecided_at_a_crash_records_nothing(tmp_path):
    # The backward that would have consumed the sum never came: the runtime does not know.
    assert_events_match_markers(tmp_path, """
        import torch

        w = torch.tensor([1.0, -1.0], requires_grad=True)
        loss = 0
        for t in range(3):
            loss += (w * t).sum()
        raise KeyError("stop")
    """, expect_exception="KeyError: 'stop'")


# --------------------------------------------------------------------------------------------
# legacy API: Variable, volatile, .data[0]
# --------------------------------------------------------------------------------------------


def test_variable_calls_and_volatile(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import warnings
        import torch
        from torch.autograd import Variable as V

        warnings.simplefilter("ignore")
        x = torch.ones(2)
        a = V(x)  # event: variable-call
        b = V(x, requires_grad=True)  # event: variable-call
        c = V(x, volatile=True)  # event: variable-call, volatile
        d = V(x, volatile=False)  # event: variable-call, volatile
        print(c.volatile)  # event: volatile
        c.volatile = True  # event: volatile
        print(isinstance(a, V), a.requires_grad, b.requires_grad, c.requires_grad)
        """,
        expect_stdout="False\nTrue False True False\n",
    )


def test_volatile_and_requires_grad_together(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch
        from torch.autograd import Variable

        Variable(torch.ones(2), volatile=True, requires_grad=True)  # event: variable-call, volatile
        """,
        expect_exception="ValueError: Variable can't be volatile and require_grad at the same time!",
    )


def test_variable_of_a_non_tensor(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch
        from torch.autograd import Variable

        Variable([1.0, 2.0])  # event: variable-call
        """,
        expect_exception="TypeError: Variable data has to be a tensor, but got list",
    )


M10 = (
    "IndexError: invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
    "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
)


def test_zero_dim_index(tmp_path):
    assert_events_match_markers(
        tmp_path,
        """
        import torch

        w = torch.ones(3, requires_grad=True)
        loss = (w * 2).mean()
        batch = torch.tensor([5.0, 6.0, 7.0])
        one = torch.tensor([4.0])
        print(batch.data[0], one.data[0], batch[0])
        try:
            print(loss[0])  # event: zero-dim-index
        except IndexError:
            print("IndexError")
        print(loss.data[0])  # event: zero-dim-index
        """,
        expect_exception=M10,
        expect_stdout="tensor(5.) tensor(4.) tensor(5.)\nIndexError\n",
    )


@pytest.mark.parametrize(
    "expression,error",
    [
        ("loss.data.numpy()[0]", "IndexError: too many indices for array: array is 0-dimensional, but 1 were indexed"),
        ("loss.data.cpu().numpy()[0]", "IndexError: too many indices for array: array is 0-dimensional, but 1 were indexed"),
        ("loss.data.tolist()[0]", "TypeError: 'float' object is not subscriptable"),
        ("loss.cpu().data[0]", M10),
    ],
)
def test_zero_dim_index_variants(tmp_path, expression, error):
    """VL004 also covers the numpy/tolist spellings (rules.md); they crash with their own errors."""
    assert_events_match_markers(
        tmp_path,
        f"""
        import torch

        w = torch.ones(3, requires_grad=True)
        loss = (w * 2).mean()
        loss.backward()
        print({expression})  # event: zero-dim-index
        """,
        expect_exception=error,
    )


# --------------------------------------------------------------------------------------------
# the command line: python -m runtime --events FILE
# --------------------------------------------------------------------------------------------


def test_events_file_of_the_command_line_equals_run(tmp_path):
    program = harness.FIXTURES_DIR / "core" / "behaviour_3_backward_without_grad.py"
    events_file = tmp_path / "events.json"
    completed = subprocess.run(
        [sys.executable, "-m", "runtime", "--events", str(events_file), str(program)],
        cwd=str(program.parent),
        capture_output=True,
        text=True,
        timeout=60,
        env=harness._child_env(harness.REPO_ROOT),
    )
    assert completed.returncode != 0
    assert harness.final_exception_line(completed.stderr) == M20
    from_file = json.loads(events_file.read_text(encoding="utf-8"))
    in_process = runtime.run(str(program), timeout=60.0)
    assert [(e["kind"], e["line"]) for e in from_file] == [(e["kind"], e["line"]) for e in in_process.events]
    assert completed.stdout == in_process.stdout
