"""Cross-file caller chains: an event raised in a helper module confirms a diagnostic reported
at the helper's call in another module (runtime/events.py `callers`, varlint/confirm.py
`match`), and the signed channel's validator rejects malformed chains."""

from __future__ import annotations

import os

import pytest

import runtime
from runtime import events
from varlint.confirm import match
from varlint.diagnostic import Diagnostic, Position

MAIN = """\
import torch

from training import train_step

torch.manual_seed(0)
x = torch.tensor([[1.0], [2.0]])
y = torch.tensor([[2.0], [4.0]])
net = torch.nn.Linear(1, 1)
sgd = torch.optim.SGD(net.parameters(), lr=0.05)
for _ in range(3):
    print("loss", f"{train_step(net, sgd, x, y):.4f}")
print("done")
"""
CALL_ROW = 11
TRAINING = """\
def train_step(model, optimizer, x, y):
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()
"""


def at(path, row, code="VL201") -> Diagnostic:
    return Diagnostic(code, "name", "message", str(path), Position(row, 0), Position(row, 10))


@pytest.fixture(scope="module")
def helper_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("helper_module")
    (folder / "main.py").write_text(MAIN)
    (folder / "training.py").write_text(TRAINING)
    result = runtime.run(str(folder / "main.py"), timeout=60)
    assert result.channel_error is None and not result.exception, result.stderr
    return folder, result


def test_an_event_in_a_helper_module_carries_its_cross_file_caller_chain(helper_run):
    folder, result = helper_run
    accumulated = [e for e in result.events if e["kind"] == "grad-accumulated"]
    assert accumulated, result.events
    event = accumulated[0]
    assert os.path.realpath(event["file"]) == os.path.realpath(folder / "training.py")
    assert event["line"] == 3
    # only user-code frames: main.py's call, nothing of the runtime or the standard library
    assert event["callers"] and all(os.path.realpath(file).startswith(os.path.realpath(folder))
                                    for file, _ in event["callers"])
    assert [os.path.realpath(folder / "main.py"), CALL_ROW] in [[os.path.realpath(f), n] for f, n in event["callers"]]


def test_a_diagnostic_at_the_call_is_confirmed_by_the_helper_modules_event(helper_run):
    folder, result = helper_run
    main = str(folder / "main.py")
    executed = set(result.executed_files.get(os.path.abspath(main), ()))
    (confirmation,), unmatched = match([at(main, CALL_ROW)], result.events, main, executed)
    assert confirmation.confirmed is True
    assert {e["kind"] for e in confirmation.events} == {"grad-accumulated"}
    assert unmatched == []  # training.py's events are not main.py's misses


def test_a_caller_chain_confirms_nothing_at_another_line_or_kind(helper_run):
    folder, result = helper_run
    main = str(folder / "main.py")
    executed = set(result.executed_files.get(os.path.abspath(main), ()))
    confirmations, _ = match([at(main, CALL_ROW + 1), at(main, CALL_ROW, "VL101")], result.events, main, executed)
    assert [c.confirmed for c in confirmations] == [False, False]


def test_the_helper_modules_own_matching_is_unchanged(helper_run):
    folder, result = helper_run
    training = str(folder / "training.py")
    executed = set(result.executed_files.get(os.path.abspath(training), ()))
    (confirmation,), unmatched = match([at(training, 3)], result.events, training, executed)
    assert confirmation.confirmed is True
    _, unmatched = match([], result.events, training, executed)
    assert {e["kind"] for e in unmatched} >= {"grad-accumulated"}


def test_a_single_file_event_needs_no_chain_and_keeps_its_related_lines(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text("import torch\n\ndef go(t):\n    return t.grad\n\ngo(torch.ones(2))\n")
    result = runtime.run(str(program), timeout=60)
    (event,) = [e for e in result.events if e["kind"] == "grad-never-populated"]
    assert event["line"] == 4 and event["related"] == [6]
    assert [[os.path.realpath(f), n] for f, n in event["callers"]] == [[os.path.realpath(program), 6]]


EVENT = {"type": "event", "kind": "volatile", "line": 3, "file": "/p/main.py", "detail": "", "related": []}


@pytest.mark.parametrize("callers, problem", [
    ([], None),
    ([["/p/main.py", 4]], None),
    ([["main.py", 4]], "caller frame"),
    ([["/p/main.py", 0]], "caller frame"),
    ([["/p/main.py", True]], "caller frame"),
    ([["/p/main.py", 4, 5]], "caller frame"),
    ([4], "caller frame"),
    ([["/p/main.py", n] for n in range(1, events.MAX_CALLER_FRAMES + 2)], "at most"),
])
def test_the_channel_validator_checks_the_caller_chain(callers, problem):
    found = events.validate_record({**EVENT, "callers": callers})
    assert (found is None) if problem is None else (problem in found), found


def test_an_event_record_without_a_caller_chain_is_malformed():
    assert events.validate_record(EVENT) is not None


def test_confirm_file_decides_the_call_site_by_the_helper_modules_event(tmp_path):
    from varlint.confirm import CONFIRMED, confirm_file

    (tmp_path / "main.py").write_text(MAIN)
    (tmp_path / "training.py").write_text(TRAINING)
    main = str(tmp_path / "main.py")
    run = confirm_file(main, [at(main, CALL_ROW)], frozenset({"VL201"}), timeout=60)
    (confirmation,) = run.confirmations
    assert run.status(confirmation) == CONFIRMED
    assert run.result.decided  # the watch stopped the run once the call site was decided
    assert "done" not in run.result.stdout
    assert run.unpredicted == []
