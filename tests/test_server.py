"""`varlint server`: a real LSP session with the server process over stdio (pygls's client).

Every wait is bounded, so a server that hangs fails the test instead of stalling the suite.
"""

from __future__ import annotations

import ast
import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls.lsp.client", reason="the language server tests need pygls 2 (the test extra)")

from lsprotocol import types as lsp  # noqa: E402
from pygls.lsp.client import BaseLanguageClient  # noqa: E402

from runtime_harness import FIXTURES_DIR, REPO_ROOT  # noqa: E402

TIMEOUT = 60.0  # the first lint imports and warms up the engine

LEGACY = """import torch
from torch.autograd import Variable

x = Variable(torch.ones(2, 2), volatile=True)
loss = (x * 2).sum()
print(loss.data[0])
"""


class Session:
    """A client connected to a fresh `python -m varlint server`; collects published diagnostics."""

    def __init__(self, root: Path, capabilities: lsp.ClientCapabilities | None = None) -> None:
        self.root = root
        self.capabilities = capabilities or lsp.ClientCapabilities()
        self.client = BaseLanguageClient("varlint-tests", "1")
        self.published: dict[str, list[lsp.PublishDiagnosticsParams]] = {}
        self.arrived = asyncio.Event()
        self.messages: list[str] = []
        self.versions: dict[str, int] = {}

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams):
            self.published.setdefault(params.uri, []).append(params)
            self.arrived.set()

        @self.client.feature(lsp.WINDOW_SHOW_MESSAGE)
        def on_message(params: lsp.ShowMessageParams):
            self.messages.append(params.message)

    async def __aenter__(self) -> "Session":
        environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        await self.client.start_io(sys.executable, "-m", "varlint", "server", env=environment, cwd=str(self.root))
        result = await asyncio.wait_for(
            self.client.initialize_async(
                lsp.InitializeParams(
                    capabilities=self.capabilities, root_uri=self.root.as_uri(),
                    workspace_folders=[lsp.WorkspaceFolder(uri=self.root.as_uri(), name="w")],
                )
            ),
            TIMEOUT,
        )
        self.server_capabilities = result.capabilities
        self.client.initialized(lsp.InitializedParams())
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
            await asyncio.wait_for(self.client.stop(), 10)
        except Exception:  # noqa: BLE001 - a broken session must not hide the test's failure
            if self.client._server is not None and self.client._server.returncode is None:
                self.client._server.kill()

    async def diagnostics(self, uri: str, count: int = 1) -> list[lsp.Diagnostic]:
        """The diagnostics of the `count`-th publication for `uri` (waits for it, bounded)."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.published.get(uri, [])) < count:
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no diagnostics #{count} published for {uri} within {TIMEOUT} s")
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return list(self.published[uri][count - 1].diagnostics)

    async def until(self, uri: str, codes: list[str]) -> None:
        """Wait (bounded) until the latest diagnostics of `uri` have these codes."""
        deadline = time.monotonic() + TIMEOUT
        while sorted(d.code for d in (self.published.get(uri) or [lsp.PublishDiagnosticsParams(uri, [])])[-1].diagnostics) != codes \
                or uri not in self.published:
            self.arrived.clear()
            if time.monotonic() > deadline:
                raise AssertionError(f"{uri}: never published {codes}; last {self.published.get(uri, [])[-1:]}")
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.versions[uri] = 1
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        return uri

    def replace_all(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def code_actions(self, uri: str, diagnostic: lsp.Diagnostic, only=None) -> list[lsp.CodeAction]:
        return await asyncio.wait_for(
            self.client.text_document_code_action_async(
                lsp.CodeActionParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
                    context=lsp.CodeActionContext(diagnostics=[diagnostic], only=only),
                )
            ),
            TIMEOUT,
        )


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """What an editor does with a TextEdit list (positions in UTF-16 units; ASCII here)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: lsp.Position) -> int:
        return starts[min(position.line, len(lines))] + position.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 240))


def test_diagnostics_code_actions_and_fix_clears_them(tmp_path: Path):
    async def session():
        async with Session(tmp_path) as s:
            assert s.server_capabilities.code_action_provider is not None
            uri = s.open(tmp_path / "train.py", LEGACY)
            diagnostics = await s.diagnostics(uri)
            assert sorted((d.code, d.range.start.line, d.range.start.character) for d in diagnostics) == [
                ("VL001", 3, 4), ("VL003", 3, 31), ("VL004", 5, 6)
            ]
            vl001 = next(d for d in diagnostics if d.code == "VL001")
            assert vl001.source == "varlint" and vl001.severity == lsp.DiagnosticSeverity.Warning
            assert vl001.data["name"] == "variable-wrapper"
            assert vl001.code_description.href.endswith("/varlint/rules/variable_wrapper.py")

            hover = await asyncio.wait_for(s.client.text_document_hover_async(lsp.HoverParams(
                lsp.TextDocumentIdentifier(uri), lsp.Position(3, 6))), TIMEOUT)
            assert "**VL001** `variable-wrapper`" in hover.contents.value
            assert "## What it does" in hover.contents.value or "What it does" in hover.contents.value

            actions = await s.code_actions(uri, vl001)
            titles = [a.title for a in actions]
            assert any(t.startswith("VL001: ") and t.endswith("(safe fix)") for t in titles), titles
            assert "Add `# noqa: VL001` to this line" in titles
            assert "Fix all safe varlint problems" in titles

            # A single fix, applied as an editor would, then the diagnostics of the new text.
            fix = next(a for a in actions if a.title.startswith("VL001: "))
            text = apply_edits(LEGACY, fix.edit.changes[uri])
            assert "x = torch.ones(2, 2)\n" in text
            s.replace_all(uri, text)
            after_one = await s.diagnostics(uri, 2)
            assert sorted(d.code for d in after_one) == ["VL004"]

            # Fix all: nothing left.
            [fix_all] = [a for a in await s.code_actions(uri, after_one[0]) if a.title == "Fix all safe varlint problems"]
            assert fix_all.kind == "source.fixAll.varlint"
            text = apply_edits(text, fix_all.edit.changes[uri])
            assert text.endswith("x = torch.ones(2, 2)\nloss = (x * 2).sum()\nprint(loss.item())\n")
            s.replace_all(uri, text)
            assert await s.diagnostics(uri, 3) == []

    run(session())


def test_noqa_action_and_settings_reload(tmp_path: Path):
    async def session():
        capabilities = lsp.ClientCapabilities(workspace=lsp.WorkspaceClientCapabilities(
            did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)))
        async with Session(tmp_path, capabilities) as s:
            uri = s.open(tmp_path / "train.py", LEGACY)
            diagnostics = await s.diagnostics(uri)
            vl004 = next(d for d in diagnostics if d.code == "VL004")
            [noqa] = [a for a in await s.code_actions(uri, vl004) if "noqa" in a.title]
            text = apply_edits(LEGACY, noqa.edit.changes[uri])
            assert "print(loss.data[0])  # noqa: VL004\n" in text
            s.replace_all(uri, text)
            assert sorted(d.code for d in await s.diagnostics(uri, 2)) == ["VL001", "VL003"]

            # [tool.varlint] changes on disk: the open document is linted again with it.
            pyproject = tmp_path / "pyproject.toml"
            pyproject.write_text('[tool.varlint]\nignore = ["VL003"]\n', encoding="utf-8")
            s.client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
                changes=[lsp.FileEvent(uri=pyproject.as_uri(), type=lsp.FileChangeType.Created)]))
            assert sorted(d.code for d in await s.diagnostics(uri, 3)) == ["VL001"]

            # A bad configuration is shown once, and the defaults apply.
            pyproject.write_text('[tool.varlint]\nselct = ["VL0"]\n', encoding="utf-8")
            s.client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
                changes=[lsp.FileEvent(uri=pyproject.as_uri(), type=lsp.FileChangeType.Changed)]))
            assert sorted(d.code for d in await s.diagnostics(uri, 4)) == ["VL001", "VL003"]
            assert any("unknown key" in message for message in s.messages)

    run(session())


def test_notebook_document_cells_are_one_module(tmp_path: Path):
    async def session():
        capabilities = lsp.ClientCapabilities(notebook_document=lsp.NotebookDocumentClientCapabilities(
            synchronization=lsp.NotebookDocumentSyncClientCapabilities()))
        async with Session(tmp_path, capabilities) as s:
            assert s.server_capabilities.notebook_document_sync is not None
            book_uri = (tmp_path / "nb.ipynb").as_uri()
            sources = ["%matplotlib inline\nfrom torch.autograd import Variable\nimport torch",
                       "Some *markdown*", "x = Variable(torch.ones(1))"]
            cell_uris = [f"vscode-notebook-cell:{tmp_path}/nb.ipynb#cell{i}" for i in range(3)]
            kinds = [lsp.NotebookCellKind.Code, lsp.NotebookCellKind.Markup, lsp.NotebookCellKind.Code]
            s.client.notebook_document_did_open(lsp.DidOpenNotebookDocumentParams(
                notebook_document=lsp.NotebookDocument(
                    uri=book_uri, notebook_type="jupyter-notebook", version=1,
                    cells=[lsp.NotebookCell(kind=k, document=u) for k, u in zip(kinds, cell_uris)]),
                cell_text_documents=[
                    lsp.TextDocumentItem(uri=u, language_id="python" if k == lsp.NotebookCellKind.Code else "markdown",
                                         version=1, text=t)
                    for u, k, t in zip(cell_uris, kinds, sources)],
            ))
            third = await s.diagnostics(cell_uris[2])
            assert [(d.code, d.range.start.line, d.range.start.character) for d in third] == [("VL001", 0, 4)]
            assert await s.diagnostics(cell_uris[0]) == []
            actions = await s.code_actions(cell_uris[2], third[0])
            [fix] = [a for a in actions if a.title.startswith("VL001")]
            # Fix all fixes the cells together: the import of cell 1 goes with its last use.
            [fix_all] = [a for a in actions if a.title == "Fix all safe varlint problems"]
            assert {uri: apply_edits(sources[cell_uris.index(uri)], edits)
                    for uri, edits in fix_all.edit.changes.items()} == {
                cell_uris[0]: "%matplotlib inline\nimport torch", cell_uris[2]: "x = torch.ones(1)"}
            fixed = apply_edits(sources[2], fix.edit.changes[cell_uris[2]])
            assert fixed == "x = torch.ones(1)"

            # The edit applied in the cell: the notebook is linted again, the cell is clean.
            s.client.notebook_document_did_change(lsp.DidChangeNotebookDocumentParams(
                notebook_document=lsp.VersionedNotebookDocumentIdentifier(version=2, uri=book_uri),
                change=lsp.NotebookDocumentChangeEvent(cells=lsp.NotebookDocumentCellChanges(text_content=[
                    lsp.NotebookDocumentCellContentChanges(
                        document=lsp.VersionedTextDocumentIdentifier(uri=cell_uris[2], version=2),
                        changes=[lsp.TextDocumentContentChangeWholeDocument(text=fixed)])])),
            ))
            assert await s.diagnostics(cell_uris[2], 2) == []

    run(session())


def test_a_burst_of_changes_is_linted_once(tmp_path: Path):
    """Edits in quick succession are debounced: linted once, not once per edit."""

    async def session():
        async with Session(tmp_path) as s:
            uri = s.open(tmp_path / "train.py", LEGACY)
            await s.diagnostics(uri)
            for _ in range(5):  # a burst of keystrokes
                s.replace_all(uri, LEGACY.replace("volatile=True", "requires_grad=False"))
            final = await s.diagnostics(uri, 2)
            assert sorted(d.code for d in final) == ["VL001", "VL004"]
            await asyncio.sleep(1.0)
            # Debounced: fewer lints than changes (one, unless the machine stalls the reader).
            assert len(s.published[uri]) - 1 < 5, "a burst of changes must not be linted change by change"
            assert sorted(d.code for d in s.published[uri][-1].diagnostics) == ["VL001", "VL004"]

    run(session())


def test_imports_resolve_through_the_workspace_index_and_edits_reach_the_importers(tmp_path: Path):
    """As `varlint check .`: a star import of a workspace module resolves (the index is built
    in the background); an unsaved edit of that module re-lints the documents importing it."""
    helpers = "import torch\nfrom torch.autograd import Variable\n"
    main = "from helpers import *\n\nx = Variable(torch.ones(2))\n"
    (tmp_path / "helpers.py").write_text(helpers)
    (tmp_path / "main.py").write_text(main)

    async def session():
        async with Session(tmp_path) as s:
            main_uri = s.open(tmp_path / "main.py", main)
            await s.until(main_uri, ["VL001"])
            helpers_uri = s.open(tmp_path / "helpers.py", helpers)
            await s.diagnostics(helpers_uri)
            s.replace_all(helpers_uri, "import torch\n")  # Variable no longer comes from helpers
            await s.until(main_uri, [])

    run(session())


def test_settings_saved_unchanged_lint_nothing_again(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.varlint]\nignore = ["VL003"]\n', encoding="utf-8")

    async def session():
        async with Session(tmp_path) as s:
            uri = s.open(tmp_path / "train.py", LEGACY)
            assert sorted(d.code for d in await s.diagnostics(uri)) == ["VL001", "VL004"]
            s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(pyproject.as_uri())))
            # changed, but not what is selected for this file: nothing to say either
            pyproject.write_text('[tool.varlint]\nignore = ["VL003"]\nexclude = ["build"]\n', encoding="utf-8")
            s.client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
                changes=[lsp.FileEvent(uri=pyproject.as_uri(), type=lsp.FileChangeType.Changed)]))
            s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
            await asyncio.sleep(1.5)
            assert len(s.published[uri]) == 1
            pyproject.write_text("", encoding="utf-8")  # and a real change is linted
            s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(pyproject.as_uri())))
            assert sorted(d.code for d in await s.diagnostics(uri, 2)) == ["VL001", "VL003", "VL004"]

    run(session())


def test_fix_all_is_computed_when_the_client_resolves_it(tmp_path: Path):
    capabilities = lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(
        code_action=lsp.CodeActionClientCapabilities(
            resolve_support=lsp.ClientCodeActionResolveOptions(properties=["edit"]))))

    async def session():
        async with Session(tmp_path, capabilities) as s:
            uri = s.open(tmp_path / "train.py", LEGACY)
            diagnostics = await s.diagnostics(uri)
            [fix_all] = [a for a in await s.code_actions(uri, diagnostics[0]) if a.title == "Fix all safe varlint problems"]
            assert fix_all.edit is None  # not computed until asked for
            resolved = await asyncio.wait_for(s.client.code_action_resolve_async(fix_all), TIMEOUT)
            text = apply_edits(LEGACY, resolved.edit.changes[uri])
            assert text.endswith("x = torch.ones(2, 2)\nloss = (x * 2).sum()\nprint(loss.item())\n")

    run(session())


async def status(s: Session) -> dict:
    """The server's `varlint/status` (pygls gives namedtuples: made dicts again)."""
    def plain(value):
        if hasattr(value, "_asdict"):
            return {key: plain(item) for key, item in value._asdict().items()}
        return [plain(item) for item in value] if isinstance(value, list) else value

    return plain(await asyncio.wait_for(s.client.protocol.send_request_async("varlint/status", None), TIMEOUT))


HELPER_RESETS = (FIXTURES_DIR / "project" / "clean_helper_module_resets" / "training.py").read_text()
LOOP_CALLING_HELPER = (FIXTURES_DIR / "project" / "step_in_helper_module" / "main.py").read_text().replace("  # expect: VL201", "")


def test_an_unsaved_edit_of_a_helper_module_reaches_its_importer_and_the_index_is_updated_not_rebuilt(tmp_path: Path):
    """main.py's epoch loop calls `train_step` of training.py: clean while the helper resets
    the gradients; once the open, unsaved training.py no longer does, main.py is linted again
    with the buffer's helper (not the file on disk) and has VL201. Each edit re-reads only the
    edited module into the index (one build, at start-up)."""
    (tmp_path / "training.py").write_text(HELPER_RESETS)
    (tmp_path / "main.py").write_text(LOOP_CALLING_HELPER)

    async def session():
        async with Session(tmp_path) as s:
            main_uri = s.open(tmp_path / "main.py", LOOP_CALLING_HELPER)
            training_uri = s.open(tmp_path / "training.py", HELPER_RESETS)
            await s.diagnostics(training_uri)
            await s.until(main_uri, [])
            while (await status(s))["counters"].get("index_builds", 0) < 1:
                await asyncio.sleep(0.05)
            before = await status(s)
            assert before["index_modules"] == 2 and before["counters"]["index_builds"] == 1

            s.replace_all(training_uri, HELPER_RESETS.replace("    optimizer.zero_grad()\n", ""))
            await s.until(main_uri, ["VL201"])
            vl201 = s.published[main_uri][-1].diagnostics[0]
            assert "training.py" in vl201.message
            after_helper = await status(s)
            assert after_helper["counters"]["index_builds"] == 1
            assert after_helper["counters"]["modules_reread"] == before["counters"].get("modules_reread", 0) + 1

            # An edit of main.py: only main.py is read again, and the helper's facts stand.
            s.replace_all(main_uri, LOOP_CALLING_HELPER + "# an edit\n")
            await s.diagnostics(main_uri, len(s.published[main_uri]) + 1)
            assert sorted(d.code for d in s.published[main_uri][-1].diagnostics) == ["VL201"]
            after_main = await status(s)
            assert after_main["counters"]["index_builds"] == 1
            assert after_main["counters"]["modules_reread"] == after_helper["counters"]["modules_reread"] + 1
            assert after_main["index_modules"] == 2

            # The helper fixed again (unsaved): main.py is clean again.
            s.replace_all(training_uri, HELPER_RESETS)
            await s.until(main_uri, [])
        assert "optimizer.zero_grad()" in (tmp_path / "training.py").read_text()  # never saved

    run(session())


def test_a_lint_made_stale_by_an_edit_is_cancelled(tmp_path: Path):
    """A long lint in flight when the document changes is stopped: its diagnostics are never
    published, and the new version's are."""
    from varlint.server import WARM_UP

    long_text = WARM_UP + "\n".join(
        WARM_UP.split("\n\n\n", 1)[1].replace("Net", f"Net{n}").replace("loss_of", f"loss_of{n}") for n in range(15))

    async def session():
        async with Session(tmp_path) as s:
            uri = s.open(tmp_path / "train.py", long_text)
            deadline = time.monotonic() + TIMEOUT
            while uri not in (await status(s))["running"]:
                assert time.monotonic() < deadline and uri not in s.published, "the lint never ran long enough"
                await asyncio.sleep(0.01)
            s.replace_all(uri, LEGACY)
            assert sorted(d.code for d in await s.diagnostics(uri)) == ["VL001", "VL003", "VL004"]
            assert [p.version for p in s.published[uri]] == [2]
            assert (await status(s))["counters"]["cancelled"] == 1
            # The garbage of the lints is collected once the lint thread is idle, once.
            await asyncio.sleep(0.5)
            collections = (await status(s))["counters"]["collections"]
            assert collections >= 1
            await asyncio.sleep(0.3)
            assert (await status(s))["counters"]["collections"] == collections
            # Nothing the interrupted lint left behind changes a later lint.
            s.replace_all(uri, long_text)
            after = await s.diagnostics(uri, 2)
            assert sorted((d.code, d.range.start.line) for d in after) == expected

    from varlint import engine

    from varlint.config import Settings

    codes = Settings(root=tmp_path).selected_codes()
    expected = sorted((d.code, d.start.row - 1) for d in engine.lint_text(str(tmp_path / "train.py"), long_text, codes))
    assert len(expected) > 50
    run(session())


def test_with_module_re_reads_one_module_and_keeps_the_other_modules_facts(tmp_path: Path):
    """The index update behind each lint (ProjectIndex.with_module): the edited module only is
    read again; the import graph, the memo tables and the facts of the other modules computed
    for the analyses (foreign helpers) are reused while what they depend on is unchanged."""
    from varlint.analysis.foreign_helpers import module_facts
    from varlint.project import ProjectIndex, module_source, module_tree

    (tmp_path / "training.py").write_text(HELPER_RESETS)
    (tmp_path / "main.py").write_text(LOOP_CALLING_HELPER)
    main, training = str(tmp_path / "main.py"), str(tmp_path / "training.py")
    index = ProjectIndex.build([main, training])
    facts = module_facts(index, "training")
    assert facts is not None and "train_step" in facts.functions

    edited = index.with_module(main, LOOP_CALLING_HELPER + "# an edit\n")
    assert edited is not index and edited.modules["training"] is index.modules["training"]
    assert edited.memo is index.memo and edited._dependencies is index._dependencies
    assert module_facts(edited, "training") is facts  # not parsed and analysed again
    assert index.with_module(main, LOOP_CALLING_HELPER + "# an edit\n").modules["main"].digest == edited.modules["main"].digest

    without_reset = HELPER_RESETS.replace("    optimizer.zero_grad()\n", "")
    helper_edited = edited.with_module(training, without_reset)
    info = helper_edited.modules["training"]
    assert module_source(training, info.digest) == without_reset  # the buffer, not the file
    assert "optimizer.zero_grad()" not in ast.unparse(module_tree(training, info.digest))
    assert module_facts(helper_edited, "training") is not facts
    assert module_facts(edited, "training") is not None  # the older index still has its own

    with_import = edited.with_module(main, "import os\n" + LOOP_CALLING_HELPER)
    assert with_import._dependencies is not edited._dependencies  # the import graph changed

    # A file changed on disk since it was indexed: its source is unknown, not another text.
    (tmp_path / "training.py").write_text(without_reset + "\n")
    assert module_source(training, index.modules["training"].digest) is None
