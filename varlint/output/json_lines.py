"""`json-lines`: one JSON object per line, each shaped as an item of the `json` format."""

from __future__ import annotations

import json

from varlint.diagnostic import Diagnostic
from varlint.output.json import diagnostic_to_dict


def render(diagnostics: list[Diagnostic], context=None) -> str:
    return "".join(json.dumps(diagnostic_to_dict(d), ensure_ascii=False) + "\n" for d in diagnostics)
