"""`varlint check` output: every `--output-format`, colour, statistics, fix reporting, progress,
standard input, `--output-file`, and `python -m runtime --help`; all through the CLI.

The sample is TRAIN (VL001 twice, VL003, VL004), whose positions and fixes are those of the
README's example."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_cli import Run
from varlint.cli import main

ROOT = Path(__file__).resolve().parents[1]
TRAIN = """\
import torch
from torch.autograd import Variable

w = Variable(torch.zeros(2, 2), requires_grad=True)
x = Variable(torch.ones(2, 2), volatile=True)
loss = (x + w + 2).mean()
loss.backward()
print(loss.data[0], w.grad)
"""
EXPECTED = [("VL001", 4, 5), ("VL001", 5, 5), ("VL003", 5, 32), ("VL004", 8, 7)]
# A loop whose only fix (VL201, adding `zero_grad()`) is unsafe.
UNSAFE_ONLY = """\
import torch

w = torch.zeros(2, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for step in range(3):
    loss = (w * 2).sum()
    loss.backward()
    opt.step()
"""


@pytest.fixture
def varlint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR", "VARLINT_OUTPUT_FORMAT", "CI_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, input=None, env=None) -> Run:
        result = CliRunner().invoke(main, list(args), input=input, env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result)
        return Run(result)

    return run


@pytest.fixture
def train(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    return tmp_path / "train.py"


def test_full_is_the_default_with_source_lines_and_carets(varlint, train):
    run = varlint("check", "train.py")
    assert run.exit_code == 1
    block = run.stdout.split("\n\n")[3]  # the VL004 diagnostic
    assert block.splitlines() == [
        "train.py:8:7: VL004 [*] `loss` is a 0-dim tensor: indexing it raises `IndexError` (invalid "
        "index of a 0-dim tensor) on PyTorch 2.13; read its value with `.item()`",
        "  |",
        "6 | loss = (x + w + 2).mean()",
        "7 | loss.backward()",
        "8 | print(loss.data[0], w.grad)",
        "  |       ^^^^^^^^^^^^ VL004",
        "  |",
        "  = help (fix): Replace with `loss.item()`",
    ]
    assert "C++" not in run.stdout  # PyTorch's whole error text is in the rule's documentation
    assert "C++" in varlint("rule", "VL004").stdout


def test_concise_is_one_line_each(varlint, train):
    lines = varlint("check", "--output-format", "concise", "train.py").stdout.splitlines()
    assert [line.split(" ")[:2] for line in lines[:4]] == [
        [f"train.py:{row}:{column}:", code] for code, row, column in EXPECTED
    ]
    assert lines[4:] == ["Found 4 errors.", "[*] 4 fixable with the `--fix` option."]


def test_grouped(varlint, train):
    lines = varlint("check", "--output-format", "grouped", "train.py").stdout.splitlines()
    assert lines[0] == "train.py:"
    assert lines[1].startswith("  4:5  VL001 [*] ") and lines[3].startswith("  5:32 VL003 [*] ")


def test_json_and_json_lines_keep_the_schema(varlint, train):
    items = json.loads(varlint("check", "--output-format", "json", "train.py").stdout)
    assert [(i["code"], i["location"]["row"], i["location"]["column"]) for i in items] == EXPECTED
    assert set(items[0]) == {"code", "name", "message", "filename", "location", "end_location", "fix", "url"}
    lines = varlint("check", "--output-format", "json-lines", "train.py").stdout.splitlines()
    assert [json.loads(line) for line in lines] == items


def test_environment_variable_sets_the_default_format(varlint, train):
    run = varlint("check", "train.py", env={"VARLINT_OUTPUT_FORMAT": "pylint"})
    assert run.stdout.splitlines()[0].startswith("train.py:4: [VL001] `Variable` is a legacy wrapper")
    # An explicit option wins.
    run = varlint("check", "--output-format", "concise", "train.py", env={"VARLINT_OUTPUT_FORMAT": "pylint"})
    assert run.stdout.startswith("train.py:4:5: VL001")


def test_github_workflow_commands(varlint, train):
    first = varlint("check", "--output-format", "github", "train.py").stdout.splitlines()[0]
    assert first.startswith(
        "::error title=varlint (VL001),file=train.py,line=4,col=5,endLine=4,endColumn=52::"
        "train.py:4:5: VL001 `Variable` is a legacy wrapper"
    )


def test_gitlab_code_quality_report(varlint, train):
    items = json.loads(varlint("check", "--output-format", "gitlab", "train.py").stdout)
    assert items[0]["check_name"] == "VL001" and items[0]["severity"] == "major"
    assert items[0]["description"].startswith("VL001: `Variable` is a legacy wrapper")
    assert items[3]["location"] == {"path": "train.py", "lines": {"begin": 8, "end": 8}}
    assert len({item["fingerprint"] for item in items}) == 4  # unique, also for the two VL001


def test_azure_and_pylint(varlint, train):
    azure = varlint("check", "--output-format", "azure", "train.py").stdout.splitlines()
    assert azure[2].startswith(
        "##vso[task.logissue type=error;sourcepath=train.py;linenumber=5;columnnumber=32;code=VL003;]`volatile`"
    )
    pylint = varlint("check", "--output-format", "pylint", "train.py").stdout.splitlines()
    assert pylint[3].startswith("train.py:8: [VL004] `loss` is a 0-dim tensor")


def test_junit(varlint, train, tmp_path):
    root = ElementTree.fromstring(varlint("check", "--output-format", "junit", "train.py").stdout)
    assert root.tag == "testsuites" and root.get("failures") == "4"
    cases = root.findall("testsuite/testcase")
    assert [(c.get("name"), c.get("line")) for c in cases][:2] == [("org.varlint.VL001", "4"), ("org.varlint.VL001", "5")]
    assert cases[0].find("failure").text.startswith("line 4, col 5, `Variable`")
    (tmp_path / "train.py").write_text("x = 1\n")
    clean = ElementTree.fromstring(varlint("check", "--output-format", "junit", "train.py").stdout)
    assert clean.get("failures") == "0" and clean.find("testsuite/testcase").get("name") == "No errors found"


def test_rdjson_with_suggestions(varlint, train):
    document = json.loads(varlint("check", "--output-format", "rdjson", "train.py").stdout)
    assert document["source"]["name"] == "varlint"
    last = document["diagnostics"][3]
    assert last["code"] == {"value": "VL004"}
    assert last["location"]["range"] == {"start": {"line": 8, "column": 7}, "end": {"line": 8, "column": 19}}
    assert last["suggestions"] == [{"range": last["location"]["range"], "text": "loss.item()"}]


def test_sarif_is_valid_sarif_2_1_0_with_rules_fixes_and_artifacts(varlint, train):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    document = json.loads(varlint("check", "--output-format", "sarif", "train.py").stdout)
    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["VL001", "VL003", "VL004"]
    assert run["tool"]["driver"]["rules"][2]["name"] == "zero-dim-index"
    assert "## Fix safety" in run["tool"]["driver"]["rules"][2]["fullDescription"]["text"]
    assert run["artifacts"] == [{"location": {"uri": "train.py", "uriBaseId": "%SRCROOT%"}}]
    result = run["results"][3]
    assert result["ruleId"] == "VL004" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 8, "startColumn": 7, "endLine": 8, "endColumn": 19
    }
    replacement = result["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"] == {"text": "loss.item()"}
    # The schema check can fail: a result without its message is rejected.
    del result["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(document)


def test_machine_formats_have_no_summary_and_no_colour(varlint, train):
    for name in ("json", "json-lines", "junit", "github", "gitlab", "pylint", "azure", "rdjson", "sarif"):
        run = varlint("check", "--output-format", name, "--color", "always", "train.py")
        assert "Found 4 errors" not in run.stdout and "\x1b[" not in run.stdout, name


def test_output_file(varlint, train, tmp_path):
    run = varlint("check", "--output-format", "json", "--output-file", "report.json", "train.py")
    assert run.exit_code == 1 and run.stdout == ""
    assert len(json.loads((tmp_path / "report.json").read_text())) == 4


def test_color_auto_always_never_and_environment(varlint, train):
    assert "\x1b[" not in varlint("check", "train.py").stdout  # not a terminal
    assert "\x1b[" in varlint("check", "--color", "always", "train.py").stdout
    assert "\x1b[" in varlint("check", "train.py", env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in varlint("check", "--color", "never", "train.py", env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in varlint("check", "train.py", env={"NO_COLOR": "1"}).stdout


def test_statistics_text_and_json(varlint, train):
    text = varlint("check", "--statistics", "train.py").stdout.splitlines()
    assert text[0].split() == ["2", "VL001", "[*]", "variable-wrapper"]
    rows = json.loads(varlint("check", "--statistics", "--output-format", "json", "train.py").stdout)
    assert rows[0] == {"code": "VL001", "name": "variable-wrapper", "count": 2, "fixable": True}
    assert [row["code"] for row in rows] == ["VL001", "VL003", "VL004"]


def test_show_fixes_counts_per_rule(varlint, train):
    run = varlint("check", "--fix", "--show-fixes", "train.py")
    assert run.exit_code == 0, run
    assert "Fixed 4 errors:\n- train.py:\n    2 × VL001 (variable-wrapper)\n    1 × VL003 (volatile-flag)\n" \
        "    1 × VL004 (zero-dim-index)\n\nFound 4 errors (4 fixed, 0 remaining).\n" in run.stdout


def test_unsafe_fixes_without_fix_shows_them_as_available(varlint, tmp_path):
    (tmp_path / "loop.py").write_text(UNSAFE_ONLY)
    plain = varlint("check", "--output-format", "concise", "loop.py").stdout
    assert "VL201 [-] " in plain and "[-] 1 more fixable with `--fix --unsafe-fixes`." in plain
    shown = varlint("check", "--unsafe-fixes", "--output-format", "concise", "loop.py").stdout
    assert "VL201 [*] " in shown and "[*] 1 fixable with `--fix --unsafe-fixes`." in shown
    assert (tmp_path / "loop.py").read_text() == UNSAFE_ONLY  # nothing written without --fix


def test_exit_non_zero_on_fix(varlint, train):
    assert varlint("check", "--fix", "--exit-non-zero-on-fix", "train.py").exit_code == 1
    # Nothing left to fix: 0 again.
    assert varlint("check", "--fix", "--exit-non-zero-on-fix", "train.py").exit_code == 0


def test_stdin_is_checked_under_its_stdin_filename(varlint, tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pyproject.toml").write_text('[tool.varlint.per-file-ignores]\n"model.py" = ["VL003"]\n')
    run = varlint("check", "--output-format", "concise", "--stdin-filename", "pkg/model.py", "-", input=TRAIN)
    assert run.exit_code == 1
    assert [line.split(" ")[:2] for line in run.stdout.splitlines()[:3]] == [
        ["pkg/model.py:4:5:", "VL001"], ["pkg/model.py:5:5:", "VL001"], ["pkg/model.py:8:7:", "VL004"]
    ]  # the per-file-ignores of pkg/ apply: no VL003
    anonymous = varlint("check", "--output-format", "concise", "-", input=TRAIN)
    assert anonymous.stdout.startswith("-:4:5: VL001")


def test_stdin_with_fix_prints_the_fixed_source(varlint):
    run = varlint("check", "--fix", "--stdin-filename", "train.py", input=TRAIN)
    assert run.exit_code == 0, run
    assert run.stdout_bytes.decode() == TRAIN.replace(
        "from torch.autograd import Variable\n", ""
    ).replace("Variable(torch.zeros(2, 2), requires_grad=True)", "torch.zeros(2, 2, requires_grad=True)").replace(
        "Variable(torch.ones(2, 2), volatile=True)", "torch.ones(2, 2)"
    ).replace("loss.data[0]", "loss.item()")
    assert "Found 4 errors (4 fixed, 0 remaining)." in run.stderr


def test_help_line_never_cuts_a_replacement(varlint, tmp_path):
    long_call = "torch.zeros(" + ", ".join(["batch_size_for_this_experiment"] * 4) + ")"
    (tmp_path / "long.py").write_text(
        f"import torch\nfrom torch.autograd import Variable\n\nx = Variable({long_call})\n"
    )
    run = varlint("check", "long.py")
    help_lines = [line for line in run.stdout.splitlines() if "= help" in line]
    assert help_lines == ["  = help (fix): Replace with the rewritten code (run `varlint check --diff` to see it)"]
    assert long_call in varlint("check", "--diff", "long.py").stdout


def _run_with_terminal_stderr(args, cwd):
    """Run varlint with stderr on a pseudo-terminal; return (stdout, what the terminal got)."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "varlint", *args], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    stdout = process.stdout.read().decode()
    process.wait()
    os.close(master)
    return stdout, seen.decode()


def test_progress_only_on_a_terminal_and_never_in_machine_formats(tmp_path):
    for index in range(12):
        (tmp_path / f"m{index}.py").write_text("x = 1\n")
    stdout, terminal = _run_with_terminal_stderr(["check", "."], tmp_path)
    assert "checked 12/12 files" in terminal and "checked" not in stdout
    _, terminal = _run_with_terminal_stderr(["check", "--output-format", "json", "."], tmp_path)
    assert "checked" not in terminal
    piped = subprocess.run([sys.executable, "-m", "varlint", "check", "."], cwd=tmp_path, capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "checked" not in piped.stderr and piped.stdout == "All checks passed!\n"


def test_runtime_help_and_usage_errors(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    shown = subprocess.run([sys.executable, "-m", "runtime", "--help"], capture_output=True, text=True, env=env)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: python -m runtime")
    assert "--events FILE" in shown.stdout and shown.stderr == ""
    for args, message in ((["nowhere.py"], "no such program file: nowhere.py"), (["--bogus", "x.py"], "unknown option --bogus"), ([], "give the PROGRAM.py")):
        failed = subprocess.run([sys.executable, "-m", "runtime", *args], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert failed.returncode == 2 and message in failed.stderr and "Traceback" not in failed.stderr


def test_stdin_with_diff_prints_the_diff_and_nothing_else(varlint):
    run = varlint("check", "--diff", "--stdin-filename", "train.py", "-", input=TRAIN)
    assert run.exit_code == 1
    assert run.stdout.startswith("--- train.py\n+++ train.py\n")
    assert "+print(loss.item(), w.grad)\n" in run.stdout


def test_add_noqa_refuses_standard_input(varlint):
    run = varlint("check", "--add-noqa", "-", input=TRAIN)
    assert run.exit_code == 2 and "cannot read standard input" in run.stderr


@pytest.fixture
def notebook_file(tmp_path):
    import shutil

    shutil.copy2(ROOT / "fixtures" / "notebooks" / "evaluation_volatile.ipynb", tmp_path / "eval.ipynb")
    return tmp_path / "eval.ipynb"


def test_structured_formats_name_a_notebooks_cell(varlint, notebook_file):
    """Every machine format says the cell of a notebook's diagnostic where it has a place for
    it, else in the message (VL001 and VL003 in cell 5, VL002 in cell 6; rows in the cell)."""
    jsonschema = pytest.importorskip("jsonschema")

    def out(name: str) -> str:
        return varlint("check", "--output-format", name, "eval.ipynb").stdout

    assert [(item["cell"], item["code"]) for item in json.loads(out("json"))] == [(5, "VL001"), (5, "VL003"), (6, "VL002")]
    assert [json.loads(line)["cell"] for line in out("json-lines").splitlines()] == [5, 5, 6]

    sarif = json.loads(out("sarif"))
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    result = sarif["runs"][0]["results"][2]
    assert result["ruleId"] == "VL002" and result["properties"] == {"cell": 6}
    assert result["locations"][0]["logicalLocations"] == [{"name": "cell 6", "kind": "element"}]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2

    # GitHub annotations cannot point into a cell: the file is annotated, the cell is in the text.
    github = out("github").splitlines()
    assert github[2].startswith("::error title=varlint (VL002),file=eval.ipynb::eval.ipynb:cell 6:2:25: VL002 ")
    assert "line=" not in github[2]

    assert [item["description"].split(":")[0] for item in json.loads(out("gitlab"))] == [
        "VL001 (cell 5)", "VL003 (cell 5)", "VL002 (cell 6)"]
    assert out("pylint").splitlines()[2].startswith("eval.ipynb:2: [VL002] cell 6: `isinstance")
    assert "linenumber=2;columnnumber=25;code=VL002;]cell 6: " in out("azure").splitlines()[2]
    assert json.loads(out("rdjson"))["diagnostics"][2]["message"].startswith("cell 6: ")
    failures = [f.text for f in ElementTree.fromstring(out("junit")).iter("failure")]
    assert failures[2].startswith("cell 6, line 2, col 25, ")
