"""The command line: `varlint check`, `varlint rule`, `varlint confirm`.

Exit codes (as ruff): 0 nothing left to report, 1 diagnostics left (or `--diff` found changes),
2 usage, configuration or internal error.
"""

from __future__ import annotations

import dataclasses
import difflib
import signal
import sys
from pathlib import Path

import click

from varlint import engine, notebook
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
@click.option("--force-exclude", is_flag=True,
              help="Apply `exclude` to files named on the command line too (for pre-commit).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: the number of cores).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Where the result cache lives (default: .varlint_cache next to the configuration, "
                   "or $VARLINT_CACHE_DIR).")
def check(paths, fix, unsafe_fixes, diff, select, ignore, extend_select, config, output_format,
          statistics, exit_zero, show_fixes, quiet, force_exclude, jobs, no_cache, cache_dir):
    """Check PATHS (default: the current directory) for legacy autograd code."""
    paths = paths or (".",)
    settings, files = settings_and_files(paths, config, select, ignore, extend_select, force_exclude)
    mode = None
    if fix or diff:
        mode = Applicability.UNSAFE if unsafe_fixes else Applicability.SAFE
    cache = None
    if not no_cache and mode is None:
        from varlint.cache import ResultCache, default_cache_dir

        cache = ResultCache(default_cache_dir(settings, cache_dir))
    results = run_checks(files, settings, mode, jobs=jobs, cache=cache)
    failed = any(result.internal_error or result.fix_failures for result in results)

    if diff:
        changed = [r for r in results if r.fixed_text is not None]
        for result in changed:
            click.echo(unified_diff(result), nl=False)
        if not quiet:
            fixes_count = sum(r.fixed for r in changed)
            click.echo(f"Would fix {fixes_count} error{'s' * (fixes_count != 1)}." if changed else "No fixes available.", err=True)
        sys.exit(2 if failed else 1 if changed else 0)

    if fix:
        # SIGTERM as Ctrl-C: the atomic write in progress cleans up its temporary file
        signal.signal(signal.SIGTERM, signal.default_int_handler)
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
    if failed:
        sys.exit(2)
    sys.exit(0 if exit_zero or not remaining else 1)


def settings_and_files(paths, config, select, ignore, extend_select, force_exclude=False):
    settings = build_settings(config, paths, select, ignore, extend_select)
    missing = [path for path in paths if not Path(path).exists()]
    if missing:
        raise ExitError(f"varlint: error: no such file or directory: {', '.join(missing)}")
    return settings, list(discover(list(paths), settings.exclude, settings.root, force_exclude))


def run_checks(files, settings, mode=None, jobs=None, cache=None):
    """Check the files; a file varlint fails on is reported on stderr, the others go on."""
    checked = engine.check_paths(files, settings, mode, jobs=jobs, cache=cache)
    results = sorted(checked, key=lambda result: result.path)
    for result in results:
        if result.internal_error:
            click.echo(
                f"varlint: internal error while checking {result.path}: {result.internal_error} "
                "(please report it)",
                err=True,
            )
        for failure in result.fix_failures:
            click.echo(f"varlint: internal error: {failure} (please report it)", err=True)
    return results


def unified_diff(result) -> str:
    if result.cell_changes is not None:
        return notebook.cell_diff(result.path, result.cell_changes)
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


@main.command()
def server():
    """Run the language server: LSP over stdin/stdout, for editors (see the README)."""
    try:
        from varlint.server import main as serve
    except ImportError as error:  # pygls is the optional `server` extra
        raise ExitError(f"varlint: error: the language server needs pygls 2 ({error}): "
                        "pip install 'varlint[server]'") from None
    serve()


CONFIRMATION_TEXT = {
    "confirmed": "confirmed by the runtime",
    "unconfirmed": "NOT confirmed: the runtime did not observe it (a false positive? please report it)",
    "not-reached": "not reached: the program never ran this line",
    "stopped": "undecided: the program was stopped at the time limit before its event happened",
    "not-observable": "not observable at run time",
    "not-run": "not run: the file cannot be parsed",
    "invalid-run": "undecided: the run's event data was malformed, so it decides nothing",
    "cut-short": "undecided: its line ran, but the program stopped before its event was due (why: below)",
}


class _ProgramArgsCommand(click.Command):
    """`varlint confirm FILE -- ARGS...`: what follows `--` is the programs' argv."""

    def parse_args(self, ctx, args):
        if "--" in args:
            index = args.index("--")
            ctx.meta["program_args"] = tuple(args[index + 1:])
            args = args[:index]
        return super().parse_args(ctx, args)


@main.command(cls=_ProgramArgsCommand)
@click.argument("paths", nargs=-1, type=click.Path())
@selection_options
@click.option("--timeout", type=float, default=30.0, show_default=True, metavar="SECONDS",
              help="Time limit for running each program.")
def confirm(paths, select, ignore, extend_select, config, output_format, timeout):
    """Check PATHS, then RUN each file on the bundled reference runtime and show, for each
    diagnostic, whether the run confirmed it.

    This executes the programs (in a subprocess, with `torch` served by the numpy runtime and
    a time limit): run it on code you trust. A diagnostic is confirmed (the runtime observed
    its event at its line), unconfirmed (no event there: a possible false positive), not
    reached (the program never ran that line) or not observable (the rule has no runtime
    event). Runtime events that no diagnostic predicted are listed as possible misses.

    `varlint confirm FILE -- ARGS...` passes ARGS to the program. It runs with standard input
    closed, in a temporary working directory (its own directory stays first on sys.path), with
    limits on time, memory and processes, and is stopped as soon as each of its diagnostics is
    decided. The output says why each program stopped (its exception, or the runtime API it
    lacks) and ends with a summary over the tree.

    JSON output: {"diagnostics": [the `check` items, each with "confirmed": true | false |
    null and "confirmation": its status], "unpredicted_events": [...], "runs": [each program's
    returncode, exception, timed_out, stopped_because, decided_early, runtime_gap,
    event_data_error]}.
    The exit code is that of `check`: 1 when diagnostics remain (confirmed or not), 2 on errors.
    """
    import json

    from varlint.confirm import PREDICTING_RULE, confirm_files, tree_summary

    paths = paths or (".",)
    settings, files = settings_and_files(paths, config, select, ignore, extend_select)
    if output_format == "text":
        click.echo(f"varlint confirm: running {len(files)} file{'s' * (len(files) != 1)} on the "
                   "reference runtime (this executes their code)", err=True)
    results = run_checks(files, settings)
    runs = confirm_files(
        {result.path: result.diagnostics for result in results if not result.internal_error},
        lambda path: settings.selected_codes() - settings.ignored_for(path),
        timeout,
        click.get_current_context().meta.get("program_args", ()),
    )

    entries = sorted(
        ((entry, run.status(entry)) for run in runs for entry in run.confirmations),
        key=lambda pair: pair[0].diagnostic.sort_key,
    )
    if output_format == "json":
        click.echo(json.dumps(confirm_report(entries, runs), indent=2, ensure_ascii=False))
    else:
        color = sys.stdout.isatty()
        for entry, status in entries:
            click.echo(text_output.render_diagnostic(entry.diagnostic, color))
            click.echo(f"  = runtime: {CONFIRMATION_TEXT[status]}")
        for run in runs:
            for event in run.unpredicted:
                cell = f"cell {event['cell']}:" if "cell" in event else ""
                click.echo(f"{run.path}:{cell}{event['line']}: runtime event `{event['kind']}` that no "
                           f"diagnostic predicted (a possible miss of {PREDICTING_RULE[event['kind']]}): "
                           f"{event.get('detail', '')}")
            if run.result is not None:
                limit = f" ({timeout:g} s)" if run.result.timed_out else ""
                click.echo(f"{run.path}: ran on the runtime: {run.result.stop_reason}{limit}")
        click.echo()
        click.echo(confirm_summary(entries, sum(len(run.unpredicted) for run in runs)))
        for line in tree_summary(runs):
            click.echo(line)
    if any(result.internal_error for result in results):
        sys.exit(2)
    sys.exit(1 if entries else 0)


def confirm_report(entries, runs) -> dict:
    """The JSON document of `varlint confirm` (see its help)."""
    diagnostics = []
    for entry, status in entries:
        item = json_output.diagnostic_to_dict(entry.diagnostic)
        item["confirmed"] = {"confirmed": True, "unconfirmed": False}.get(status)
        item["confirmation"] = status
        diagnostics.append(item)
    return {
        "diagnostics": diagnostics,
        "unpredicted_events": [{**event, "filename": run.path} for run in runs for event in run.unpredicted],
        "runs": [
            {
                "filename": run.path,
                "returncode": run.result.returncode,
                "exception": run.result.exception,
                "timed_out": run.result.timed_out,
                "stopped_because": run.result.stop_reason,
                "decided_early": run.result.decided,
                "runtime_gap": run.result.gap,
                "event_data_error": run.result.channel_error,
            }
            for run in runs
            if run.result is not None
        ],
    }


def confirm_summary(entries, unpredicted: int) -> str:
    counts = {status: sum(1 for _, s in entries if s == status) for status in CONFIRMATION_TEXT}
    observable = len(entries) - counts["not-observable"]
    details = [
        f"{counts[status]} {label}"
        for status, label in (
            ("unconfirmed", "unconfirmed"),
            ("not-reached", "not reached"),
            ("stopped", "stopped by the time limit"),
            ("not-run", "in files that cannot be run"),
            ("invalid-run", "in runs whose event data was malformed"),
            ("cut-short", "cut short by the program's end"),
        )
        if counts[status]
    ]
    headline = f"{counts['confirmed']} of {observable} runtime-observable diagnostic{'s' * (observable != 1)} confirmed"
    lines = [f"{headline} ({', '.join(details)})." if details else f"{headline}."]
    if counts["not-observable"]:
        lines.append(f"{counts['not-observable']} diagnostic{'s' * (counts['not-observable'] != 1)} "
                     "of rules without a runtime event.")
    if unpredicted:
        lines.append(f"{unpredicted} runtime event{'s' * (unpredicted != 1)} that no diagnostic predicted.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
