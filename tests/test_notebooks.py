"""Jupyter notebooks: checked cell by cell as one module, fixed in place, confirmed by running.

Data-driven over fixtures/notebooks/*.ipynb: `# expect:` comments in the code cells give the
expected diagnostics (rows counted in their cell), `name.fixed.ipynb` / `name.unsafe-fixed.ipynb`
beside each notebook the expected `--fix` output, byte for byte.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from runtime_harness import FIXTURES_DIR, REPO_ROOT, expected_in_source
from varlint import engine, notebook
from varlint.config import Settings
from varlint.diagnostic import Applicability

NOTEBOOKS = FIXTURES_DIR / "notebooks"
CASES = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if not p.name.endswith("fixed.ipynb"))
ALL_RULES = Settings(select=("ALL",))


def expected(path: Path) -> list[tuple[int, int, str]]:
    book = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for number, cell in enumerate(book["cells"], start=1):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            found += [(number, row, code) for row, code in expected_in_source(source)]
    return sorted(found)


def reported(path: Path, settings: Settings = ALL_RULES) -> list[tuple[int, int, str]]:
    result = engine.check_file(str(path), settings)
    assert result.internal_error is None, result.internal_error
    return sorted((d.cell, d.start.row, d.code) for d in result.diagnostics)


def varlint(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "varlint", *args], cwd=cwd, capture_output=True, text=True,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}, timeout=120,
    )


def write_notebook(path: Path, *sources: str) -> Path:
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    book.metadata["language_info"] = {"name": "python"}
    path.write_text(nbformat.writes(book), encoding="utf-8")
    return path


def test_fixtures_exist():
    assert len(CASES) >= 3
    assert any(expected(case) for case in CASES) and any(not expected(case) for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_diagnostics_match_annotations(case: Path):
    assert reported(case) == expected(case)


@pytest.mark.parametrize("mode", [Applicability.SAFE, Applicability.UNSAFE], ids=["fix", "unsafe-fixes"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fix_output(case: Path, mode: Applicability, tmp_path: Path):
    fixed_name = case.with_name(case.stem + ".fixed.ipynb")
    unsafe_name = case.with_name(case.stem + ".unsafe-fixed.ipynb")
    expected_output = fixed_name if fixed_name.exists() else case
    if mode is Applicability.UNSAFE and unsafe_name.exists():
        expected_output = unsafe_name
    copy = tmp_path / case.name
    shutil.copy2(case, copy)
    engine.write_fixes(engine.check_file(str(copy), Settings(), fix=mode))
    assert copy.read_text(encoding="utf-8") == expected_output.read_text(encoding="utf-8")
    assert engine.check_file(str(copy), Settings(), fix=mode).fixed_text is None  # a fixed point
    # Only code cell sources changed: outputs, metadata, execution counts are the same.
    before, after = json.loads(case.read_text()), json.loads(copy.read_text())
    for book in (before, after):
        for cell in book["cells"]:
            cell.pop("source")
    assert before == after
    nbformat.validate(nbformat.reads(copy.read_text(), as_version=nbformat.NO_CONVERT))


def test_definitions_flow_across_cells(tmp_path: Path):
    # The import of cell 1 resolves in cell 3; the loop of cell 4 sees the optimizer of cell 2.
    path = write_notebook(
        tmp_path / "flow.ipynb",
        "import torch\nfrom torch.autograd import Variable as V",
        "model = torch.nn.Linear(1, 1)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
        "x = V(torch.ones(2, 1))",
        "for _ in range(2):\n    loss = model(x).sum()\n    loss.backward()\n    optimizer.step()",
    )
    assert reported(path) == [(3, 1, "VL001"), (4, 3, "VL201")]
    result = engine.check_file(str(path), Settings(), fix=Applicability.SAFE)
    assert [number for number, _, _ in result.cell_changes] == [1, 3]  # the unused import goes too
    assert result.cell_changes[0][2] == "import torch"


def test_ipython_syntax_is_masked_not_a_syntax_error(tmp_path: Path):
    path = write_notebook(
        tmp_path / "magics.ipynb",
        "%matplotlib inline\n!pip install torch\nimport torch\nfiles = !ls\ntorch.zeros?\n??torch.ones",
        "%%bash\necho $((1 + 2)) | grep Variable(",
        "%%time\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))",
        "if True:\n    %time y = 1\n    z = 2",
    )
    assert reported(path) == [(3, 3, "VL001")]
    result = engine.check_file(str(path), Settings(), fix=Applicability.SAFE)
    sources = {number: after for number, _, after in result.cell_changes}
    assert sources == {3: "%%time\nx = torch.ones(1)"}
    # The masked lines are written back as they were.
    rewritten = json.loads(result.fixed_text)
    assert "".join(rewritten["cells"][0]["source"]).startswith("%matplotlib inline\n!pip install torch")


def test_syntax_error_is_reported_in_its_cell(tmp_path: Path):
    path = write_notebook(tmp_path / "broken.ipynb", "import torch", "x = (1,\ny = 2 +")
    [diagnostic] = engine.check_file(str(path), ALL_RULES).diagnostics
    assert (diagnostic.code, diagnostic.cell) == ("VL900", 2)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cells": [', "invalid notebook JSON"),
        ('{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}', "nbformat 3 notebook"),
        ('{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 2}',
         "not a valid nbformat 4 notebook"),
        ("[1, 2]", "not a Jupyter notebook"),
    ],
)
def test_invalid_notebook_is_vl901(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.ipynb"
    path.write_text(content, encoding="utf-8")
    [diagnostic] = engine.check_file(str(path), Settings()).diagnostics
    assert diagnostic.code == "VL901"
    assert diagnostic.message.startswith(f"cannot read the notebook: {message}")
    assert engine.check_file(str(path), Settings(), fix=Applicability.SAFE).fixed_text is None


def test_cli_text_json_diff_and_directory_walk(tmp_path: Path):
    shutil.copy2(NOTEBOOKS / "evaluation_volatile.ipynb", tmp_path / "eval.ipynb")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    shutil.copy2(NOTEBOOKS / "evaluation_volatile.ipynb", tmp_path / ".ipynb_checkpoints" / "eval.ipynb")
    text = varlint("check", ".", cwd=tmp_path)
    assert text.returncode == 1
    assert "eval.ipynb:cell 5:2:9: VL001 " in text.stdout
    assert ".ipynb_checkpoints" not in text.stdout
    items = json.loads(varlint("check", "--output-format", "json", "eval.ipynb", cwd=tmp_path).stdout)
    assert {(item["cell"], item["location"]["row"], item["code"]) for item in items} == {
        (5, 2, "VL001"), (5, 2, "VL003"), (6, 2, "VL002")
    }
    diff = varlint("check", "--diff", "eval.ipynb", cwd=tmp_path)
    assert diff.returncode == 1
    assert "--- eval.ipynb:cell 2\n+++ eval.ipynb:cell 2\n" in diff.stdout
    assert "-batch = V(torch.ones(2, 3), volatile=True)" in diff.stdout
    assert varlint("check", "--fix", "eval.ipynb", cwd=tmp_path).returncode == 0
    assert (tmp_path / "eval.ipynb").read_bytes() == (NOTEBOOKS / "evaluation_volatile.fixed.ipynb").read_bytes()


def test_fix_keeps_a_compact_layout_and_string_sources(tmp_path: Path):
    # Not every tool writes nbformat's layout: one line of JSON, a source as one string.
    book = {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n"}],
        "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 2,
    }
    path = tmp_path / "compact.ipynb"
    path.write_text(json.dumps(book, separators=(",", ":")), encoding="utf-8")
    engine.write_fixes(engine.check_file(str(path), Settings(), fix=Applicability.SAFE))
    book["cells"][0]["source"] = "import torch\nx = torch.ones(1)\n"
    assert path.read_text(encoding="utf-8") == json.dumps(book, separators=(",", ":"))


def test_non_python_notebook_is_not_checked(tmp_path: Path):
    path = write_notebook(tmp_path / "r.ipynb", "x <- Variable(1)")
    book = json.loads(path.read_text())
    book["metadata"]["language_info"] = {"name": "R"}
    path.write_text(json.dumps(book), encoding="utf-8")
    assert reported(path) == []


def test_confirm_runs_the_cells_in_order():
    result = varlint("confirm", "--output-format", "json", "fixtures/notebooks/linear_regression.ipynb")
    report = json.loads(result.stdout)
    statuses = {(d["cell"], d["location"]["row"], d["code"]): d["confirmation"] for d in report["diagnostics"]}
    assert statuses == {
        (4, 1, "VL001"): "confirmed",
        (4, 2, "VL001"): "confirmed",
        (4, 4, "VL005"): "not-observable",
        (4, 5, "VL005"): "not-observable",
        (8, 3, "VL201"): "confirmed",  # the optimizer of cell 5, the loop of cell 8
        (9, 1, "VL004"): "confirmed",
    }
    assert report["unpredicted_events"] == []


def test_fixed_notebook_prints_the_same_on_the_runtime(tmp_path: Path):
    import runtime

    case = NOTEBOOKS / "evaluation_volatile.ipynb"
    outputs = []
    for path in (case, case.with_name(case.stem + ".fixed.ipynb")):
        program = tmp_path / (path.stem + ".py")
        program.write_text(notebook.parse_notebook(str(path), path.read_text()).script().text)
        outputs.append(runtime.run(program))
    original, fixed = outputs
    assert original.exception is None and fixed.exception is None, (original.stderr, fixed.stderr)
    assert original.stdout == fixed.stdout == "torch.Size([2, 1])\nTrue\n"


def test_add_noqa_writes_the_directive_on_the_cell_line_and_only_changed_cells(tmp_path: Path):
    shutil.copy2(NOTEBOOKS / "evaluation_volatile.ipynb", tmp_path / "eval.ipynb")
    original = (tmp_path / "eval.ipynb").read_text(encoding="utf-8")
    added = varlint("check", "--add-noqa", "eval.ipynb", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "Added 2 noqa directives." in added.stderr
    assert varlint("check", "eval.ipynb", cwd=tmp_path).returncode == 0  # silenced, nothing broken
    expected = original.replace(
        '"batch = V(torch.ones(2, 3), volatile=True)  # expect: VL001, VL003\\n"',
        '"batch = V(torch.ones(2, 3), volatile=True)  # expect: VL001, VL003  # noqa: VL001, VL003\\n"',
    ).replace('"print(isinstance(batch, V))  # expect: VL002"', '"print(isinstance(batch, V))  # expect: VL002  # noqa: VL002"')
    assert expected != original
    assert (tmp_path / "eval.ipynb").read_text(encoding="utf-8") == expected  # layout, outputs, the rest kept
    again = varlint("check", "--add-noqa", "eval.ipynb", cwd=tmp_path)
    assert "Added 0 noqa directives." in again.stderr


# --- fixes that fail inside a cell (issue 11): reported as varlint bugs, the others kept -----

BAD_FIX_CELLS = (
    "import torch\nfrom torch.autograd import Variable\n",
    "x = Variable(torch.ones(2))\nprint(x.data.numpy())\n",
    "probs = torch.tensor([0.5, 0.5])\nprint(probs.multinomial().shape)\n",
)


def cli(*args: str):
    from click.testing import CliRunner

    from varlint.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def cell_sources(path: Path) -> list[str]:
    return ["".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def test_a_fix_that_does_not_parse_in_a_cell_is_reported_and_the_others_kept(tmp_path: Path, monkeypatch):
    from varlint.rules import multinomial_num_samples as vl301

    def broken_method_fix(self, node):
        start = vl301.to_position(self.context.range(node).end)
        return vl301.Edit(start, start, "(((")

    monkeypatch.setattr(vl301.MultinomialNumSamples, "method_fix", broken_method_fix)
    path = write_notebook(tmp_path / "nb.ipynb", *BAD_FIX_CELLS)
    diff = cli("check", "--diff", str(path))
    assert diff.exit_code == 2, diff.stderr
    assert re.search(rf"internal error: the VL301 fix at {re.escape(str(path))}:cell 3:2:\d+ .*does not parse", diff.stderr)
    assert "x.detach().numpy()" in diff.stdout

    fixed = cli("check", "--fix", str(path))
    assert fixed.exit_code == 2, fixed.stderr
    assert re.search(rf"internal error: the VL301 fix at {re.escape(str(path))}:cell 3:2:\d+ ", fixed.stderr)
    cells = cell_sources(path)
    assert "Variable" not in cells[1] and "x.detach().numpy()" in cells[1]  # the good fixes are kept
    assert cells[2] == BAD_FIX_CELLS[2]  # the bad one is left out
    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))


def test_a_fix_reaching_across_cells_is_reported(tmp_path: Path, monkeypatch):
    from varlint.diagnostic import Position
    from varlint.rules import multinomial_num_samples as vl301

    def crossing_method_fix(self, node):
        start = vl301.to_position(self.context.range(node).end)
        return vl301.Edit(start, Position(start.row + 2, 1), "(1))\n")

    monkeypatch.setattr(vl301.MultinomialNumSamples, "method_fix", crossing_method_fix)
    source = "probs = torch.tensor([0.5, 0.5])\nprint(probs.multinomial(\n))\n"
    path = write_notebook(tmp_path / "nb.ipynb", BAD_FIX_CELLS[0], BAD_FIX_CELLS[1], source, "print(1)\n")
    fixed = cli("check", "--fix", str(path))
    assert fixed.exit_code == 2, fixed.stderr
    assert re.search(rf"internal error: the VL301 fix at {re.escape(str(path))}:cell 3:2:\d+ .*across a cell boundary", fixed.stderr)
    cells = cell_sources(path)
    assert "x.detach().numpy()" in cells[1] and cells[2:] == [source, "print(1)\n"]


def test_good_fixes_of_a_notebook_exit_zero(tmp_path: Path):
    path = write_notebook(tmp_path / "nb.ipynb", *BAD_FIX_CELLS)
    fixed = cli("check", "--fix", str(path))
    assert "internal error" not in fixed.stderr
    assert "probs.multinomial(1)" in cell_sources(path)[2]
