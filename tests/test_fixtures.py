"""Generic, data-driven tests over every fixture in fixtures/ (found at collection time, so a
fixture added anywhere under fixtures/ is picked up without touching this file).

Layer 1, diagnostics: the (line, code) pairs varlint reports equal the file's `# expect:`
  annotations. Fixtures are checked with EVERY rule selected (`--select ALL`), so rules that are
  off by default (VL104) are annotated and tested like the others; fixtures/clean/*.py must stay
  silent even then.
Layer 2, fixes: `varlint check --fix` (the default selection, as a user runs it) turns the
  fixture into `name.fixed.py` byte for byte (BOM and newlines included), `--unsafe-fixes` into
  `name.unsafe-fixed.py`; fixing the result again changes nothing; every fixed output parses.
Layer 4, behaviour: the original and the safely fixed program print the same under the
  reference runtime (`runtime.run`), or the original crashed and the fixed program printed the
  same up to that point. `no-run` fixtures are skipped.

Folder fixtures (fixtures/project/NAME/, several modules): the same layers with the folder
checked as one project (`check_paths` over its modules, so the project index spans them):
every module's diagnostics equal its annotations; `--fix` over a copy of the folder turns each
module into its `.fixed.py` (unchanged without one); the fixed tree's `main.py` behaves like
the original's on the runtime (never a NameError: a fix must not break another module).
A `# fixture: pending` folder states a shape not found across modules yet: its diagnostics
(and fix outputs, when it has some) are strict xfails until the analysis finds it.

(Layer 3, the runtime confirming each diagnostic, and layer 5, the runtime against real
PyTorch, live in the runtime suites.)

The fixes go through the engine's own API on a copy of the fixture in tmp_path
(`check_file` + `write_fixes`), so reading, encoding and atomic writing are the real ones.
"""

from __future__ import annotations

import difflib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixture_support import (
    FixtureCase,
    ProjectFixture,
    clean_fixtures,
    expected_diagnostics,
    lint_fixtures,
    orphan_outputs,
    project_cases,
)
from varlint import engine
from varlint.config import Settings
from varlint.diagnostic import Applicability, Diagnostic

ALL_RULES = Settings(select=("ALL",))
DEFAULT_RULES = Settings()

CASES = lint_fixtures()
IDS = [case.id for case in CASES]


def reported(path: Path) -> list[tuple[int, str]]:
    result = engine.check_file(str(path), ALL_RULES)
    return sorted((diagnostic.start.row, diagnostic.code) for diagnostic in result.diagnostics)


def describe(pairs: list[tuple[int, str]]) -> str:
    return ", ".join(f"line {row}: {code}" for row, code in pairs) or "nothing"


# --- layer 1: diagnostics ------------------------------------------------------------------


def test_fixtures_exist():
    # Guards the parametrized tests below against silently collecting nothing.
    assert CASES, "no fixture programs found under fixtures/"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diagnostics_match_annotations(case: FixtureCase):
    expected = expected_diagnostics(case.path)
    actual = reported(case.path)
    assert actual == expected, (
        f"{case.id}\n  annotated: {describe(expected)}\n  reported:  {describe(actual)}"
    )


@pytest.mark.parametrize("case", clean_fixtures(), ids=[case.id for case in clean_fixtures()])
def test_clean_fixture_is_silent(case: FixtureCase):
    assert expected_diagnostics(case.path) == [], "a clean fixture must not carry `# expect:` annotations"
    assert reported(case.path) == []


def test_every_expected_output_has_its_fixture():
    assert orphan_outputs() == []


# --- layer 2: fixes ------------------------------------------------------------------------


def fix_copy(case: FixtureCase, directory: Path, mode: Applicability) -> Path:
    """Copy the fixture into `directory`, fix it in place with the engine, return the copy."""
    copy = directory / case.path.name
    shutil.copy2(case.path, copy)
    result = engine.check_file(str(copy), DEFAULT_RULES, fix=mode)
    engine.write_fixes(result)
    return copy


def parses(path: Path) -> bool:
    try:
        source = engine.read_source(str(path))
    except engine.UnreadableFile:
        return False
    return not isinstance(engine.parse(str(path), source.text), Diagnostic)


def assert_same_bytes(actual: Path, expected: Path, case: FixtureCase) -> None:
    actual_bytes, expected_bytes = actual.read_bytes(), expected.read_bytes()
    if actual_bytes == expected_bytes:
        return
    diff = "".join(
        difflib.unified_diff(
            expected_bytes.decode("utf-8", "replace").splitlines(keepends=True),
            actual_bytes.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"expected ({expected.name})",
            tofile="varlint output",
        )
    )
    detail = diff or "(only the newlines or the BOM differ)"
    raise AssertionError(f"{case.id}: fix output differs from {expected.name}\n{detail}")


@pytest.mark.parametrize(
    "mode", [Applicability.SAFE, Applicability.UNSAFE], ids=["fix", "unsafe-fixes"]
)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fix_output(case: FixtureCase, mode: Applicability, tmp_path: Path):
    expected = case.expected_safe_output() if mode is Applicability.SAFE else case.expected_unsafe_output()
    fixed = fix_copy(case, tmp_path, mode)
    assert_same_bytes(fixed, expected, case)

    # A fixed file is a fixed point: fixing it again changes nothing.
    again = engine.check_file(str(fixed), DEFAULT_RULES, fix=mode)
    assert again.fixed_text is None, f"{case.id}: a second fix pass still changed the file"

    if expected != case.path or parses(case.path):
        assert parses(fixed), f"{case.id}: the fixed output does not parse"


# --- layer 4: behaviour under the reference runtime ----------------------------------------


def runtime_run():
    import runtime

    run = getattr(runtime, "run", None)
    if run is None:
        pytest.skip("the reference runtime has no `runtime.run` yet (runtime issue): layer 4 not run")
    return run


BEHAVIOUR_CASES = [case for case in CASES if case.fixed_path is not None]


@pytest.mark.parametrize("case", BEHAVIOUR_CASES, ids=[case.id for case in BEHAVIOUR_CASES])
def test_fixed_program_behaves_like_original(case: FixtureCase):
    if "no-run" in case.directives:
        pytest.skip("`# fixture: no-run`")
    run = runtime_run()
    # Each run is a subprocess: run the two side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        original, fixed = pool.map(run, [str(case.path), str(case.fixed_path)])
    assert not original.timed_out and not fixed.timed_out, f"{case.id}: timed out"
    assert_same_behaviour(case.id, original, fixed)


# --- folder fixtures: several modules, one project ----------------------------------------

PROJECTS = project_cases()


def check_project(folder: Path, settings: Settings, fix=None, modules=None) -> dict[str, engine.FileResult]:
    paths = [str(path) for path in modules] if modules is not None else [
        str(module.path) for module in ProjectFixture(folder).modules()
    ]
    results = engine.check_paths(paths, settings, fix, jobs=1)
    return {Path(result.path).relative_to(folder).as_posix(): result for result in results}


def project_reported(project: ProjectFixture) -> dict[str, list[tuple[int, str]]]:
    return {
        name: sorted((d.start.row, d.code) for d in result.diagnostics)
        for name, result in check_project(project.folder, ALL_RULES).items()
    }


def test_project_fixtures_exist():
    assert PROJECTS and all(len(project.modules()) >= 2 for project in PROJECTS), (
        "folder fixtures are trees of several modules"
    )


@pytest.mark.parametrize("project", [project.param() for project in PROJECTS])
def test_project_diagnostics_match_annotations(project: ProjectFixture):
    expected, actual = project.expected(), project_reported(project)
    if project.folder.name.startswith("clean_"):
        assert all(not rows for rows in expected.values()), "a clean fixture carries no `# expect:`"
    assert actual == expected, "\n".join(
        f"{project.id}/{name}\n  annotated: {describe(expected[name])}\n  reported:  {describe(actual[name])}"
        for name in expected if expected[name] != actual[name]
    )


def fix_project_copy(project: ProjectFixture, directory: Path, mode: Applicability) -> Path:
    """Copy the folder's modules (not their fixed outputs) and fix them as one run."""
    copy = directory / project.folder.name
    modules = []
    for module in project.modules():
        target = copy / module.path.relative_to(project.folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(module.path, target)
        modules.append(target)
    for result in check_project(copy, DEFAULT_RULES, mode, modules).values():
        engine.write_fixes(result)
    return copy


@pytest.mark.parametrize(
    "mode", [Applicability.SAFE, Applicability.UNSAFE], ids=["fix", "unsafe-fixes"]
)
@pytest.mark.parametrize("project", [project.param(project.has_fixed_outputs()) for project in PROJECTS])
def test_project_fix_output(project: ProjectFixture, mode: Applicability, tmp_path: Path):
    copy = fix_project_copy(project, tmp_path, mode)
    for module in project.modules():
        expected = module.expected_safe_output() if mode is Applicability.SAFE else module.expected_unsafe_output()
        fixed = copy / module.path.relative_to(project.folder)
        assert_same_bytes(fixed, expected, module)
        assert parses(fixed), f"{module.id}: the fixed output does not parse"
    again = check_project(copy, DEFAULT_RULES, mode, [copy / m.path.relative_to(project.folder) for m in project.modules()])
    assert all(result.fixed_text is None for result in again.values()), f"{project.id}: a second pass changed it"


RUNNABLE_PROJECTS = [project for project in PROJECTS if project.main is not None and "no-run" not in project.directives]


@pytest.mark.parametrize("project", RUNNABLE_PROJECTS, ids=[project.id for project in RUNNABLE_PROJECTS])
def test_fixed_project_behaves_like_original(project: ProjectFixture, tmp_path: Path):
    run = runtime_run()
    copy = fix_project_copy(project, tmp_path, Applicability.SAFE)
    with ThreadPoolExecutor(max_workers=2) as pool:
        original, fixed = pool.map(run, [str(project.main), str(copy / "main.py")])
    assert not original.timed_out and not fixed.timed_out, f"{project.id}: timed out"
    assert fixed.exception is None or not fixed.exception.startswith(("NameError", "ImportError")), (
        f"{project.id}: the fixes broke a module: {fixed.exception}"
    )
    assert_same_behaviour(project.id, original, fixed)


def assert_same_behaviour(case_id: str, original, fixed) -> None:
    """The fixed program prints what the original prints; when the original crashed (`.data[0]`
    on a 0-dim tensor, ...), the same up to that point (it may go further)."""
    if original.exception is None:
        assert (fixed.stdout, fixed.exception) == (original.stdout, None), (
            f"{case_id}: the safe fixes changed what the program does\n"
            f"--- original stdout\n{original.stdout}--- fixed stdout\n{fixed.stdout}"
            f"--- fixed exception: {fixed.exception}\n{fixed.stderr}"
        )
    else:
        assert fixed.stdout.startswith(original.stdout), (
            f"{case_id}: the original crashed ({original.exception}) and the fixed program "
            f"printed something else before that point\n"
            f"--- original stdout\n{original.stdout}--- fixed stdout\n{fixed.stdout}"
        )
