"""`sarif`: SARIF 2.1.0 (GitHub code scanning and other viewers): the rules reported (id,
name, summary, full documentation), one result per diagnostic with its region, its fix as an
artifact change, and the files as artifacts relative to `%SRCROOT%` (the working directory).
Columns count Unicode code points, as varlint's do (`columnKind`). A notebook's diagnostic
names its cell (a logical location `cell N`, and `cell` in the result's property bag); its
region's rows count from that cell's first line."""

from __future__ import annotations

import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from varlint.diagnostic import Diagnostic, Position
from varlint.rules import rule_by_code

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def region(start: Position, end: Position) -> dict:
    return {"startLine": start.row, "startColumn": start.column, "endLine": end.row, "endColumn": end.column}


def artifact_location(path: str, cwd: str, index: int) -> dict:
    absolute = os.path.abspath(path)
    if absolute.startswith(cwd.rstrip(os.sep) + os.sep):
        return {"uri": Path(os.path.relpath(absolute, cwd)).as_posix(), "uriBaseId": "%SRCROOT%", "index": index}
    return {"uri": Path(absolute).as_uri(), "index": index}


def rule_descriptor(code: str) -> dict:
    rule = rule_by_code(code)
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.documentation()},
        "help": {"text": f"{rule.summary()} (`varlint rule {code}` prints the documentation)"},
        "defaultConfiguration": {"level": "error", "enabled": rule.default_enabled},
        "properties": {"name": rule.name},
    }


def _version() -> str:
    try:
        return version("varlint")
    except PackageNotFoundError:
        return "0"


def render(diagnostics: list[Diagnostic], context) -> str:
    cwd = context.cwd
    codes = sorted({d.code for d in diagnostics})
    rule_index = {code: index for index, code in enumerate(codes)}
    paths = sorted({d.path for d in diagnostics})
    locations = {path: artifact_location(path, cwd, index) for index, path in enumerate(paths)}
    results = []
    for d in diagnostics:
        result = {
            "ruleId": d.code,
            "ruleIndex": rule_index[d.code],
            "level": "error",
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {"artifactLocation": locations[d.path], "region": region(d.start, d.end)}}],
        }
        if d.cell is not None:
            # A notebook's diagnostic: the region's rows count from its cell's first line.
            result["locations"][0]["logicalLocations"] = [{"name": f"cell {d.cell}", "kind": "element"}]
            result["properties"] = {"cell": d.cell}
        if d.fix is not None and d.fix.edits:
            result["fixes"] = [{
                "description": {"text": d.fix.message},
                "artifactChanges": [{
                    "artifactLocation": locations[d.path],
                    "replacements": [
                        {"deletedRegion": region(e.start, e.end), "insertedContent": {"text": e.content}}
                        for e in d.fix.edits
                    ],
                }],
                "properties": {"applicability": d.fix.applicability.value},
            }]
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "varlint",
                "version": _version(),
                "rules": [rule_descriptor(code) for code in codes],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(cwd).as_uri() + "/"}},
            "artifacts": [{"location": {k: v for k, v in locations[path].items() if k != "index"}} for path in paths],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
