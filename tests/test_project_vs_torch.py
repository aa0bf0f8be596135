"""Folder fixtures (fixtures/project/NAME/) held to real PyTorch 2.13, as one program each.

For every folder with a `main.py`, three trees are run: the original modules, the *fixed* tree
(each module replaced by its `.fixed.py` where it has one) and the *unsafe-fixed* tree
(`.unsafe-fixed.py`, else `.fixed.py`, else the original). A tree the fixes leave unchanged is
not run twice. Each tree's `main.py` runs under `python -m runtime` and under real torch in a
copy of the folder (so the fixed modules are the ones imported); stdout and the final
exception line must be the same. Skipped without torch; a folder whose modules say
`# fixture: no-run` or `no-torch-compare` is skipped with its reason (the original's crash on
torch is then by design, written in the comment under the directive); a folder that crashes
identically on both is compared like any other (the crash line is part of the comparison).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixture_support import project_cases
import runtime_harness as harness

TREES = ("original", "fixed", "unsafe-fixed")


def _replacement(module: Path, tree: str) -> Path:
    """The file that stands for `module` in `tree`."""
    fixed = module.with_name(module.stem + ".fixed.py")
    unsafe = module.with_name(module.stem + ".unsafe-fixed.py")
    if tree == "fixed":
        return fixed if fixed.exists() else module
    if tree == "unsafe-fixed":
        return unsafe if unsafe.exists() else fixed if fixed.exists() else module
    return module


def build_tree(folder: Path, tree: str, target: Path) -> Path | None:
    """Copy the folder's modules as `tree` into `target`; the copy's main.py, or None when the
    tree is the original's (no module differs)."""
    differs = False
    for module in sorted(folder.rglob("*.py")):
        if harness.original_of(module) is not None:
            continue  # a fixed output: it stands in for its original below
        source = _replacement(module, tree)
        differs |= source != module
        destination = target / module.relative_to(folder)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return target / "main.py" if differs or tree == "original" else None


CASES = [
    pytest.param(project, tree, id=f"{project.id}-{tree}")
    for project in project_cases() if project.main is not None
    for tree in TREES
]


@pytest.mark.parametrize("project, tree", CASES)
def test_folder_fixture_runs_as_under_torch(project, tree, tmp_path):
    if not harness.torch_available():
        pytest.skip("real PyTorch is not installed")
    skipped = project.directives & {"no-run", "no-torch-compare"}
    if skipped:
        pytest.skip(f"{project.id}: `# fixture: {' '.join(sorted(skipped))}` (see the comment under it)")
    main = build_tree(project.folder, tree, tmp_path)
    if main is None:
        pytest.skip(f"{project.id}: no {tree} output differs from the original")
    runtime_run = harness.run_with_runtime_cli(main)
    torch_run = harness.run_with_torch(main, fork=False)
    assert not torch_run.timed_out, f"{project.id} ({tree}) timed out under real torch"
    problem = harness.compare_runs(torch_run, runtime_run)
    assert problem is None, f"{project.id} ({tree}): runtime and PyTorch disagree\n{problem}"


def test_a_fixed_tree_imports_the_fixed_modules(tmp_path):
    project = next(p for p in project_cases() if (p.folder / "model.fixed.py").exists())
    main = build_tree(project.folder, "fixed", tmp_path)
    assert main is not None
    assert (tmp_path / "model.py").read_text() == (project.folder / "model.fixed.py").read_text()
    assert not list(tmp_path.rglob("*.fixed.py"))
