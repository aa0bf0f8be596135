"""The fuzz suite (issue 14): generated programs never crash `check`, and `--fix` (safe and
unsafe) gives code that parses, is stable on a second run and applies every fix it offers.

Programs come from a generator of legacy PyTorch idioms and from hypothesmith (the Python
grammar, and libcst node strategies); see tests/fuzz_programs.py. The budget is small for CI
(FUZZ_EXAMPLES programs in all, 120 by default); set VARLINT_FUZZ_EXAMPLES for a larger run.

Kill-safety: `varlint check --fix` interrupted at random moments (SIGINT, SIGTERM, and SIGKILL
of its whole process group, half of those just as the files are being written) leaves every
file either as it was or fixed, and no temporary file behind, but for a SIGKILL that lands
between naming the temporary file and renaming it over the original (two system calls in a
row; varlint/atomic_write.py): that one file, which the next run removes as it finishes the
job. VARLINT_KILL_ROUNDS sets the number of SIGKILL rounds (2 by default).
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
FILLER = "".join(f"# {index:04}: padding, so that writing the file takes a moment\n" for index in range(400))
FILES = 30  # enough for the parallel path of check_paths
KILL_ROUNDS = int(os.environ.get("VARLINT_KILL_ROUNDS", "2"))  # SIGKILL rounds


def varlint_fix(tree: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from varlint.cli import main; sys.argv[0] = 'varlint'; main()",
         "check", "--fix", "-q", "."],
        cwd=tree, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: SIGKILL reaches its workers too
    )


def make_tree(tree: Path) -> None:
    for index in range(FILES):
        (tree / f"module_{index:02}.py").write_text(LEGACY.replace("2)", f"{index + 2})") + FILLER)


def read_tree(tree: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in tree.iterdir()}


def assert_each_original_or_fixed(tree: Path, originals: dict, fixed: dict, killed: bool) -> tuple[int, int]:
    """Every file as it was or fixed, nothing else in the folder but, after a SIGKILL that
    landed between naming a temporary file and renaming it, that one file (varlint's own
    name, removed by the next run); return (files fixed, temporaries left)."""
    from varlint.atomic_write import STALE_NAME

    found = read_tree(tree)
    extra = set(found) - set(originals)
    assert set(originals) <= set(found)
    assert all(killed and STALE_NAME.match(name) for name in extra), f"left behind: {sorted(extra)}"
    assert len(extra) <= 1, f"left behind: {sorted(extra)}"  # one write at a time
    for name in originals:
        assert found[name] in (originals[name], fixed[name]), name
    return sum(found[name] == fixed[name] for name in originals), len(extra)


def kill_during_writes(process: subprocess.Popen, tree: Path, originals: dict, chooser: random.Random) -> None:
    """SIGKILL a moment after the first file has been rewritten (writes come last)."""
    names = sorted(originals)
    while process.poll() is None:
        if any((tree / name).read_text() != originals[name] for name in names):
            time.sleep(chooser.uniform(0, 0.004))
            break
        time.sleep(0.0005)
    os.killpg(process.pid, signal.SIGKILL)


def test_fix_interrupted_at_random_moments_leaves_each_file_original_or_fixed(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    make_tree(reference)
    originals = read_tree(reference)
    started = time.monotonic()
    assert varlint_fix(reference).wait(timeout=600) == 0
    duration = time.monotonic() - started
    fixed = read_tree(reference)
    assert all(fixed[name] != originals[name] for name in originals)

    chooser = random.Random(14)
    rounds = [signal.SIGINT, signal.SIGTERM] + [signal.SIGKILL] * KILL_ROUNDS
    outcomes = []
    for attempt, signum in enumerate(rounds):
        tree = tmp_path / f"run{attempt}"
        tree.mkdir()
        make_tree(tree)
        process = varlint_fix(tree)
        if signum == signal.SIGKILL and attempt % 2:
            kill_during_writes(process, tree, originals, chooser)
        else:
            time.sleep(chooser.uniform(0.3, 1.0) * duration)  # from start-up to the last writes
            os.killpg(process.pid, signum) if signum == signal.SIGKILL else process.send_signal(signum)
        process.wait(timeout=600)
        outcomes.append(assert_each_original_or_fixed(tree, originals, fixed, signum == signal.SIGKILL))
        if signum == signal.SIGKILL:  # and the next run finishes the job, leaving nothing
            assert varlint_fix(tree).wait(timeout=600) == 0
            assert read_tree(tree) == fixed
        shutil.rmtree(tree)
    print(f"(files fixed, temporaries left) when killed, per round "
          f"({[signal.Signals(s).name for s in rounds]}): {outcomes}")


def test_a_killed_runs_temporary_file_is_removed_by_the_next_run(tmp_path):
    from varlint import atomic_write

    (tmp_path / "model.py").write_text(LEGACY)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    stale = Path(atomic_write.temporary_name(str(tmp_path / "model.py"), finished.pid))
    running = Path(atomic_write.temporary_name(str(tmp_path / "model.py"), os.getpid()))  # a live run's
    users = tmp_path / ".model.py.varlint-backup.tmp"  # not a name varlint makes
    for path in (stale, running, users):
        path.write_text("x = 1\n")
        os.utime(path, (time.time() - 60, time.time() - 60))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "varlint", "check", "--no-cache", "-q", "."], cwd=tmp_path,
                   env=environment, stdout=subprocess.DEVNULL, check=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model.py", running.name, users.name])


def test_without_unnamed_files_the_write_is_still_atomic_and_leaves_nothing(tmp_path, monkeypatch):
    from varlint import atomic_write

    monkeypatch.setattr(atomic_write, "_unnamed_works", False)  # as on macOS or Windows
    target = tmp_path / "model.py"
    target.write_text(LEGACY)
    target.chmod(0o754)
    atomic_write.replace(str(target), b"x = 1\n")
    assert target.read_bytes() == b"x = 1\n"
    assert target.stat().st_mode & 0o777 == 0o754
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"]
