"""The training-loop rules VL201-VL203: what their unsafe fixes do to a program, and the
precision cases that cannot be runnable fixtures.

1. Behaviour of the unsafe fixes, data-driven over fixtures/VL201 and fixtures/VL203: each
   original and its `.unsafe-fixed.py` run on the reference runtime.
   - VL201: where the original's gradients accumulated (the runtime says so), the fixed
     program trains as intended: its printed losses go down at every step while the
     original's do not, or its printed gradients stay the same at every step while the
     original's grow; and the fixed program accumulates nothing.
   - VL203: the fixed program prints the same and no longer keeps any iteration's graph.
2. Static cases (imports of code that is not there, parameters, odd layouts), linted from
   source with `# expect:` annotations, as in the fixtures.
3. Fix mechanics: indentation, CRLF files, one-line loop bodies, and when no fix is offered.
"""

from __future__ import annotations

import re
import textwrap
from itertools import pairwise
from pathlib import Path

import pytest

import runtime
from runtime_harness import FIXTURES_DIR, expected_diagnostics
from varlint import engine, fixes
from varlint.config import Settings
from varlint.diagnostic import Applicability

LOOP_CODES = frozenset({"VL201", "VL202", "VL203"})
NUMBER = r"(-?\d+(?:\.\d+)?)"


def unsafe_fixed_fixtures(code: str) -> list[Path]:
    return sorted(
        path
        for path in (FIXTURES_DIR / code).glob("*.py")
        if not path.name.endswith("fixed.py") and path.with_name(path.stem + ".unsafe-fixed.py").exists()
    )


def unsafe_fixed(path: Path) -> Path:
    return path.with_name(path.stem + ".unsafe-fixed.py")


def printed(stdout: str, label: str) -> list[float]:
    """The numbers printed on lines `label <number>`."""
    return [float(match) for match in re.findall(rf"^{label} {NUMBER}$", stdout, re.M)]


def kinds(result) -> list[str]:
    return [event["kind"] for event in result.events]


def strictly_decreasing(values: list[float]) -> bool:
    return all(later < earlier for earlier, later in pairwise(values))


# --- 1. what the unsafe fixes do -----------------------------------------------------------

VL201_FIXED = unsafe_fixed_fixtures("VL201")
VL203_FIXED = unsafe_fixed_fixtures("VL203")


def test_there_are_unsafe_fixes_to_check():
    assert VL201_FIXED and VL203_FIXED


@pytest.mark.parametrize("original", VL201_FIXED, ids=lambda path: path.name)
def test_vl201_fix_makes_the_program_train_as_intended(original: Path):
    before = runtime.run(original)
    after = runtime.run(unsafe_fixed(original))
    assert before.exception is None and after.exception is None, (before.stderr, after.stderr)
    assert "grad-accumulated" in kinds(before)
    assert "grad-accumulated" not in kinds(after)
    losses_before, losses_after = printed(before.stdout, "loss"), printed(after.stdout, "loss")
    grads_before, grads_after = printed(before.stdout, "grad"), printed(after.stdout, "grad")
    assert losses_after or grads_after, "the fixture must print `loss <value>` or `grad <value>` lines"
    if losses_after:
        assert len(losses_after) == len(losses_before) > 2
        assert strictly_decreasing(losses_after), losses_after
        assert not strictly_decreasing(losses_before), losses_before
        assert losses_after[-1] < losses_before[-1]
    if grads_after:
        assert len(grads_after) == len(grads_before) > 1
        assert len(set(grads_after)) == 1, grads_after  # each step sees one backward's gradient
        assert strictly_decreasing([-grad for grad in grads_before]), grads_before  # they grow


@pytest.mark.parametrize("original", VL203_FIXED, ids=lambda path: path.name)
def test_vl203_fix_keeps_the_output_and_drops_the_history(original: Path):
    before = runtime.run(original)
    after = runtime.run(unsafe_fixed(original))
    assert before.exception is None and after.exception is None, (before.stderr, after.stderr)
    assert after.stdout == before.stdout
    assert "history-across-iterations" in kinds(before)
    assert "history-across-iterations" not in kinds(after)


# --- 2. static cases -----------------------------------------------------------------------

STATIC_CASES = {
    # Near misses of the reset in the other branch (fixtures/VL201/reset_in_other_branch.py):
    # a condition the loop changes, or a call that receives its object, may make both run.
    "other_branch_reset_with_condition_changed_in_loop": """
        import torch

        model = torch.nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        use_optimizer = True
        for step in range(4):
            if use_optimizer:
                pass
            else:
                model.zero_grad()
            model(torch.ones(1, 1)).sum().backward()
            if use_optimizer:
                optimizer.step()
            use_optimizer = not use_optimizer
        """,
    "other_branch_reset_with_condition_object_passed_to_a_call": """
        import torch
        from helpers import configure

        model = torch.nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(4):
            configure(args)
            if args.use_optimizer:
                pass
            else:
                model.zero_grad()
            model(torch.ones(1, 1)).sum().backward()
            if args.use_optimizer:
                optimizer.step()
        """,
    # Near misses of gradients applied twice (fixtures/VL201/gradients_applied_twice.py).
    "one_backward_two_optimizers_of_disjoint_modules": """
        import torch

        encoder, decoder = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
        opt_enc = torch.optim.SGD(encoder.parameters(), lr=0.1)
        opt_dec = torch.optim.SGD(decoder.parameters(), lr=0.1)
        for step in range(3):
            opt_enc.zero_grad()
            opt_dec.zero_grad()
            loss = decoder(encoder(torch.ones(1, 1))).sum()
            loss.backward()
            opt_enc.step()
            opt_dec.step()
        """,
    "shared_optimizer_whose_loss_does_not_call_the_module": """
        import itertools
        import torch

        generator, discriminator = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
        criterion = torch.nn.MSELoss()
        optimizer_D = torch.optim.SGD(discriminator.parameters(), lr=0.1)
        optimizer_info = torch.optim.SGD(itertools.chain(generator.parameters(), discriminator.parameters()), lr=0.1)
        x = torch.ones(2, 1)
        for step in range(3):
            d_loss = criterion(discriminator(x), x)
            d_loss.backward()
            optimizer_D.step()
            optimizer_info.zero_grad()
            info_loss = criterion(generator(x), x)
            info_loss.backward()
            optimizer_info.step()
        """,
    "shared_optimizer_with_frozen_parameters": """
        import itertools
        import torch

        generator, discriminator = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
        criterion = torch.nn.MSELoss()
        optimizer_D = torch.optim.SGD(discriminator.parameters(), lr=0.1)
        optimizer_info = torch.optim.SGD(itertools.chain(generator.parameters(), discriminator.parameters()), lr=0.1)
        x = torch.ones(2, 1)
        for step in range(3):
            for p in discriminator.parameters():
                p.requires_grad = True
            d_loss = criterion(discriminator(x), x)
            d_loss.backward()
            optimizer_D.step()
            optimizer_info.zero_grad()
            info_loss = criterion(discriminator(generator(x)), x)
            info_loss.backward()
            optimizer_info.step()
        """,
    "optimizer_parameter_without_reset": """
        def train(model, optimizer, loader, loss_fn):
            for x, y in loader:
                loss = loss_fn(model(x), y)
                loss.backward()  # expect: VL201
                optimizer.step()
        """,
    "optimizer_parameter_with_reset": """
        def train(model, optimizer, loader, loss_fn):
            for x, y in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
        """,
    "scheduler_step_is_not_a_consumption": """
        import torch

        def train(model, loader, scheduler):
            for x in loader:
                model(x).sum().backward()
                scheduler.step()
        """,
    "imported_helper_that_may_reset": """
        import torch
        from helpers import clear_gradients

        model = torch.nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in range(3):
            clear_gradients(model)
            model(torch.ones(1, 1)).sum().backward()
            optimizer.step()
        """,
    "unrelated_imported_call_does_not_reset": """
        import torch
        from helpers import log

        model = torch.nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in range(3):
            loss = model(torch.ones(1, 1)).sum()
            loss.backward()  # expect: VL201
            optimizer.step()
            log(loss.item())
        """,
    "backward_in_a_nested_function_is_not_the_loop_s": """
        import torch

        w = torch.ones(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)
        for step in range(3):
            def closure():
                (w * 2).sum().backward()
            optimizer.step()
        """,
    "reset_of_another_tensor_does_not_count": """
        import torch

        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        image = torch.ones(1, 2, requires_grad=True)
        for step in range(3):
            image.grad = None
            loss = model(image).sum()
            loss.backward()  # expect: VL201
            optimizer.step()
        """,
    "reset_through_a_parameter_loop": """
        import torch

        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):
            for parameter in model.parameters():
                parameter.grad = None
            model(torch.ones(1, 2)).sum().backward()
            optimizer.step()
        """,
    "manual_update_of_parameters_in_a_loop": """
        import torch

        model = torch.nn.Linear(2, 1)
        for step in range(3):
            loss = model(torch.ones(1, 2)).sum()
            loss.backward()  # expect: VL201
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter -= 0.1 * parameter.grad
        """,
    "backward_without_grad_is_not_a_training_loop": """
        import torch

        w = torch.ones(1)
        optimizer = torch.optim.SGD([w], lr=0.1)
        for step in range(3):
            (w * 2).sum().backward()  # expect: VL101
            optimizer.step()
        """,
    "reset_in_a_branch_that_excludes_the_step": """
        import torch

        w = torch.ones(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)
        for step in range(4):
            loss = (w * 2).sum()
            loss.backward()
            if step % 2:
                optimizer.zero_grad()
            else:
                optimizer.step()
        """,
    "zero_grad_before_step_after_a_continue_is_not_reported": """
        import torch

        w = torch.ones(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)
        for step in range(4):
            loss = (w * 2).sum()
            loss.backward()
            optimizer.zero_grad()
            if step == 0:
                continue
            optimizer.step()
        """,
    "zero_grad_in_a_branch_before_step_is_not_certain": """
        import torch

        w = torch.ones(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)
        for step in range(4):
            optimizer.zero_grad()
            loss = (w * 2).sum()
            loss.backward()
            if step == 3:
                optimizer.zero_grad()
            optimizer.step()
        """,
    "loss_of_unknown_grad_state_is_not_reported": """
        def evaluate(model, loader, loss_fn):
            total = 0
            for x, y in loader:
                total += loss_fn(model(x), y)
            return total
        """,
    "accumulator_on_self_across_iterations": """
        import torch

        class Tracker:
            def __init__(self):
                self.history = []

            def run(self, w):
                for step in range(3):
                    loss = (w * 2).sum()
                    loss.backward()
                    self.history.append(loss)  # expect: VL203
        """,
    "losses_summed_over_time_steps_for_one_backward": """
        import torch

        w = torch.ones(1, requires_grad=True)
        loss = 0
        for t in range(3):
            loss += ((w * t - 1) ** 2).sum()
        loss.backward()

        losses = []
        for t in range(3):
            losses.append(((w * t - 1) ** 2).sum())
        stacked = torch.stack(losses)
        stacked.sum().backward()

        kept = []
        for t in range(3):
            kept.append(((w * t - 1) ** 2).sum())  # expect: VL203
        print(len(kept))
        """,
    "accumulated_loss_returned_to_the_caller": """
        import torch

        def sequence_loss(w, inputs):
            total = 0
            for x in inputs:
                total = total + (w * x).sum()
            return total

        def report(w, inputs):
            history = []
            for x in inputs:
                loss = (w * x).sum()
                loss.backward()
                history.append(loss)  # expect: VL203
            print(history)
        """,
    "accumulator_that_is_the_loop_target": """
        import torch

        w = torch.ones(1, requires_grad=True)
        for total in [0, 0]:
            loss = (w * 2).sum()
            loss.backward()
            total += loss
        """,
}


def lint(source: str, codes: frozenset[str] = LOOP_CODES | {"VL101"}) -> list:
    return engine.lint_text("case.py", source, codes)


@pytest.mark.parametrize("name", sorted(STATIC_CASES))
def test_static_case(name: str, tmp_path: Path):
    source = textwrap.dedent(STATIC_CASES[name]).lstrip()
    path = tmp_path / "case.py"
    path.write_text(source)
    expected = expected_diagnostics(path)
    reported = sorted((diagnostic.start.row, diagnostic.code) for diagnostic in lint(source))
    assert reported == expected


# --- 3. fix mechanics ----------------------------------------------------------------------

NO_RESET = """\
import torch

w = torch.ones(1, requires_grad=True)
optimizer = torch.optim.SGD([w], lr=0.1)
for step in range(3):
\t# one step
\tloss = (w * 2).sum()
\tloss.backward()
\toptimizer.step()
"""


def fix(source: str) -> str:
    outcome = fixes.fix_until_stable("case.py", source, LOOP_CODES, Applicability.UNSAFE, engine.lint_text)
    return outcome.text


def test_zero_grad_is_inserted_with_the_body_s_indentation_after_leading_comments():
    assert fix(NO_RESET) == NO_RESET.replace("\t# one step\n", "\t# one step\n\toptimizer.zero_grad()\n")


def test_inserted_lines_keep_crlf_newlines():
    crlf = NO_RESET.replace("\n", "\r\n")
    fixed = fix(crlf)
    assert "\toptimizer.zero_grad()\r\n" in fixed
    assert "\n" not in fixed.replace("\r\n", "")


def test_one_line_loop_body_gets_a_statement_in_front():
    source = NO_RESET.split("for step")[0] + "for step in range(3): (w * 2).sum().backward(); optimizer.step()\n"
    assert fix(source).endswith("for step in range(3): optimizer.zero_grad(); (w * 2).sum().backward(); optimizer.step()\n")


def test_grad_none_is_not_inserted_when_the_grad_is_read_later():
    source = textwrap.dedent(
        """\
        import torch

        w = torch.ones(1, requires_grad=True)
        for step in range(3):
            (w * 2).sum().backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
            print(w.grad)
        """
    )
    [diagnostic] = lint(source)
    assert diagnostic.code == "VL201"
    assert diagnostic.fix.applicability is Applicability.DISPLAY_ONLY
    assert fix(source) == source


def test_no_fix_when_several_optimizers_are_stepped():
    source = (FIXTURES_DIR / "VL201" / "gan_generator_never_reset.py").read_text()
    [diagnostic] = lint(source)
    assert diagnostic.fix is None
    assert fix(source) == source


def test_vl202_and_vl203_fix_kinds():
    vl202 = lint((FIXTURES_DIR / "VL202" / "zero_grad_before_step.py").read_text())
    assert [d.fix.applicability for d in vl202] == [Applicability.DISPLAY_ONLY]
    vl203 = lint((FIXTURES_DIR / "VL203" / "total_loss_tensor.py").read_text())
    assert [d.fix.applicability for d in vl203] == [Applicability.UNSAFE]


def test_rules_are_off_for_a_selection_without_them():
    source = (FIXTURES_DIR / "VL201" / "optimizer_never_reset.py").read_text()
    assert lint(source, frozenset({"VL202", "VL203"})) == []
    assert [d.code for d in lint(source)] == ["VL201"]
    assert Settings().selected_codes() >= LOOP_CODES


def test_grad_none_goes_after_the_last_update_of_each_tensor():
    loop = """\
import torch

w = torch.ones(1, requires_grad=True)
b = torch.ones(1, requires_grad=True)
for step in range(3):
    (w * b).sum().backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
{b_reset}        w -= 0.1 * w.grad
{w_reset}"""
    original = loop.format(b_reset="", w_reset="")
    fixed = loop.format(b_reset="        b.grad = None\n", w_reset="        w.grad = None\n")
    assert fix(original) == fixed


MODEL_MODULE = '''\
import torch
import torch.nn as nn


class RNN(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n
        self.fc = nn.Linear(n, n)

    def forward(self, x, h):
        return self.fc(x) + h

    def initHidden(self):
        return torch.zeros(1, self.n)

    def {name}(self):
        {body}
'''
TRAIN_MODULE = '''\
import torch
from model import *

rnn = RNN(3)
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.1)
for i in range(3):
    hidden = rnn.{call}()
    loss = rnn(torch.ones(1, 3), hidden).sum()
    loss.backward()
    optimizer.step()
'''


@pytest.mark.parametrize(
    "name, body, call, expected",
    [
        # `initHidden` of the class in model.py never touches gradients: nothing resets them.
        ("clear", "self.zero_grad()", "initHidden", [9]),
        # A method of that class that resets them: the loop is correct.
        ("clear", "self.zero_grad()\n        return torch.zeros(1, self.n)", "clear", []),
        # A method that calls another method of the object may do anything: silence.
        ("prepare", "self.clear_all()\n        return torch.zeros(1, self.n)", "prepare", []),
    ],
)
def test_methods_of_classes_of_other_modules_are_read(tmp_path, name, body, call, expected):
    (tmp_path / "model.py").write_text(MODEL_MODULE.format(name=name, body=body))
    (tmp_path / "train.py").write_text(TRAIN_MODULE.format(call=call))
    results = engine.check_paths([str(tmp_path / "model.py"), str(tmp_path / "train.py")], Settings(select=("VL201",)), jobs=1)
    rows = [d.start.row for result in results for d in result.diagnostics if d.path.endswith("train.py")]
    assert rows == expected
