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

    def lint(path, source, codes):
        return next(passes, [])

    outcome = fixes.fix_until_stable("f.py", text, frozenset(), Applicability.SAFE, lint)
    assert outcome.text == "a = -1\nb = 2\nc = -3\n"
    assert [failure.diagnostic.code for failure in outcome.failures] == ["VL902"]
