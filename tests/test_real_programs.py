"""The realistic 0.3-era programs of fixtures/real/ run to the end once `varlint check --fix`
has modernised them: on the runtime (torchvision served by its stand-ins), and under real
PyTorch 2.13 when it is installed and the program needs no torchvision (or torchvision is
installed too). Their diagnostics and fixed files are held by the generic fixture tests.
"""

from __future__ import annotations

import importlib.util

import pytest

try:
    import runtime_harness as harness
except ImportError:  # tests/ is a package in some layouts
    from tests import runtime_harness as harness

import runtime
from varlint import engine
from varlint.config import Settings
from varlint.confirm import CONFIRMED, NOT_OBSERVABLE, UNCONFIRMED, confirm_files

REAL = harness.FIXTURES_DIR / "real"
FIXED = sorted(REAL.glob("*.fixed.py"))
ORIGINALS = sorted(p for p in REAL.glob("*.py") if not p.name.endswith("fixed.py"))


def test_confirm_decides_nine_in_ten_runtime_observable_diagnostics():
    """Each original crashes at its first `.data[0]`; confirm runs it again with that fix
    applied, so the diagnostics after the crash are decided by a real run too."""
    settings = Settings(select=("ALL",))
    diagnostics = {str(p): engine.check_file(str(p), settings).diagnostics for p in ORIGINALS}
    runs = confirm_files(diagnostics, lambda path: frozenset(engine.known_codes()), timeout=60)
    decided = observable = 0
    for run in runs:
        statuses = [run.status(c) for c in run.confirmations if run.status(c) != NOT_OBSERVABLE]
        assert statuses, f"{run.path} has no runtime-observable diagnostic"
        decided += sum(status in (CONFIRMED, UNCONFIRMED) for status in statuses)
        observable += len(statuses)
        assert not any(status == UNCONFIRMED for status in statuses), f"{run.path}: a diagnostic was not confirmed"
    assert len(runs) == 5 and decided >= 0.9 * observable, f"{decided} of {observable} decided"


@pytest.mark.parametrize("program", FIXED, ids=[p.name for p in FIXED])
def test_fixed_program_runs_to_the_end_on_the_runtime(program):
    result = runtime.run(program, timeout=60)
    assert not result.timed_out, f"{program.name} did not finish in 60 s"
    assert result.exception is None, f"{program.name} stopped: {result.exception}\n{result.stderr[-2000:]}"
    assert result.stdout.strip(), f"{program.name} printed nothing"


@pytest.mark.parametrize("program", FIXED, ids=[p.name for p in FIXED])
def test_fixed_program_runs_to_the_end_under_torch(program):
    if not harness.torch_available():
        pytest.skip("real PyTorch is not installed")
    if "torchvision" in harness.read_text(program) and importlib.util.find_spec("torchvision") is None:
        pytest.skip("the program imports torchvision, which is not installed")
    result = harness.run_with_torch(program, fork=False)
    assert not result.timed_out
    assert result.exception is None, f"{program.name} stopped under PyTorch: {result.exception}"
