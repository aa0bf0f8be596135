"""Worker processes (varlint/parallel.py): same results as one process, and a worker that
dies costs only its own file."""

from __future__ import annotations

import os
import sys

import pytest

from varlint import engine
from varlint.config import Settings

EVERYTHING = Settings(select=("ALL",))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the crash test forks")


def sources(tmp_path, count):
    paths = []
    for number in range(count):
        path = tmp_path / f"m{number}.py"
        path.write_text(f"from torch.autograd import Variable\nv{number} = Variable(x)\n")
        paths.append(str(path))
    return paths


def test_parallel_results_equal_one_process_in_order(tmp_path):
    paths = sources(tmp_path, 10)
    one = engine.check_paths(paths, EVERYTHING, jobs=1)
    two = engine.check_paths(paths, EVERYTHING, jobs=2)
    assert [r.path for r in two] == paths
    assert [r.diagnostics for r in one] == [r.diagnostics for r in two]


def test_a_dead_worker_is_an_internal_error_for_its_file_only(tmp_path, monkeypatch):
    paths = sources(tmp_path, 10)
    victim = paths[3]
    real = engine.check_file

    def crashing(path, *args, **kwargs):
        if path == victim:
            os._exit(139)  # what a segfault in the parser looks like from outside
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine, "check_file", crashing)
    results = engine.check_paths(paths, EVERYTHING, jobs=2)
    assert [r.path for r in results] == paths
    assert "exit code 139" in results[3].internal_error
    others = [r for r in results if r.path != victim]
    assert all(r.internal_error is None and [d.code for d in r.diagnostics] == ["VL001"] for r in others)


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    """A parent killed outright (SIGKILL, no cleanup) must not leave its workers waiting
    forever: each sees its pipe close and exits."""
    import signal
    import subprocess
    import time

    program = (
        "import os, sys, time\n"
        "from varlint import parallel\n"
        "def check(path):\n"
        "    time.sleep(0.2)\n"
        "    return path\n"
        "def arrived(number, result):\n"
        "    import multiprocessing\n"
        "    print(' '.join(str(p.pid) for p in multiprocessing.active_children()), flush=True)\n"
        "    time.sleep(60)\n"
        "parallel.run([(n, str(n)) for n in range(8)], check, 2, arrived)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2, workers
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read().split()[2]]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == [], "workers outlived their killed parent"


def project_of(paths, jobs, monkeypatch):
    """The project index check_paths built (captured from the file checks)."""
    from varlint import batch

    seen = []
    real = engine.check_file

    def capturing(path, settings, fix=None, project=None):
        seen.append(project)
        return real(path, settings, fix, project)

    monkeypatch.setattr(engine, "check_file", capturing)
    if jobs == 1:
        results = batch.check_paths(paths, EVERYTHING, jobs=1)
        return seen[0], results
    # In workers the index arrives through the pipe: compare what one worker returns of it.
    from varlint import parallel

    shared = []
    real_share = parallel.Pool.share
    monkeypatch.setattr(parallel.Pool, "share", lambda self, name, value: shared.append(value) or real_share(self, name, value))
    results = batch.check_paths(paths, EVERYTHING, jobs=2)
    return shared[0], results


def test_the_index_built_by_the_workers_is_the_one_built_here(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from .models import *\n")
    (tmp_path / "pkg" / "models.py").write_text("import torch\n__all__ = ['Net']\nclass Net(torch.nn.Module):\n    def __init__(self):\n        self.fc = 1\n")
    paths = sources(tmp_path, 10) + [str(tmp_path / "pkg" / "__init__.py"), str(tmp_path / "pkg" / "models.py")]
    here, one = project_of(paths, 1, monkeypatch)
    there, two = project_of(paths, 2, monkeypatch)
    assert here.modules == there.modules and here.aliases == there.aliases
    assert "pkg.models" in here.modules and here.modules["pkg.models"].classes["Net"].attributes == ("fc",)
    assert [r.diagnostics for r in one] == [r.diagnostics for r in two]


def test_a_worker_dying_while_indexing_costs_nothing(tmp_path, monkeypatch):
    from varlint import parallel

    paths = sources(tmp_path, 12)
    parent = os.getpid()
    real = parallel._index_module

    indexed_here = []

    def crashing(path, name, is_package):
        if os.getpid() != parent and path.endswith("m3.py"):
            os._exit(139)
        if os.getpid() == parent:
            indexed_here.append(path)
        return real(path, name, is_package)

    monkeypatch.setattr(parallel, "_index_module", crashing)
    results = engine.check_paths(paths, EVERYTHING, jobs=2)
    assert os.path.abspath(paths[3]) in indexed_here  # the dead worker's share, indexed here
    assert [r.path for r in results] == paths
    assert all(r.internal_error is None and [d.code for d in r.diagnostics] == ["VL001"] for r in results)


def test_files_are_checked_largest_first(tmp_path, monkeypatch):
    paths = sources(tmp_path, 10)
    with open(paths[6], "a") as handle:
        handle.write("# padding\n" * 200)
    order = []
    real = engine.check_file
    monkeypatch.setattr(engine, "check_file", lambda path, *a, **k: order.append(path) or real(path, *a, **k))
    engine.check_paths(paths, EVERYTHING, jobs=1)
    assert order[0] == paths[6]


def test_a_few_lone_files_are_checked_without_indexing_their_tree(tmp_path, monkeypatch):
    """A file that imports no module of its tree and that no module names is checked with
    the others known by name only, with the diagnostics (fixes included) of the full index;
    a file that imports one, or that another names, gets the full index."""
    from varlint import batch, project
    from varlint.diagnostic import Applicability

    (tmp_path / "model.py").write_text("from torch.autograd import Variable\nclass Net:\n    pass\n")
    (tmp_path / "train.py").write_text("from model import *\nx = Variable(y)\n")
    (tmp_path / "lone.py").write_text("import torch\nfrom torch.autograd import Variable\nv = Variable(torch.ones(1))\n")
    (tmp_path / "uses.py").write_text("import torch\nfrom torch.autograd import Variable\nv = Variable(torch.ones(1))\n")
    (tmp_path / "other.py").write_text("import uses\n")
    parsed = []
    real = project.read_module
    monkeypatch.setattr(project, "read_module", lambda name, path, *a: parsed.append(os.path.basename(path)) or real(name, path, *a))

    def run(name, fix=None):
        parsed.clear()
        shortcut = rows(batch.check_paths([str(tmp_path / name)], EVERYTHING, fix, jobs=1))
        parsed_shortcut = sorted(parsed)
        monkeypatch.setattr(batch, "LONE_FILES", 0)
        full = rows(batch.check_paths([str(tmp_path / name)], EVERYTHING, fix, jobs=1))
        monkeypatch.setattr(batch, "LONE_FILES", 16)
        assert shortcut == full
        return parsed_shortcut

    for fix in (None, Applicability.SAFE):
        assert run("lone.py", fix) == ["lone.py"]
        assert len(run("train.py", fix)) == 5  # imports model: the whole tree
        assert len(run("uses.py", fix)) == 5  # other.py imports it
        assert len(run("model.py", fix)) == 5  # train.py names it


def rows(results):
    return [(r.path, [(d.code, d.start, d.end, d.message, d.fix) for d in r.diagnostics], r.fixed_text) for r in results]
