"""Confirming diagnostics by running the program on the reference runtime.

The runtime (runtime/, see runtime/events.py) records events at program lines while it runs
the file. A diagnostic is:
- confirmed: an event of a kind its rule predicts happened at its line (or names its line
  among the event's `related` lines);
- unconfirmed: its line ran, and no such event happened (a false positive to report);
- not reached: its line never ran (the program crashed or returned before it), or the
  rule has no runtime event.
An event of a predicted kind that no diagnostic matches is a possible miss.

`confirm_file` / `confirm_files` run programs for `varlint confirm`: each in a runtime
subprocess with a time limit, events filtered to the selected rules (and `# noqa`), and the
statuses the command shows (confirmed, unconfirmed, not reached, stopped by the time limit,
not observable, not run).
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from varlint import notebook
from varlint.diagnostic import Diagnostic
from varlint import noqa
from varlint.engine import read_source

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
    "VL301": ("multinomial-num-samples",),
    "VL302": ("cat-zero-dim",),
    "VL303": ("zero-dim-iteration",),
    "VL304": ("zero-dim-target",),
    "VL306": ("inplace-on-grad-leaf",),
    "VL307": ("step-before-backward",),
    "VL308": ("legacy-autograd-function",),
    "VL311": ("deprecated-alias",),
    "VL312": ("implicit-softmax-dim",),
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


# --- Running a file and confirming its diagnostics (`varlint confirm`) --------------------

CONFIRMED, UNCONFIRMED, NOT_REACHED, STOPPED, NOT_OBSERVABLE, NOT_RUN, INVALID, CUT_SHORT = (
    "confirmed", "unconfirmed", "not-reached", "stopped", "not-observable", "not-run", "invalid-run",
    "cut-short",
)


@dataclass
class FileConfirmation:
    """One program's run on the reference runtime, and what it says about its diagnostics."""

    path: str
    confirmations: list[Confirmation]
    unpredicted: list[dict]  # events of selected rules that no diagnostic predicted
    result: object | None  # runtime.Result; None when the file was not run (it does not parse)

    def status(self, confirmation: Confirmation) -> str:
        if confirmation.diagnostic.code not in EVENT_KINDS:
            return NOT_OBSERVABLE
        if self.result is None:
            return NOT_RUN
        if self.result.channel_error:
            return INVALID  # its event data cannot be trusted: nothing is decided
        if confirmation.confirmed:
            return CONFIRMED
        if self.result.timed_out:
            return STOPPED  # stopped at the time limit: its event may still have been to come
        if confirmation.confirmed is None:
            return NOT_REACHED
        if self.result.ended_early and not self._ran_enough(confirmation.diagnostic):
            return CUT_SHORT  # its line ran, but the program died before its event was due
        return UNCONFIRMED

    def _ran_enough(self, diagnostic: Diagnostic) -> bool:
        import runtime

        rows = range(diagnostic.start.row, diagnostic.end.row + 1)
        return max((self.result.line_runs.get(row, 0) for row in rows), default=0) > runtime.RUNS_WITHOUT_EVENT


def confirm_file(
    path: str, diagnostics: list[Diagnostic], selected: frozenset[str], timeout: float, args=()
) -> FileConfirmation:
    """Run `path` on the reference runtime (a subprocess with a time limit, given `args`) and
    match its events with `diagnostics`. The run stops as soon as each observable diagnostic
    is decided. Files that do not parse or cannot be read are not run."""
    if any(d.code in ("VL900", "VL901") for d in diagnostics):
        return FileConfirmation(path, [Confirmation(d, None) for d in diagnostics], [], None)
    if notebook.is_notebook(path):
        return _confirm_notebook(path, diagnostics, selected, timeout, args)
    import runtime  # late: only `varlint confirm` needs the runtime

    watch = [
        (set(range(d.start.row, d.end.row + 1)), set(EVENT_KINDS[d.code]))
        for d in diagnostics
        if d.code in EVENT_KINDS
    ]
    result = runtime.run(path, args=args, timeout=timeout, watch=watch or None)
    directives = noqa.parse(read_source(path).text)
    executed = set(result.executed_lines) if result.executed_lines is not None else None
    events = [
        event
        for event in result.events
        if PREDICTING_RULE.get(event.get("kind")) in selected
        and not directives.suppresses(PREDICTING_RULE[event["kind"]], event.get("line", 0))
    ]
    confirmations, unpredicted = match(diagnostics, events, path, executed)
    return FileConfirmation(path, confirmations, unpredicted, result)


def _confirm_notebook(
    path: str, diagnostics: list[Diagnostic], selected: frozenset[str], timeout: float, args=()
) -> FileConfirmation:
    """Run the notebook's code cells in order, as one program (the module varlint analysed)."""
    script = notebook.parse_notebook(path, read_source(path).text).script()
    with tempfile.TemporaryDirectory(prefix="varlint-notebook-") as scratch:
        program = os.path.join(scratch, os.path.splitext(os.path.basename(path))[0] + ".py")
        with open(program, "w", encoding="utf-8") as handle:
            handle.write(script.text)
        run = confirm_file(program, [script.to_script(d) for d in diagnostics], selected, timeout, args)
    confirmations = [
        Confirmation(original, entry.confirmed, entry.events)
        for original, entry in zip(diagnostics, run.confirmations)
    ]
    unpredicted = []
    for event in run.unpredicted:
        cell, row = script.locate(event["line"])
        event = {key: value for key, value in event.items() if key != "related"}
        unpredicted.append({**event, "file": path, "cell": cell, "line": row})
    return FileConfirmation(path, confirmations, unpredicted, run.result)


def confirm_files(
    diagnostics_by_path: dict[str, list[Diagnostic]],
    selected_for: Callable[[str], frozenset[str]],
    timeout: float,
    args=(),
) -> list[FileConfirmation]:
    """`confirm_file` for each file; the runs are subprocesses, so threads overlap them."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(
            pool.map(
                lambda path: confirm_file(path, diagnostics_by_path[path], selected_for(path), timeout, args),
                sorted(diagnostics_by_path),
            )
        )


def tree_summary(runs: list[FileConfirmation]) -> list[str]:
    """The lines closing `varlint confirm`'s text output over a tree: the programs that left
    diagnostics undecided and why they stopped, and the runtime's gaps by API name."""
    lines = []
    undecided: dict[str, int] = {}
    gaps: dict[str, list[str]] = {}
    for run in runs:
        if run.result is None:
            continue
        statuses = [run.status(entry) for entry in run.confirmations]
        left = sum(status in (NOT_REACHED, STOPPED, INVALID, CUT_SHORT) for status in statuses)
        if left:
            undecided[run.path] = left
        if run.result.gap:
            gaps.setdefault(run.result.gap, []).append(run.path)
    for path, count in undecided.items():
        reason = next(run.result.stop_reason for run in runs if run.path == path)
        lines.append(f"{count} undecided in {path}: {reason}.")
    if gaps:
        lines.append("Runtime gaps (torch APIs the reference runtime lacks): " + ", ".join(
            f"{api} ({len(paths)} program{'s' * (len(paths) != 1)})" for api, paths in sorted(gaps.items())) + ".")
    return lines
