"""`varlint confirm`: lint, run on the reference runtime, and report each diagnostic's fate.

The command runs in-process through click's CliRunner; the programs it confirms run in runtime
subprocesses, as for a user. Over the training-loop fixtures, every VL2xx diagnostic must be
confirmed by the runtime at the line the fixture annotates; small programs in tmp_path show
the other outcomes (unconfirmed, not reached, not observable, a possible miss, noqa, a time
limit) and the exit codes.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from runtime_harness import FIXTURES_DIR, expected_diagnostics
from varlint.cli import main

LOOP_FIXTURE_DIRS = [FIXTURES_DIR / code for code in ("VL201", "VL202", "VL203")]


def confirm(*args: str):
    return CliRunner().invoke(main, ["confirm", *args], catch_exceptions=False)


def confirm_json(*args: str) -> dict:
    result = confirm("--output-format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def write(tmp_path: Path, source: str, name: str = "program.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip())
    return path


NEVER_RESET = """
    import torch

    w = torch.tensor([0.0], requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1)
    for step in range(STEPS):
        loss = ((w - 3) ** 2).sum()
        loss.backward()
        optimizer.step()
    print("done")
"""
BACKWARD_LINE = 7


# --- the fixtures: every training-loop diagnostic is confirmed -----------------------------


@pytest.fixture(scope="module")
def fixture_report() -> dict:
    return confirm_json("--select", "VL2", *map(str, LOOP_FIXTURE_DIRS))


def test_every_loop_diagnostic_of_the_fixtures_is_confirmed(fixture_report):
    diagnostics = fixture_report["diagnostics"]
    assert diagnostics
    unconfirmed = [d for d in diagnostics if d["confirmed"] is not True]
    assert unconfirmed == []
    assert {d["confirmation"] for d in diagnostics} == {"confirmed"}


def test_confirmed_diagnostics_are_the_annotated_ones(fixture_report):
    reported = sorted(
        (Path(d["filename"]).resolve(), d["location"]["row"], d["code"]) for d in fixture_report["diagnostics"]
    )
    annotated = sorted(
        (path.resolve(), row, code)
        for directory in LOOP_FIXTURE_DIRS
        for path in directory.glob("*.py")
        if not path.name.endswith("fixed.py")
        for row, code in expected_diagnostics(path)
        if code.startswith("VL2")
    )
    assert reported == annotated


def test_json_items_are_the_check_items_plus_the_confirmation(tmp_path):
    path = write(tmp_path, NEVER_RESET.replace("STEPS", "3"))
    checked = json.loads(CliRunner().invoke(main, ["check", "--output-format", "json", str(path)]).stdout)
    confirmed = confirm_json(str(path))
    assert [
        {key: value for key, value in item.items() if key not in ("confirmed", "confirmation", "decided_by")}
        for item in confirmed["diagnostics"]
    ] == checked
    assert [item["confirmed"] for item in confirmed["diagnostics"]] == [True]
    assert confirmed["runs"] == [{
        "filename": str(path), "returncode": 0, "exception": None, "timed_out": False,
        "stopped_because": "stopped once every diagnostic was decided", "decided_early": True,
        "runtime_gap": None, "event_data_error": None, "reruns": [],
    }]


# --- the other outcomes --------------------------------------------------------------------


def test_a_diagnostic_whose_line_ran_without_its_event_is_unconfirmed(tmp_path):
    # One iteration: the gradients never get the chance to accumulate.
    path = write(tmp_path, NEVER_RESET.replace("STEPS", "1"))
    [item] = confirm_json(str(path))["diagnostics"]
    assert (item["code"], item["location"]["row"]) == ("VL201", BACKWARD_LINE)
    assert item["confirmed"] is False
    assert item["confirmation"] == "unconfirmed"
    result = confirm(str(path))
    assert result.exit_code == 1
    assert "= runtime: NOT confirmed" in result.stdout
    assert "0 of 1 runtime-observable diagnostic confirmed (1 unconfirmed)." in result.stdout


def test_a_line_after_a_module_level_crash_is_not_reached(tmp_path):
    source = NEVER_RESET.replace("STEPS", "3").replace(
        "for step", "raise SystemError('stop here')\n    for step"
    )
    path = write(tmp_path, source)
    [item] = confirm_json(str(path))["diagnostics"]
    assert item["code"] == "VL201"
    assert item["confirmed"] is None
    assert item["confirmation"] == "not-reached"


def test_rules_without_runtime_events_are_not_observable(tmp_path):
    path = write(
        tmp_path,
        """
        import torch

        w = torch.ones(2, requires_grad=True)
        print(isinstance(w, torch.autograd.Variable))
        """,
    )
    [item] = confirm_json("--select", "VL002", str(path))["diagnostics"]
    assert item["confirmed"] is None
    assert item["confirmation"] == "not-observable"


def test_an_event_no_diagnostic_predicted_is_listed_as_a_possible_miss(tmp_path):
    # The backward and the step sit in a helper called through a dict, which the analysis
    # does not follow: varlint says nothing, while the gradients do accumulate.
    path = write(
        tmp_path,
        """
        import torch

        w = torch.tensor([0.0], requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)

        def train_step():
            loss = ((w - 3) ** 2).sum()
            loss.backward()
            optimizer.step()

        steps = {"train": train_step}
        for step in range(3):
            steps["train"]()
        """,
    )
    report = confirm_json(str(path))
    assert report["diagnostics"] == []
    assert {(event["kind"], event["line"]) for event in report["unpredicted_events"]} == {("grad-accumulated", 8)}
    result = confirm(str(path))
    assert result.exit_code == 0
    assert f"{path}:8: runtime event `grad-accumulated` that no diagnostic predicted" in result.stdout


def test_noqa_silences_the_diagnostic_and_its_event(tmp_path):
    source = NEVER_RESET.replace("STEPS", "3").replace("loss.backward()", "loss.backward()  # noqa: VL201")
    report = confirm_json(str(write(tmp_path, source)))
    assert report["diagnostics"] == [] and report["unpredicted_events"] == []


def test_events_of_rules_not_selected_are_not_misses(tmp_path):
    path = write(tmp_path, NEVER_RESET.replace("STEPS", "3"))
    report = confirm_json("--ignore", "VL201", str(path))
    assert report["diagnostics"] == [] and report["unpredicted_events"] == []


def test_a_program_that_runs_too_long_is_stopped_and_decides_nothing(tmp_path):
    source = NEVER_RESET.replace("STEPS", "3").replace("for step", "while True:\n        pass\n    for step")
    path = write(tmp_path, source)
    report = confirm_json("--timeout", "1", str(path))
    assert report["runs"][0]["timed_out"] is True
    [item] = report["diagnostics"]
    assert (item["code"], item["confirmed"], item["confirmation"]) == ("VL201", None, "stopped")
    result = confirm("--timeout", "1", str(path))
    assert f"{path}: ran on the runtime: stopped at the time limit (1 s)" in result.stdout


def test_a_file_that_does_not_parse_is_not_run(tmp_path):
    path = write(tmp_path, "import torch\nprint 'hello'\n")
    report = confirm_json(str(path))
    assert [item["code"] for item in report["diagnostics"]] == ["VL900"]
    assert report["diagnostics"][0]["confirmed"] is None
    assert report["runs"] == []


# --- text output and exit codes ------------------------------------------------------------


def test_text_output_says_it_runs_the_code_and_shows_each_outcome(tmp_path):
    path = write(tmp_path, NEVER_RESET.replace("STEPS", "3"))
    result = confirm(str(path))
    assert result.exit_code == 1
    assert "this executes their code" in result.stderr
    assert f"{path}:{BACKWARD_LINE}:5: VL201" in result.stdout
    assert "= runtime: confirmed by the runtime" in result.stdout
    assert "1 of 1 runtime-observable diagnostic confirmed." in result.stdout


def test_json_output_prints_no_notice(tmp_path):
    path = write(tmp_path, NEVER_RESET.replace("STEPS", "3"))
    result = confirm("--output-format", "json", str(path))
    assert result.stderr == ""


def test_exit_code_is_zero_without_diagnostics_and_two_for_a_missing_path(tmp_path):
    clean = write(tmp_path, "import torch\nprint(torch.ones(1))\n")
    assert confirm(str(clean)).exit_code == 0
    assert confirm(str(tmp_path / "missing.py")).exit_code == 2
