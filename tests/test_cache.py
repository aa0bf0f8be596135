"""The result cache (varlint/cache.py): same output as uncached, invalidated by edits of the
file and of the modules it imports, robust to corrupt entries."""

from __future__ import annotations

from pathlib import Path

from fixture_support import FIXTURES_DIR

from varlint import engine
from varlint.cache import ResultCache
from varlint.config import Settings

EVERYTHING = Settings(select=("ALL",))


def rows(results):
    return [(r.path, [(d.code, d.start, d.end, d.message, d.fix) for d in r.diagnostics]) for r in results]


def test_cached_and_uncached_outputs_are_identical_on_fixtures(tmp_path):
    files = sorted(str(p) for p in FIXTURES_DIR.glob("VL00*/*.py"))
    uncached = engine.check_paths(files, EVERYTHING, jobs=1)
    cache = ResultCache(tmp_path / "cache")
    first = engine.check_paths(files, EVERYTHING, jobs=1, cache=cache)
    again = ResultCache(tmp_path / "cache")
    hits = []
    warm = engine.check_paths(files, EVERYTHING, jobs=1, cache=again, on_result=hits.append)
    assert rows(uncached) == rows(first) == rows(warm)
    assert len(list((tmp_path / "cache" / "results").rglob("*"))) > len(files)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_editing_a_file_or_a_module_it_imports_invalidates(tmp_path, monkeypatch):
    helper = write(tmp_path / "helper.py", "from torch.autograd import Variable\n")
    train = write(tmp_path / "train.py", "from helper import Variable\nx = Variable(y)\n")
    other = write(tmp_path / "other.py", "import torch\n")
    files = [helper, train, other]
    cache_dir = tmp_path / ".cache"
    checked: list[str] = []
    real = engine.check_file

    def counting(path, *args, **kwargs):
        checked.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine, "check_file", counting)
    before = engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(cache_dir))
    assert [d.code for d in before[1].diagnostics] == ["VL001"]  # Variable through helper.py
    checked.clear()
    engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(cache_dir))
    assert checked == []  # all from the cache

    # A helper that no longer re-exports torch's Variable: train.py is checked again.
    write(tmp_path / "helper.py", "class Variable:\n    pass\n")
    after = engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(cache_dir))
    assert sorted(checked) == sorted([helper, train])
    assert after[1].diagnostics == []

    checked.clear()
    write(tmp_path / "train.py", "from helper import Variable\nx = Variable(y)\nz = 1\n")
    engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(cache_dir))
    assert checked == [train]


def test_a_corrupt_cache_is_ignored(tmp_path):
    source = write(tmp_path / "a.py", "from torch.autograd import Variable\nv = Variable(x)\n")
    cache_dir = tmp_path / "cache"
    expected = rows(engine.check_paths([source], EVERYTHING, jobs=1, cache=ResultCache(cache_dir)))
    for entry in cache_dir.rglob("*"):
        if entry.is_file():
            entry.write_bytes(b"\x80garbage")
    assert rows(engine.check_paths([source], EVERYTHING, jobs=1, cache=ResultCache(cache_dir))) == expected
    assert rows(engine.check_paths([source], EVERYTHING, jobs=1, cache=ResultCache(cache_dir))) == expected


def test_a_fixed_result_depends_on_the_modules_that_star_import_it(tmp_path):
    # Whether model.py's fix may remove its `Variable` import depends on train.py (the reverse
    # of the import direction): with a fix mode, train.py's content is part of model.py's key.
    from varlint.diagnostic import Applicability
    from varlint.project import ProjectIndex

    model = write(tmp_path / "model.py", "import torch\nfrom torch.autograd import Variable\n"
                                         "def f():\n    return Variable(torch.ones(1))\n")
    train = write(tmp_path / "train.py", "from model import *\nVariable(2)\n")
    cache = ResultCache(tmp_path / "cache")

    def keys():
        index = ProjectIndex.build([model, train])
        return [cache.key(model, index, EVERYTHING, mode) for mode in (None, Applicability.SAFE)]

    check_before, fix_before = keys()
    write(tmp_path / "train.py", "from model import *\nprint(2)\n")  # no longer uses Variable
    check_after, fix_after = keys()
    assert fix_after != fix_before
    assert check_after == check_before  # check results do not depend on importers

    # And the fixes themselves, through the cache: the import goes only once nothing uses it.
    write(tmp_path / "train.py", "from model import *\nVariable(2)\n")
    first = engine.check_paths([model, train], EVERYTHING, Applicability.SAFE, jobs=1, cache=cache)
    assert "import Variable" in first[0].fixed_text
    write(tmp_path / "train.py", "from model import *\nprint(2)\n")
    second = engine.check_paths([model, train], EVERYTHING, Applicability.SAFE, jobs=1, cache=ResultCache(tmp_path / "cache"))
    assert "import Variable" not in second[0].fixed_text


def test_cli_output_cached_and_uncached_is_the_same_on_fixtures_and_notebooks(tmp_path):
    """The whole report (every format detail, notebooks' cells included) of a cold run, a
    run filling the cache and a warm run are identical."""
    from click.testing import CliRunner

    from varlint.cli import main

    targets = [str(FIXTURES_DIR / "notebooks"), str(FIXTURES_DIR / "project"), *map(str, sorted(FIXTURES_DIR.glob("VL2*")))]
    base = ["check", "--select", "ALL", "--exit-zero", *targets]
    runner = CliRunner()
    uncached = runner.invoke(main, [*base, "--no-cache"])
    filled = runner.invoke(main, [*base, "--cache-dir", str(tmp_path / "cache")])
    warm = runner.invoke(main, [*base, "--cache-dir", str(tmp_path / "cache")])
    assert uncached.exit_code == filled.exit_code == warm.exit_code == 0
    assert "cell " in uncached.output or ".ipynb:" in uncached.output
    assert uncached.output == filled.output == warm.output


def test_a_warm_run_parses_nothing(tmp_path, monkeypatch):
    """An unchanged tree: the index entries and the results come from the cache, no file is
    parsed (neither by the index nor by a check), notebooks included."""
    import ast
    import shutil

    from varlint import project

    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES_DIR / "project" / next(p.name for p in sorted((FIXTURES_DIR / "project").iterdir()) if p.is_dir()), tree)
    shutil.copy(FIXTURES_DIR / "notebooks" / "evaluation_volatile.ipynb", tree / "notebook.ipynb")
    files = sorted(str(p) for p in tree.rglob("*") if p.suffix in (".py", ".ipynb"))
    cold = engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(tmp_path / "cache"))
    parsed = []
    real_parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda *a, **k: parsed.append(a) or real_parse(*a, **k))
    monkeypatch.setattr(project, "read_module", lambda *a, **k: parsed.append(a))
    monkeypatch.setattr(engine, "check_file", lambda *a, **k: parsed.append(a))
    warm = engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(tmp_path / "cache"))
    assert parsed == []
    assert rows(warm) == rows(cold)


def test_an_edit_that_keeps_size_and_time_still_invalidates(tmp_path):
    """Index entries and results are keyed by content, not by size and modification time."""
    import os

    helper = write(tmp_path / "helper.py", "from torch.autograd import Variable\n")
    train = write(tmp_path / "train.py", "from helper import *\nx = Variable(y)\n")
    files = [helper, train]
    before = engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(tmp_path / "cache"))
    assert [d.code for d in before[1].diagnostics] == ["VL001"]
    stat = os.stat(helper)
    write(tmp_path / "helper.py", "from torch.autograd import Variabl_\n")  # same size
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(tmp_path / "cache"))
    assert rows(after) == rows(engine.check_paths(files, EVERYTHING, jobs=1))
    assert after[1].diagnostics == []


def test_edits_of_modules_imported_transitively_or_in_a_cycle_invalidate(tmp_path, monkeypatch):
    """train star-imports mid, which star-imports base (exports through two modules); mid and
    cyc import each other. Editing base re-checks mid and train; editing cyc re-checks mid
    (its cycle partner) and train, not base."""
    base = write(tmp_path / "base.py", "from torch.autograd import Variable\n__all__ = ['Variable']\n")
    mid = write(tmp_path / "mid.py", "from base import *\nimport cyc\n")
    cyc = write(tmp_path / "cyc.py", "import mid\n")
    train = write(tmp_path / "train.py", "from mid import *\nx = Variable(y)\n")
    other = write(tmp_path / "other.py", "import torch\n")
    files = [base, mid, cyc, train, other]
    checked: list[str] = []
    real = engine.check_file
    monkeypatch.setattr(engine, "check_file", lambda path, *a, **k: checked.append(path) or real(path, *a, **k))

    def run():
        checked.clear()
        return engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(tmp_path / "cache"))

    assert [d.code for d in run()[3].diagnostics] == ["VL001"]
    run()
    assert checked == []
    write(tmp_path / "base.py", "from torch.autograd import Variable\n__all__ = []\n")  # no longer exported
    results = run()
    assert sorted(checked) == sorted([base, mid, cyc, train])  # cyc imports mid, which imports base
    assert results[3].diagnostics == []
    write(tmp_path / "cyc.py", "import mid\nz = 1\n")
    run()
    assert sorted(checked) == sorted([mid, cyc, train])


def test_a_corrupt_or_foreign_index_entry_is_ignored(tmp_path):
    import pickle

    from varlint.cache import code_stamp

    helper = write(tmp_path / "helper.py", "from torch.autograd import Variable\n")
    train = write(tmp_path / "train.py", "from helper import Variable\nx = Variable(y)\n")
    expected = rows(engine.check_paths([helper, train], EVERYTHING, jobs=1))
    index = tmp_path / "cache" / "index.pickle"
    for content in ({"stamp": code_stamp(), "files": {helper: ("x", None), train: "garbage"}},
                    {"stamp": code_stamp(), "files": "garbage"}, ["garbage"]):
        index.parent.mkdir(exist_ok=True)
        index.write_bytes(pickle.dumps(content))
        for entry in (tmp_path / "cache").rglob("results/*/*"):
            entry.unlink()
        assert rows(engine.check_paths([helper, train], EVERYTHING, jobs=1, cache=ResultCache(tmp_path / "cache"))) == expected


def test_a_module_that_starts_importing_a_file_invalidates_it(tmp_path):
    """A function only its own module calls has its parameters seeded from the calls (here
    `criterion` is a loss, so `loss.data[0]` is VL004); once another module imports it, any
    caller may pass anything and the diagnostic goes. The importer's import statements are
    part of the imported file's key; the rest of the importer is not."""
    train = write(tmp_path / "train.py", (
        "import torch\nimport torch.nn as nn\n\n\n"
        "def train(model, criterion, x, y):\n    loss = criterion(model(x), y)\n    print(loss.data[0])\n\n\n"
        "def main():\n    criterion = nn.CrossEntropyLoss()\n    train(model, criterion, x, y)\n"
    ))
    other = write(tmp_path / "other.py", "import torch\n")
    files = [train, other]

    def cached():
        return rows(engine.check_paths(files, EVERYTHING, jobs=1, cache=ResultCache(tmp_path / "cache")))

    first = cached()
    assert [d[0] for d in first[0][1]] == ["VL004"]
    write(tmp_path / "other.py", "import torch\nx = 1\n")  # no import of train: still cached
    assert cached() == first
    write(tmp_path / "other.py", "from train import train\n")
    after = cached()
    assert after == rows(engine.check_paths(files, EVERYTHING, jobs=1))
    assert after[0][1] == []


def test_a_second_script_of_the_same_name_invalidates_its_importers(tmp_path):
    """Which `model.py` `from model import *` means, and whether that is known, depends on
    every script of that name in the run: adding one re-checks the importers."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    model = write(tmp_path / "a" / "model.py", "from torch.autograd import Variable\n")
    train = write(tmp_path / "a" / "train.py", "from model import *\nx = Variable(y)\n")
    files = [model, train]
    from varlint.project import ProjectIndex

    cache = ResultCache(tmp_path / "cache")
    before = cache.key(train, ProjectIndex.build(files), EVERYTHING, None)
    second = write(tmp_path / "b" / "model.py", "Variable = 1\n")
    after = cache.key(train, ProjectIndex.build([*files, second]), EVERYTHING, None)  # "model@..."
    assert before != after
