"""`varlint server`: the language server (LSP over stdio, built on pygls).

- Diagnostics when a document is opened or saved, and shortly after it changes (edits in
  quick succession are linted once): code, severity, the rule's name in `data`, its
  documentation as hover and as `codeDescription` (the rule module, whose docstring it is).
- Code actions: each safe or unsafe fix (labelled so), "Fix all safe varlint problems"
  (kind `source.fixAll.varlint`, for fix-on-save; in a notebook it fixes all its cells
  together) and "Add noqa" per diagnostic.
- Settings: the `[tool.varlint]` of the pyproject.toml nearest to each document, kept per
  folder and read again only when that file's size or modification time changes (a stat per
  lint), so edits to it apply at once; when a pyproject.toml is saved or changes on disk, the
  open documents whose selected rules changed are linted again (the others are not).
- Notebook documents (LSP 3.17) where the client supports them: the code cells are linted as
  one module, as `varlint check` does for `.ipynb` files.

Speed (a lint of a 500-line file is the engine's time, nothing more): the engine is warmed up
(a small training loop is linted) and the workspace's project index (varlint/project.py) built
in the background after `initialized`; each lint updates the index with its document's text
(`with_module`: only that module is read again, the other modules' facts and the analyses'
memo of them are kept; the other open documents see unsaved edits, and the ones importing it
are linted again), instead of rebuilding it. Results are kept by (path, content hash, selected
rules, digests of the modules it imports): a document whose key is unchanged (saved, settings
reloaded the same, an edit undone) is not linted again. Changes are debounced; every engine call
runs in one lint thread (varlint/lint_worker.py), and a lint still running when its document
changes is stopped there (its result would be dropped) so the newest version is linted at once.
"Fix all" is computed only when the client resolves the action (`codeAction/resolve`), or off
the event loop for a client that cannot resolve. The `varlint/status` request answers counters
(index builds, modules re-read, lints, lints cancelled, garbage collections) and recent timings (index update, the
engine's CPU and wall time, publish), for the tests and bench/server_latency.py.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import hashlib
import os
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from varlint import engine, files, fixes, noqa, notebook
from varlint.config import ConfigError, Settings, find_config, load_settings
from varlint.diagnostic import Applicability, Diagnostic, Position
from varlint.lint_worker import CANCELLED, LintWorker, freeze_survivors
from varlint.rules import rule_by_code

DEBOUNCE_SECONDS = 0.01  # edits arriving together (a paste, several cursors) are linted once; a lint
# still running when its document changes again is stopped (varlint/lint_worker.py)
DEPENDENT_DELAY = 0.3  # an edited module's importers are linted again a little later
RESULTS_KEPT = 64  # lint results kept by key (undo, a save, a settings reload)
TIMINGS_KEPT = 200  # per lint, for `varlint/status`
STATUS = "varlint/status"  # a request: counters and recent timings (tests, bench/server_latency.py)
INDEXED_FILES_MAX = 20_000  # a larger workspace is not indexed (imports resolve per file)
# Linted at start-up, so that the first document does not pay for the imports and the first
# runs of the analyses: a small legacy training loop (a model, an optimizer, a loss, a step).
WARM_UP = """import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return F.log_softmax(self.fc(x))


def loss_of(model, x, y):
    return F.nll_loss(model(x), y)


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
history = []
for epoch in range(2):
    x = Variable(torch.randn(8, 4), volatile=False)
    y = Variable(torch.LongTensor(8).zero_())
    loss = loss_of(model, x, y)
    optimizer.step()
    loss.backward()
    history.append(loss)
    print(loss.data[0], x.grad.data.sum())
"""
SOURCE = "varlint"
FIX_ALL_KIND = "source.fixAll.varlint"
FIX_ALL_TITLE = "Fix all safe varlint problems"
SEVERITY = {"VL104": lsp.DiagnosticSeverity.Information, "VL900": lsp.DiagnosticSeverity.Error,
            "VL901": lsp.DiagnosticSeverity.Error}
NOTEBOOK_SYNC = lsp.NotebookDocumentSyncOptions(
    notebook_selector=[
        lsp.NotebookDocumentFilterWithCells(
            notebook="jupyter-notebook", cells=[lsp.NotebookCellLanguage(language="python")]
        )
    ],
    save=True,
)


@dataclasses.dataclass
class Linted:
    """The last lint of a document (a file, or one cell of a notebook)."""

    version: int | None
    text: str
    diagnostics: list[Diagnostic]  # positions in this document's own rows
    codes: frozenset[str]
    path: str
    key: tuple = ()  # what the diagnostics depend on (see VarlintServer.result_key)
    project: object = None  # the project index the lint used


class VarlintServer(LanguageServer):
    def __init__(self) -> None:
        try:
            server_version = version("varlint")
        except PackageNotFoundError:
            server_version = "0"
        super().__init__(
            "varlint", server_version,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            notebook_document_sync=NOTEBOOK_SYNC,
        )
        self.linted: dict[str, Linted] = {}  # by document URI
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.running: set[str] = set()  # documents being linted
        self.stale: set[str] = set()  # ... that changed meanwhile
        self.config_errors_shown: set[str] = set()
        self.settings_by_folder: dict[str, tuple[tuple, Settings]] = {}
        self.results: collections.OrderedDict[tuple, list[Diagnostic]] = collections.OrderedDict()
        self.index = None  # the workspace's ProjectIndex, once built
        self.notebook_keys: dict[str, tuple] = {}  # by notebook URI: the key and version last published
        self.worker = LintWorker()  # every engine call runs there, one at a time
        self.in_flight: dict[str, object] = {}  # by document URI: the Job linting it
        self.counters = collections.Counter()  # index builds, modules re-read, lints, ...
        self.timings: dict[str, collections.deque] = collections.defaultdict(
            lambda: collections.deque(maxlen=TIMINGS_KEPT))  # seconds, per lint

    # --- settings -------------------------------------------------------------------------

    def settings_for(self, path: str) -> Settings:
        folder = Path(path).parent
        found = find_config(folder.resolve()) if folder.exists() else None
        stamp = (str(found), *_stat(found)) if found is not None else ()
        kept = self.settings_by_folder.get(str(folder))
        if kept is not None and kept[0] == stamp:
            return kept[1]
        try:
            settings = load_settings(None, folder)
        except ConfigError as error:
            message = f"varlint: {error}; using the default settings"
            if message not in self.config_errors_shown:  # once, not on every keystroke
                self.config_errors_shown.add(message)
                self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, message))
            settings = Settings(root=folder)
        self.settings_by_folder[str(folder)] = (stamp, settings)
        return settings

    def settings_changed(self) -> None:
        """A pyproject.toml was saved or changed on disk: read settings again, and lint the
        open documents (those whose key is unchanged are not linted, nor published)."""
        self.config_errors_shown.clear()
        self.settings_by_folder.clear()
        self.lint_all()

    def codes_for(self, path: str) -> frozenset[str]:
        settings = self.settings_for(path)
        return settings.selected_codes() - settings.ignored_for(path)

    # --- linting --------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        """Lint `uri` after `delay` seconds; a newer request for it replaces this one."""
        loop = asyncio.get_running_loop()
        if uri in self.pending:
            self.pending.pop(uri).cancel()
        self.pending[uri] = loop.call_later(delay, lambda: asyncio.ensure_future(self.lint(uri)))

    async def lint(self, uri: str) -> None:
        """Lint a document once at a time: a request while its lint runs makes one more run
        after it (two lints of one document would only compete for the CPU)."""
        self.pending.pop(uri, None)
        if uri in self.running:
            self.stale.add(uri)
            return
        self.running.add(uri)
        try:
            await self._lint(uri)
        finally:
            self.running.discard(uri)
        if uri in self.stale:
            self.stale.discard(uri)
            self.schedule(uri, 0)

    async def _lint(self, uri: str) -> None:
        book = self.workspace.get_notebook_document(notebook_uri=uri)
        if book is not None:
            await self.lint_notebook(book)
            return
        if uri not in self.workspace.text_documents:
            return
        document = self.workspace.get_text_document(uri)
        text, doc_version, path = document.source, document.version, document_path(uri, self)
        if notebook.is_notebook(path):
            return  # a notebook's JSON opened as text: notebooks are linted as notebook documents
        codes = self.codes_for(path)
        project, changed_module = self.indexed(path, text)
        key = self.result_key(path, text, codes, project)
        previous = self.linted.get(uri)
        if previous is not None and previous.key == key and previous.version == doc_version:
            return  # nothing new to say
        diagnostics = self.results.get(key)
        if diagnostics is None:
            diagnostics = await self.in_worker(engine.lint_text, path, text, codes, project, uri=uri)
            if diagnostics is CANCELLED:
                return  # edited meanwhile: the newer version is linted next
            self.remember(key, diagnostics)
        if uri not in self.workspace.text_documents or self.workspace.get_text_document(uri).version != doc_version:
            return  # edited meanwhile: the newer lint will publish
        started = time.perf_counter()
        self.publish(uri, Linted(doc_version, text, diagnostics, codes, path, key, project))
        self.timings["publish"].append(time.perf_counter() - started)
        if changed_module is not None:
            self.lint_importers(uri, changed_module)

    async def in_worker(self, function, *arguments, uri: str | None = None):
        """`function(*arguments)` in the lint thread; with `uri`, a lint of that document that a
        newer edit cancels (the result is then CANCELLED)."""
        job = self.worker.submit(function, *arguments, cancellable=uri is not None)
        if uri is not None:
            self.in_flight[uri] = job
        started = time.perf_counter()
        try:
            result = await job.future
        finally:
            if uri is not None and self.in_flight.get(uri) is job:
                del self.in_flight[uri]
        if uri is not None and result is not CANCELLED:
            self.counters["lints"] += 1
            self.timings["engine_wall"].append(time.perf_counter() - started)
            self.timings["engine_cpu"].append(job.cpu)
        return result

    def cancel_stale(self, uri: str) -> None:
        """A document changed: stop its lint in flight (its result would be dropped)."""
        job = self.in_flight.get(uri)
        if job is not None:
            self.worker.cancel(job)

    def status(self) -> dict:
        return {
            "counters": {**self.counters, "cancelled": self.worker.cancelled, "collections": self.worker.collections},
            "index_modules": len(self.index.modules) if self.index is not None else None,
            "running": sorted(uri for uri, job in self.in_flight.items() if job is self.worker.current),
            "timings": {name: list(values) for name, values in self.timings.items()},
        }

    # --- the project index ----------------------------------------------------------------

    def indexed(self, path: str, text: str):
        """The index with this document's text in it (and the module it changed, if any)."""
        if self.index is None or not path.endswith(".py"):
            return None, None
        before = self.index
        started = time.perf_counter()
        self.index = before.with_module(path, text)
        if self.index is before:
            return self.index, None
        self.timings["index_update"].append(time.perf_counter() - started)
        self.counters["modules_reread"] += 1
        return self.index, self.index.module_name(path)

    def result_key(self, path: str, text: str, codes: frozenset[str], project) -> tuple:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        imported: tuple = ()
        name = project.module_name(path) if project is not None else None
        if name is not None:
            imported = tuple(sorted((d, project.summary_digest(d)) for d in project.dependencies(name)))
        return (path, digest, codes, imported)

    def remember(self, key: tuple, diagnostics: list[Diagnostic]) -> None:
        self.results[key] = diagnostics
        self.results.move_to_end(key)
        while len(self.results) > RESULTS_KEPT:
            self.results.popitem(last=False)

    def lint_importers(self, edited_uri: str, module: str) -> None:
        """Lint again, a little later, the open documents that import `module`."""
        for uri in list(self.workspace.text_documents):
            if uri == edited_uri or uri not in self.linted or self.index is None:
                continue
            name = self.index.module_name(self.linted[uri].path)
            if name is not None and module in self.index.dependencies(name):
                self.schedule(uri, DEPENDENT_DELAY)

    async def warm_up(self) -> None:
        """Import and warm up the engine, then index the workspace (in a worker thread)."""
        await self.in_worker(engine.lint_text, "warm_up.py", WARM_UP, engine.known_codes())
        await self.in_worker(freeze_survivors)
        root = self.workspace.root_path
        if not root or not os.path.isdir(root):
            return
        settings = self.settings_for(os.path.join(root, "__init__.py"))
        try:
            index = await self.in_worker(build_index, root, settings)
        except Exception as error:  # noqa: BLE001 - without an index, imports resolve per file
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Warning, f"varlint: no project index: {error!r}"))
            return
        if index is None:
            return
        self.counters["index_builds"] += 1
        for uri in list(self.workspace.text_documents):  # unsaved texts win over the files
            if uri in self.linted and self.linted[uri].path.endswith(".py"):
                index = index.with_module(self.linted[uri].path, self.workspace.get_text_document(uri).source)
        self.index = index
        self.lint_all()  # imports from the workspace now resolve (unchanged keys: no lint)

    async def lint_notebook(self, book: lsp.NotebookDocument) -> None:
        path, book_version = document_path(book.uri, self), book.version
        uris = {number: cell.document for number, cell in enumerate(book.cells, start=1)}
        codes = self.codes_for(path)
        script = self.notebook_script(book)
        cells = "\0".join(f"{part.cell.number}\0{part.cell.source}" for part in script.parts)
        key = ("notebook", *self.result_key(path, cells, codes, None))
        if self.notebook_keys.get(book.uri) == (key, book_version):
            return  # nothing new to say
        found = self.results.get(key)
        if found is None:
            linter = script.linter(engine.lint_text)
            found = await self.in_worker(linter, path, script.text, codes, uri=book.uri)
            if found is CANCELLED:
                return
            self.remember(key, found)
        current = self.workspace.get_notebook_document(notebook_uri=book.uri)
        if current is None or current.version != book_version:
            return  # edited meanwhile: the newer lint will publish
        by_cell: dict[int, list[Diagnostic]] = {number: [] for number in uris}
        for diagnostic in found:
            mapped = script.to_cells(diagnostic)
            by_cell[mapped.cell].append(dataclasses.replace(mapped, cell=None))
        for part in script.parts:
            uri = uris[part.cell.number]
            text = self.workspace.get_text_document(uri).source
            self.publish(uri, Linted(None, text, by_cell[part.cell.number], codes, path))
        self.notebook_keys[book.uri] = (key, book_version)

    def notebook_script(self, book: lsp.NotebookDocument) -> notebook.Script:
        return notebook.Script(
            notebook.CodeCell(number, self.workspace.get_text_document(cell.document).source)
            for number, cell in enumerate(book.cells, start=1)
            if cell.kind == lsp.NotebookCellKind.Code
        )

    def publish(self, uri: str, linted: Linted) -> None:
        self.linted[uri] = linted
        document = self.workspace.get_text_document(uri)
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri, version=linted.version,
                diagnostics=[self.to_lsp(document, d) for d in linted.diagnostics],
            )
        )

    def lint_all(self) -> None:
        for uri in list(self.workspace.text_documents):
            if self.workspace.get_notebook_document(cell_uri=uri) is None:
                self.schedule(uri, 0)
        for uri in list(self.workspace.notebook_documents):
            self.schedule(uri, 0)

    # --- conversions ----------------------------------------------------------------------

    def to_range(self, document, start, end) -> lsp.Range:
        lines = document.lines
        codec = self.workspace.position_codec

        def position(point) -> lsp.Position:
            server = lsp.Position(line=point.row - 1, character=point.column - 1)
            return codec.position_to_client_units(lines, server) if point.row - 1 < len(lines) else server

        return lsp.Range(start=position(start), end=position(end))

    def to_lsp(self, document, diagnostic: Diagnostic) -> lsp.Diagnostic:
        rule = rule_by_code(diagnostic.code)
        return lsp.Diagnostic(
            range=self.to_range(document, diagnostic.start, diagnostic.end),
            message=diagnostic.message,
            severity=SEVERITY.get(diagnostic.code, lsp.DiagnosticSeverity.Warning),
            code=diagnostic.code,
            code_description=lsp.CodeDescription(href=_documentation_uri(rule)),
            source=SOURCE,
            data={
                "name": diagnostic.name,
                "fix": None if diagnostic.fix is None else diagnostic.fix.applicability.value,
            },
        )

    def text_edits(self, document, fix) -> list[lsp.TextEdit]:
        return [
            lsp.TextEdit(range=self.to_range(document, edit.start, edit.end), new_text=edit.content)
            for edit in fix.edits
        ]

    # --- hover and code actions -----------------------------------------------------------

    def at(self, uri: str, selection: lsp.Range) -> list[Diagnostic]:
        """The diagnostics of the last lint that touch the selection (rows, columns in server
        units: LSP columns are converted back first)."""
        linted = self.linted.get(uri)
        if linted is None:
            return []
        document = self.workspace.get_text_document(uri)
        codec = self.workspace.position_codec
        first = codec.position_from_client_units(document.lines, selection.start)
        last = codec.position_from_client_units(document.lines, selection.end)
        low, high = (first.line + 1, first.character + 1), (last.line + 1, last.character + 1)
        return [
            d for d in linted.diagnostics
            if (d.start.row, d.start.column) <= high and low <= (d.end.row, d.end.column)
        ]

    def hover(self, params: lsp.HoverParams) -> lsp.Hover | None:
        point = lsp.Range(start=params.position, end=params.position)
        found = self.at(params.text_document.uri, point)
        if not found:
            return None
        sections = []
        for code in dict.fromkeys(d.code for d in found):
            rule = rule_by_code(code)
            sections.append(f"**{rule.code}** `{rule.name}`\n\n{rule.documentation()}")
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(sections)))

    async def code_actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        linted = self.linted.get(uri)
        if linted is None:
            return []
        document = self.workspace.get_text_document(uri)
        wanted = params.context.only
        actions = []
        if not wanted or any(kind.startswith(lsp.CodeActionKind.QuickFix) for kind in wanted):
            for diagnostic in self.at(uri, params.range):
                fix = diagnostic.fix
                lsp_diagnostic = self.to_lsp(document, diagnostic)
                if fix is not None and fix.applicability is not Applicability.DISPLAY_ONLY:
                    safe = fix.applicability is Applicability.SAFE
                    actions.append(lsp.CodeAction(
                        title=f"{diagnostic.code}: {fix.message} ({'safe' if safe else 'unsafe'} fix)",
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=[lsp_diagnostic],
                        is_preferred=safe,
                        edit=lsp.WorkspaceEdit(changes={uri: self.text_edits(document, fix)}),
                    ))
                noqa_action = self.noqa_action(uri, document, diagnostic, lsp_diagnostic)
                if noqa_action is not None:
                    actions.append(noqa_action)
        if self.offers_fix_all(linted, wanted):
            fix_all = lsp.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND, data={"uri": uri, "key": repr(linted.key)})
            if not self.client_resolves_edits():
                fix_all.edit = await self.fix_all_edit(uri, linted)
            if fix_all.edit is not None or self.client_resolves_edits():
                actions.append(fix_all)
        return actions

    def client_resolves_edits(self) -> bool:
        text_document = self.client_capabilities.text_document
        action = text_document.code_action if text_document else None
        support = action.resolve_support if action else None
        return bool(support and "edit" in support.properties)

    async def resolve_code_action(self, action: lsp.CodeAction) -> lsp.CodeAction:
        """The edit of "Fix all", computed now (from the document's last lint)."""
        data = action.data if isinstance(action.data, dict) else {}
        linted = self.linted.get(data.get("uri", ""))
        if action.kind == FIX_ALL_KIND and linted is not None:
            action.edit = await self.fix_all_edit(data["uri"], linted) or lsp.WorkspaceEdit(changes={})
        return action

    def noqa_action(self, uri, document, diagnostic: Diagnostic, lsp_diagnostic) -> lsp.CodeAction | None:
        """`# noqa: CODE` where `varlint check --add-noqa` would put it (merged into an existing
        directive), as an edit of that one line."""
        before = fixes.split_lines(document.source)
        after = fixes.split_lines(noqa.add_directives(document.source, [diagnostic])[0])
        changed = [row for row, (old, new) in enumerate(zip(before, after), start=1) if old != new]
        if len(before) != len(after) or len(changed) != 1:
            return None  # already silenced, or nowhere to put it
        row = changed[0]
        line = self.to_range(document, Position(row, 1), Position(row, len(before[row - 1]) + 1))
        return lsp.CodeAction(
            title=f"Add `# noqa: {diagnostic.code}` to this line",
            kind=lsp.CodeActionKind.QuickFix,
            diagnostics=[lsp_diagnostic],
            edit=lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(line, after[row - 1])]}),
        )

    @staticmethod
    def offers_fix_all(linted: Linted, wanted) -> bool:
        kinds = (lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Source, lsp.CodeActionKind.SourceFixAll, FIX_ALL_KIND)
        if wanted and not any(FIX_ALL_KIND.startswith(kind) or kind in kinds for kind in wanted):
            return False
        return any(d.fix and d.fix.applicability is Applicability.SAFE for d in linted.diagnostics)

    async def fix_all_edit(self, uri: str, linted: Linted) -> lsp.WorkspaceEdit | None:
        """Every safe fix of the document (of all the notebook's cells together), computed in a
        worker thread; None when they change nothing."""
        book = self.workspace.get_notebook_document(cell_uri=uri)
        if book is None:
            lint = _with_project(linted.project)
            outcome = await self.in_worker(
                fixes.fix_until_stable, linted.path, linted.text, linted.codes, Applicability.SAFE, lint)
            new_texts = {uri: outcome.text} if outcome.text != linted.text else {}
        else:  # the notebook's cells are fixed together (an import goes once no cell uses it)
            uris = {number: cell.document for number, cell in enumerate(book.cells, start=1)}
            fixed = await self.in_worker(
                notebook.fix, self.notebook_script(book), linted.path, linted.codes, Applicability.SAFE,
                engine.lint_text)
            new_texts = {uris[number]: after for number, _, after in (fixed[1] if fixed else [])}
        if not new_texts:
            return None
        return lsp.WorkspaceEdit(changes={
            cell_uri: [lsp.TextEdit(whole_document(self.workspace.get_text_document(cell_uri)), text)]
            for cell_uri, text in new_texts.items()
        })


def _with_project(project):
    """engine.lint_text with `project` as the index (the one the document's lint used)."""
    if project is None:
        return engine.lint_text
    return lambda path, text, codes, parsed=None: engine.lint_text(
        path, text, codes, project.with_module(path, text), parsed=parsed)


@functools.lru_cache(maxsize=None)
def _documentation_uri(rule) -> str:
    """The rule's module (its docstring is the documentation), as a file URI."""
    return Path(sys.modules[rule.__module__].__file__).as_uri()


def build_index(root: str, settings: Settings):
    """The ProjectIndex of the workspace's Python files (None for a very large workspace)."""
    from varlint.project import ProjectIndex

    paths = []
    for path in files.discover([root], settings.exclude, settings.root):
        if path.endswith(".py"):
            paths.append(path)
            if len(paths) > INDEXED_FILES_MAX:
                return None
    return ProjectIndex.build(paths)


def _stat(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return ()
    return (stat.st_size, stat.st_mtime_ns)


def _read(path: str) -> str | None:
    from varlint.project import read_text

    return read_text(path)


def whole_document(document) -> lsp.Range:
    return lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(len(document.lines), 0))


def document_path(uri: str, server: LanguageServer) -> str:
    """The file a document is (an unsaved one: a name in the workspace root)."""
    path = to_fs_path(uri)
    if path is None or not uri.startswith("file:"):
        root = server.workspace.root_path or str(Path.cwd())
        return str(Path(root) / "untitled.py")
    return path


def create_server() -> VarlintServer:
    server = VarlintServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: VarlintServer, params: lsp.DidOpenTextDocumentParams):
        if ls.workspace.get_notebook_document(cell_uri=params.text_document.uri) is None:
            await ls.lint(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: VarlintServer, params: lsp.DidChangeTextDocumentParams):
        ls.cancel_stale(params.text_document.uri)
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: VarlintServer, params: lsp.DidSaveTextDocumentParams):
        if params.text_document.uri.endswith("pyproject.toml"):
            ls.settings_changed()
        elif ls.workspace.get_notebook_document(cell_uri=params.text_document.uri) is None:
            await ls.lint(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: VarlintServer, params: lsp.DidCloseTextDocumentParams):
        closed = ls.linted.pop(params.text_document.uri, None)
        if closed is not None and ls.index is not None and closed.path.endswith(".py"):
            on_disk = _read(closed.path)  # an unsaved buffer no longer speaks for the file
            if on_disk is not None:
                ls.index = ls.index.with_module(closed.path, on_disk)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_OPEN)
    async def notebook_open(ls: VarlintServer, params: lsp.DidOpenNotebookDocumentParams):
        await ls.lint(params.notebook_document.uri)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: VarlintServer, params: lsp.DidChangeNotebookDocumentParams):
        ls.cancel_stale(params.notebook_document.uri)
        ls.schedule(params.notebook_document.uri, DEBOUNCE_SECONDS)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_SAVE)
    async def notebook_save(ls: VarlintServer, params: lsp.DidSaveNotebookDocumentParams):
        await ls.lint(params.notebook_document.uri)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(ls: VarlintServer, params: lsp.DidChangeWatchedFilesParams):
        if any(change.uri.endswith("pyproject.toml") for change in params.changes):
            ls.settings_changed()

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: VarlintServer, params: lsp.InitializedParams):
        ls.warm_up_task = asyncio.ensure_future(ls.warm_up())
        watching = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        if watching and watching.dynamic_registration:
            await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[
                lsp.Registration(
                    id="varlint-pyproject", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[lsp.FileSystemWatcher(glob_pattern="**/pyproject.toml")]
                    ),
                )
            ]))

    @server.feature(STATUS)
    def status(ls: VarlintServer, params):
        return ls.status()

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: VarlintServer, params: lsp.HoverParams):
        return ls.hover(params)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=True),
    )
    async def code_action(ls: VarlintServer, params: lsp.CodeActionParams):
        return await ls.code_actions(params)

    @server.feature(lsp.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: VarlintServer, action: lsp.CodeAction):
        return await ls.resolve_code_action(action)

    return server


def main() -> None:
    create_server().start_io()
