"""The collector's settings during a check (varlint/collection.py) are the run's alone."""

from __future__ import annotations

import gc

from varlint import collection, engine
from varlint.config import Settings


def test_a_run_restores_the_thresholds_and_freezes_nothing_after(tmp_path):
    (tmp_path / "a.py").write_text("import torch\nx = torch.autograd.Variable(torch.ones(1))\n")
    (tmp_path / "b.py").write_text("from a import x\n")
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    results = engine.check_paths([str(tmp_path / "a.py"), str(tmp_path / "b.py")],
                                 Settings(select=frozenset({"ALL"})), jobs=1)
    assert [d.code for d in results[0].diagnostics] == ["VL001"]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_between_files_collects_at_its_end_and_leaves_a_disabled_collector_alone():
    before = gc.get_threshold()
    with collection.between_files():
        assert gc.get_threshold()[0] == collection.FILE_THRESHOLD
    assert gc.get_threshold() == before
    assert gc.get_count()[0] < 100  # collected at its end
    gc.disable()
    try:
        with collection.between_files():
            assert gc.get_threshold() == before and not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_freeze_index_freezes_only_within_a_run():
    frozen = gc.get_freeze_count()
    collection.freeze_index()
    assert gc.get_freeze_count() == frozen
    with collection.fewer_collections():
        collection.freeze_index()
    assert gc.get_freeze_count() == frozen
