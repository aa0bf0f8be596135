"""The work behind `varlint check` that is not option parsing: each file's settings, the files
to check, progress on a terminal, standard input, and `--add-noqa`."""

from __future__ import annotations

import ast
import dataclasses
import io
import os
import sys
import tokenize
from pathlib import Path

import click

from varlint import engine, noqa, notebook
from varlint.config import ConfigError, Settings, SettingsResolver, split_codes
from varlint.files import discover


class ExitError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def resolver(config, isolated, select, ignore, extend_select) -> SettingsResolver:
    """Each file's settings, with the command-line selection flags applied to them."""

    def adjust(settings: Settings) -> Settings:
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
        return settings

    if isolated and config:
        raise ExitError("varlint: error: --isolated ignores every config file: it cannot be combined with --config")
    try:
        return SettingsResolver(Path(config) if config else None, isolated, adjust)
    except ConfigError as error:
        raise ExitError(f"varlint: error: {error}") from None


def settings_for(resolve: SettingsResolver, path: str) -> Settings:
    try:
        return resolve.for_path(path)
    except ConfigError as error:
        raise ExitError(f"varlint: error: {error}") from None


def files_to_check(resolve: SettingsResolver, paths, force_exclude=False) -> list[str]:
    """The files under `paths`, each kept unless its own settings exclude it (a file named on
    the command line is kept unless --force-exclude)."""
    missing = [path for path in paths if not Path(path).exists()]
    if missing:
        raise ExitError(f"varlint: error: no such file or directory: {', '.join(missing)}")
    named = {os.path.normpath(path) for path in paths if not os.path.isdir(path)}
    files: dict[str, None] = {}
    for given in paths:
        # Walked with the exclude of the given path's settings; files under a nested config
        # then answer to their own.
        top = settings_for(resolve, given)
        for path in discover([given], top.exclude, top.root, force_exclude):
            if (path not in named or force_exclude) and settings_for(resolve, path).excludes(path):
                continue
            files.setdefault(path)
    return list(files)


def run_checks(files, resolve: SettingsResolver, mode=None, progress: bool = False, jobs=None, cache=None):
    """Check the files, each with its own settings; a file varlint fails on is reported on
    stderr and the others go on. `progress` shows `files done / total` on stderr."""
    by_path = {path: settings_for(resolve, path) for path in files}
    done = 0

    def arrived(result) -> None:
        nonlocal done
        done += 1
        if progress:
            click.echo(f"\rvarlint: checked {done}/{len(files)} files", nl=False, err=True)

    default = by_path[files[0]] if files else settings_for(resolve, ".")
    results = engine.check_paths(files, default, mode, jobs=jobs, cache=cache, on_result=arrived,
                                 settings_by_path=by_path)
    if progress and files:
        click.echo("\r\033[K", nl=False, err=True)
    results.sort(key=lambda result: result.path)
    for result in results:
        for warning in result.warnings:
            click.echo(f"varlint: warning: {warning}", err=True)
        if result.internal_error:
            click.echo(
                f"varlint: internal error while checking {result.path}: {result.internal_error} "
                "(please report it)",
                err=True,
            )
        for failure in result.fix_failures:
            click.echo(f"varlint: internal error: {failure} (please report it)", err=True)
    return results


def read_stdin() -> engine.SourceText:
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        raise ExitError(f"varlint: error: cannot decode standard input: {error}") from None
    return engine.SourceText(text.removeprefix("\ufeff"), encoding)


def check_stdin(resolve: SettingsResolver, filename: str, mode):
    settings = settings_for(resolve, filename if filename != "-" else ".")
    codes = settings.selected_codes() - settings.ignored_for(filename)
    source = read_stdin()
    result = engine.check_text(filename, source, codes, mode, stdin_project(resolve, filename, source.text))
    for warning in result.warnings:
        click.echo(f"varlint: warning: {warning}", err=True)
    return result, source


def stdin_project(resolve: SettingsResolver, filename: str, text: str):
    """The project index of the tree `--stdin-filename` names a file of, with that file read
    from standard input: imports from the tree resolve, and a fix keeps imports that the
    tree's other modules need. None for plain `-` or a name outside any folder."""
    from varlint.files import tree_files
    from varlint.project import ProjectIndex, read_text

    if filename == "-" or not filename.endswith(".py"):
        return None
    settings = settings_for(resolve, filename)
    stdin_path = os.path.abspath(filename)
    others = [path for path in tree_files([filename], settings.exclude, settings.root) if os.path.abspath(path) != stdin_path]
    return ProjectIndex.build(others + [filename], read=lambda path: text if os.path.abspath(path) == stdin_path else read_text(path))


def add_noqa(results) -> int:
    """Write `# noqa: CODES` on each line with a diagnostic; return the directives added."""
    added = 0
    for result in results:
        if not result.diagnostics or result.internal_error:
            continue
        try:
            source = engine.read_source(result.path)
        except engine.UnreadableFile:
            continue
        if notebook.is_notebook(result.path):  # the cells' lines; only changed cells rewritten
            try:
                text, count = notebook.add_noqa(notebook.parse_notebook(result.path, source.text), result.diagnostics)
            except notebook.NotebookError:
                continue
        else:
            text, count = noqa.add_directives(source.text, result.diagnostics)
        if count and text is not None and (notebook.is_notebook(result.path) or _compiles(text, result.path)):
            engine.write_source(result.path, text, source.encoding)
            added += count
    return added


def _compiles(text: str, path: str) -> bool:
    try:
        compile(text, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True
