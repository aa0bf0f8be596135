"""Hostile inputs (issue 14), each through the command line: a clear diagnostic or a clean result,
and the run goes on with the other files.

The inputs that could crash or hang the test process (a chain that segfaults libcst, a
gitignore pattern that backtracks for minutes) run `varlint` in a subprocess with a generous
time limit: the assertion is on the outcome, never on a duration.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varlint import parser_guard
from varlint.files import gitignore_spec

PROJECT = Path(__file__).resolve().parent.parent
LEGACY = "import torch\nfrom torch.autograd import Variable\n\nx = Variable(torch.ones(2))\n"


def varlint(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from varlint.cli import main; sys.argv[0] = 'varlint'; main()", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout,
    )


def diagnostics(output: str) -> list[tuple[str, str]]:
    return re.findall(r"^(\S+?):\d+:\d+: (VL\d{3})", output, re.M)


# --- the parser guard ---------------------------------------------------------------------

# 12,000 operands: libcst 1.9 segfaults from about 7,100 on an 8 MB stack; CPython compiles it.
CHAIN = "a = " + " and ".join(["a"] * 12_000) + "\n"


def test_a_chain_that_crashes_libcst_is_vl900_and_the_run_goes_on(tmp_path):
    (tmp_path / "chain.py").write_text(CHAIN)
    (tmp_path / "legacy.py").write_text(LEGACY)
    compile(CHAIN, "chain.py", "exec")  # valid Python
    run = varlint(tmp_path, "check", ".")
    assert run.returncode == 1, run.stderr
    assert diagnostics(run.stdout) == [("chain.py", "VL900"), ("legacy.py", "VL001")]
    assert "valid Python, but too large or too deeply nested" in run.stdout
    assert "syntax" not in run.stdout.lower()


@pytest.mark.parametrize("stack_kb", [1024, 8192])
def test_the_guard_refuses_chains_before_the_stack_libcst_needs_runs_out(tmp_path, stack_kb):
    """Below the limit the guard computes for a stack size, libcst parses the chain in a
    process with that stack (the guard's margin holds); above it, varlint refuses it."""
    import resource

    limit = int(stack_kb * parser_guard.OPERANDS_PER_KB * parser_guard.SAFETY)
    script = (
        "import libcst\n"
        "from varlint import parser_guard, engine\n"
        f"assert parser_guard.depth_limit() == {limit}, parser_guard.depth_limit()\n"
        f"under = engine.parse('x.py', 'a = ' + ' and '.join(['a'] * {limit - 4}) + '\\n')\n"
        "assert isinstance(under, libcst.Module), under\n"
        f"over = engine.parse('x.py', 'a = ' + ' and '.join(['a'] * {limit + 10}))\n"
        "assert over.code == 'VL900' and 'too deeply nested' in over.message, over\n"
    )
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    if hard != resource.RLIM_INFINITY and hard < stack_kb * 1024:
        pytest.skip("the hard stack limit is lower than this stack size")

    def with_stack():  # in the child before exec: its main thread gets this stack
        resource.setrlimit(resource.RLIMIT_STACK, (stack_kb * 1024, hard))

    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True,
                            timeout=300, preexec_fn=with_stack)
    assert result.returncode == 0, result.stderr[-2000:]


def test_what_cpythons_compiler_refuses_is_vl900_not_fixed(tmp_path):
    """A repeated keyword argument parses (ast), but CPython refuses to compile it."""
    (tmp_path / "dup.py").write_text("import torch\nfrom torch.autograd import Variable\n"
                                     "x = Variable(torch.ones(2), volatile=True, volatile=False)\n")
    run = varlint(tmp_path, "check", "--fix", "dup.py")
    assert diagnostics(run.stdout) == [("dup.py", "VL900")]
    assert "keyword argument repeated" in run.stdout


def test_what_libcst_alone_refuses_is_not_called_a_syntax_error(tmp_path):
    source = "x = " + " ".join(["'a'"] * 5000) + "\n"  # valid; libcst 1.9 gives up on it
    (tmp_path / "strings.py").write_text(source)
    run = varlint(tmp_path, "check", "strings.py")
    assert diagnostics(run.stdout) == [("strings.py", "VL900")]
    assert "valid Python, but too large" in run.stdout


# --- reading and finding files ------------------------------------------------------------


def test_an_unknown_coding_cookie_is_vl901_naming_it(tmp_path):
    (tmp_path / "klingon.py").write_text("# -*- coding: klingon -*-\nx = 1\n")
    (tmp_path / "legacy.py").write_text(LEGACY)
    run = varlint(tmp_path, "check", ".")
    assert diagnostics(run.stdout) == [("klingon.py", "VL901"), ("legacy.py", "VL001")]
    assert "unknown encoding `klingon`" in run.stdout
    python = subprocess.run([sys.executable, "klingon.py"], cwd=tmp_path, capture_output=True, text=True)
    assert python.returncode != 0  # CPython refuses the file too


def test_a_cookie_contradicting_the_bom_is_vl901(tmp_path):
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf# coding: latin-1\nx = 1\n")
    run = varlint(tmp_path, "check", "bom.py")
    assert diagnostics(run.stdout) == [("bom.py", "VL901")]
    assert "`latin-1`" in run.stdout


def test_symlink_loops_are_skipped_not_internal_errors(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "legacy.py").write_text(LEGACY)
    os.symlink("..", tmp_path / "pkg" / "up")  # a directory loop
    os.symlink("b.py", tmp_path / "a.py")  # a file loop
    os.symlink("a.py", tmp_path / "b.py")
    os.symlink("self.py", tmp_path / "self.py")
    run = varlint(tmp_path, "check", ".")
    assert run.returncode == 1, run.stderr
    assert "internal error" not in run.stderr
    assert diagnostics(run.stdout) == [("pkg/legacy.py", "VL001")]


def test_a_backtracking_gitignore_pattern_does_not_stall_discovery(tmp_path):
    """20 stars: pathspec's own regex takes minutes per name; the rewritten one does not."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("a*" * 20 + "b\n")
    for index in range(200):
        (tmp_path / f"{'a' * 40}{index}.py").write_text("x = 1\n")
    (tmp_path / ("a" * 40 + "b")).mkdir()
    (tmp_path / ("a" * 40 + "b") / "ignored.py").write_text(LEGACY)
    run = varlint(tmp_path, "check", ".", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All checks passed!" in run.stdout


GLOB_PARTS = st.sampled_from(["a", "b", "*", "?", "[ab]", "[!a]", "/", "**/", "\\*", "."])


@settings(max_examples=150, deadline=None)
@given(
    pattern=st.lists(GLOB_PARTS, min_size=1, max_size=8).map("".join),
    path=st.lists(st.sampled_from(["a", "b", "/", ".", "*"]), min_size=1, max_size=12).map("".join),
)
def test_rewritten_gitignore_patterns_match_exactly_what_pathspec_matches(pattern, path):
    original = pathspec.GitIgnoreSpec.from_lines([pattern])
    assert gitignore_spec([pattern]).match_file(path) == original.match_file(path)


# --- size and configuration -----------------------------------------------------------------


def test_a_long_elif_chain_is_analysed_or_said_to_be_too_large(tmp_path):
    branches = "".join(f"elif x == {i}:\n    y = {i}\n" for i in range(1, 600))
    (tmp_path / "chain.py").write_text("import torch\nx = 1\nif x == 0:\n    y = 0\n" + branches)
    (tmp_path / "legacy.py").write_text(LEGACY)
    run = varlint(tmp_path, "check", ".")
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr[-2000:]
    found = diagnostics(run.stdout)
    assert ("legacy.py", "VL001") in found
    assert [code for path, code in found if path == "chain.py"] in ([], ["VL900"])
    assert "syntax" not in run.stdout.lower()


def test_thousands_of_assignments_to_one_name_are_checked(tmp_path):
    (tmp_path / "assign.py").write_text("import torch\n" + "".join(f"x = x + {i}\n" for i in range(4000)))
    run = varlint(tmp_path, "check", "assign.py", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_deeply_nested_pyproject_is_a_configuration_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.varlint]\nx = " + "[" * 10_000 + "]" * 10_000 + "\n")
    (tmp_path / "legacy.py").write_text(LEGACY)
    run = varlint(tmp_path, "check", ".")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "pyproject.toml" in run.stderr
