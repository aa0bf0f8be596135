"""Jupyter notebooks (`.ipynb`): reading, the code cells as one module, and writing fixes back.

A notebook runs its code cells in order in one namespace, so varlint analyses them as one
module (a `Variable` import in cell 1 resolves in cell 5): `Script` joins the code cells,
separated by a boundary line that no fix touches, with IPython syntax masked (`%magic`,
`!shell`, `x = !cmd`, `obj?` lines become a placeholder `pass`; a cell whose `%%magic` runs
another language is left out). Diagnostics are mapped back to (cell, row, column), cells
counted from 1 in the notebook's order, markdown cells included, as ruff does.

`--fix` rewrites only the `source` values of the changed cells in the notebook's JSON text,
in the notebook's own layout: outputs, metadata, execution counts, key order and indentation
stay byte for byte. nbformat reads and validates the notebook; a file that is not a valid
nbformat-4 notebook is reported, not fixed.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import difflib
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Callable, Iterable

from varlint.diagnostic import Diagnostic, Edit, Fix, Position

SUFFIX = ".ipynb"

# A line that no fix touches, between cells: its position tells where a cell ends even after
# fixes added or removed lines. `pass` at module level changes nothing the rules look at.
BOUNDARY = "pass  # varlint: end of cell"
# What a line of IPython syntax becomes while the code is analysed (restored on write).
PLACEHOLDER = "pass  # varlint: IPython syntax"

IPYTHON_LINE = re.compile(
    r"""^\s*(?:
        [!%?]                             # !shell, %magic, ?help
      | [\w.]+\s*=\s*[!%]                 # x = !cmd, x = %magic
      | [\w.\[\]()]+\s*\?\??\s*$          # obj? and obj??
    )""",
    re.X,
)
# Cell magics whose body is Python run in the notebook's namespace; any other `%%magic`
# (bash, writefile, html, ...) makes the whole cell another language.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
NEWLINE = re.compile(r"\r\n|\r|\n")
# How rule messages refer to other lines ("`optimizer.step()` (line 19)"): rows of the script,
# rewritten to rows of cells.
LINE_REFERENCE = re.compile(r"\bline (\d+)\b")


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


class NotebookError(Exception):
    """The file is not a notebook varlint can read (reported as VL901)."""


# --- The code cells as one module ---------------------------------------------------------


@dataclass(frozen=True)
class CodeCell:
    number: int  # position in the notebook, from 1, markdown cells included
    source: str


@dataclass(frozen=True)
class _Part:
    cell: CodeCell
    lines: tuple[str, ...]  # the analysed lines (IPython syntax replaced by the placeholder)
    masked: tuple[str, ...]  # the original text of each placeholder line, in order
    included: bool  # False for a cell in another language (`%%bash`, ...)


def _physical_lines(source: str) -> list[str]:
    lines = NEWLINE.split(source)
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line
    return lines


def _prepare(cell: CodeCell) -> _Part:
    lines = _physical_lines(cell.source)
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return _Part(cell, (), (), False)
    analysed, masked = [], []
    for line in lines:
        if IPYTHON_LINE.match(line) and not line.lstrip().startswith("#"):
            indent = line[: len(line) - len(line.lstrip())]
            analysed.append(indent + PLACEHOLDER)
            masked.append(line)
        else:
            analysed.append(line)
    return _Part(cell, tuple(analysed), tuple(masked), True)


class Script:
    """The code cells joined into one module, and the map between its rows and the cells."""

    def __init__(self, cells: Iterable[CodeCell]) -> None:
        self.parts = [_prepare(cell) for cell in cells]
        self.starts: list[int] = []  # first row of each cell in the script
        lines: list[str] = []
        for part in self.parts:
            self.starts.append(len(lines) + 1)
            lines.extend(part.lines)
            lines.append(BOUNDARY)
        self.text = "".join(line + "\n" for line in lines)

    def locate(self, row: int) -> tuple[int, int]:
        """(cell number, row in the cell) of a script row; a boundary row counts as the row
        after its cell's last line."""
        index = max(bisect.bisect_right(self.starts, row) - 1, 0)
        return self.parts[index].cell.number, row - self.starts[index] + 1

    def _cell_index(self, row: int) -> int:
        return max(bisect.bisect_right(self.starts, row) - 1, 0)

    def _is_boundary(self, row: int) -> bool:
        index = self._cell_index(row)
        return row - self.starts[index] >= len(self.parts[index].lines)

    def within_one_cell(self, fix: Fix) -> bool:
        """Whether every edit of the fix stays inside one cell (the start of the boundary
        line counts as the end of the cell before it: deleting a cell's last line ends there)."""
        positions = [position for edit in fix.edits for position in (edit.start, edit.end)]
        if any(self._is_boundary(p.row) and p.column != 1 for p in positions):
            return False
        return len({self._cell_index(p.row) for p in positions}) == 1

    def linter(self, lint: Callable[..., list[Diagnostic]], rejected: list | None = None):
        """`lint` (see fixes.Linter) for fixes.fix_until_stable: fixes that would cross a cell boundary are
        dropped (each pass re-reads the boundaries from the text it lints); with `rejected`
        (a list), each such fix is added to it once, as a FixFailure in cell coordinates."""

        def lint_script(path: str, text: str, codes: frozenset[str], parsed=None) -> list[Diagnostic]:
            script = self if text == self.text else _script_of_text(self, text)
            if script is not None and script.text != text:
                script = None
            diagnostics = lint(path, text, codes) if parsed is None else lint(path, text, codes, parsed=parsed)
            if script is None:
                return [dataclasses.replace(d, fix=None) for d in diagnostics]
            kept = []
            for d in diagnostics:
                if d.fix is None or script.within_one_cell(d.fix):
                    kept.append(d)
                    continue
                kept.append(dataclasses.replace(d, fix=None))
                if rejected is not None:
                    from varlint import fixes

                    if fixes.fix_key(d) not in {fixes.fix_key(f.diagnostic) for f in rejected}:
                        rejected.append(fixes.FixFailure(script.to_cells(d), text, "reaches across a cell boundary"))
            return kept

        return lint_script

    def to_cells(self, diagnostic: Diagnostic) -> Diagnostic:
        """The diagnostic with its positions (and its fix's) in its cell's coordinates."""
        cell, row = self.locate(diagnostic.start.row)
        end = diagnostic.end if self.locate(diagnostic.end.row)[0] == cell else diagnostic.start
        fix = diagnostic.fix
        if fix is not None:
            fix = dataclasses.replace(
                fix, edits=tuple(Edit(self._in_cell(e.start), self._in_cell(e.end), e.content) for e in fix.edits)
            )
        return dataclasses.replace(
            diagnostic,
            message=LINE_REFERENCE.sub(lambda match: self._line_reference(int(match.group(1)), cell), diagnostic.message),
            cell=cell,
            start=Position(row, diagnostic.start.column),
            end=self._in_cell(end),
            fix=fix,
        )

    def to_script(self, diagnostic: Diagnostic) -> Diagnostic:
        """The inverse of `to_cells` for positions: the diagnostic at rows of the script."""
        start = self.starts[[part.cell.number for part in self.parts].index(diagnostic.cell)]
        return dataclasses.replace(
            diagnostic,
            cell=None,
            start=Position(start + diagnostic.start.row - 1, diagnostic.start.column),
            end=Position(start + diagnostic.end.row - 1, diagnostic.end.column),
        )

    def _line_reference(self, row: int, cell: int) -> str:
        row_cell, row_in_cell = self.locate(row)
        return f"line {row_in_cell}" if row_cell == cell else f"line {row_in_cell} of cell {row_cell}"

    def _in_cell(self, position: Position) -> Position:
        return Position(self.locate(position.row)[1], position.column)

    def split(self, text: str) -> list[str] | None:
        """The sources of the code cells in a (fixed) script text; None if a boundary or a
        placeholder went missing (then nothing is written)."""
        groups: list[list[str]] = [[]]
        for line in _physical_lines(text):
            if line == BOUNDARY:
                groups.append([])
            else:
                groups[-1].append(line)
        if len(groups) != len(self.parts) + 1 or groups[-1]:
            return None
        sources = []
        for part, lines in zip(self.parts, groups):
            if not part.included:
                if lines:
                    return None
                sources.append(part.cell.source)
                continue
            restored = _restore(lines, part.masked)
            if restored is None:
                return None
            if restored == _physical_lines(part.cell.source):
                sources.append(part.cell.source)  # unchanged: keep its own newlines
                continue
            ending = "\n" if part.cell.source.endswith(("\n", "\r")) else ""
            sources.append("\n".join(restored) + ending)
        return sources


def _restore(lines: list[str], masked: tuple[str, ...]) -> list[str] | None:
    originals = iter(masked)
    restored = []
    for line in lines:
        if line.strip() == PLACEHOLDER:
            original = next(originals, None)
            if original is None:
                return None
            restored.append(original)
        else:
            restored.append(line)
    return None if next(originals, None) is not None else restored


def _script_of_text(script: Script, text: str) -> Script | None:
    """A Script whose cell map fits `text` (a fixed version of `script.text`)."""
    sources = script.split(text)
    if sources is None:
        return None
    return Script(CodeCell(part.cell.number, source) for part, source in zip(script.parts, sources))


# --- Reading and writing notebooks --------------------------------------------------------


@dataclass
class Notebook:
    path: str
    raw: str  # the JSON text as read
    code_cells: list[CodeCell]
    source_spans: dict[int, tuple[int, int]]  # cell number -> span of its "source" value in raw

    def script(self) -> Script:
        return Script(self.code_cells)

    def with_sources(self, sources: dict[int, str]) -> str:
        """The JSON text with the sources of some cells replaced, everything else kept."""
        text = self.raw
        for number in sorted(sources, reverse=True):
            start, end = self.source_spans[number]
            text = text[:start] + _format_source(self.raw, start, end, sources[number]) + text[end:]
        expected = json.loads(self.raw)
        for number, source in sources.items():
            expected["cells"][number - 1]["source"] = source
        rewritten = json.loads(text)
        for cell in rewritten["cells"]:
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
        for cell in expected["cells"]:
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
        if rewritten != expected:  # never write a notebook that says something else
            raise NotebookError("internal error: the rewritten notebook differs beyond the fixed cells")
        return text


def parse_notebook(path: str, raw: str) -> Notebook:
    import nbformat  # late: only notebooks need it

    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"invalid notebook JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        version = data.get("nbformat") if isinstance(data, dict) else None
        if isinstance(version, int) and version < 4:
            raise NotebookError(
                f"nbformat {version} notebook: varlint reads nbformat 4; convert it with "
                "`jupyter nbconvert --to notebook --inplace`"
            )
        raise NotebookError("not a Jupyter notebook: the JSON has no `cells` list")
    try:
        nbformat.validate(nbformat.from_dict(data))
    except nbformat.ValidationError as error:
        raise NotebookError(f"not a valid nbformat 4 notebook: {_short(error.message)}") from None
    language = (data.get("metadata", {}).get("language_info") or {}).get("name", "python")
    spans = _source_spans(raw)
    code_cells = []
    if str(language).lower() == "python":  # a notebook of another kernel language has no Python
        for number, cell in enumerate(data["cells"], start=1):
            if cell.get("cell_type") == "code":
                source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                code_cells.append(CodeCell(number, source))
    return Notebook(path, raw, code_cells, spans)


def _short(message: str, limit: int = 160) -> str:
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


# A minimal JSON walker that records where values are, so that a fix replaces only the
# `source` of a cell and leaves the rest of the text as the notebook's editor wrote it.
_SPACE = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def _skip(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()


def _value_end(text: str, index: int) -> int:
    char = text[index]
    if char == '"':
        return scanstring(text, index + 1)[1]
    if char == "{":
        return _members(text, index)[1]
    if char == "[":
        return _elements(text, index)[1]
    return _SCALAR.match(text, index).end()


def _members(text: str, index: int) -> tuple[dict[str, tuple[int, int]], int]:
    """Spans of an object's values by key, and the end of the object (at `{`)."""
    members = {}
    index = _skip(text, index + 1)
    if text[index] == "}":
        return members, index + 1
    while True:
        key, index = scanstring(text, _skip(text, index) + 1)
        start = _skip(text, _skip(text, index) + 1)  # past the colon
        end = _value_end(text, start)
        members[key] = (start, end)
        index = _skip(text, end)
        if text[index] == "}":
            return members, index + 1
        index += 1  # the comma


def _elements(text: str, index: int) -> tuple[list[tuple[int, int]], int]:
    elements = []
    index = _skip(text, index + 1)
    if text[index] == "]":
        return elements, index + 1
    while True:
        start = _skip(text, index)
        end = _value_end(text, start)
        elements.append((start, end))
        index = _skip(text, end)
        if text[index] == "]":
            return elements, index + 1
        index += 1


def _source_spans(raw: str) -> dict[int, tuple[int, int]]:
    top, _ = _members(raw, _skip(raw, 0))
    cells, _ = _elements(raw, top["cells"][0])
    spans = {}
    for number, (start, _) in enumerate(cells, start=1):
        members, _ = _members(raw, start)
        if "source" in members:
            spans[number] = members["source"]
    return spans


def _format_source(raw: str, start: int, end: int, source: str) -> str:
    """`source` as JSON in the layout of the value it replaces (a list of lines, as nbformat
    writes, or one string)."""
    original = raw[start:end]
    ascii_only = "\\u" in raw and raw.isascii()  # written with ensure_ascii
    if original.startswith('"'):
        return json.dumps(source, ensure_ascii=ascii_only)
    items = [json.dumps(line, ensure_ascii=ascii_only) for line in source.splitlines(keepends=True)]
    if not items:
        return "[]"
    newline = "\r\n" if "\r\n" in raw else "\n"
    if "\n" in original:
        item_indent = re.match(r"[ \t]*", original[original.index("\n") + 1 :]).group()
        closing_indent = original[original.rindex("\n") + 1 : -1]
    elif original == "[]" and "\n" in raw:
        line_start = raw.rfind("\n", 0, start) + 1
        closing_indent = re.match(r"[ \t]*", raw[line_start:]).group()
        unit = re.search(r"\n([ \t]+)\"", raw)
        item_indent = closing_indent + (unit.group(1) if unit else " ")
    else:
        return "[" + ", ".join(items) + "]"
    return "[" + newline + ("," + newline).join(item_indent + item for item in items) + newline + closing_indent + "]"


# --- Per-cell diffs -----------------------------------------------------------------------


def cell_diff(path: str, changes: list[tuple[int, str, str]]) -> str:
    """Unified diffs of the changed cells, one per cell, headed `path:cell N` (as ruff)."""
    chunks = []
    for number, before, after in changes:
        label = f"{path}:cell {number}"
        chunks.extend(
            difflib.unified_diff(
                _with_newline(before).splitlines(keepends=True),
                _with_newline(after).splitlines(keepends=True),
                fromfile=label,
                tofile=label,
            )
        )
    return "".join(chunks)


def _with_newline(source: str) -> str:
    return source if not source or source.endswith("\n") else source + "\n"


# --- Checking and fixing a notebook -------------------------------------------------------


@dataclass
class NotebookCheck:
    diagnostics: list[Diagnostic]  # in cell coordinates
    fixed: int = 0
    fixed_codes: dict[str, int] = dataclasses.field(default_factory=dict)  # fixes applied per rule
    fixed_raw: str | None = None  # the notebook's new JSON text, when fixes changed a cell
    changes: list[tuple[int, str, str]] = dataclasses.field(default_factory=list)  # (cell, before, after)
    failures: list[str] = dataclasses.field(default_factory=list)  # fixes left out (varlint bugs)


def check(book: Notebook, codes: frozenset[str], mode, lint) -> NotebookCheck:
    """Lint the notebook's code cells as one module; with `mode` (an Applicability), fix them
    as fixes.fix_until_stable fixes a file."""
    script = book.script()
    if mode is None:
        return NotebookCheck([script.to_cells(d) for d in script.linter(lint)(book.path, script.text, codes)])
    fixed = fix(script, book.path, codes, mode, lint)
    if fixed is None:  # cannot happen (fixes stay inside cells); never write then
        unfixed = check(book, codes, None, lint)
        unfixed.failures = [f"the fixes of {book.path} could not be mapped back to its cells; none was written"]
        return unfixed
    outcome, changes = fixed
    fixed_raw = book.with_sources({number: after for number, _, after in changes}) if changes else None
    failures = [failure.describe() for failure in outcome.failures]
    return NotebookCheck(outcome.remaining, outcome.fixed, outcome.fixed_codes, fixed_raw, changes, failures)


def fix(script: Script, path: str, codes: frozenset[str], mode, lint):
    """Fix the cells of `script` as one module: (the outcome, its diagnostics in cell
    coordinates; the changed cells as (cell, before, after)), or None if the cells could not
    be told apart in the result."""
    from varlint import fixes  # (libcst: not loaded to read a notebook)

    rejected: list[fixes.FixFailure] = []
    outcome = fixes.fix_until_stable(path, script.text, codes, mode, script.linter(lint, rejected))
    fixed_script = script if outcome.text == script.text else _script_of_text(script, outcome.text)
    if fixed_script is None:
        return None
    # The fixes that did not parse, at their cell's rows (of the pass that found them).
    outcome.failures = [_in_cells(script, failure) for failure in outcome.failures] + rejected
    changes = [
        (before.cell.number, before.cell.source, after.cell.source)
        for before, after in zip(script.parts, fixed_script.parts)
        if before.cell.source != after.cell.source
    ]
    outcome.remaining = [fixed_script.to_cells(d) for d in outcome.remaining]
    return outcome, changes


def _in_cells(script: Script, failure: fixes.FixFailure) -> fixes.FixFailure:
    """`failure` with its diagnostic in cell coordinates of the text it was found in."""
    at = script if failure.text in ("", script.text) else _script_of_text(script, failure.text)
    if at is None:
        return failure
    return dataclasses.replace(failure, diagnostic=at.to_cells(failure.diagnostic))


def add_noqa(book: Notebook, diagnostics: list[Diagnostic]) -> tuple[str | None, int]:
    """`--add-noqa` for a notebook: `# noqa: CODES` on the cell line of each diagnostic (in
    cell coordinates), as for a file; returns (the new JSON text with only the changed cells'
    sources replaced, or None; directives added). Where a directive would not survive the
    trip back to the cells (a line of IPython syntax), nothing is written."""
    from varlint import noqa

    script = book.script()
    numbers = {part.cell.number for part in script.parts if part.included}
    in_script = [script.to_script(d) for d in diagnostics if d.cell in numbers]
    text, added = noqa.add_directives(script.text, in_script)
    if not added:
        return None, 0
    sources = script.split(text)
    if sources is None or not _compiles(text):
        return None, 0
    changed = {part.cell.number: source for part, source in zip(script.parts, sources) if source != part.cell.source}
    return (book.with_sources(changed) if changed else None), added


def _compiles(text: str) -> bool:
    try:
        compile(text, "<notebook>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True
