"""`# noqa` directives: which diagnostics they silence, which are invalid, which are unused.

- `# noqa` on a line silences every diagnostic of that line; `# noqa: VL001,VL003` (commas
  and/or spaces) only those codes. Codes of other tools (`E501`) are allowed and ignored.
- `# varlint: noqa` anywhere in the file (a comment) silences the whole file;
  `# varlint: noqa: VL001,VL005` only those codes.
- A directive that is not a list of codes (`# noqa: zero-dim-index`, `# noqa:`) silences
  nothing and is warned about, as is an unknown `VL` code, instead of being taken as a
  blanket `# noqa`.
- A diagnostic is silenced by a directive on its line or, when that line continues (a
  multi-line string, a backslash), on the line where the statement's token ends: the line where
  `--add-noqa` puts the directive.

Only comments count: a `# noqa` inside a string is text. The unused directives are reported as
VL902 (see varlint/rules/unused_noqa.py).
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from varlint.diagnostic import Applicability, Diagnostic, Edit, Fix, Position

LINE_DIRECTIVE = re.compile(r"#\s*noqa(?![\w-])(?P<colon>\s*:)?(?P<rest>.*)", re.I)
FILE_DIRECTIVE = re.compile(r"#\s*varlint\s*:\s*noqa(?![\w-])(?P<colon>\s*:)?(?P<rest>.*)", re.I)
CODE = re.compile(r"[A-Z]+[0-9]+")
CODES = re.compile(r"\s*(?P<codes>[A-Z]+[0-9]+(?:(?:\s*,\s*|\s+)[A-Z]+[0-9]+)*)\s*,?", re.I)
OUR_PREFIX = "VL"
UNUSED_NOQA = "VL902"


@dataclass
class LineDirective:
    row: int
    start: int  # 0-based column of the `#` of the directive
    end: int  # 0-based column where the comment ends
    codes: tuple[str, ...] | None  # None: blanket `# noqa`
    codes_span: tuple[int, int] | None = None  # columns of the code list
    used: set[str] = field(default_factory=set)


@dataclass
class Directives:
    """The noqa directives of one file."""

    lines: dict[int, LineDirective] = field(default_factory=dict)
    file_codes: frozenset[str] | None = None  # None: no file directive; empty: every code
    warnings: list[str] = field(default_factory=list)
    # A row whose statement continues below maps to the row where its directive goes.
    continuation: dict[int, int] = field(default_factory=dict)

    def noqa_row(self, row: int) -> int:
        return self.continuation.get(row, row)

    def directive_for(self, code: str, row: int) -> LineDirective | None:
        for candidate in dict.fromkeys((row, self.noqa_row(row))):
            directive = self.lines.get(candidate)
            if directive is not None and (directive.codes is None or code in directive.codes):
                return directive
        return None

    def suppresses(self, code: str, row: int) -> bool:
        if self.file_codes is not None and (not self.file_codes or code in self.file_codes):
            return True
        return self.directive_for(code, row) is not None


def comments(text: str) -> list[tuple[int, int, str]]:
    """(row, 0-based column, text) of each comment; by line when the file does not tokenize."""
    try:
        return [
            (token.start[0], token.start[1], token.string)
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        found = []
        for row, line in enumerate(text.split("\n"), 1):
            column = line.find("#")
            if column >= 0:
                found.append((row, column, line[column:]))
        return found


def continuations(text: str) -> dict[int, int]:
    """Rows that end inside a multi-line token or with a backslash -> the row it ends on."""
    mapping: dict[int, int] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return mapping
    for token in tokens:
        if token.end[0] > token.start[0] and token.type != tokenize.NL:
            for row in range(token.start[0], token.end[0]):
                mapping[row] = token.end[0]
    lines = text.split("\n")
    for row in range(len(lines), 0, -1):
        if lines[row - 1].rstrip("\r").endswith("\\") and row not in mapping:
            mapping[row] = mapping.get(row + 1, row + 1)
    # Chains: a string that ends on a row that itself continues.
    for row, target in list(mapping.items()):
        seen = {row}
        while target in mapping and target not in seen:
            seen.add(target)
            target = mapping[target]
        mapping[row] = target
    return mapping


def parse(text: str, path: str = "", known_codes: frozenset[str] = frozenset()) -> Directives:
    """The directives of a file; `known_codes` lets unknown VL codes be warned about."""
    directives = Directives()
    if "noqa" not in text.lower():
        return directives
    for row, column, comment in comments(text):
        file_match = FILE_DIRECTIVE.search(comment)
        if file_match is not None:
            codes = _codes(file_match, directives, path, row, known_codes)
            if codes is not False:
                merged = set(directives.file_codes or ()) | set(codes or ())
                blanket = codes is None or directives.file_codes == frozenset()
                directives.file_codes = frozenset() if blanket else frozenset(merged)
            continue
        match = LINE_DIRECTIVE.search(comment)
        if match is None:
            continue
        codes = _codes(match, directives, path, row, known_codes)
        if codes is False:
            continue
        directive = LineDirective(row, column + match.start(), column + len(comment), codes)
        if codes is not None:
            codes_match = CODES.match(match.group("rest"))
            offset = column + match.start("rest")
            directive.codes_span = (offset + codes_match.start("codes"), offset + codes_match.end("codes"))
        directives.lines[row] = directive
    if directives.lines:
        directives.continuation = continuations(text)
    return directives


def _codes(match, directives: Directives, path: str, row: int, known: frozenset[str]):
    """The codes of a directive: None for a blanket one, False (and a warning) if invalid."""
    if match.group("colon") is None:
        return None
    codes_match = CODES.match(match.group("rest"))
    if codes_match is None:
        directives.warnings.append(
            f"{path}:{row}: invalid `# noqa` directive `{match.group(0).strip()}`: expected a "
            "comma-separated list of codes (e.g. `# noqa: VL001, VL005`); it silences nothing"
        )
        return False
    codes = tuple(code.upper() for code in CODE.findall(codes_match.group("codes").upper()))
    for code in codes:
        if known and code.startswith(OUR_PREFIX) and code not in known:
            directives.warnings.append(f"{path}:{row}: unknown rule code `{code}` in a `# noqa` directive")
    return codes


def apply(
    path: str, text: str, diagnostics: list[Diagnostic], selected: frozenset[str], known: frozenset[str]
) -> list[Diagnostic]:
    """The diagnostics no directive silences, plus VL902 for unused codes (when selected)."""
    directives = parse(text, path, known)
    kept = []
    for diagnostic in diagnostics:
        if directives.file_codes is not None and (
            not directives.file_codes or diagnostic.code in directives.file_codes
        ):
            continue
        directive = directives.directive_for(diagnostic.code, diagnostic.start.row)
        if directive is None:
            kept.append(diagnostic)
        else:
            directive.used.add(diagnostic.code)
    if UNUSED_NOQA in selected and not directives.suppresses(UNUSED_NOQA, 0):
        kept.extend(unused(path, text, directives, selected))
    return kept


def unused(path: str, text: str, directives: Directives, selected: frozenset[str]) -> list[Diagnostic]:
    """VL902 for each directive listing our codes that silenced nothing here. A code that is
    not selected for this file could not have been used: it is left alone (not known unused)."""
    from varlint.rules.unused_noqa import UnusedNoqa

    found = []
    lines = text.split("\n")
    for directive in directives.lines.values():
        if directive.codes is None or UNUSED_NOQA in directive.codes:
            continue
        unused_codes = [
            code for code in directive.codes
            if code.startswith(OUR_PREFIX) and code in selected and code not in directive.used
        ]
        if not unused_codes:
            continue
        line = lines[directive.row - 1]
        kept = [code for code in directive.codes if code not in unused_codes]
        if kept:
            start, end = directive.codes_span
            edit = Edit(Position(directive.row, start + 1), Position(directive.row, end + 1), ", ".join(kept))
            fix_message = f"Remove the unused code{'s' * (len(unused_codes) > 1)} {_listed(unused_codes)}"
        else:
            # The whole comment goes, with the spaces before it.
            start = len(line[: directive.start].rstrip())
            edit = Edit(Position(directive.row, start + 1), Position(directive.row, directive.end + 1), "")
            fix_message = "Remove the unused `noqa` directive"
        found.append(
            Diagnostic(
                UnusedNoqa.code,
                UnusedNoqa.name,
                f"Unused `noqa` directive (unused: {_listed(unused_codes)})",
                path,
                Position(directive.row, directive.start + 1),
                Position(directive.row, directive.end + 1),
                Fix(Applicability.SAFE, fix_message, (edit,)),
            )
        )
    return found


def _listed(codes) -> str:
    return ", ".join(f"`{code}`" for code in codes)


# --- --add-noqa ------------------------------------------------------------------------------


def add_directives(text: str, diagnostics: list[Diagnostic]) -> tuple[str, int]:
    """`text` with `# noqa: CODES` on each line of a diagnostic (merged into an existing
    directive); returns (new text, directives added or extended)."""
    directives = parse(text)
    wanted: dict[int, set[str]] = {}
    for diagnostic in diagnostics:
        if diagnostic.code in ("VL900", "VL901", UNUSED_NOQA):
            continue
        if directives.suppresses(diagnostic.code, diagnostic.start.row):
            continue
        wanted.setdefault(directives.noqa_row(diagnostic.start.row), set()).add(diagnostic.code)
    if not wanted:
        return text, 0
    lines = text.split("\n")
    changed = 0
    for row, codes in wanted.items():
        if not 1 <= row <= len(lines):
            continue
        line = lines[row - 1]
        body = line.rstrip("\r")
        newline = line[len(body):]
        existing = directives.lines.get(row)
        if existing is not None and existing.codes is not None:
            start, end = existing.codes_span
            merged = sorted(set(existing.codes) | codes, key=lambda code: (not code.startswith(OUR_PREFIX), code))
            body = body[:start] + ", ".join(merged) + body[end:]
        else:
            body = body.rstrip() + "  # noqa: " + ", ".join(sorted(codes))
        lines[row - 1] = body + newline
        changed += 1
    return "\n".join(lines), changed
