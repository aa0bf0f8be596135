"""`junit`: JUnit XML, one test suite per file and one failing test case per diagnostic (as
ruff's); a clean run is one passing test case. A notebook's diagnostic names its cell in the
failure text (`cell 3, line 2, col 9, ...`); the `line` attribute counts from the cell."""

from __future__ import annotations

import os
from itertools import groupby
from xml.sax.saxutils import escape, quoteattr

from varlint.diagnostic import Diagnostic


def render(diagnostics: list[Diagnostic], context=None) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    if not diagnostics:
        out += [
            '<testsuites name="varlint" tests="1" failures="0" errors="0">',
            '    <testsuite name="varlint" tests="1" disabled="0" errors="0" failures="0" package="org.varlint">',
            '        <testcase name="No errors found"/>',
            "    </testsuite>",
            "</testsuites>",
        ]
        return "\n".join(out) + "\n"
    total = len(diagnostics)
    out.append(f'<testsuites name="varlint" tests="{total}" failures="{total}" errors="0">')
    for path, group in groupby(diagnostics, key=lambda d: d.path):
        group = list(group)
        out.append(
            f"    <testsuite name={quoteattr(path)} tests=\"{len(group)}\" disabled=\"0\" errors=\"0\" "
            f"failures=\"{len(group)}\" package=\"org.varlint\">"
        )
        classname = os.path.splitext(path)[0]
        for d in group:
            out.append(
                f"        <testcase name={quoteattr('org.varlint.' + d.code)} classname={quoteattr(classname)} "
                f"line=\"{d.start.row}\" column=\"{d.start.column}\">"
            )
            cell = "" if d.cell is None else f"cell {d.cell}, "
            text = f"{cell}line {d.start.row}, col {d.start.column}, {d.message}"
            out.append(f"            <failure message={quoteattr(d.message)}>{escape(text)}</failure>")
            out.append("        </testcase>")
        out.append("    </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
