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
