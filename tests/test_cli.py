"""The `varlint` command line, on real files in tmp_path.

Commands run in-process through click's CliRunner (the same `main` the console script calls);
one test runs the installed `varlint` script itself. The legacy diagnostic used throughout is
VL001 on `Variable(torch.ones(2))`, whose safe fix (rules.md, "VL001 fixes") folds the wrapper
into the factory: `torch.ones(2)`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from varlint.cli import main
from varlint.rules import all_rules

LEGACY = """\
import torch
from torch.autograd import Variable

x = Variable(torch.ones(2))
print(x)
"""
# Where VL001 is reported in LEGACY (1-based, as ruff) and what --fix makes of it.
LEGACY_ROW, LEGACY_COLUMN = 4, 5
LEGACY_FIXED = """\
import torch

x = torch.ones(2)
print(x)
"""
CLEAN = """\
import torch

x = torch.ones(2)
print(x)
"""
PYTHON2 = """\
import torch

x = torch.ones(2)
print x
"""


class Run:
    """The outcome of one `varlint ...` invocation."""

    def __init__(self, result) -> None:
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.stdout_bytes = result.stdout_bytes
        self.exception = result.exception

    def __repr__(self) -> str:
        return f"exit {self.exit_code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


@pytest.fixture
def varlint(tmp_path, monkeypatch):
    """Run varlint with tmp_path as the working directory."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Run:
        result = Run(CliRunner().invoke(main, list(args)))
        # SystemExit is how the CLI ends; anything else escaped as a traceback.
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result)
        return result

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes_in(output: str) -> list[tuple[str, str]]:
    """(`path:row:col`, `CODE`) of each diagnostic line of the text format."""
    return re.findall(r"^(\S+:\d+:\d+): (VL\d{3})", output, re.M)


# --- exit codes ----------------------------------------------------------------------------


def test_clean_file_exits_0(varlint, tmp_path):
    write(tmp_path / "model.py", CLEAN)
    run = varlint("check", "model.py")
    assert run.exit_code == 0, run
    assert "All checks passed!" in run.stdout


def test_default_path_is_the_current_directory(varlint, tmp_path):
    write(tmp_path / "pkg" / "model.py", LEGACY)
    run = varlint("check")
    assert run.exit_code == 1, run
    assert codes_in(run.stdout) == [(f"pkg/model.py:{LEGACY_ROW}:{LEGACY_COLUMN}", "VL001")]


def test_legacy_file_exits_1_with_text_diagnostic_and_fix_hint(varlint, tmp_path):
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "train.py")
    assert run.exit_code == 1, run
    lines = run.stdout.splitlines()
    first = lines[0]
    assert first.startswith(f"train.py:{LEGACY_ROW}:{LEGACY_COLUMN}: VL001 "), run
    # A safe fix is marked [*]; the source line follows, the range underlined, then the fix.
    assert "[*]" in first
    assert f"{LEGACY_ROW} | x = Variable(torch.ones(2))" in lines
    assert "  |     ^^^^^^^^^^^^^^^^^^^^^^^ VL001" in lines, run
    assert "  = help (fix): Replace with `torch.ones(2)`" in lines, run
    assert "Found 1 error." in run.stdout
    assert "1 fixable with the `--fix` option" in run.stdout


def test_fix_exits_0_when_everything_was_fixed(varlint, tmp_path):
    path = write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "--fix", "train.py")
    assert run.exit_code == 0, run
    assert path.read_text() == LEGACY_FIXED
    assert "1 fixed, 0 remaining" in run.stdout


def test_fix_exits_1_when_something_remains(varlint, tmp_path):
    legacy = write(tmp_path / "train.py", LEGACY)
    write(tmp_path / "old.py", PYTHON2)  # VL900 has no fix
    run = varlint("check", "--fix", ".")
    assert run.exit_code == 1, run
    assert legacy.read_text() == LEGACY_FIXED
    assert [code for _, code in codes_in(run.stdout)] == ["VL900"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["check", "--no-such-option"], "No such option"),
        (["check", "--select", "VL999", "."], "unknown rule selector `VL999`"),
        (["check", "--ignore", "XYZ", "."], "unknown rule selector `XYZ`"),
        (["check", "does-not-exist.py"], "no such file or directory: does-not-exist.py"),
        (["check", "--output-format", "xml", "."], "Invalid value for '--output-format'"),
        (["rule", "VL999"], "unknown rule `VL999`"),
        (["rule"], "give a rule code"),
    ],
    ids=["unknown-option", "unknown-code", "unknown-ignore", "missing-path", "bad-format",
         "unknown-rule", "rule-without-code"],
)
def test_usage_errors_exit_2(varlint, tmp_path, args, message):
    write(tmp_path / "train.py", LEGACY)
    run = varlint(*args)
    assert run.exit_code == 2, run
    assert message in run.stderr, run


def test_missing_path_is_an_error_even_next_to_existing_ones(varlint, tmp_path):
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "train.py", "gone.py")
    assert run.exit_code == 2, run
    assert "gone.py" in run.stderr


def test_exit_zero(varlint, tmp_path):
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "--exit-zero", "train.py")
    assert run.exit_code == 0, run
    assert [code for _, code in codes_in(run.stdout)] == ["VL001"]


def test_installed_console_script(tmp_path):
    script = shutil.which("varlint") or pytest.fail("the `varlint` console script is not installed")
    write(tmp_path / "train.py", LEGACY)
    completed = subprocess.run([script, "check", "train.py"], cwd=tmp_path, capture_output=True, text=True)
    assert completed.returncode == 1, completed
    assert f"train.py:{LEGACY_ROW}:{LEGACY_COLUMN}: VL001" in completed.stdout
    module = subprocess.run(
        [sys.executable, "-m", "varlint.cli", "check", "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (module.returncode, module.stdout) == (completed.returncode, completed.stdout)


# --- output formats ------------------------------------------------------------------------

LOCATION_KEYS = {"row", "column"}


def assert_location(value) -> None:
    assert set(value) == LOCATION_KEYS
    assert all(isinstance(value[key], int) and value[key] >= 1 for key in LOCATION_KEYS), value


def test_json_output_shape(varlint, tmp_path):
    write(tmp_path / "b.py", LEGACY + "y = Variable(torch.zeros(3))\n")
    write(tmp_path / "a.py", PYTHON2)
    run = varlint("check", "--output-format", "json", ".")
    assert run.exit_code == 1, run
    items = json.loads(run.stdout)
    assert [(i["filename"], i["location"]["row"], i["code"]) for i in items] == [
        ("a.py", 4, "VL900"),
        ("b.py", LEGACY_ROW, "VL001"),
        ("b.py", 6, "VL001"),
    ]
    keys = {"code", "name", "message", "filename", "location", "end_location", "fix", "url"}
    for item in items:
        assert set(item) == keys, item
        assert_location(item["location"])
        assert_location(item["end_location"])
        assert (item["end_location"]["row"], item["end_location"]["column"]) >= (
            item["location"]["row"],
            item["location"]["column"],
        )
        assert isinstance(item["message"], str) and item["message"]
        assert "url" in item
    python2, variable = items[0], items[1]
    assert python2["name"] == "syntax-error"
    assert python2["location"] == {"row": 4, "column": 1}
    assert python2["fix"] is None
    assert variable["name"] == "variable-wrapper"
    assert variable["location"] == {"row": LEGACY_ROW, "column": LEGACY_COLUMN}
    fix = variable["fix"]
    assert set(fix) == {"applicability", "message", "edits"}
    assert fix["applicability"] == "safe"
    assert fix["edits"], fix
    for edit in fix["edits"]:
        assert set(edit) == {"content", "location", "end_location"}
        assert isinstance(edit["content"], str)
        assert_location(edit["location"])
        assert_location(edit["end_location"])


def test_json_output_sorted_by_filename_row_column(varlint, tmp_path):
    # Two diagnostics on one row, written in an order that is not sorted by file name.
    write(
        tmp_path / "z.py",
        "import torch\nfrom torch.autograd import Variable\n"
        "a, b = Variable(torch.ones(1)), Variable(torch.ones(2))\n",
    )
    write(tmp_path / "m.py", LEGACY)
    items = json.loads(varlint("check", "--output-format", "json", "z.py", "m.py").stdout)
    keys = [(i["filename"], i["location"]["row"], i["location"]["column"]) for i in items]
    assert keys == sorted(keys)
    assert [key[0] for key in keys] == ["m.py", "z.py", "z.py"]
    assert keys[1][2] < keys[2][2]


def test_json_output_is_an_empty_list_when_clean(varlint, tmp_path):
    write(tmp_path / "model.py", CLEAN)
    run = varlint("check", "--output-format", "json", "model.py")
    assert (run.exit_code, json.loads(run.stdout)) == (0, [])


def test_statistics(varlint, tmp_path):
    write(tmp_path / "a.py", LEGACY + "y = Variable(torch.zeros(3))\n")
    write(tmp_path / "b.py", PYTHON2)
    run = varlint("check", "--statistics", ".")
    assert run.exit_code == 1, run
    rows = [line.split() for line in run.stdout.splitlines() if line.strip()]
    assert rows[0][:2] == ["2", "VL001"] and "variable-wrapper" in rows[0], run
    assert rows[1][:2] == ["1", "VL900"] and "syntax-error" in rows[1], run
    assert len(rows) == 2
    assert not codes_in(run.stdout), "statistics replace the per-diagnostic listing"


def test_quiet_prints_diagnostics_only(varlint, tmp_path):
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "--quiet", "train.py")
    assert run.exit_code == 1, run
    assert [code for _, code in codes_in(run.stdout)] == ["VL001"]
    assert "Found" not in run.stdout
    clean = varlint("check", "--quiet", "--select", "VL9", "train.py")
    assert (clean.exit_code, clean.stdout) == (0, "")


def test_show_fixes_lists_what_was_fixed(varlint, tmp_path):
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "--fix", "--show-fixes", "train.py")
    assert run.exit_code == 0, run
    assert "Fixed 1 error" in run.stdout
    assert "train.py" in run.stdout


# --- --diff --------------------------------------------------------------------------------


def test_diff_prints_a_unified_diff_and_writes_nothing(varlint, tmp_path):
    path = write(tmp_path / "train.py", LEGACY)
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    run = varlint("check", "--diff", "train.py")
    assert run.exit_code == 1, run
    assert run.stdout.startswith("--- train.py\n+++ train.py\n@@ "), run
    assert "-x = Variable(torch.ones(2))\n" in run.stdout
    assert "+x = torch.ones(2)\n" in run.stdout
    assert "-from torch.autograd import Variable\n" in run.stdout
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (before, mtime)
    assert sorted(os.listdir(tmp_path)) == ["train.py"]
    # --diff wins over --fix: still nothing written.
    both = varlint("check", "--fix", "--diff", "train.py")
    assert (both.exit_code, both.stdout) == (1, run.stdout)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (before, mtime)


def test_diff_without_changes_exits_0(varlint, tmp_path):
    write(tmp_path / "model.py", CLEAN)
    run = varlint("check", "--diff", "model.py")
    assert (run.exit_code, run.stdout) == (0, ""), run


def test_diff_with_unsafe_fixes_shows_the_unsafe_rewrite(varlint, tmp_path):
    # Reading `v.volatile` (VL003) is always False today; replacing it by `False` is unsafe.
    source = "import torch\n\nv = torch.ones(2)\nprint(v.volatile)\n"
    path = write(tmp_path / "train.py", source)
    safe = varlint("check", "--diff", "train.py")
    assert (safe.exit_code, safe.stdout) == (0, ""), safe
    unsafe = varlint("check", "--diff", "--unsafe-fixes", "train.py")
    assert unsafe.exit_code == 1, unsafe
    assert "-print(v.volatile)\n+print(False)\n" in unsafe.stdout, unsafe
    assert path.read_text() == source


# --- noqa ----------------------------------------------------------------------------------

NOQA_SOURCE = """\
import torch
from torch.autograd import Variable

a = Variable(torch.ones(2))  # noqa
b = Variable(torch.ones(2))  # noqa: VL001,VL003
c = Variable(torch.ones(2))  # noqa: VL003
d = Variable(torch.ones(2))
"""


def test_noqa_suppresses_in_check(varlint, tmp_path):
    write(tmp_path / "train.py", NOQA_SOURCE)
    run = varlint("check", "train.py")
    # `# noqa: VL003` silences nothing on lines 5 and 6: VL902 says so.
    assert codes_in(run.stdout) == [
        ("train.py:5:30", "VL902"), ("train.py:6:5", "VL001"), ("train.py:6:30", "VL902"), ("train.py:7:5", "VL001")
    ], run


def test_noqa_suppressed_diagnostic_is_never_fixed(varlint, tmp_path):
    path = write(tmp_path / "train.py", NOQA_SOURCE)
    run = varlint("check", "--fix", "train.py")
    assert run.exit_code == 0, run
    assert path.read_text() == (
        "import torch\nfrom torch.autograd import Variable\n\n"
        "a = Variable(torch.ones(2))  # noqa\n"
        "b = Variable(torch.ones(2))  # noqa: VL001\n"
        "c = torch.ones(2)\n"
        "d = torch.ones(2)\n"
    )


# --- configuration -------------------------------------------------------------------------


def test_pyproject_ignore_and_cli_select_override(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nignore = ["VL001"]\n')
    write(tmp_path / "train.py", LEGACY)
    assert varlint("check", "train.py").exit_code == 0
    # A --select on the command line starts the selection afresh, as in ruff.
    run = varlint("check", "--select", "VL001", "train.py")
    assert [code for _, code in codes_in(run.stdout)] == ["VL001"], run


def test_pyproject_select_and_cli_extend_select(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nselect = ["VL9"]\n')
    write(tmp_path / "train.py", LEGACY)
    assert varlint("check", "train.py").exit_code == 0
    assert varlint("check", "--extend-select", "VL001", "train.py").exit_code == 1


def test_pyproject_extend_select_and_cli_ignore(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nselect = ["VL9"]\nextend-select = ["VL0"]\n')
    write(tmp_path / "train.py", LEGACY)
    assert varlint("check", "train.py").exit_code == 1
    assert varlint("check", "--ignore", "VL001", "train.py").exit_code == 0


def test_nearest_pyproject_wins(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.varlint]\nignore = []\n")
    write(tmp_path / "legacy" / "pyproject.toml", '[tool.varlint]\nignore = ["VL0"]\n')
    write(tmp_path / "legacy" / "train.py", LEGACY)
    write(tmp_path / "train.py", LEGACY)
    assert varlint("check", "legacy").exit_code == 0
    assert varlint("check", "legacy/train.py").exit_code == 0
    assert varlint("check", "train.py").exit_code == 1


def test_pyproject_without_varlint_table_is_passed_over(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nignore = ["VL001"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "pkg"\n')
    write(tmp_path / "pkg" / "train.py", LEGACY)
    assert varlint("check", "pkg").exit_code == 0


def test_per_file_ignores(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint.per-file-ignores]\n"tests/*" = ["VL001"]\n')
    write(tmp_path / "tests" / "test_model.py", LEGACY)
    write(tmp_path / "src" / "model.py", LEGACY)
    run = varlint("check", ".")
    assert codes_in(run.stdout) == [(f"src/model.py:{LEGACY_ROW}:{LEGACY_COLUMN}", "VL001")], run


def test_exclude(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nexclude = ["third_party/", "*_pb2.py"]\n')
    write(tmp_path / "third_party" / "old.py", LEGACY)
    write(tmp_path / "proto_pb2.py", LEGACY)
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", ".")
    assert [location.split(":")[0] for location, _ in codes_in(run.stdout)] == ["train.py"], run


def test_config_option_reads_that_file(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.varlint]\nignore = []\n")
    write(tmp_path / "ci" / "varlint.toml", 'ignore = ["VL001"]\n')
    write(tmp_path / "ci" / "pyproject.toml", '[tool.varlint]\nignore = ["VL001"]\n')
    write(tmp_path / "train.py", LEGACY)
    assert varlint("check", "train.py").exit_code == 1
    assert varlint("check", "--config", "ci/varlint.toml", "train.py").exit_code == 0
    assert varlint("check", "--config", "ci/pyproject.toml", "train.py").exit_code == 0


@pytest.mark.parametrize(
    "config, message",
    [
        ('[tool.varlint]\nselekt = ["VL001"]\n', "unknown key(s) in the varlint settings"),
        ('[tool.varlint]\nselect = ["VL999"]\n', "unknown rule selector `VL999`"),
        ('[tool.varlint]\nselect = "VL001"\n', "must be a list of strings"),
        ('[tool.varlint.per-file-ignores]\n"a.py" = ["NOPE1"]\n', "unknown rule selector `NOPE1`"),
        ("[tool.varlint\nselect = []\n", "invalid TOML"),
    ],
    ids=["unknown-key", "unknown-code", "wrong-type", "unknown-per-file-code", "bad-toml"],
)
def test_config_errors_exit_2(varlint, tmp_path, config, message):
    write(tmp_path / "pyproject.toml", config)
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "train.py")
    assert run.exit_code == 2, run
    assert message in run.stderr, run
    assert "pyproject.toml" in run.stderr, "the message names the config file"


def test_missing_config_file_exits_2(varlint, tmp_path):
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "--config", "nowhere.toml", "train.py")
    assert run.exit_code == 2, run
    assert "nowhere.toml" in run.stderr


# --- file discovery ------------------------------------------------------------------------


def test_discovery_skips_vcs_venvs_build_output_and_caches(varlint, tmp_path):
    write(tmp_path / "src" / "train.py", LEGACY)
    for skipped in [".git/hooks", "build/lib", "dist", "src/__pycache__", ".venv/lib", ".tox/py311"]:
        write(tmp_path / skipped / "legacy.py", LEGACY)
    # A virtual environment is recognised by its pyvenv.cfg, whatever its name.
    write(tmp_path / "my-env" / "pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path / "my-env" / "lib" / "legacy.py", LEGACY)
    write(tmp_path / "notes.txt", LEGACY)
    run = varlint("check", ".")
    assert [location.split(":")[0] for location, _ in codes_in(run.stdout)] == ["src/train.py"], run


def test_discovery_honours_gitignore(varlint, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path / ".gitignore", "generated/\n*_old.py\n")
    write(tmp_path / "pkg" / ".gitignore", "scratch.py\n")
    write(tmp_path / "generated" / "model.py", LEGACY)
    write(tmp_path / "train_old.py", LEGACY)
    write(tmp_path / "pkg" / "scratch.py", LEGACY)
    write(tmp_path / "pkg" / "train.py", LEGACY)
    run = varlint("check", ".")
    assert [location.split(":")[0] for location, _ in codes_in(run.stdout)] == ["pkg/train.py"], run
    # The .gitignore of the repository still applies when checking a subfolder.
    write(tmp_path / "pkg" / "generated" / "x.py", LEGACY)
    sub = varlint("check", "pkg")
    assert [location.split(":")[0] for location, _ in codes_in(sub.stdout)] == ["pkg/train.py"], sub


def test_file_named_explicitly_is_checked_even_if_excluded(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nexclude = ["old/"]\n')
    write(tmp_path / "old" / "train.py", LEGACY)
    assert varlint("check", ".").exit_code == 0
    assert varlint("check", "old/train.py").exit_code == 1
    # ... unless --force-exclude (what the pre-commit hooks pass, since they name every file).
    assert varlint("check", "--force-exclude", "old/train.py").exit_code == 0


def test_many_files_are_checked_in_parallel_and_reported_in_order(varlint, tmp_path):
    # Enough files for the engine to use worker processes.
    for index in range(30):
        write(tmp_path / f"module_{index:02d}.py", LEGACY)
    run = varlint("check", "--output-format", "json", ".")
    items = json.loads(run.stdout)
    assert [item["filename"] for item in items] == [f"module_{index:02d}.py" for index in range(30)]
    assert {item["code"] for item in items} == {"VL001"}
    fixed = varlint("check", "--fix", ".")
    assert fixed.exit_code == 0, fixed
    assert all(path.read_text() == LEGACY_FIXED for path in tmp_path.glob("*.py"))


def test_internal_error_in_one_file_exits_2_and_the_others_are_checked(varlint, tmp_path, monkeypatch):
    from varlint import engine

    real_lint = engine._check_file

    def lint_but_crash_on_broken(path, settings, fix, *rest):
        if path.endswith("broken.py"):
            raise RuntimeError("rule crashed")
        return real_lint(path, settings, fix, *rest)

    monkeypatch.setattr(engine, "_check_file", lint_but_crash_on_broken)
    write(tmp_path / "broken.py", LEGACY)
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", ".")
    assert run.exit_code == 2, run
    assert "internal error while checking broken.py: RuntimeError: rule crashed" in run.stderr
    assert "train.py:" in run.stdout  # the run went on with the other file


def test_a_file_that_could_not_be_checked_is_not_reported_as_passing(varlint, tmp_path, monkeypatch):
    from varlint import engine

    def crash(path, settings, fix, *rest):
        raise RuntimeError("rule crashed")

    monkeypatch.setattr(engine, "_check_file", crash)
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", ".")
    assert run.exit_code == 2, run
    assert "All checks passed!" not in run.stdout
    assert "No errors found, but 1 file could not be checked (see above)." in run.stdout


# --- fixing files: encoding, newlines, permissions, atomic write -----------------------------


def test_fix_keeps_bom_and_crlf(varlint, tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(b"\xef\xbb\xbf" + LEGACY.replace("\n", "\r\n").encode())
    run = varlint("check", "--fix", "train.py")
    assert run.exit_code == 0, run
    assert path.read_bytes() == b"\xef\xbb\xbf" + LEGACY_FIXED.replace("\n", "\r\n").encode()


def test_fix_keeps_a_declared_encoding(varlint, tmp_path):
    source = "# -*- coding: latin-1 -*-\n# café\n" + LEGACY
    path = tmp_path / "train.py"
    path.write_bytes(source.encode("latin-1"))
    assert varlint("check", "--fix", "train.py").exit_code == 0
    assert path.read_bytes() == ("# -*- coding: latin-1 -*-\n# café\n" + LEGACY_FIXED).encode("latin-1")


def test_fix_keeps_permissions_and_replaces_atomically(varlint, tmp_path):
    path = write(tmp_path / "train.py", LEGACY)
    path.chmod(0o751)
    inode = path.stat().st_ino
    assert varlint("check", "--fix", "train.py").exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    # Written to a temporary file and renamed over the original (a new inode), and the
    # temporary file is gone.
    assert path.stat().st_ino != inode
    assert sorted(os.listdir(tmp_path)) == ["train.py"]
    assert path.read_text() == LEGACY_FIXED


def test_second_fix_run_changes_nothing(varlint, tmp_path):
    path = write(tmp_path / "train.py", LEGACY + "y = Variable(torch.zeros(3), volatile=True)\n")
    first = varlint("check", "--fix", "train.py")
    fixed = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    second = varlint("check", "--fix", "--show-fixes", "train.py")
    assert (first.exit_code, second.exit_code) == (0, 0), (first, second)
    assert "Fixed" not in second.stdout
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (fixed, mtime)


def test_unchanged_files_are_not_rewritten_by_fix(varlint, tmp_path):
    path = write(tmp_path / "model.py", CLEAN)
    inode, mtime = path.stat().st_ino, path.stat().st_mtime_ns
    assert varlint("check", "--fix", "model.py").exit_code == 0
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime)


# --- bad input: never a traceback, and the run goes on ----------------------------------------


def test_python2_file_is_vl900_and_other_files_are_still_checked(varlint, tmp_path):
    write(tmp_path / "a_old.py", PYTHON2)
    write(tmp_path / "b_train.py", LEGACY)
    run = varlint("check", "--output-format", "json", ".")
    assert run.exit_code == 1, run
    items = json.loads(run.stdout)
    assert [(i["filename"], i["code"]) for i in items] == [("a_old.py", "VL900"), ("b_train.py", "VL001")]
    assert "Python 2" in items[0]["message"]
    assert items[0]["location"]["row"] == 4


@pytest.mark.parametrize(
    "source, construct",
    [
        ("try:\n    pass\nexcept ValueError, e:\n    pass\n", "except"),
        ("x = 1\ny = `x`\n", "backtick"),
    ],
    ids=["except-comma", "backticks"],
)
def test_other_python2_constructs_are_named(varlint, tmp_path, source, construct):
    write(tmp_path / "old.py", source)
    items = json.loads(varlint("check", "--output-format", "json", "old.py").stdout)
    assert [i["code"] for i in items] == ["VL900"]
    assert "Python 2" in items[0]["message"] and construct in items[0]["message"]


def test_ordinary_syntax_error_does_not_claim_python2(varlint, tmp_path):
    write(tmp_path / "broken.py", "def f(:\n    pass\n")
    items = json.loads(varlint("check", "--output-format", "json", "broken.py").stdout)
    assert [(i["code"], i["location"]["row"]) for i in items] == [("VL900", 1)]
    assert "Python 2" not in items[0]["message"]


def test_non_utf8_file_is_vl901(varlint, tmp_path):
    (tmp_path / "latin.py").write_bytes("# café\nx = 1\n".encode("latin-1"))
    write(tmp_path / "train.py", LEGACY)
    run = varlint("check", "--output-format", "json", ".")
    items = json.loads(run.stdout)
    assert [(i["filename"], i["code"]) for i in items] == [("latin.py", "VL901"), ("train.py", "VL001")]
    assert "decode" in items[0]["message"]
    assert (tmp_path / "latin.py").read_bytes() == "# café\nx = 1\n".encode("latin-1")


def test_bad_files_are_left_alone_by_fix(varlint, tmp_path):
    old = write(tmp_path / "old.py", PYTHON2)
    binary = tmp_path / "blob.py"
    binary.write_bytes(b"\x00\x01\x02")
    run = varlint("check", "--fix", ".")
    assert run.exit_code == 1, run
    assert sorted(code for _, code in codes_in(run.stdout)) == ["VL900", "VL901"]
    assert old.read_text() == PYTHON2 and binary.read_bytes() == b"\x00\x01\x02"


# --- varlint rule --------------------------------------------------------------------------


def test_rule_prints_the_documentation_sections(varlint):
    run = varlint("rule", "VL001")
    assert run.exit_code == 0, run
    assert "variable-wrapper" in run.stdout
    headings = re.findall(r"^## (.+)$", run.stdout, re.M)
    assert headings == ["What it does", "Why is this bad", "Example", "Fix safety"], run


def test_rule_code_is_case_insensitive(varlint):
    assert varlint("rule", "vl900").stdout == varlint("rule", "VL900").stdout


def test_rule_all_prints_every_rules_documentation(varlint):
    run = varlint("rule", "--all")
    assert run.exit_code == 0, run
    listed = re.findall(r"^# (\S+) \((VL\d{3})\)$", run.stdout, re.M)
    assert listed == [(rule.name, rule.code) for rule in all_rules()]
    assert run.stdout.count("## What it does") == len(all_rules())


def test_rule_accepts_a_name(varlint):
    run = varlint("rule", "missing-grad-zeroing")
    assert run.exit_code == 0, run
    assert run.stdout == varlint("rule", "VL201").stdout
    assert run.stdout.startswith("# missing-grad-zeroing (VL201)")


def test_rule_json_for_tools(varlint):
    every = json.loads(varlint("rule", "--all", "--output-format", "json").stdout)
    assert [item["code"] for item in every] == [rule.code for rule in all_rules()]
    one = json.loads(varlint("rule", "zero-dim-index", "--output-format", "json").stdout)
    assert one["code"] == "VL004" and one["name"] == "zero-dim-index"
    assert one["enabled_by_default"] is True
    assert "## Fix safety" in one["explanation"] and one["summary"]
