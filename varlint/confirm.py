"""Confirming diagnostics by running the program on the reference runtime.

The runtime (runtime/, see runtime/events.py) records events at program lines while it runs
the file. A diagnostic is:
- confirmed: an event of a kind its rule predicts happened at its line (or names its line
  among the event's `related` lines);
- unconfirmed: its line ran, and no such event happened (a false positive to report);
- not reached: its line never ran (the program crashed or returned before it), or the
  rule has no runtime event.
An event of a predicted kind that no diagnostic matches is a possible miss.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from varlint.diagnostic import Diagnostic

# The runtime event kinds each rule predicts. Rules absent here are not runtime-observable.
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "VL001": ("variable-call",),
    "VL003": ("volatile",),
    "VL004": ("zero-dim-index",),
    "VL101": ("backward-without-grad",),
    "VL102": ("grad-never-populated",),
    "VL103": ("grad-of-non-leaf",),
    "VL104": ("grad-fn-none",),
    "VL105": ("backward-non-scalar",),
    "VL106": ("backward-gradient-shape",),
    "VL201": ("grad-accumulated",),
    "VL202": ("step-after-reset",),
    "VL203": ("history-across-iterations",),
}
PREDICTING_RULE = {kind: code for code, kinds in EVENT_KINDS.items() for kind in kinds}


@dataclass
class Confirmation:
    diagnostic: Diagnostic
    confirmed: bool | None  # None: not reached / not observable
    events: list[dict] = field(default_factory=list)


def event_lines(event: dict) -> set[int]:
    return {event["line"], *event.get("related", ())}


def same_file(event: dict, path: str) -> bool:
    file = event.get("file")
    return file is None or os.path.realpath(file) == os.path.realpath(path)


def match(
    diagnostics: list[Diagnostic], events: list[dict], path: str, executed_lines: set[int] | None
) -> tuple[list[Confirmation], list[dict]]:
    """Pair diagnostics with runtime events; return (confirmations, unmatched events).

    `executed_lines` are the program lines the run reached (None: unknown, then a diagnostic
    without its event counts as unconfirmed).
    """
    relevant = [e for e in events if e.get("kind") in PREDICTING_RULE and same_file(e, path)]
    confirmations = []
    matched_events: set[int] = set()
    for diagnostic in diagnostics:
        kinds = EVENT_KINDS.get(diagnostic.code)
        if kinds is None:
            confirmations.append(Confirmation(diagnostic, None))
            continue
        rows = set(range(diagnostic.start.row, diagnostic.end.row + 1))
        hits = [
            index
            for index, event in enumerate(relevant)
            if event["kind"] in kinds and event_lines(event) & rows
        ]
        matched_events.update(hits)
        if hits:
            confirmed: bool | None = True
        elif executed_lines is not None and not (rows & executed_lines):
            confirmed = None
        else:
            confirmed = False
        confirmations.append(Confirmation(diagnostic, confirmed, [relevant[i] for i in hits]))
    unmatched = [event for index, event in enumerate(relevant) if index not in matched_events]
    return confirmations, unmatched
