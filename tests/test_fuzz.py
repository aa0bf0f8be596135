"""The fuzz suite (issue 14): generated programs never crash `check`, and `--fix` (safe and
unsafe) gives code that parses, is stable on a second run and applies every fix it offers.

Programs come from a generator of legacy PyTorch idioms and from hypothesmith (the Python
grammar, and libcst node strategies); see tests/fuzz_programs.py. The budget is small for CI
(FUZZ_EXAMPLES programs in all, 120 by default); set VARLINT_FUZZ_EXAMPLES for a larger run.

Kill-safety: `varlint check --fix` interrupted at random moments leaves every file either as
it was or fixed, and no temporary file behind.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

import fuzz_programs

FUZZ_EXAMPLES = int(os.environ.get("VARLINT_FUZZ_EXAMPLES", "120"))
PROJECT = Path(__file__).resolve().parent.parent


def budget(share: float):
    return settings(
        max_examples=max(1, int(FUZZ_EXAMPLES * share)),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def assert_sound(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        assert fuzz_programs.problems(text, directory) == [], text


@budget(0.5)
@given(fuzz_programs.legacy_programs())
def test_legacy_idiom_programs(text):
    assert_sound(text)


@budget(0.25)
@given(__import__("hypothesmith").from_grammar())
def test_grammar_programs(text):
    assert_sound(text)


@budget(0.25)
@given(__import__("hypothesmith").from_node())
def test_cst_node_programs(text):
    assert_sound(text)


# --- kill-safety -----------------------------------------------------------------------

LEGACY = """import torch
from torch.autograd import Variable

x = Variable(torch.ones(2), volatile=True)
w = Variable(torch.zeros(2), requires_grad=True)
loss = (x * w).sum()
loss.backward()
print(loss.data[0], w.grad)
"""
FILES = 30  # enough for the parallel path of check_paths


def varlint_fix(tree: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from varlint.cli import main; sys.argv[0] = 'varlint'; main()",
         "check", "--fix", "-q", "."],
        cwd=tree, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def make_tree(tree: Path) -> None:
    for index in range(FILES):
        (tree / f"module_{index:02}.py").write_text(LEGACY.replace("2)", f"{index + 2})"))


def test_fix_interrupted_at_random_moments_leaves_each_file_original_or_fixed(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    make_tree(reference)
    originals = {p.name: p.read_text() for p in reference.iterdir()}
    started = time.monotonic()
    assert varlint_fix(reference).wait(timeout=600) == 0
    duration = time.monotonic() - started
    fixed = {p.name: p.read_text() for p in reference.iterdir()}
    assert all(fixed[name] != originals[name] for name in originals)

    chooser = random.Random(14)
    for attempt, signum in enumerate([signal.SIGINT, signal.SIGTERM] * 2):
        tree = tmp_path / f"run{attempt}"
        tree.mkdir()
        make_tree(tree)
        process = varlint_fix(tree)
        time.sleep(chooser.uniform(0.3, 1.0) * duration)  # from start-up to the last writes
        process.send_signal(signum)
        process.wait(timeout=600)
        for path in tree.iterdir():
            assert path.name in originals, f"left behind: {path.name}"
            assert path.read_text() in (originals[path.name], fixed[path.name]), path.name
        shutil.rmtree(tree)
