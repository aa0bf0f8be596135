"""Latency of `varlint server`: a real LSP session over stdio, as an editor drives it.

    nice -n 10 python bench/server_latency.py [--changes 20] [--lines 500]

A workspace with a pyproject.toml and a legacy file of --lines lines (the training scripts of
fixtures/real put together) is opened; the file is then edited --changes times, one edit at a
time (a number on one line changes, as when typing), each time waiting for the diagnostics of
that version. Rows (milliseconds, wall time in this process):

- first open: didOpen -> publishDiagnostics (imports and warms up the engine);
- change: didChange -> publishDiagnostics of that version, median and p90;
- burst: 10 didChange in a row, 5 ms apart -> the diagnostics of the last one (debounced);
- settings saved unchanged: didSave of pyproject.toml -> lints it caused (should be none);
- the server's CPU time per change (all its threads, from /proc; Linux);
- the engine's share: engine.lint_text on the same texts in this process (CPU and wall time),
  so the server's own overhead = server CPU per change - engine CPU. On a loaded machine wall
  times stretch; the CPU rows do not.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
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
    def __init__(self, root: Path) -> None:
        self.root = root
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
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
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


async def measure(changes: int, lines: int) -> dict:
    text = legacy_file(lines)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "pyproject.toml").write_text('[tool.varlint]\nselect = ["ALL"]\n')
        path = root / "train.py"
        path.write_text(text)
        uri = path.as_uri()
        session = Session(root)
        await session.start()
        try:
            sent = time.perf_counter()
            session.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri=uri, language_id="python", version=0, text=text)))
            first = await session.version_published(uri, 0, 0) - sent
            texts, latencies, server_cpu = [], [], []
            pid = session.client._server.pid
            last_row = lines - 1
            for version in range(1, changes + 1):
                new_line = f"LEARNING_RATE = {version}"
                texts.append(text.replace("LEARNING_RATE = 0", new_line))
                since = len(session.published)
                cpu = process_cpu(pid)
                sent = time.perf_counter()
                session.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                    text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[lsp.TextDocumentContentChangePartial(
                        range=lsp.Range(lsp.Position(last_row, 0), lsp.Position(last_row, 10**4)),
                        text=new_line)]))
                latencies.append(await session.version_published(uri, version, since) - sent)
                await asyncio.sleep(0.2)  # let the server finish publishing before its CPU is read
                server_cpu.append(process_cpu(pid) - cpu)
            since = len(session.published)
            sent = time.perf_counter()
            for step in range(10):
                version = changes + 1 + step
                session.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                    text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[lsp.TextDocumentContentChangePartial(
                        range=lsp.Range(lsp.Position(last_row, 0), lsp.Position(last_row, 10**4)),
                        text=f"LEARNING_RATE = {version}")]))
                await asyncio.sleep(0.005)
            burst = await session.version_published(uri, version, since) - sent
            burst_publishes = sum(1 for _, p in session.published[since:] if p.uri == uri)
            since = len(session.published)
            session.client.text_document_did_save(lsp.DidSaveTextDocumentParams(
                lsp.TextDocumentIdentifier((root / "pyproject.toml").as_uri())))
            await asyncio.sleep(2.0)
            reload_publishes = sum(1 for _, p in session.published[since:] if p.uri == uri)
        finally:
            await session.stop()

    from varlint import engine

    codes = engine.known_codes()
    engine.lint_text(str(path), text, codes)
    engine_times, engine_walls = [], []
    for changed in texts:
        started, wall = time.process_time(), time.perf_counter()
        engine.lint_text(str(path), changed, codes)
        engine_times.append(time.process_time() - started)
        engine_walls.append(time.perf_counter() - wall)
    return {"first": first, "latencies": latencies, "burst": burst, "burst_publishes": burst_publishes,
            "reload_publishes": reload_publishes, "engine": engine_times, "engine_wall": engine_walls,
            "server_cpu": server_cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--lines", type=int, default=500)
    arguments = parser.parse_args()
    result = asyncio.run(measure(arguments.changes, arguments.lines))
    ms = lambda seconds: f"{seconds * 1000:7.0f} ms"  # noqa: E731
    latencies, engine_times = result["latencies"], result["engine"]
    change_median, engine_median = statistics.median(latencies), statistics.median(engine_times)
    print(f"varlint server, {arguments.lines}-line legacy file, {arguments.changes} changes "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    print(f"  first open -> diagnostics        {ms(result['first'])}")
    print(f"  change -> diagnostics, median    {ms(change_median)}")
    print(f"  change -> diagnostics, p90       {ms(percentile(latencies, 0.9))}")
    print(f"  burst of 10 -> last diagnostics  {ms(result['burst'])}  ({result['burst_publishes']} publish)")
    print(f"  pyproject saved unchanged        {result['reload_publishes']} re-lint(s)")
    print(f"  engine.lint_text CPU, median     {ms(engine_median)}")
    print(f"  engine.lint_text CPU, p90        {ms(percentile(engine_times, 0.9))}")
    print(f"  engine.lint_text wall, median    {ms(statistics.median(result['engine_wall']))}")
    server_cpu = statistics.median(result["server_cpu"])
    print(f"  server CPU per change, median    {ms(server_cpu)}")
    print(f"  engine share of server CPU       {engine_median / server_cpu:7.0%}")
    print(f"  server overhead CPU (median)     {ms(server_cpu - engine_median)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
