"""Suppression (`# noqa`, `# varlint: noqa`, VL902, `--add-noqa`) and hierarchical
configuration (closest config file, `extend`, `--isolated`, `--show-settings`, `--show-files`,
bad TOML), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from varlint.cli import main

HEADER = "import torch\nfrom torch.autograd import Variable\n\n"
WRAP = "Variable(torch.ones(2))"  # VL001, safe fix `torch.ones(2)`
VOLATILE = "Variable(torch.ones(2), volatile=True)"  # VL001 and VL003


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def varlint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VARLINT_OUTPUT_FORMAT", raising=False)

    def run(*args):
        result = CliRunner().invoke(main, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result)
        return result

    return run


def found(varlint, *args) -> list[tuple[str, int, str]]:
    """(file, row, code) of each diagnostic of `check --output-format json`."""
    result = varlint("check", "--output-format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return [(item["filename"], item["location"]["row"], item["code"]) for item in json.loads(result.stdout)]


# --- noqa ------------------------------------------------------------------------------------


def test_file_level_noqa_silences_the_whole_file(varlint, tmp_path):
    write(tmp_path / "a.py", HEADER + "# varlint: noqa\n" + f"x = {VOLATILE}\n")
    assert found(varlint, "a.py") == []


def test_file_level_noqa_with_codes_silences_those_codes(varlint, tmp_path):
    write(tmp_path / "a.py", HEADER + f"x = {VOLATILE}\n" + "# varlint: noqa: VL003\n")
    assert found(varlint, "a.py") == [("a.py", 4, "VL001")]


def test_other_tools_file_directives_are_not_ours(varlint, tmp_path):
    write(tmp_path / "a.py", HEADER + "# flake8: noqa\n" + f"x = {WRAP}\n")
    assert found(varlint, "a.py") == [("a.py", 5, "VL001")]


def test_invalid_directive_is_warned_about_and_silences_nothing(varlint, tmp_path):
    write(tmp_path / "a.py", HEADER + f"x = {WRAP}  # noqa: variable-wrapper\n")
    result = varlint("check", "--output-format", "concise", "a.py")
    assert "a.py:4:5: VL001" in result.stdout
    assert "varlint: warning: a.py:4: invalid `# noqa` directive `# noqa: variable-wrapper`" in result.stderr


def test_unknown_code_is_warned_about(varlint, tmp_path):
    write(tmp_path / "a.py", HEADER + f"x = {WRAP}  # noqa: VL001, VL999\n")
    result = varlint("check", "a.py")
    assert result.exit_code == 0, result.output
    assert "unknown rule code `VL999`" in result.stderr


def test_noqa_inside_a_string_is_text(varlint, tmp_path):
    write(tmp_path / "a.py", HEADER + f'x = {WRAP}; s = "# noqa"\n')
    assert found(varlint, "a.py") == [("a.py", 4, "VL001")]


def test_directive_closing_a_multiline_statement(varlint, tmp_path):
    write(tmp_path / "a.py", HEADER + 'x = Variable(torch.ones(2)), """\n text\n"""  # noqa: VL001\n')
    assert found(varlint, "a.py") == []


def test_unused_noqa_vl902_and_its_fix(varlint, tmp_path):
    path = write(
        tmp_path / "a.py",
        HEADER
        + f"x = {WRAP}  # noqa: VL001, VL003\n"  # VL003 unused
        + "y = torch.ones(2)  # noqa: VL004\n"  # unused
        + "z = torch.ones(2)  # noqa: VL104, E501\n"  # VL104 is off, E501 not ours: left alone
        + "w = torch.ones(2)  # noqa\n",  # blanket: left alone
    )
    assert found(varlint, "a.py") == [("a.py", 4, "VL902"), ("a.py", 5, "VL902")]
    result = varlint("check", "--fix", "a.py")
    assert result.exit_code == 0, result.output
    assert path.read_text() == HEADER + (
        f"x = {WRAP}  # noqa: VL001\n"
        "y = torch.ones(2)\n"
        "z = torch.ones(2)  # noqa: VL104, E501\n"
        "w = torch.ones(2)  # noqa\n"
    )


def test_vl902_is_silent_when_the_file_does_not_parse(varlint, tmp_path):
    write(tmp_path / "a.py", "x = (  # noqa: VL001\n")
    assert found(varlint, "a.py") == [("a.py", 1, "VL900")]


def test_add_noqa_gives_a_clean_baseline_and_merges_existing_directives(varlint, tmp_path):
    path = write(
        tmp_path / "a.py",
        HEADER
        + f"x = {VOLATILE}\n"
        + f"y = {VOLATILE}  # noqa: E501\n"
        + f"z = {WRAP}  # a comment\n"
        + 's = Variable(torch.ones(2)), """\n"""\n',
    )
    result = varlint("check", "--add-noqa", "a.py")
    assert result.exit_code == 0, result.output
    assert "Added 4 noqa directives." in result.stderr
    assert path.read_text() == HEADER + (
        f"x = {VOLATILE}  # noqa: VL001, VL003\n"
        f"y = {VOLATILE}  # noqa: VL001, VL003, E501\n"
        f"z = {WRAP}  # a comment  # noqa: VL001\n"
        's = Variable(torch.ones(2)), """\n"""  # noqa: VL001\n'
    )
    assert varlint("check", "a.py").exit_code == 0
    assert "Added 0 noqa directives." in varlint("check", "--add-noqa", "a.py").stderr


# --- configuration ---------------------------------------------------------------------------


def test_each_file_uses_its_closest_config(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nignore = ["VL003"]\n')
    write(tmp_path / "a" / "varlint.toml", 'ignore = ["VL001"]\n')
    write(tmp_path / "b" / ".varlint.toml", "select = ['VL003']\n")
    write(tmp_path / "b" / "varlint.toml", "select = ['VL001']\n")  # .varlint.toml wins
    write(tmp_path / "c" / "pyproject.toml", "[project]\nname = 'c'\n")  # no [tool.varlint]: passed over
    for folder in ("a", "b", "c"):
        write(tmp_path / folder / "m.py", HEADER + f"x = {VOLATILE}\n")
    # As pre-commit passes them: files from several folders in one run.
    assert found(varlint, "a/m.py", "b/m.py", "c/m.py") == [
        ("a/m.py", 4, "VL003"), ("b/m.py", 4, "VL003"), ("c/m.py", 4, "VL001")
    ]
    assert found(varlint, ".") == [("a/m.py", 4, "VL003"), ("b/m.py", 4, "VL003"), ("c/m.py", 4, "VL001")]


def test_exclude_of_a_nested_config_applies_to_its_folder(varlint, tmp_path):
    write(tmp_path / "pkg" / "varlint.toml", 'exclude = ["generated/"]\n')
    write(tmp_path / "pkg" / "generated" / "g.py", HEADER + f"x = {WRAP}\n")
    write(tmp_path / "pkg" / "m.py", HEADER + f"x = {WRAP}\n")
    assert found(varlint, ".") == [("pkg/m.py", 4, "VL001")]


def test_extend_inherits_and_overrides(varlint, tmp_path):
    write(tmp_path / "pyproject.toml",
          '[tool.varlint]\nignore = ["VL003"]\n[tool.varlint.per-file-ignores]\n"sub/legacy_*.py" = ["VL001"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[tool.varlint]\nextend = "../pyproject.toml"\nextend-select = ["VL104"]\n')
    write(tmp_path / "sub" / "legacy_a.py", HEADER + f"x = {VOLATILE}\n")
    write(tmp_path / "sub" / "new.py", HEADER + f"x = {VOLATILE}\n")
    # The parent's ignore and per-file-ignores (rooted at the parent's folder) still apply.
    assert found(varlint, "sub") == [("sub/new.py", 4, "VL001")]
    settings = varlint("check", "--show-settings", "sub/legacy_a.py").stdout
    assert f"Config file: {tmp_path / 'sub' / 'pyproject.toml'}" in settings
    assert f"Extends: {tmp_path / 'pyproject.toml'}" in settings
    assert "extend-select = ['VL104']" in settings and "ignore = ['VL003']" in settings
    assert "Ignored here by per-file-ignores: ['VL001']" in settings
    assert "    VL104 grad-fn-always-none" in settings and "    VL003 " not in settings


def test_circular_extend_is_a_config_error(varlint, tmp_path):
    write(tmp_path / "a" / "varlint.toml", 'extend = "../b/varlint.toml"\n')
    write(tmp_path / "b" / "varlint.toml", 'extend = "../a/varlint.toml"\n')
    write(tmp_path / "a" / "m.py", "x = 1\n")
    result = varlint("check", "a")
    assert result.exit_code == 2 and "circular `extend`" in result.stderr


def test_isolated_ignores_every_config_file(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nignore = ["VL001"]\n')
    write(tmp_path / "m.py", HEADER + f"x = {WRAP}\n")
    assert found(varlint, "m.py") == []
    assert found(varlint, "--isolated", "m.py") == [("m.py", 4, "VL001")]
    assert "Config file: (none: the defaults)" in varlint("check", "--isolated", "--show-settings", "m.py").stdout
    assert varlint("check", "--isolated", "--config", "pyproject.toml", "m.py").exit_code == 2


def test_show_files_lists_what_would_be_checked(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.varlint]\nexclude = ["skip_*.py"]\n')
    for name in ("b.py", "a/c.py", "skip_me.py", "notes.txt"):
        write(tmp_path / name, "x = 1\n")
    result = varlint("check", "--show-files", ".")
    assert result.exit_code == 0 and result.stdout == "a/c.py\nb.py\n"


def test_deeply_nested_pyproject_is_a_config_error(varlint, tmp_path):
    write(tmp_path / "pyproject.toml", "x = " + "[" * 10_000 + "]" * 10_000 + "\n")
    write(tmp_path / "m.py", "x = 1\n")
    result = varlint("check", "m.py")
    assert result.exit_code == 2, result.output
    assert "pyproject.toml" in result.stderr and "nests" in result.stderr
    assert "Traceback" not in result.output


def test_one_folders_exclude_does_not_apply_to_another_given_path(varlint, tmp_path):
    write(tmp_path / "a" / "varlint.toml", 'exclude = ["*_gen.py"]\n')
    write(tmp_path / "a" / "x_gen.py", HEADER + f"x = {WRAP}\n")
    write(tmp_path / "b" / "x_gen.py", HEADER + f"x = {WRAP}\n")
    assert found(varlint, "a", "b") == [("b/x_gen.py", 4, "VL001")]
