"""Latency of `varlint server`: a real LSP session over stdio, as an editor drives it.

    nice -n 10 python bench/server_latency.py [--changes 20] [--lines 500] [--baseline /work/main]

A workspace with a pyproject.toml and a legacy file of --lines lines (the training scripts of
fixtures/real put together) is opened; the file is then edited --changes times, one edit at a
time (a number on one line changes, as when typing), each time waiting for the diagnostics of
that version. Rows (milliseconds, wall time in this process):

- first open: didOpen -> publishDiagnostics (imports and warms up the engine);
- change: didChange -> publishDiagnostics of that version, median and p90;
- burst: 10 didChange in a row, 5 ms apart -> the diagnostics of the last one (debounced);
- typing: 6 didChange 150 ms apart (a lint is in flight at each) -> the last one's diagnostics
  (a stale lint in flight is cancelled);
- settings saved unchanged: didSave of pyproject.toml -> lints it caused (should be none);
- the server's CPU time per change (all its threads, from /proc; Linux);
- the engine's share: engine.lint_text on the same texts in this process (CPU and wall time),
  so the server's own overhead = server CPU per change - engine CPU. On a loaded machine wall
  times stretch; the CPU rows do not. The engine row updates a project index with each text
  (`with_module`) and collects garbage between lints, not during them, as the server does.
- the breakdown of a change (CPU, medians): index update, parse, the analyses, the rules (what
  is left of `lint_text`), noqa, and the server's publish and other overhead (its
  `varlint/status` timings).

`--baseline DIR` runs a second server from the source tree DIR (e.g. /work/main) in the same
run, each edit sent to one then the other, so the two columns compare side by side.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import BaseLanguageClient

REPOSITORY = Path(__file__).resolve().parent.parent
TIMEOUT = 120.0


def legacy_file(lines: int) -> str:
    """About `lines` lines of legacy training code (whole statements), padded with comments."""
    parts = [p.read_text() for p in sorted((REPOSITORY / "fixtures" / "real").glob("*.py"))
             if not p.name.endswith(("fixed.py",))]
    text = "\n".join(parts * (1 + lines // max(1, sum(p.count("\n") for p in parts))))
    futures = sorted({line for line in text.splitlines() if line.startswith("from __future__")})
    body = [line for line in text.splitlines() if not line.startswith("from __future__")]
    text = "\n".join(futures + body)
    end = max(s.end_lineno for s in ast.parse(text).body if s.end_lineno <= lines)
    kept = text.splitlines()[:end]
    kept += ["# padding"] * (lines - len(kept))
    kept[-1] = "LEARNING_RATE = 0"  # the line the edits change
    return "\n".join(kept) + "\n"


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class Session:
    def __init__(self, root: Path, source: Path = REPOSITORY) -> None:
        self.root = root
        self.source = source
        self.client = BaseLanguageClient("varlint-bench", "1")
        self.published: list[tuple[float, lsp.PublishDiagnosticsParams]] = []
        self.arrived = asyncio.Event()

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams):
            self.published.append((time.perf_counter(), params))
            self.arrived.set()

    async def start(self) -> None:
        command = ["-m", "varlint", "server"]
        if os.environ.get("VARLINT_BENCH_PROFILE"):  # a cProfile of the server process
            command = ["-m", "cProfile", "-o", os.environ["VARLINT_BENCH_PROFILE"], *command]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(self.source), os.environ.get("PYTHONPATH", "")])}
        await self.client.start_io(sys.executable, *command, env=environment, cwd=str(self.root))
        await asyncio.wait_for(self.client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=self.root.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=self.root.as_uri(), name="bench")])), TIMEOUT)
        self.client.initialized(lsp.InitializedParams())

    async def stop(self) -> None:
        await asyncio.wait_for(self.client.shutdown_async(None), 10)
        self.client.exit(None)
        await asyncio.wait_for(self.client.stop(), 10)

    async def version_published(self, uri: str, version: int | None, since: int) -> float:
        """When the diagnostics of `version` of `uri` arrived (published after index `since`)."""
        deadline = time.perf_counter() + TIMEOUT
        while True:
            for arrived, params in self.published[since:]:
                if params.uri == uri and (version is None or params.version == version):
                    return arrived
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.perf_counter()))


class ServerRun:
    """One server, its workspace (a pyproject.toml and train.py) and what was measured."""

    def __init__(self, source: Path, text: str, lines: int) -> None:
        self.directory = tempfile.TemporaryDirectory()
        self.root = Path(self.directory.name)
        (self.root / "pyproject.toml").write_text('[tool.varlint]\nselect = ["ALL"]\n')
        self.path = self.root / "train.py"
        self.path.write_text(text)
        self.uri = self.path.as_uri()
        self.text, self.last_row = text, lines - 1
        self.session = Session(self.root, source)
        self.result: dict = {"latencies": [], "server_cpu": []}

    def change(self, version: int) -> None:
        self.session.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=self.uri, version=version),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(self.last_row, 0), lsp.Position(self.last_row, 10**4)),
                text=f"LEARNING_RATE = {version}")]))

    async def open(self) -> None:
        await self.session.start()
        sent = time.perf_counter()
        self.session.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=self.uri, language_id="python", version=0, text=self.text)))
        self.result["first"] = await self.session.version_published(self.uri, 0, 0) - sent
        await asyncio.sleep(1.0)  # the index is built in the background after the first lint

    async def one_change(self, version: int) -> None:
        since, pid = len(self.session.published), self.session.client._server.pid
        cpu = process_cpu(pid)
        sent = time.perf_counter()
        self.change(version)
        self.result["latencies"].append(await self.session.version_published(self.uri, version, since) - sent)
        await asyncio.sleep(0.2)  # let the server finish publishing before its CPU is read
        self.result["server_cpu"].append(process_cpu(pid) - cpu)

    async def series(self, first_version: int, count: int, pause: float, key: str) -> int:
        """`count` changes `pause` apart -> the diagnostics of the last one (for "burst": from
        the first change, as the original row; else from the last)."""
        since = len(self.session.published)
        first = sent = time.perf_counter()
        for step in range(count):
            if step:
                await asyncio.sleep(pause)
                sent = time.perf_counter()
            self.change(first_version + step)
        version = first_version + count - 1
        arrived = await self.session.version_published(self.uri, version, since)
        self.result[key] = arrived - (first if key == "burst" else sent)
        self.result[f"{key}_publishes"] = sum(1 for _, p in self.session.published[since:] if p.uri == self.uri)
        return version + 1

    async def settings_saved(self) -> None:
        since = len(self.session.published)
        self.session.client.text_document_did_save(lsp.DidSaveTextDocumentParams(
            lsp.TextDocumentIdentifier((self.root / "pyproject.toml").as_uri())))
        await asyncio.sleep(2.0)
        self.result["reload_publishes"] = sum(1 for _, p in self.session.published[since:] if p.uri == self.uri)

    async def status(self) -> dict | None:
        """The server's `varlint/status` timings (None: a server without that request)."""
        try:
            found = await asyncio.wait_for(self.session.client.protocol.send_request_async("varlint/status", None), 10)
        except Exception:  # noqa: BLE001 - an older server: no breakdown
            return None
        return {name: list(values) for name, values in found.timings._asdict().items()}

    async def close(self) -> None:
        try:
            await self.session.stop()
        finally:
            self.directory.cleanup()


async def measure(changes: int, lines: int, baseline: Path | None) -> dict:
    text = legacy_file(lines)
    runs = {"this tree": ServerRun(REPOSITORY, text, lines)}
    if baseline is not None:
        runs["baseline"] = ServerRun(baseline, text, lines)
    try:
        for run in runs.values():
            await run.open()
        for version in range(1, changes + 1):
            for run in runs.values():  # side by side: each edit to one server, then the other
                await run.one_change(version)
        version = changes + 1
        for run in runs.values():
            next_version = await run.series(version, 10, 0.005, "burst")
        version = next_version
        for run in runs.values():
            next_version = await run.series(version, 6, 0.15, "typing")
        for run in runs.values():
            await run.settings_saved()
            run.result["status"] = await run.status()
    finally:
        for run in runs.values():
            await run.close()
    texts = [text.replace("LEARNING_RATE = 0", f"LEARNING_RATE = {v}") for v in range(1, changes + 1)]
    results = {name: run.result for name, run in runs.items()}
    results["this tree"].update(engine_rows(text, texts))
    return results


def engine_rows(text: str, texts: list[str]) -> dict:
    """engine.lint_text in this process on the texts the server linted, with a project index
    updated with each text as the server does; CPU per phase (see Breakdown)."""
    from varlint import engine
    from varlint.project import ProjectIndex

    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "train.py")
        Path(path).write_text(text)
        codes = engine.known_codes()
        index = ProjectIndex.build([path])
        engine.lint_text(path, text, codes, index)
        breakdown = Breakdown()
        engine_times, engine_walls, phases = [], [], []
        for changed in texts:
            gc.disable()  # as the server's lint thread: collections when idle (lint_worker.py)
            started, wall = time.process_time(), time.perf_counter()
            with breakdown:
                index = index.with_module(path, changed)
                engine.lint_text(path, changed, codes, index)
            engine_times.append(time.process_time() - started)
            engine_walls.append(time.perf_counter() - wall)
            phases.append(breakdown.take())
            gc.enable()
            gc.collect()
    return {"engine": engine_times, "engine_wall": engine_walls, "phases": phases, "missing": breakdown.missing}


# (row, module, attribute): the functions whose own CPU time (calls of the other functions
# listed excluded) a phase is; what is left of lint_text is the rules' (visits, fixes).
PHASES = [
    ("index update", "varlint.project", "ProjectIndex.with_module"),
    ("parse (compile, libcst)", "varlint.engine", "parse_source"),
    ("analysis: names", "varlint.rule", "FileContext.names"),
    ("analysis: dataflow", "varlint.rule", "FileContext.gradflow"),
    ("analysis: dataflow", "varlint.analysis.gradflow", "GradFlow.facts"),
    ("analysis: dataflow", "varlint.rule", "FileContext.summaries"),
    ("analysis: loops", "varlint.rule", "FileContext.loops"),
    ("analysis: stale graphs", "varlint.analysis.stale_graphs", "StaleGraphs.__init__"),
    ("analysis: positions", "varlint.analysis.positions", "LazyPositions.__getitem__"),
    ("rules: code rendering", "varlint.rule", "FileContext.code"),
    ("rules: visits, fixes", "varlint.engine", "lint_text"),
    ("noqa", "varlint.noqa", "apply"),
]


class Breakdown:
    """Thread CPU time per phase of lint_text (functions of PHASES wrapped while in use)."""

    def __init__(self) -> None:
        import functools
        import importlib

        self.totals: dict[str, float] = {}
        self.stack: list[list[float]] = []
        self.patches = []
        self.missing: list[str] = []
        for phase, module_name, attribute in PHASES:
            owner = importlib.import_module(module_name)
            *outer, name = attribute.split(".")
            for part in outer:
                owner = getattr(owner, part, None)
            found = vars(owner).get(name) if owner is not None else None
            if found is None:
                self.missing.append(f"{module_name}.{attribute}")
                continue  # renamed since: that phase's time goes to its caller's
            if isinstance(found, functools.cached_property):
                self.patches.append((found, "func", found.func, self.timed(phase, found.func)))
            elif callable(found):
                self.patches.append((owner, name, found, self.timed(phase, found)))

    def timed(self, phase: str, function):
        totals, stack, clock = self.totals, self.stack, time.thread_time

        def timed(*arguments, **keywords):
            stack.append([0.0])
            started = clock()
            try:
                return function(*arguments, **keywords)
            finally:
                elapsed = clock() - started
                inner = stack.pop()[0]
                totals[phase] = totals.get(phase, 0.0) + elapsed - inner
                if stack:
                    stack[-1][0] += elapsed

        return timed

    def __enter__(self):
        for owner, name, _, patched in self.patches:
            setattr(owner, name, patched)
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, original, _ in self.patches:
            setattr(owner, name, original)

    def take(self) -> dict[str, float]:
        taken = dict(self.totals)
        self.totals.clear()  # the same dict: the wrappers hold it
        return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--baseline", type=Path, help="also run the server of this source tree, side by side")
    arguments = parser.parse_args()
    results = asyncio.run(measure(arguments.changes, arguments.lines, arguments.baseline))
    names = list(results)
    ms = lambda seconds: f"{seconds * 1000:9.0f} ms" if seconds == seconds else "        -   "  # noqa: E731
    print(f"varlint server, {arguments.lines}-line legacy file, {arguments.changes} changes "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    print(f"  {'':34}" + "".join(f"{name:>13}" for name in names))

    def row(label: str, value) -> None:
        print(f"  {label:34}" + "".join(value(results[name]) for name in names))

    row("first open -> diagnostics", lambda r: ms(r["first"]))
    row("change -> diagnostics, median", lambda r: ms(statistics.median(r["latencies"])))
    row("change -> diagnostics, p90", lambda r: ms(percentile(r["latencies"], 0.9)))
    row("burst of 10 -> last diagnostics", lambda r: ms(r["burst"]))
    row("  publishes for the burst", lambda r: f"{r['burst_publishes']:13}")
    row("typing (6, 150 ms apart) -> last", lambda r: ms(r["typing"]))
    row("pyproject saved unchanged, lints", lambda r: f"{r['reload_publishes']:13}")
    row("server CPU per change, median", lambda r: ms(statistics.median(r["server_cpu"])))
    this = results["this tree"]
    engine_median = statistics.median(this["engine"])
    server_cpu = statistics.median(this["server_cpu"])
    print(f"  engine.lint_text CPU, median     {ms(engine_median)}")
    print(f"  engine.lint_text CPU, p90        {ms(percentile(this['engine'], 0.9))}")
    print(f"  engine.lint_text wall, median    {ms(statistics.median(this['engine_wall']))}")
    print(f"  engine share of server CPU       {engine_median / server_cpu:9.0%}")
    print(f"  server overhead CPU (median)     {ms(server_cpu - engine_median)}")
    print("  breakdown of a change, CPU (medians; this tree):")
    phases = this["phases"]
    if this["missing"]:
        print(f"    (not found, counted in their callers' rows: {', '.join(this['missing'])})")
    for phase in dict.fromkeys(phase for phase, _, _ in PHASES):
        print(f"    {phase:32}{ms(statistics.median(p.get(phase, 0.0) for p in phases))}")
    status = this.get("status") or {}
    if status.get("engine_cpu"):
        server_engine = statistics.median(status["engine_cpu"])
        print(f"    {'server: its lint thread':32}{ms(server_engine)}")
        print(f"    {'server: index update (wall)':32}{ms(statistics.median(status.get('index_update') or [float('nan')]))}")
        print(f"    {'server: publish (wall)':32}{ms(statistics.median(status.get('publish') or [float('nan')]))}")
        print(f"    {'server: the rest (JSON-RPC...)':32}{ms(server_cpu - server_engine)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
