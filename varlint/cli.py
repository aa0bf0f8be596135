"""The command line: `varlint check`, `varlint rule`, `varlint confirm`.

Exit codes (as ruff): 0 nothing left to report, 1 diagnostics left (or `--diff` found changes),
2 usage, configuration or internal error.
"""

from __future__ import annotations

import difflib
import json
import os
import signal
import sys

import click

from varlint import checking, engine, notebook, output
from varlint.diagnostic import Applicability
from varlint.files import remembering_walks
from varlint.output import full as full_output
from varlint.output import json as json_output
from varlint.output import text as text_output
from varlint.rules import all_rules, rule_by_code


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
            click.option("--config", "config", type=click.Path(dir_okay=False), help="Read settings from this TOML file for every path, instead of each file's closest config file."),
            click.option("--isolated", is_flag=True, help="Ignore every config file."),
        ]
    ):
        function = option(function)
    return function


def use_color(choice: str, stream) -> bool:
    """--color always|never wins; with auto, FORCE_COLOR, then NO_COLOR, then whether the
    output is a terminal decide."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("FORCE_COLOR", "") not in ("", "0", "false"):
        return True
    if os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="Apply (with --fix or --diff) or show as available the unsafe fixes too.")
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes; write nothing.")
@selection_options
@click.option("--output-format", type=click.Choice([*output.FORMATS, "text"]), default="full", show_default=True,
              envvar="VARLINT_OUTPUT_FORMAT", show_envvar=True, help="Output format (`text` is `full`).")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the human formats (auto: on a terminal; NO_COLOR and FORCE_COLOR are honoured).")
@click.option("--statistics", is_flag=True, help="Count diagnostics per rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when diagnostics remain.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when --fix fixed something, even if nothing remains.")
@click.option("--show-fixes", is_flag=True, help="With --fix: list the fixes applied per file and rule.")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only, no summary.")
@click.option("--force-exclude", is_flag=True,
              help="Apply `exclude` to files named on the command line too (for pre-commit).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: the number of cores).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Where the result cache lives (default: .varlint_cache next to the configuration, "
                   "or $VARLINT_CACHE_DIR).")
@click.option("--stdin-filename", metavar="PATH", help="Read the source from standard input and name it PATH.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODES` to every line with a diagnostic.")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings of the first PATH and exit.")
@click.option("--show-files", is_flag=True, help="List the files that would be checked and exit.")
def check(paths, fix, unsafe_fixes, diff, select, ignore, extend_select, config, isolated, output_format,
          output_file, color, statistics, exit_zero, exit_non_zero_on_fix, show_fixes, quiet, force_exclude,
          jobs, no_cache, cache_dir, stdin_filename, add_noqa, show_settings, show_files):
    """Check PATHS (default: the current directory; `-`: standard input) for legacy autograd code."""
    output_format = output.ALIASES.get(output_format, output_format)
    resolve = checking.resolver(config, isolated, select, ignore, extend_select)
    from_stdin = paths == ("-",) or (stdin_filename is not None and not paths)
    paths = paths or (".",)
    if show_settings:
        click.echo(settings_report(stdin_filename or paths[0], checking.settings_for(resolve, stdin_filename or paths[0])), nl=False)
        sys.exit(0)
    mode = None
    if fix or diff:
        mode = Applicability.UNSAFE if unsafe_fixes else Applicability.SAFE
    report_stream = sys.stdout
    texts: dict[str, str] = {}
    if from_stdin:
        if add_noqa:
            raise click.UsageError("--add-noqa writes files: it cannot read standard input")
        name = stdin_filename or "-"
        result, source = checking.check_stdin(resolve, name, mode)
        results = [result]
        texts[name] = result.fixed_text if result.fixed_text is not None else source.text
        if fix and not diff:
            # As ruff: the fixed source goes to stdout, the report to stderr.
            sys.stdout.buffer.write(texts[name].encode(source.encoding))
            sys.stdout.flush()
            report_stream = sys.stderr
    else:
        with remembering_walks():  # the tree walk of the index reuses the walk of the paths
            results = check_files(resolve, paths, force_exclude, show_files, output_format, quiet, no_cache,
                                  mode, add_noqa, cache_dir, jobs)
    failed = any(result.internal_error or result.fix_failures for result in results)

    if diff:
        changed = [r for r in results if r.fixed_text is not None]
        for result in changed:
            click.echo(unified_diff(result), nl=False)
        if not quiet:
            fixes_count = sum(r.fixed for r in changed)
            click.echo(f"Would fix {fixes_count} error{'s' * (fixes_count != 1)}." if changed else "No fixes available.", err=True)
        sys.exit(2 if failed else 1 if changed else 0)

    if add_noqa:
        added = checking.add_noqa(results)
        click.echo(f"Added {added} noqa directive{'s' * (added != 1)}.", err=True)
        sys.exit(2 if failed else 0)

    if fix and not from_stdin:
        # SIGTERM as Ctrl-C: the atomic write in progress cleans up its temporary file
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        for result in results:
            engine.write_fixes(result)
            if result.fixed_text is not None:
                texts[result.path] = result.fixed_text

    remaining = sorted((d for r in results for d in r.diagnostics), key=lambda d: d.sort_key)
    fixed = sum(r.fixed for r in results)
    stream = open(output_file, "w", encoding="utf-8") if output_file else report_stream  # noqa: SIM115
    try:
        colored = use_color(color, stream) if not output_file or color == "always" else False
        context = output.OutputContext(colored and output_format in output.HUMAN, unsafe_fixes, SnippetSources(texts))
        click.echo(report(output_format, remaining, results, context, statistics, show_fixes, quiet, fixed),
                   file=stream, nl=False, color=colored)
    finally:
        if output_file:
            stream.close()
    if failed:
        sys.exit(2)
    if exit_non_zero_on_fix and fixed:
        sys.exit(1)
    sys.exit(0 if exit_zero or not remaining else 1)


def check_files(resolve, paths, force_exclude, show_files, output_format, quiet, no_cache, mode, add_noqa,
                cache_dir, jobs):
    """The files under `paths`, checked (or listed, with --show-files); from the cache when it
    knows them."""
    files = checking.files_to_check(resolve, paths, force_exclude)
    if show_files:
        click.echo("".join(f"{path}\n" for path in sorted(files)), nl=False)
        sys.exit(0)
    progress = (output_format in output.HUMAN and not quiet and len(files) >= 10
                and sys.stderr.isatty())
    cache = None
    if not no_cache and mode is None and not add_noqa:
        from varlint.cache import ResultCache, default_cache_dir

        cache = ResultCache(default_cache_dir(checking.settings_for(resolve, paths[0]), cache_dir))
    return checking.run_checks(files, resolve, mode, progress, jobs=jobs, cache=cache)


def report(output_format, remaining, results, context, statistics, show_fixes, quiet, fixed) -> str:
    if statistics:
        if output_format == "json":
            return text_output.statistics_json(remaining, context.unsafe_fixes)
        return text_output.statistics(remaining, context.unsafe_fixes)
    text = output.renderer(output_format)(remaining, context)
    if output_format not in output.HUMAN:
        return text
    if show_fixes:
        applied = text_output.fixes_applied({r.path: r.fixed_codes for r in results if r.fixed_codes})
        text += f"{applied}\n" if applied else ""
    if not quiet:
        unchecked = sum(1 for result in results if result.internal_error)
        text += text_output.summary(remaining, fixed, context.unsafe_fixes, unchecked) + "\n"
    return text


def read_text(path: str, cell: int | None = None) -> str | None:
    """A file's text (a notebook cell's source), for the snippets of the `full` format."""
    try:
        text = engine.read_source(path).text
    except engine.UnreadableFile:
        return None
    if cell is None:
        return text
    return notebook_cell_source(text, cell)


def notebook_cell_source(text: str, cell: int) -> str | None:
    """The source of cell number `cell` (from 1, as `notebook.parse_notebook` numbers them) of
    a notebook that was checked: read from its JSON alone (the check validated it)."""
    try:
        cells = json.loads(text).get("cells")
        found = cells[cell - 1] if isinstance(cells, list) and 0 < cell <= len(cells) else None
    except (ValueError, AttributeError):
        return None
    if not isinstance(found, dict) or found.get("cell_type") != "code":
        return None
    source = found.get("source", "")
    return source if isinstance(source, str) else "".join(source)


class SnippetSources:
    """`(path, cell) -> text` for the snippets, each file read once (the fixed text when a fix
    changed it)."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.memo: dict[tuple[str, int | None], str | None] = {}

    def __call__(self, path: str, cell: int | None = None) -> str | None:
        key = (path, cell)
        if key not in self.memo:
            if cell:
                self.memo[key] = read_text(path, cell)
            else:
                self.memo[key] = self.texts.get(path) or read_text(path)
        return self.memo[key]


def settings_report(path: str, settings) -> str:
    """`--show-settings`: what applies to one file."""
    selected = settings.selected_codes() - settings.ignored_for(path)
    lines = [
        f"Resolved settings for: {path}",
        f"Config file: {settings.source if settings.source else '(none: the defaults)'}",
        *(f"Extends: {extended}" for extended in settings.extends),
        f"Root (exclude, per-file-ignores): {settings.root}",
        f"select = {list(settings.select) if settings.select is not None else '(default)'}",
        f"extend-select = {list(settings.extend_select)}",
        f"ignore = {list(settings.ignore)}",
        f"exclude = {list(settings.exclude)}",
        f"per-file-ignores = {dict((k, list(v)) for k, v in settings.per_file_ignores.items())}",
        f"Ignored here by per-file-ignores: {sorted(settings.ignored_for(path))}",
        f"Excluded: {'yes' if settings.excludes(path) else 'no'}",
        "Rules enabled for this file:",
        *(f"    {rule.code} {rule.name}" for rule in all_rules() if rule.code in selected),
    ]
    return "\n".join(lines) + "\n"


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


def rule_to_dict(rule_class) -> dict:
    return {
        "code": rule_class.code,
        "name": rule_class.name,
        "summary": rule_class.summary(),
        "enabled_by_default": rule_class.default_enabled,
        "explanation": rule_class.documentation(),
    }


@main.command()
@click.argument("rule_name", metavar="CODE_OR_NAME", required=False)
@click.option("--all", "show_all", is_flag=True, help="Print every rule's documentation.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rule(rule_name, show_all, output_format):
    """Print the documentation of a rule, by code (`VL201`) or name (`missing-grad-zeroing`)."""
    if show_all == (rule_name is not None):
        raise click.UsageError("give a rule code or name (e.g. `varlint rule VL001`), or --all")
    if show_all:
        chosen = list(all_rules())
    else:
        wanted = rule_name.strip()
        found = rule_by_code(wanted.upper()) or next((r for r in all_rules() if r.name == wanted.lower()), None)
        if found is None:
            raise checking.ExitError(f"varlint: error: unknown rule `{rule_name}` (see `varlint rule --all`)")
        chosen = [found]
    if output_format == "json":
        items = [rule_to_dict(r) for r in chosen]
        click.echo(json.dumps(items if show_all else items[0], indent=2, ensure_ascii=False))
        return
    click.echo("\n\n".join(f"# {r.name} ({r.code})\n\n{r.documentation()}" for r in chosen))


@main.command()
def server():
    """Run the language server: LSP over stdin/stdout, for editors (see the README)."""
    try:
        from varlint.server import main as serve
    except ImportError as error:  # pygls is the optional `server` extra
        raise checking.ExitError(f"varlint: error: the language server needs pygls 2 ({error}): "
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
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--timeout", type=float, default=30.0, show_default=True, metavar="SECONDS",
              help="Time limit for running each program.")
def confirm(paths, select, ignore, extend_select, config, isolated, output_format, timeout):
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

    When a program stops on the exception a confirmed diagnostic predicted (a 0.3-era
    `.data[0]`) and later diagnostics are undecided, a temporary copy with that diagnostic's
    fix applied (safe or unsafe, as it has) runs next, up to 3 times; each diagnostic says
    which run decided it. A modified copy never decides a diagnostic on a line a fix changed.

    JSON output: {"diagnostics": [the `check` items, each with "confirmed": true | false |
    null, "confirmation": its status and "decided_by": "original" | "after fixing VL004 at
    line N (safe fix)" | null], "unpredicted_events": [...], "runs": [each program's
    returncode, exception, timed_out, stopped_because, decided_early, runtime_gap,
    event_data_error, reruns: [{fixed, run, returncode, exception, timed_out,
    stopped_because}]]}.
    The exit code is that of `check`: 1 when diagnostics remain (confirmed or not), 2 on errors.
    """
    from varlint.confirm import PREDICTING_RULE, confirm_files, tree_summary

    paths = paths or (".",)
    resolve = checking.resolver(config, isolated, select, ignore, extend_select)
    files = checking.files_to_check(resolve, paths)
    if output_format == "text":
        click.echo(f"varlint confirm: running {len(files)} file{'s' * (len(files) != 1)} on the "
                   "reference runtime (this executes their code)", err=True)
    results = checking.run_checks(files, resolve)
    runs = confirm_files(
        {result.path: result.diagnostics for result in results if not result.internal_error},
        lambda path: resolve.for_path(path).selected_codes() - resolve.for_path(path).ignored_for(path),
        timeout,
        click.get_current_context().meta.get("program_args", ()),
    )

    entries = sorted(
        ((entry, run.status(entry), run.decided_by(entry)) for run in runs for entry in run.confirmations),
        key=lambda triple: triple[0].diagnostic.sort_key,
    )
    if output_format == "json":
        click.echo(json.dumps(confirm_report(entries, runs), indent=2, ensure_ascii=False))
    else:
        context = output.OutputContext(color=sys.stdout.isatty())
        for entry, status, decided_by in entries:
            click.echo(full_output.header(entry.diagnostic, context))
            hint = full_output.help_line(entry.diagnostic)
            if hint:
                click.echo(hint)
            rerun = f", in the run {decided_by}" if decided_by not in (None, "original") else ""
            click.echo(f"  = runtime: {CONFIRMATION_TEXT[status]}{rerun}")
        for run in runs:
            for event in run.unpredicted:
                cell = f"cell {event['cell']}:" if "cell" in event else ""
                click.echo(f"{run.path}:{cell}{event['line']}: runtime event `{event['kind']}` that no "
                           f"diagnostic predicted (a possible miss of {PREDICTING_RULE[event['kind']]}): "
                           f"{event.get('detail', '')}")
            for attempt in run.runs:
                limit = f" ({timeout:g} s)" if attempt.result.timed_out else ""
                how = f"ran again {attempt.label}" if attempt.fixed else "ran on the runtime"
                click.echo(f"{run.path}: {how}: {attempt.result.stop_reason}{limit}")
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
    for entry, status, decided_by in entries:
        item = json_output.diagnostic_to_dict(entry.diagnostic)
        item["confirmed"] = {"confirmed": True, "unconfirmed": False}.get(status)
        item["confirmation"] = status
        item["decided_by"] = decided_by
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
                "reruns": [
                    {
                        "fixed": [
                            {"code": d.code, "row": d.start.row, "column": d.start.column,
                             "applicability": d.fix.applicability.value}
                            for d in attempt.fixed
                        ],
                        "run": attempt.label,
                        "returncode": attempt.result.returncode,
                        "exception": attempt.result.exception,
                        "timed_out": attempt.result.timed_out,
                        "stopped_because": attempt.result.stop_reason,
                    }
                    for attempt in run.runs[1:]
                ],
            }
            for run in runs
            if run.result is not None
        ],
    }


def confirm_summary(entries, unpredicted: int) -> str:
    counts = {status: sum(1 for _, s, _ in entries if s == status) for status in CONFIRMATION_TEXT}
    after_fixes = sum(1 for _, _, run in entries if run not in (None, "original"))
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
    if after_fixes:
        lines.append(f"{after_fixes} of them decided by a run with the fix of the crash before them applied.")
    if counts["not-observable"]:
        lines.append(f"{counts['not-observable']} diagnostic{'s' * (counts['not-observable'] != 1)} "
                     "of rules without a runtime event.")
    if unpredicted:
        lines.append(f"{unpredicted} runtime event{'s' * (unpredicted != 1)} that no diagnostic predicted.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
