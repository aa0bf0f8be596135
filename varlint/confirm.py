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
from dataclasses import dataclass, field, replace
from typing import Callable

from varlint import notebook
from varlint.diagnostic import Applicability, Diagnostic, Edit, Fix
from varlint.fixes import apply_fixes, parses
from varlint.linemap import LineMap, MapChain
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
    run: int = 0  # the run that decided it (FileConfirmation.runs): 0 is the original program


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
class Run:
    """One run of the program on the runtime: the original (`fixed` empty), or a copy with the
    fixes of the diagnostics whose crash stopped an earlier run applied (each diagnostic at its
    row in the original file)."""

    result: object  # runtime.Result
    fixed: tuple[Diagnostic, ...] = ()

    @property
    def label(self) -> str:
        if not self.fixed:
            return "original"
        return "after fixing " + ", ".join(
            f"{d.code} at line {d.start.row} ({d.fix.applicability.value} fix)" for d in self.fixed)


@dataclass
class FileConfirmation:
    """One program's runs on the reference runtime, and what they say about its diagnostics."""

    path: str
    confirmations: list[Confirmation]
    unpredicted: list[dict]  # events of selected rules that no diagnostic predicted
    result: object | None  # the original's runtime.Result; None when the file was not run (it does not parse)
    runs: list[Run] = field(default_factory=list)  # the original first, then the reruns after fixes

    def __post_init__(self) -> None:
        if not self.runs and self.result is not None:
            self.runs = [Run(self.result)]

    def status(self, confirmation: Confirmation) -> str:
        if confirmation.diagnostic.code not in EVENT_KINDS:
            return NOT_OBSERVABLE
        if self.result is None:
            return NOT_RUN
        return run_status(confirmation, self.runs[confirmation.run].result)

    def decided_by(self, confirmation: Confirmation) -> str | None:
        """Which run decided it ("original", "after fixing VL004 at line 83 (safe fix)")."""
        if self.status(confirmation) not in (CONFIRMED, UNCONFIRMED):
            return None
        return self.runs[confirmation.run].label


def run_status(confirmation: Confirmation, result) -> str:
    """A runtime-observable diagnostic's status after the run that gave `result`."""
    if result.channel_error:
        return INVALID  # its event data cannot be trusted: nothing is decided
    if confirmation.confirmed:
        return CONFIRMED
    if result.timed_out:
        return STOPPED  # stopped at the time limit: its event may still have been to come
    if confirmation.confirmed is None:
        return NOT_REACHED
    if result.ended_early and not _ran_enough(confirmation.diagnostic, result):
        return CUT_SHORT  # its line ran, but the program died before its event was due
    return UNCONFIRMED


def _ran_enough(diagnostic: Diagnostic, result) -> bool:
    import runtime

    rows = range(diagnostic.start.row, diagnostic.end.row + 1)
    return max((result.line_runs.get(row, 0) for row in rows), default=0) > runtime.RUNS_WITHOUT_EVENT


def _watch(diagnostics: list[Diagnostic]) -> list[tuple[set[int], set[str]]] | None:
    watch = [
        (set(range(d.start.row, d.end.row + 1)), set(EVENT_KINDS[d.code]))
        for d in diagnostics
        if d.code in EVENT_KINDS
    ]
    return watch or None


def _selected_events(result, selected: frozenset[str], directives, original_row=lambda row: row) -> list[dict]:
    """The run's events of the selected rules that no `# noqa` at their (original) line suppresses."""
    return [
        event
        for event in result.events
        if PREDICTING_RULE.get(event.get("kind")) in selected
        and original_row(event.get("line", 0)) is not None
        and not directives.suppresses(PREDICTING_RULE[event["kind"]], original_row(event.get("line", 0)))
    ]


def confirm_file(
    path: str, diagnostics: list[Diagnostic], selected: frozenset[str], timeout: float, args=()
) -> FileConfirmation:
    """Run `path` on the reference runtime (a subprocess with a time limit, given `args`) and
    match its events with `diagnostics`. The run stops as soon as each observable diagnostic
    is decided. When it stopped on a crash that a confirmed diagnostic with a fix predicted,
    and diagnostics after it are undecided, a copy with that fix applied runs next
    (`rerun_after_fixes`). Files that do not parse or cannot be read are not run."""
    if any(d.code in ("VL900", "VL901") for d in diagnostics):
        return FileConfirmation(path, [Confirmation(d, None) for d in diagnostics], [], None)
    if notebook.is_notebook(path):
        return _confirm_notebook(path, diagnostics, selected, timeout, args)
    import runtime  # late: only `varlint confirm` needs the runtime

    result = runtime.run(path, args=args, timeout=timeout, watch=_watch(diagnostics))
    text = read_source(path).text
    directives = noqa.parse(text)
    executed = set(result.executed_lines) if result.executed_lines is not None else None
    confirmations, unpredicted = match(diagnostics, _selected_events(result, selected, directives), path, executed)
    run = FileConfirmation(path, confirmations, unpredicted, result)
    return rerun_after_fixes(run, text, selected, directives, timeout, args)


# --- Running again after fixing the crash (later lines get decided by a real run) ----------

MAX_RERUNS = 3
# Event kinds that PyTorch follows with an exception at the same line: a run that stopped there
# stopped because of the diagnostic that predicted the event.
CRASH_KINDS = frozenset({
    "zero-dim-index", "backward-without-grad", "backward-non-scalar", "backward-gradient-shape",
    "multinomial-num-samples", "cat-zero-dim", "zero-dim-iteration", "zero-dim-target",
    "inplace-on-grad-leaf", "legacy-autograd-function",
})
APPLIED_FIXES = (Applicability.SAFE, Applicability.UNSAFE)


def rerun_after_fixes(
    run: FileConfirmation, text: str, selected: frozenset[str], directives, timeout: float, args=()
) -> FileConfirmation:
    """While diagnostics are undecided because the last run crashed on an exception that a
    confirmed diagnostic predicted at that line, run a copy of the program with that
    diagnostic's fix applied (up to MAX_RERUNS times; the fixes add up). Each rerun decides
    only diagnostics still undecided, each at its row mapped through the fixes' edits
    (linemap.py); a diagnostic on a row a fix changed is never decided by a modified copy.
    The copy runs in a temporary directory, importing the modules beside the original."""
    import runtime

    chain = MapChain()
    placed: list[Diagnostic | None] = [c.diagnostic for c in run.confirmations]  # in the last run's rows
    last = list(run.confirmations)  # the last run's confirmations, in its rows (None: not tracked)
    result, fixed = run.result, []
    seen_unpredicted = {(e["kind"], e["line"]) for e in run.unpredicted}
    with tempfile.TemporaryDirectory(prefix="varlint-fixed-") as scratch:
        program = os.path.join(scratch, os.path.basename(run.path))
        for _ in range(MAX_RERUNS):
            undecided = [i for i, c in enumerate(run.confirmations) if run.status(c) in (NOT_REACHED, CUT_SHORT)]
            crashed = _crashed(last, result)
            if not undecided or not crashed:
                break
            edits = [_moved_edits(run.confirmations[i].diagnostic, chain) for i in crashed]
            if any(e is None for e in edits):
                break  # a crashing diagnostic without an applicable fix (or one an earlier fix moved)
            new_text, applied = apply_fixes(text, [Fix(Applicability.SAFE, "", tuple(e)) for e in edits])
            if applied != len(edits) or new_text == text or not parses(new_text):
                break
            text, chain = new_text, chain.then(LineMap([edit for group in edits for edit in group]))
            fixed += [run.confirmations[i].diagnostic for i in crashed]
            placed = [_moved(c.diagnostic, chain) for c in run.confirmations]
            if all(placed[i] is None for i in undecided):
                break  # the fix changed every undecided diagnostic's line: the copy decides none
            with open(program, "w", encoding="utf-8") as handle:
                handle.write(text)
            result = runtime.run(program, args=args, timeout=timeout, home=os.path.dirname(os.path.abspath(run.path)),
                                 watch=_watch([placed[i] for i in undecided if placed[i] is not None]))
            run.runs.append(Run(result, tuple(fixed)))
            events = _selected_events(result, selected, directives, chain.old_row)
            executed = set(result.executed_lines) if result.executed_lines is not None else None
            tracked = [i for i, d in enumerate(placed) if d is not None]
            matched, unmatched = match([placed[i] for i in tracked], events, program, executed)
            last = [None] * len(placed)
            for i, confirmation in zip(tracked, matched):
                last[i] = confirmation
                if i in undecided and run_status(confirmation, result) in (CONFIRMED, UNCONFIRMED):
                    run.confirmations[i] = Confirmation(
                        run.confirmations[i].diagnostic, confirmation.confirmed,
                        [_event_in_original(e, chain, run.path) for e in confirmation.events], len(run.runs) - 1)
            for event in unmatched:
                event = _event_in_original(event, chain, run.path)
                if (event["kind"], event["line"]) not in seen_unpredicted:
                    seen_unpredicted.add((event["kind"], event["line"]))
                    run.unpredicted.append(event)
    return run


def _crashed(confirmations: list[Confirmation | None], result) -> list[int]:
    """The confirmations whose event at the line the run crashed at predicts the crash."""
    line = result.exception_line if result.exception else 0
    return [
        index
        for index, confirmation in enumerate(confirmations)
        if line and confirmation is not None and confirmation.confirmed
        and any(e["kind"] in CRASH_KINDS and e["line"] == line for e in confirmation.events)
    ]


def _moved(diagnostic: Diagnostic, chain: MapChain) -> Diagnostic | None:
    """The diagnostic at its rows after the edits (None: an edit changed one of its rows)."""
    rows = [chain.new_row(row) for row in range(diagnostic.start.row, diagnostic.end.row + 1)]
    if any(row is None for row in rows):
        return None
    return replace(diagnostic, start=replace(diagnostic.start, row=rows[0]), end=replace(diagnostic.end, row=rows[-1]))


def _moved_edits(diagnostic: Diagnostic, chain: MapChain) -> list[Edit] | None:
    """The edits of the diagnostic's fix (safe or unsafe) at their rows after earlier fixes."""
    if diagnostic.fix is None or diagnostic.fix.applicability not in APPLIED_FIXES:
        return None
    edits = []
    for edit in diagnostic.fix.edits:
        start, end = chain.new_row(edit.start.row), chain.new_row(edit.end.row)
        if start is None or end is None:
            return None
        edits.append(replace(edit, start=replace(edit.start, row=start), end=replace(edit.end, row=end)))
    return edits


def _event_in_original(event: dict, chain: MapChain, path: str) -> dict:
    related = [row for row in map(chain.old_row, event.get("related", ())) if row is not None]
    return {**event, "file": path, "line": chain.old_row(event["line"]), "related": related}


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
        Confirmation(original, entry.confirmed, entry.events, entry.run)
        for original, entry in zip(diagnostics, run.confirmations)
    ]
    unpredicted = []
    for event in run.unpredicted:
        cell, row = script.locate(event["line"])
        event = {key: value for key, value in event.items() if key != "related"}
        unpredicted.append({**event, "file": path, "cell": cell, "line": row})
    return FileConfirmation(path, confirmations, unpredicted, run.result, run.runs)


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
        for gap in dict.fromkeys(attempt.result.gap for attempt in run.runs if attempt.result.gap):
            gaps.setdefault(gap, []).append(run.path)
    for path, count in undecided.items():
        last = next(run.runs[-1] for run in runs if run.path == path)
        after = f" (in the run {last.label})" if last.fixed else ""
        lines.append(f"{count} undecided in {path}: {last.result.stop_reason}{after}.")
    if gaps:
        lines.append("Runtime gaps (torch APIs the reference runtime lacks): " + ", ".join(
            f"{api} ({len(paths)} program{'s' * (len(paths) != 1)})" for api, paths in sorted(gaps.items())) + ".")
    return lines
