"""The command line: `varlint check`, `varlint rule`, `varlint confirm`.

Exit codes (as ruff): 0 nothing left to report, 1 diagnostics left (or `--diff` found changes),
2 usage, configuration or internal error.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import traceback
from pathlib import Path

import click

from varlint import engine
from varlint.config import ConfigError, Settings, load_settings, split_codes
from varlint.diagnostic import Applicability
from varlint.files import discover
from varlint.output import json as json_output
from varlint.output import text as text_output
from varlint.rules import all_rules, rule_by_code


class ExitError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def build_settings(config: str | None, paths: tuple[str, ...], select, ignore, extend_select) -> Settings:
    start = Path(paths[0]) if paths else Path.cwd()
    try:
        settings = load_settings(Path(config) if config else None, start if start.exists() else Path.cwd())
        overrides = {}
        if select is not None:
            # As in ruff, a --select on the command line starts the selection afresh: the
            # configured select, ignore and extend-select no longer apply.
            overrides.update(select=split_codes(select), ignore=(), extend_select=())
        if ignore is not None:
            overrides["ignore"] = overrides.get("ignore", settings.ignore) + split_codes(ignore)
        if extend_select is not None:
            extended = overrides.get("extend_select", settings.extend_select)
            overrides["extend_select"] = extended + split_codes(extend_select)
        settings = dataclasses.replace(settings, **overrides)
        settings.selected_codes()  # validate the selection now
    except ConfigError as error:
        raise ExitError(f"varlint: error: {error}") from None
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="varlint")
def main() -> None:
    """varlint: find and fix legacy PyTorch autograd code."""


def selection_options(function):
    for option in reversed(
        [
            click.option("--select", metavar="CODES", help="Rules to enable: codes, prefixes or ALL (comma-separated); replaces the configured selection."),
            click.option("--ignore", metavar="CODES", help="Rules to disable (comma-separated codes or prefixes)."),
            click.option("--extend-select", metavar="CODES", help="Rules to enable on top of the selection."),
            click.option("--config", "config", type=click.Path(dir_okay=False), help="Read settings from this TOML file instead of the nearest pyproject.toml."),
            click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True),
        ]
    ):
        function = option(function)
    return function


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff: apply the unsafe fixes too.")
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes; write nothing.")
@selection_options
@click.option("--statistics", is_flag=True, help="Count diagnostics per rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when diagnostics remain.")
@click.option("--show-fixes", is_flag=True, help="List the fixes applied by --fix.")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only, no summary.")
def check(paths, fix, unsafe_fixes, diff, select, ignore, extend_select, config, output_format,
          statistics, exit_zero, show_fixes, quiet):
    """Check PATHS (default: the current directory) for legacy autograd code."""
    paths = paths or (".",)
    settings = build_settings(config, paths, select, ignore, extend_select)
    missing = [path for path in paths if not Path(path).exists()]
    if missing:
        raise ExitError(f"varlint: error: no such file or directory: {', '.join(missing)}")
    files = list(discover(list(paths), settings.exclude, settings.root))
    mode = None
    if fix or diff:
        mode = Applicability.UNSAFE if unsafe_fixes else Applicability.SAFE
    try:
        results = engine.check_paths(files, settings, mode)
    except Exception:  # noqa: BLE001 - an internal error is exit 2 with the traceback
        traceback.print_exc()
        raise ExitError("varlint: internal error (please report it with the traceback above)") from None
    results.sort(key=lambda result: result.path)

    if diff:
        changed = [r for r in results if r.fixed_text is not None]
        for result in changed:
            click.echo(unified_diff(result), nl=False)
        if not quiet:
            fixes_count = sum(r.fixed for r in changed)
            click.echo(f"Would fix {fixes_count} error{'s' * (fixes_count != 1)}." if changed else "No fixes available.", err=True)
        sys.exit(1 if changed else 0)

    if fix:
        for result in results:
            engine.write_fixes(result)

    remaining = sorted((d for r in results for d in r.diagnostics), key=lambda d: d.sort_key)
    fixed = sum(r.fixed for r in results)
    if output_format == "json":
        click.echo(json_output.render(remaining))
    elif statistics:
        if remaining:
            click.echo(text_output.statistics(remaining))
    else:
        color = sys.stdout.isatty()
        for diagnostic in remaining:
            click.echo(text_output.render_diagnostic(diagnostic, color))
        if show_fixes and fixed:
            click.echo(f"\nFixed {fixed} error{'s' * (fixed != 1)}:")
            for result in results:
                if result.fixed:
                    click.echo(f"- {result.path}: {result.fixed} fix{'es' * (result.fixed != 1)}")
        if not quiet:
            if remaining:
                click.echo()
            click.echo(text_output.summary(remaining, fixed))
    sys.exit(0 if exit_zero or not remaining else 1)


def unified_diff(result) -> str:
    return "".join(
        difflib.unified_diff(
            result.original.splitlines(keepends=True),
            result.fixed_text.splitlines(keepends=True),
            fromfile=result.path,
            tofile=result.path,
        )
    )


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
def rule(code, show_all):
    """Print the documentation of rule CODE (or list all rules with --all)."""
    if show_all or code is None:
        if code is None and not show_all:
            raise click.UsageError("give a rule code (e.g. `varlint rule VL001`) or --all")
        for rule_class in all_rules():
            default = "" if rule_class.default_enabled else "  (off unless selected)"
            click.echo(f"{rule_class.code}  {rule_class.name:<28} {rule_class.summary()}{default}")
        return
    rule_class = rule_by_code(code.upper())
    if rule_class is None:
        raise ExitError(f"varlint: error: unknown rule code `{code}` (see `varlint rule --all`)")
    click.echo(f"# {rule_class.name} ({rule_class.code})\n")
    click.echo(rule_class.documentation())


if __name__ == "__main__":
    main()
