"""Regressions of the fix engine found on real code (issue 11), through the CLI in-process.

Fixture-shaped regressions (a parenthesized `.data` receiver, VL005 in match/case, `x = x`,
no `.detach()` on fresh tensors, multi-line calls keeping layout and comments) live under
fixtures/VL001 and fixtures/VL005; these are the ones about the run itself.
"""

from __future__ import annotations

import re
import warnings

from click.testing import CliRunner

from varlint import fixes
from varlint.cli import main
from varlint.diagnostic import Applicability, Diagnostic, Edit, Fix, Position
from varlint.rules import multinomial_num_samples

PROGRAM = """\
import torch
from torch.autograd import Variable

x = torch.ones(2)
v = Variable(x, volatile=True)
probs = torch.tensor([0.5, 0.5])
print(v.data.numpy(), probs.multinomial().shape, x is 1)
"""


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_counts_agree_between_check_diff_and_fix(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    fixable = int(re.search(r"\[\*\] (\d+) fixable", run("check", str(path)).stdout).group(1))
    would = int(re.search(r"Would fix (\d+) error", run("check", "--diff", str(path)).stderr).group(1))
    fixed = int(re.search(r"\((\d+) fixed", run("check", "--fix", str(path)).stdout).group(1))
    # VL001's fix also removes the VL003 of its `volatile=`: two diagnostics, counted twice.
    assert fixable == would == fixed == 4


def test_no_syntax_warning_leaks_from_verifying_the_fixed_text(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    for args in (["--diff"], ["--fix"]):
        result = run("check", *args, str(path))
        assert "SyntaxWarning" not in result.stderr, result.stderr


def broken_method_fix(self, node):
    start = multinomial_num_samples.to_position(self.context.range(node).end)
    return Edit(start, start, "(((")


def test_a_fix_that_does_not_parse_is_reported_and_the_others_applied(tmp_path, monkeypatch):
    monkeypatch.setattr(multinomial_num_samples.MultinomialNumSamples, "method_fix", broken_method_fix)
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    diff = run("check", "--diff", str(path))
    assert diff.exit_code == 2
    assert "x.detach()" in diff.stdout and "Would fix 3 errors" in diff.stderr
    assert re.search(rf"internal error: the VL301 fix at {re.escape(str(path))}:7:\d+ ", diff.stderr)

    fixed = run("check", "--fix", str(path))
    assert fixed.exit_code == 2
    text = path.read_text()
    assert "Variable" not in text and "v.detach().numpy()" in text and "multinomial()" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compile(text, str(path), "exec")


def diagnostic(code, row, column, content):
    position = Position(row, column)
    fix = Fix(Applicability.SAFE, f"fix {code}", (Edit(position, position, content),))
    return Diagnostic(code, code.lower(), "message", "f.py", position, position, fix)


def test_isolation_keeps_every_good_fix():
    text = "a = 1\nb = 2\nc = 3\n"
    # Three insertions: the middle one breaks the file, the others are fine.
    passes = iter([
        [diagnostic("VL901", 1, 5, "-"), diagnostic("VL902", 2, 5, "("), diagnostic("VL903", 3, 5, "-")],
    ])

    def lint(path, source, codes, parsed=None):
        return next(passes, [])

    outcome = fixes.fix_until_stable("f.py", text, frozenset(), Applicability.SAFE, lint)
    assert outcome.text == "a = -1\nb = 2\nc = -3\n"
    assert [failure.diagnostic.code for failure in outcome.failures] == ["VL902"]


# --- A fix never breaks another module: the `Variable` import a star importer still uses -----

MODEL = """\
import torch
from torch.autograd import Variable


def make_input():
    return Variable(torch.ones(1, 3))
"""
TRAIN = """\
import torch
from model import *

x = Variable(torch.ones(2, 3))
kinds = (Variable, torch.Tensor)
print(make_input().shape, isinstance(x, kinds))
"""


def two_modules(root, model=MODEL, train=TRAIN):
    root.mkdir(exist_ok=True)
    (root / "model.py").write_text(model)
    (root / "train.py").write_text(train)
    return root


def runs_on_the_runtime(program):
    import runtime

    result = runtime.run(program, timeout=60)
    assert result.exception is None, result.stderr
    return result.stdout


def test_fix_keeps_the_import_a_star_importer_uses(tmp_path):
    tree = two_modules(tmp_path / "tree")
    before = runs_on_the_runtime(tree / "train.py")
    result = run("check", "--fix", str(tree))
    assert result.exit_code == 1, result.output  # the unfixable VL002 in train.py remains
    assert "from torch.autograd import Variable" in (tree / "model.py").read_text()
    assert "return torch.ones(1, 3)" in (tree / "model.py").read_text()
    assert "x = torch.ones(2, 3)" in (tree / "train.py").read_text()
    assert runs_on_the_runtime(tree / "train.py") == before  # no NameError


def test_variable_through_a_star_import_is_the_legacy_wrapper(tmp_path):
    tree = two_modules(tmp_path / "tree")
    report = run("check", "--output-format", "concise", str(tree)).stdout
    assert re.search(r"train\.py:4:5: VL001", report) and re.search(r"train\.py:5:10: VL002", report)


def test_diff_keeps_the_import_too(tmp_path):
    tree = two_modules(tmp_path / "tree")
    diff = run("check", "--diff", str(tree)).stdout
    assert "+    return torch.ones(1, 3)" in diff
    assert "-from torch.autograd import Variable" not in diff


def test_import_removed_when_no_other_module_needs_it(tmp_path):
    # train.py star-imports model but never reads `Variable` (nor does anything else).
    tree = two_modules(tmp_path / "tree", train="from model import *\nprint(make_input().shape)\n")
    run("check", "--fix", str(tree))
    assert "Variable" not in (tree / "model.py").read_text()
    runs_on_the_runtime(tree / "train.py")


def test_import_by_name_and_through_re_exporting_stars(tmp_path):
    tree = two_modules(tmp_path / "tree", train="from utils import *\nprint(Variable is not None)\n")
    (tmp_path / "tree" / "utils.py").write_text("from model import *\n")
    (tmp_path / "tree" / "data.py").write_text("from model import Variable\n")
    run("check", "--fix", str(tree))
    assert "from torch.autograd import Variable" in (tree / "model.py").read_text()
    assert runs_on_the_runtime(tree / "train.py") == "True\n"
    # Only data.py's by-name import needs it now: still kept (an ImportError otherwise).
    (tree / "train.py").write_text("print(1)\n")
    (tree / "model.py").write_text(MODEL)
    run("check", "--fix", str(tree))
    assert "from torch.autograd import Variable" in (tree / "model.py").read_text()


def test_stdin_filename_inside_a_tree(tmp_path, monkeypatch):
    tree = two_modules(tmp_path / "tree")
    monkeypatch.chdir(tree)
    fixed = CliRunner().invoke(main, ["check", "--fix", "--stdin-filename", "model.py"], input=MODEL)
    assert "from torch.autograd import Variable" in fixed.stdout  # the fixed source on stdout
    assert "return torch.ones(1, 3)" in fixed.stdout
    diff = CliRunner().invoke(main, ["check", "--diff", "--stdin-filename", "model.py"], input=MODEL)
    assert "-from torch.autograd import Variable" not in diff.stdout and "+    return torch.ones" in diff.stdout
    # train.py from stdin sees model.py on disk: `Variable` comes through its star import.
    checked = CliRunner().invoke(main, ["check", "--output-format", "concise", "--stdin-filename", "train.py"],
                                 input=TRAIN)
    assert "train.py:4:5: VL001" in checked.stdout
    # Outside any tree, as before: nothing else is known to need the import.
    lone = CliRunner().invoke(main, ["check", "--fix", "--stdin-filename", "-"], input=MODEL)
    assert "import Variable" not in lone.stdout


def test_a_file_checked_alone_knows_the_rest_of_its_tree(tmp_path):
    # As pre-commit runs it: only the changed file is named. train.py, not checked, still
    # needs model.py's import; train.py checked alone still gets `Variable` from model.py.
    tree = two_modules(tmp_path / "tree")
    run("check", "--fix", str(tree / "model.py"))
    assert "from torch.autograd import Variable" in (tree / "model.py").read_text()
    assert "return torch.ones(1, 3)" in (tree / "model.py").read_text()
    assert runs_on_the_runtime(tree / "train.py")
    report = run("check", "--output-format", "concise", str(tree / "train.py")).stdout
    assert "train.py:4:5: VL001" in report and "model.py" not in report  # only train.py is checked
