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
