"""README.md stays true to the code: its rule table is the registry's, its example is what
varlint really prints and fixes, its CLI reference names every option, and its quick start is
exactly two commands.

`python tests/test_readme.py` regenerates the generated parts (rule table, example output and
fixed code) in place.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import click
from click.testing import CliRunner

from fixture_support import lint_fixtures
from varlint import engine
from varlint.cli import main
from varlint.config import Settings, load_settings
from varlint.diagnostic import Applicability
from varlint.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
APPLICABILITY_ORDER = [Applicability.SAFE, Applicability.UNSAFE, Applicability.DISPLAY_ONLY]


# --- the rule table ------------------------------------------------------------------------


def fix_applicabilities() -> dict[str, set[Applicability]]:
    """Per rule code, the applicabilities of the fixes it produces on the fixtures."""
    seen: dict[str, set[Applicability]] = defaultdict(set)
    everything = Settings(select=("ALL",))
    for case in lint_fixtures():
        for diagnostic in engine.check_file(str(case.path), everything).diagnostics:
            if diagnostic.fix is not None:
                seen[diagnostic.code].add(diagnostic.fix.applicability)
    return seen


def rule_table() -> str:
    fixes = fix_applicabilities()
    rows = ["| Code | Name | What it flags | Fixes | Default |", "|---|---|---|---|---|"]
    for rule in all_rules():
        kinds = [a.value for a in APPLICABILITY_ORDER if a in fixes.get(rule.code, ())]
        summary = rule.summary().replace("|", "\\|")
        default = "on" if rule.default_enabled else "off"
        rows.append(f"| {rule.code} | `{rule.name}` | {summary} | {', '.join(kinds) or '-'} | {default} |")
    return "\n".join(rows)


TABLE = re.compile(r"(<!-- rule-table:start -->\n)(.*?)(<!-- rule-table:end -->)", re.S)


def readme_table(text: str) -> str:
    match = TABLE.search(text)
    assert match, "README.md lost its <!-- rule-table:start/end --> markers"
    return match.group(2).strip()


# --- the example at the top ----------------------------------------------------------------


def block_after(text: str, marker: str) -> re.Match:
    match = re.search(rf"<!-- example:{marker} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"README.md lost its <!-- example:{marker} --> code block"
    return match


def real_example(tmp_path: Path, before: str) -> tuple[str, str]:
    """(what `varlint check train.py` prints, the file after `varlint check --fix train.py`)."""
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        Path("train.py").write_text(before, encoding="utf-8")
        output = runner.invoke(main, ["check", "train.py"]).stdout
        runner.invoke(main, ["check", "--fix", "--quiet", "train.py"])
        after = Path("train.py").read_text(encoding="utf-8")
    return output, after


# --- tests ---------------------------------------------------------------------------------


def test_rule_table_matches_the_registry():
    assert readme_table(README.read_text(encoding="utf-8")) == rule_table(), (
        "the README rule table is out of date: run `python tests/test_readme.py`"
    )


def test_example_shows_real_output_and_fix(tmp_path):
    text = README.read_text(encoding="utf-8")
    before = block_after(text, "before").group(1)
    output, after = real_example(tmp_path, before)
    assert block_after(text, "output").group(1) == "$ varlint check train.py\n" + output, (
        "the README example output is out of date: run `python tests/test_readme.py`"
    )
    assert block_after(text, "after").group(1) == after


def quick_start_commands(text: str) -> list[str]:
    section = re.search(r"## Quick start\n(.*?)\n## ", text, re.S)
    assert section, "README.md has no Quick start section"
    blocks = re.findall(r"```sh\n(.*?)```", section.group(1), re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_quick_start_is_exactly_two_commands():
    commands = quick_start_commands(README.read_text(encoding="utf-8"))
    assert commands == [
        "pip install . && varlint check examples/",
        "pip install -e '.[test]' && python -m pytest",
    ]
    # The CI runs the second one.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pip install -e '.[test]'" in ci and "python -m pytest" in ci


def test_quick_start_demo_tree_finds_legacy_code(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["check", "--output-format", "json", "examples/"])
    assert result.exit_code == 1, "the README says command 1 exits with status 1"
    items = json.loads(result.stdout)
    files = {Path(item["filename"]).name for item in items}
    demo_files = {path.name for path in (ROOT / "examples").glob("*.py")}
    assert files == demo_files, "every demo file shows something"
    assert "VL900" in {item["code"] for item in items}


def test_cli_reference_names_every_option():
    text = README.read_text(encoding="utf-8")
    for name, command in main.commands.items():
        assert f"### `varlint {name}" in text, f"README has no section for `varlint {name}`"
        for parameter in command.params:
            if isinstance(parameter, click.Option) and parameter.name != "help":
                mentioned = (re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) for flag in parameter.opts)
                assert any(mentioned), (
                    f"README does not document `varlint {name} {parameter.opts[0]}`"
                )


def test_every_command_the_readme_documents_exists():
    documented = re.findall(r"^### `varlint (\w+)", README.read_text(encoding="utf-8"), re.M)
    assert sorted(set(documented)) == sorted(main.commands)


def test_configuration_example_is_valid(tmp_path):
    example = re.search(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert example, "README.md has no TOML configuration example"
    (tmp_path / "pyproject.toml").write_text(example.group(1), encoding="utf-8")
    settings = load_settings(None, tmp_path)
    assert settings.source == tmp_path / "pyproject.toml"
    assert "VL104" in settings.selected_codes() and "VL005" not in settings.selected_codes()


def test_pre_commit_hook_ids_are_documented():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    ids = re.findall(r"^- id: (\S+)", hooks, re.M)
    assert ids == ["varlint", "varlint-fix"]
    text = README.read_text(encoding="utf-8")
    assert all(f"id: {hook_id}" in text for hook_id in ids)


# --- regeneration --------------------------------------------------------------------------


def regenerate() -> None:
    text = README.read_text(encoding="utf-8")
    text = TABLE.sub(lambda m: m.group(1) + rule_table() + "\n" + m.group(3), text)
    before = block_after(text, "before").group(1)
    with tempfile.TemporaryDirectory() as scratch:
        output, after = real_example(Path(scratch), before)
    for marker, content in [("output", "$ varlint check train.py\n" + output), ("after", after)]:
        match = block_after(text, marker)
        text = text[: match.start(1)] + content + text[match.end(1) :]
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    regenerate()
    print(f"regenerated the generated parts of {README}")
