"""The pre-commit hooks of .pre-commit-hooks.yaml, run by the real `pre-commit try-repo`.

`pre-commit try-repo REPO` clones REPO at its HEAD commit, installs the hook's package into a
fresh virtualenv (`language: python`: `pip install .`) and runs the hooks. For a repository
with uncommitted changes it commits only the tracked, modified files into a shadow copy:
untracked files (a new rule module, the hooks file itself before its first commit) would be
silently left out. So the test snapshots the installable part of this working tree (the
package sources, pyproject.toml, README.md, the hooks file) into a temporary git repository
and points try-repo at that: it checks the code as it is on disk, committed or not.

Each try-repo call installs varlint into a new virtualenv (7-30 s, depending on the package
index), so the test makes two calls, each running both hooks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
INSTALLABLE = ["pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "varlint", "runtime"]

LEGACY = """\
import torch
from torch.autograd import Variable

x = Variable(torch.ones(2))
print(x)
"""
FIXED = """\
import torch

x = torch.ones(2)
print(x)
"""

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="varlint tests",
        GIT_AUTHOR_EMAIL="tests@varlint.invalid",
        GIT_COMMITTER_NAME="varlint tests",
        GIT_COMMITTER_EMAIL="tests@varlint.invalid",
        PRE_COMMIT_HOME=str(home),
    )
    return env


def git(env: dict[str, str], cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory) -> Path:
    """A git repository holding a snapshot of this working tree's installable files."""
    repo = tmp_path_factory.mktemp("varlint-hooks-repo")
    for name in INSTALLABLE:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, repo / name)
    env = git_env(tmp_path_factory.mktemp("pre-commit-home"))
    git(env, repo, "init", "-q")
    git(env, repo, "add", "-A")
    git(env, repo, "commit", "-q", "-m", "snapshot of the varlint working tree")
    return repo


def try_repo(hooks_repo: Path, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run every hook of `hooks_repo` on all files of `project`."""
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks_repo), "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hooks_fail_on_legacy_code_then_pass_once_fixed(hooks_repo, tmp_path):
    env = git_env(tmp_path / "pre-commit-home")
    project = tmp_path / "project"
    project.mkdir()
    git(env, project, "init", "-q")
    legacy = project / "train.py"
    legacy.write_text(LEGACY)
    (project / "notes.txt").write_text("Variable(x) is not Python, and not checked\n")
    # `exclude` holds for the files pre-commit names one by one, too.
    (project / "pyproject.toml").write_text('[tool.varlint]\nexclude = ["vendored/"]\n')
    vendored = project / "vendored" / "old.py"
    vendored.parent.mkdir()
    vendored.write_text(LEGACY)
    git(env, project, "add", "-A")

    # Both hooks (pre-commit runs them in id order): `varlint` reports the legacy call and
    # fails without touching anything, then `varlint-fix` rewrites the file, and pre-commit
    # fails a hook that modified files.
    first = try_repo(hooks_repo, project, env)
    assert first.returncode == 1, first.stdout + first.stderr
    check, fix = hook_sections(first.stdout)
    assert check.startswith("varlint....") and check.splitlines()[0].endswith("Failed"), check
    assert "train.py:4:5: VL001" in check
    assert "notes.txt" not in check and "vendored" not in check
    assert "files were modified by this hook" not in check
    assert fix.startswith("varlint (fix)....") and fix.splitlines()[0].endswith("Failed"), fix
    assert "files were modified by this hook" in fix
    assert legacy.read_text() == FIXED
    assert vendored.read_text() == LEGACY

    # Now clean: both hooks pass.
    git(env, project, "add", "-A")
    second = try_repo(hooks_repo, project, env)
    assert second.returncode == 0, second.stdout + second.stderr
    results = [section.splitlines()[0] for section in hook_sections(second.stdout)]
    assert len(results) == 2 and all(line.endswith("Passed") for line in results), second.stdout


def hook_sections(output: str) -> list[str]:
    """The part of pre-commit's output that belongs to each hook, in order."""
    return re.findall(r"^varlint.*?(?=^varlint|\Z)", output.split("=" * 79)[-1].lstrip(), re.M | re.S)
